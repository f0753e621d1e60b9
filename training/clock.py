"""The one home of "today": the server's calendar day and each agency's own."""
from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from training.people.models import User


def today_for(user: User, now: datetime | None = None) -> date:
    """Today's date in the officer's agency time zone."""
    now = now or datetime.now(UTC)
    tz = ZoneInfo(user.agency.time_zone) if user.agency else UTC
    return now.astimezone(tz).date()
