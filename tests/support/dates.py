"""Dates as the tests write them."""
from __future__ import annotations

from datetime import date

from training.clock import today_for


def d(text: str) -> date:
    return date.fromisoformat(text)


def today(officer) -> date:
    """The officer's today: the date in the agency's time zone (UTC without an agency)."""
    return today_for(officer)
