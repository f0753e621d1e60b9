"""The one home of "today": the server's calendar day and each agency's own."""
from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

from training.people.models import User


def today_for(user: User, now: datetime | None = None) -> date:
    """Today's date in the officer's agency time zone."""
    now = now or datetime.now(timezone.utc)
    tz = ZoneInfo(user.agency.time_zone) if user.agency else timezone.utc
    return now.astimezone(tz).date()
