"""The one home of "today": the server's calendar day, each agency's own, and the days the daily job sweeps.

Every other module asks here; none calls `date.today()` or turns an instant into a
local date itself (tests/test_clock.py checks the sources). Each function takes an
optional `now`, an instant; without it the instant is `current_instant()`, which
tests replace to stand at a moment of their choosing. A naive `now` is UTC, as the
database stores its timestamps.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import ColumnElement, false, or_, select
from sqlalchemy.orm import Session

from training.people.models import Agency, User

log = logging.getLogger(__name__)


def current_instant() -> datetime:
    """Now, in UTC."""
    return datetime.now(UTC)


def stored_instant(now: datetime | None = None) -> datetime:
    """The instant (default: now) as the database stores timestamps: naive, in UTC."""
    return _instant(now).astimezone(UTC).replace(tzinfo=None)


def _instant(now: datetime | None) -> datetime:
    now = now or current_instant()
    return now if now.tzinfo is not None else now.replace(tzinfo=UTC)


def _zone(name: str | None) -> tzinfo | None:
    """The named time zone; None (the server's) for none, or for a name this system does not know."""
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        log.warning("unknown time zone %r: the server's day is used instead", name)
        return None


def _local(now: datetime | None, zone: tzinfo | None) -> datetime:
    # astimezone(None) is the server's own time zone, the one date.today() would use.
    return _instant(now).astimezone(zone)


def server_today(now: datetime | None = None) -> date:
    """The server's calendar day: for commands, and for officers who belong to no agency."""
    return _local(now, None).date()


def server_zone_name(now: datetime | None = None) -> str:
    """The server's time zone as it names itself at `now` (e.g. UTC), for those whose day is the server's."""
    return _local(now, None).tzname() or "server time"


def zone_today(time_zone: str | None, now: datetime | None = None) -> date:
    """The calendar day in the named time zone (the server's day without one)."""
    return local_date(_instant(now), time_zone)


def local_date(instant: datetime, time_zone: str | None) -> date:
    """The calendar day on which `instant` (naive: UTC) fell in the named time zone (the server's without one)."""
    return _local(instant, _zone(time_zone)).date()


def local_time(instant: datetime, time_zone: str | None) -> tuple[datetime, str]:
    """The instant on the wall clocks of the named time zone (the server's without one), and that zone's name."""
    local = _local(instant, _zone(time_zone))
    return local, (time_zone if _zone(time_zone) is not None else local.tzname() or "server time")


def agency_today(agency: Agency | None, now: datetime | None = None) -> date:
    """The agency's calendar day, in its time zone; the server's day for no agency."""
    return zone_today(agency.time_zone if agency else None, now)


def today_for(user: User, now: datetime | None = None) -> date:
    """Today's date for a user: their agency's day, or the server's when they belong to none."""
    return agency_today(user.agency, now)


@dataclass(frozen=True)
class LocalDay:
    """A calendar day and whose day it is: agencies, as (id, code, time zone), and, when the officers of no
    agency are on it, the server's time zone. `everyone`: the day was given (--as-of) for all alike."""

    on: date
    agencies: tuple[tuple[int, str, str], ...] = ()
    server_zone: str | None = None
    everyone: bool = False

    @property
    def server(self) -> bool:
        return self.server_zone is not None

    @property
    def agency_ids(self) -> tuple[int | None, ...] | None:
        """The restriction the set-based jobs take: None for everyone, else agency ids, None for no agency."""
        if self.everyone:
            return None
        return tuple(agency_id for agency_id, _, _ in self.agencies) + ((None,) if self.server else ())

    def describe(self) -> str:
        """'2026-11-27 (Pacific/Guam: DHS-GU, GU2; server's day, UTC: officers without an agency)'."""
        if self.everyone:
            return f"{self.on.isoformat()} (given, for every agency)"
        zones: dict[str, list[str]] = {}
        for _, code, time_zone in self.agencies:
            zones.setdefault(time_zone, []).append(code)
        parts = [f"{time_zone}: {', '.join(codes)}" for time_zone, codes in zones.items()]
        if self.server:
            parts.append(f"server's day, {self.server_zone}: officers without an agency")
        return f"{self.on.isoformat()} ({'; '.join(parts)})"


def every_agency_on(on: date) -> LocalDay:
    """One day for every agency and officer alike: an operator's --as-of."""
    return LocalDay(on, everyone=True)


def local_days(session: Session, now: datetime | None = None, *, from_hour: int = 0) -> list[LocalDay]:
    """The agencies grouped by their calendar day at `now`, earliest day first; officers of no agency go with
    the server's day.

    A daily job runs the set-based passes once per group, so at most two or three
    times whatever the number of agencies. With `from_hour`, an agency (or the server)
    whose clock has not yet reached that hour of its day is left out: its new day has
    not begun for the job, and the day before was swept already.
    """
    instant = _instant(now)
    agencies: dict[date, list[tuple[int, str, str]]] = {}
    for agency_id, code, time_zone in session.execute(
            select(Agency.id, Agency.code, Agency.time_zone).order_by(Agency.code)):
        local = _local(instant, _zone(time_zone))
        if local.hour >= from_hour:
            agencies.setdefault(local.date(), []).append((agency_id, code, time_zone))
    server = _local(instant, None)
    server_on = server.date() if server.hour >= from_hour else None
    if server_on is not None:
        agencies.setdefault(server_on, [])
    return [LocalDay(on, tuple(entries), server_zone_name(instant) if on == server_on else None)
            for on, entries in sorted(agencies.items())]


def days_of(on: date | Sequence[LocalDay]) -> list[LocalDay]:
    """A date given for everyone, or the days `local_days` found, as a list of days."""
    return [every_agency_on(on)] if isinstance(on, date) else list(on)


def of_agencies(agency_id: ColumnElement, agency_ids: Sequence[int | None] | None) -> list[ColumnElement[bool]]:
    """The condition keeping rows whose `agency_id` is among `agency_ids` (None among them: no agency), as a
    list to spread into a WHERE; no condition for `agency_ids` None, everyone."""
    if agency_ids is None:
        return []
    ids = [i for i in agency_ids if i is not None]
    either = ([agency_id.in_(ids)] if ids else []) + ([agency_id.is_(None)] if None in agency_ids else [])
    return [or_(*either) if either else false()]


def describe(days: Sequence[LocalDay]) -> str:
    """The days a command or job used, for its output and log."""
    return ", ".join(day.describe() for day in days) or "no agency whose day has begun"


def viewer_zone(user: User | None) -> str:
    """The time zone a person reads times in: their agency's, or UTC when they belong to none."""
    return user.agency.time_zone if user is not None and user.agency and _zone(user.agency.time_zone) else "UTC"


def day_start(day: date, time_zone: str) -> datetime:
    """The instant (naive UTC, as the database stores it) at which `day` begins in the named time zone."""
    zone = _zone(time_zone) or UTC
    return datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC).replace(tzinfo=None)
