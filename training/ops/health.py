"""The readiness checks, one home for /readyz and the administrators' home page: the database answers, its
schema is the code's, the daily job ran lately, the outbox is not backing up. A few indexed statements, each
check in a short transaction of its own, outside any request's unit of work; no personal data in what they say."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from alembic.script import ScriptDirectory
from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from training.migrate import MIGRATIONS
from training.reminders.models import JobRun, OutboxMessage
from training.words import plural


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str

    def as_json(self) -> dict:
        return {"status": "ok" if self.ok else "failing", "detail": self.detail}


@dataclass(frozen=True)
class Readiness:
    checks: list[Check]

    @property
    def ready(self) -> bool:
        return all(check.ok for check in self.checks)

    def as_json(self) -> dict:
        return {"status": "ready" if self.ready else "not ready",
                "checks": {check.name: check.as_json() for check in self.checks}}


@cache
def code_heads() -> tuple[str, ...]:
    """The migration scripts' head revisions: read once per process, as the scripts change only with the code."""
    return tuple(sorted(ScriptDirectory(str(MIGRATIONS)).get_heads()))


def readiness(maker: sessionmaker[Session], now: datetime, config: Mapping) -> Readiness:
    """Every check, each in a short transaction of its own and failing on its own; when the database does not
    answer, the rest say so."""
    try:
        with maker() as session:
            session.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:   # a database out of reach is the answer, not an error of this page
        unreachable = f"The database does not answer ({type(exc).__name__})."
        return Readiness([Check("database", False, unreachable)] + [
            Check(name, False, "Not checked: the database does not answer.")
            for name in ("migrations", "scheduler", "outbox")])
    return Readiness([Check("database", True, "The database answers."),
                      _guarded(maker, "migrations", _migrations),
                      _guarded(maker, "scheduler", _scheduler, now, config),
                      _guarded(maker, "outbox", _outbox, now, config)])


def _guarded(maker: sessionmaker[Session], name: str, check, *args) -> Check:
    try:
        with maker() as session:
            return check(session, *args)
    except SQLAlchemyError as exc:   # a check that cannot run fails, and the others still run
        return Check(name, False, f"The check could not run ({type(exc).__name__}).")


def _migrations(session: Session) -> Check:
    applied = tuple(sorted(session.scalars(text("SELECT version_num FROM alembic_version"))))
    heads = code_heads()
    if applied == heads:
        return Check("migrations", True, f"The schema is at {', '.join(heads)}, the code's.")
    return Check("migrations", False, f"The schema is at {', '.join(applied) or 'no revision'}; the code needs "
                                      f"{', '.join(heads)}: run `flask --app app db upgrade`.")


def _scheduler(session: Session, now: datetime, config: Mapping) -> Check:
    limit = timedelta(hours=config["READY_DAILY_JOB_HOURS"])
    last = session.execute(select(JobRun.started_at, JobRun.outcome).where(JobRun.job == "daily")
                              .order_by(JobRun.started_at.desc(), JobRun.id.desc()).limit(1)).first()
    if last is None:
        return Check("scheduler", False, "The daily job has never run.")
    ago = _ago(now - last.started_at)
    if last.started_at < now - limit:
        return Check("scheduler", False, f"The daily job last started {ago} ago, more than "
                                         f"{plural(config['READY_DAILY_JOB_HOURS'], 'hour')}.")
    if last.outcome == "failed":
        return Check("scheduler", False, f"The daily job's last run, {ago} ago, failed.")
    return Check("scheduler", True, f"The daily job last started {ago} ago ({last.outcome}).")


def _outbox(session: Session, now: datetime, config: Mapping) -> Check:
    pending = OutboxMessage.status == "pending"
    # The pending rows only, through the (status, id) index: few, unless the outbox is backing up.
    count, oldest = session.execute(select(func.count(), func.min(OutboxMessage.created_at)).where(pending)).one()
    age = now - oldest if oldest is not None else timedelta(0)
    most, minutes = config["READY_OUTBOX_MAX_PENDING"], config["READY_OUTBOX_MAX_AGE_MINUTES"]
    said = f"{plural(count, 'message')} pending" + (f", the oldest for {_ago(age)}" if count else "")
    problems = []
    if count > most:
        problems.append(f"more than {most}")
    if age > timedelta(minutes=minutes):
        problems.append(f"older than {plural(minutes, 'minute')}")
    return Check("outbox", not problems, said + (f": {' and '.join(problems)}." if problems else "."))


def _ago(delta: timedelta) -> str:
    minutes = max(0, int(delta.total_seconds() // 60))
    if minutes < 120:
        return plural(minutes, "minute")
    return plural(minutes // 60, "hour")
