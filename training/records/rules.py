"""The rules that decide certification: plain functions over plain values."""
from __future__ import annotations

from datetime import date, timedelta

from dateutil.relativedelta import relativedelta

STATUSES = ("exempt", "current", "expiring", "overdue", "lapsed", "assigned")
EXPIRING_DAYS = 30
# A signed document stays signed: its completion "expires" on a day that never comes, so no renewal opens and
# its status stays current. Pages say it does not expire (training/words.py); exports may show the date.
NEVER_EXPIRES = date.max


def add_months(day: date, months: int) -> date:
    """`day` plus `months`, the day of month clamped to the month's end."""
    return day + relativedelta(months=months)


def expiry_date(completed_on: date, recurrence_months: int, *,
                previous_expires_on: date | None = None,
                renewal_window_days: int = 60,
                renew_from_expiry: bool = True,
                cycle_start_month: int | None = None,
                kind: str = "course") -> date:
    """When a certification earned on `completed_on` expires.

    A document (`kind` "document") never expires: a new version asks for a new signature instead.

    On the officer's anniversary (`cycle_start_month` None): recurrence months
    after the completion; recertifying inside the renewal window of a
    still-valid certification keeps the time left, the new expiry counting
    from the previous one. On a fixed yearly cycle: see `cycle_expiry_date`.
    """
    if kind == "document":
        return NEVER_EXPIRES
    if cycle_start_month is not None:
        return cycle_expiry_date(completed_on, cycle_start_month, renewal_window_days=renewal_window_days)
    base = completed_on
    if (renew_from_expiry and previous_expires_on is not None
            and previous_expires_on - timedelta(days=renewal_window_days)
            <= completed_on <= previous_expires_on):
        base = previous_expires_on
    return add_months(base, recurrence_months)


def cycle_start(on: date, start_month: int) -> date:
    """The first day of the fixed yearly cycle, starting on the 1st of `start_month`, that `on` falls in."""
    return date(on.year if on.month >= start_month else on.year - 1, start_month, 1)


def cycle_end(on: date, start_month: int) -> date:
    """The last day of the fixed yearly cycle that `on` falls in: the day before the next cycle starts."""
    start = cycle_start(on, start_month)
    return date(start.year + 1, start_month, 1) - timedelta(days=1)


def cycle_expiry_date(completed_on: date, start_month: int, *, renewal_window_days: int = 60) -> date:
    """When a certification earned on `completed_on` expires on a fixed yearly cycle.

    It is valid through the end of the cycle it was completed in, except that
    a completion in the cycle's last `renewal_window_days` days (the renewal
    window, whose last day is the cycle's last day) counts for the next cycle
    and is valid through that one's end. Whether the officer held a
    certification before does not matter.
    """
    end = cycle_end(completed_on, start_month)
    if completed_on >= end - timedelta(days=renewal_window_days):
        return cycle_end(end + timedelta(days=1), start_month)
    return end


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
