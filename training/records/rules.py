"""The rules that decide certification: plain functions over plain values."""
from __future__ import annotations

from datetime import date, timedelta

from dateutil.relativedelta import relativedelta

STATUSES = ("exempt", "current", "expiring", "overdue", "lapsed", "assigned")
EXPIRING_DAYS = 30


def add_months(day: date, months: int) -> date:
    """`day` plus `months`, the day of month clamped to the month's end."""
    return day + relativedelta(months=months)


def expiry_date(completed_on: date, recurrence_months: int, *,
                previous_expires_on: date | None = None,
                renewal_window_days: int = 60,
                renew_from_expiry: bool = True) -> date:
    """When a certification earned on `completed_on` expires.

    Recertifying inside the renewal window of a still-valid certification
    keeps the time left: the new expiry counts from the previous expiry.
    """
    base = completed_on
    if (renew_from_expiry and previous_expires_on is not None
            and previous_expires_on - timedelta(days=renewal_window_days)
            <= completed_on <= previous_expires_on):
        base = previous_expires_on
    return add_months(base, recurrence_months)


def certification_status(on: date, *, expires_on: date | None = None,
                         open_due_on: date | None = None, exempt: bool = False,
                         expiring_days: int = EXPIRING_DAYS) -> str | None:
    """Status of an officer for one required course on a day; first match wins.

    `expires_on` is the latest certification's expiry, `open_due_on` the due date
    of the open assignment, `exempt` whether an exemption is active that day.
    None when nothing makes the course required.
    """
    if exempt:
        return "exempt"
    if expires_on is not None and on <= expires_on:
        return "current" if (expires_on - on).days > expiring_days else "expiring"
    if open_due_on is not None and on > open_due_on:
        return "overdue"
    if expires_on is not None:
        return "lapsed"
    if open_due_on is not None:
        return "assigned"
    return None


def verification_state(on: date, expires_on: date, *, revoked: bool = False, superseded: bool = False,
                       expiring_days: int = EXPIRING_DAYS) -> str:
    """What a verification page says of one certificate on a day; first match wins."""
    if revoked:
        return "revoked"
    if superseded:
        return "superseded"
    if on > expires_on:
        return "expired"
    return "expiring" if (expires_on - on).days <= expiring_days else "valid"
