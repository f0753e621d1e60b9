"""The scheduled jobs, and the lock that lets one process at a time run them.

The scheduler, the CLI and the tests call these same functions.
"""
from __future__ import annotations

import logging
import os
import socket
import time
import uuid
import zlib
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path

from flask import Flask
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from training import telemetry
from training.assignments.service import daily_assignments
from training.auth.sessions import purge
from training.clock import LocalDay, days_of, zone_today
from training.db import insert_ignoring_conflicts, unit_of_work, utcnow
from training.imports.refusals import forget_old_refusals
from training.imports.uploads import delete_expired_uploads
from training.reminders.delivery import DeliveryReport, deliver
from training.reminders.models import JobLease, JobRun
from training.reminders.rules import Schedule
from training.reminders.sweep import sweep
from training.reports.dashboard import count_months
from training.reports.tallies import refresh as refresh_tallies
from training.reports.tallies import snapshot
from training.retention.service import retention_years
from training.retention.service import run as purge_personal_data
from training.words import plural

LOCK_NAME = "rollcall-jobs"
log = logging.getLogger(__name__)

# The scheduled jobs whose runs are recorded, with what each does, in the words the administrator's home uses.
JOBS = {"daily": "Renewals, standing rules and reminders",
        "compliance": "Compliance dashboard figures",
        "tallies": "Compliance dashboard counts kept ahead",
        "delivery": "Mail delivery"}
KEEP_RUNS = timedelta(days=90)


class JobLock:
    """One holder at a time across processes and hosts sharing the database.

    PostgreSQL: a session-level advisory lock on a connection of its own, released
    by the server if the process dies. Elsewhere: a lease row that expires, so a
    dead holder blocks the jobs for at most `ttl`.
    """

    def __init__(self, app: Flask, name: str = LOCK_NAME, ttl: timedelta = timedelta(minutes=30)):
        self.app, self.name, self.ttl = app, name, ttl
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.engine = app.extensions["db_engine"]
        self._connection = None

    def acquire(self) -> bool:
        if self.engine.dialect.name == "postgresql":
            connection = self.engine.connect()
            if connection.scalar(select(func.pg_try_advisory_lock(zlib.crc32(self.name.encode())))):
                connection.commit()
                self._connection = connection
                return True
            connection.close()
            return False
        now = utcnow()
        # Only read while another holds the lease, in a transaction of its own: a waiting process that wrote,
        # even nothing, would hold SQLite's write lock for a moment, and the holder's sweep could then not
        # upgrade its read to a write ("database is locked", with no wait). The write starts a transaction.
        with unit_of_work(self.app) as session:
            held_by = session.execute(select(JobLease.holder, JobLease.expires_at)
                                      .where(JobLease.name == self.name)).first()
        if held_by is not None and held_by.expires_at > now and held_by.holder != self.holder:
            return False
        with unit_of_work(self.app) as session:
            session.execute(insert_ignoring_conflicts(session, JobLease)
                            .values(name=self.name, holder="", expires_at=now)
                            .on_conflict_do_nothing(index_elements=["name"]))
            taken = session.execute(update(JobLease)
                                    .where(JobLease.name == self.name,
                                           or_(JobLease.expires_at <= now, JobLease.holder == self.holder))
                                    .values(holder=self.holder, expires_at=now + self.ttl)).rowcount
        return taken == 1

    def release(self) -> None:
        if self._connection is not None:
            self._connection.scalar(select(func.pg_advisory_unlock(zlib.crc32(self.name.encode()))))
            self._connection.close()
            self._connection = None
            return
        with unit_of_work(self.app) as session:
            session.execute(update(JobLease).where(JobLease.name == self.name, JobLease.holder == self.holder)
                            .values(expires_at=utcnow()))


@contextmanager
def exclusive(app: Flask, *, wait: float = 0, poll: float = 0.5) -> Iterator[bool]:
    """Hold the jobs lock for the block; yields False when another process kept it for `wait` seconds."""
    lock = JobLock(app)
    deadline = time.monotonic() + wait
    while not (held := lock.acquire()) and time.monotonic() < deadline:
        time.sleep(poll)
    try:
        yield held
    finally:
        if held:
            lock.release()


def daily_sweep(session: Session, on: date | Sequence[LocalDay], schedule: Schedule) -> Counter:
    """Annual renewals and standing rules, then the reminders and escalations that have fallen due.

    `on`: one day for every agency (an operator's --as-of), or the days of
    `clock.local_days`, each swept for its own agencies: the set-based passes run
    once per distinct day, however many agencies and officers.
    """
    counts: Counter = Counter()
    for day in days_of(on):
        assigned = daily_assignments(session, day.on, day.agency_ids)
        counts.update(sweep(session, day.on, schedule, day.agency_ids))
        for part, created in assigned.items():
            counts[f"assignments-{part}"] += sum(created.values())
    return +counts  # without the kinds of which nothing was queued


class Run:
    """What a recorded run did: its counts, and a failure it reports without raising (a mail server down)."""

    def __init__(self) -> None:
        self.counts: Counter = Counter()
        self.problem: str | None = None


@contextmanager
def traced() -> Iterator[str]:
    """The request id of a job run: the current one (a request, a scheduled job's whole run), or a new one
    for the block. Its log lines, audit events and mail carry it."""
    current = telemetry.request_id()
    if current is not None:
        yield current
        return
    token = telemetry.set_request_id(telemetry.new_request_id())
    try:
        yield telemetry.request_id()
    finally:
        telemetry.reset_request_id(token)


@contextmanager
def recorded(app: Flask, job: str, via: str) -> Iterator[Run]:
    """Record one run of `job` in job_runs: a row as it starts, committed at once (a run that dies stays
    'running'), then its outcome and counts; a run that raises is recorded as failed, with the error, and the
    error goes on, marked as logged: its traceback is in the run's log line. The scheduler and the commands run
    the jobs through this alike."""
    with traced():
        started = time.perf_counter()
        with unit_of_work(app) as session:
            row = JobRun(job=job, via=via, started_at=utcnow())
            session.add(row)
            session.flush()
            run_id = row.id
        run = Run()
        try:
            yield run
        except Exception as exc:
            _finish(app, run_id, run, f"{type(exc).__name__}: {exc}")
            _log_run(job, via, run_id, run, "failed", started, exc)
            exc.logged = True
            raise
        _finish(app, run_id, run, run.problem)
        _log_run(job, via, run_id, run, "failed" if run.problem else "succeeded", started)


def _log_run(job: str, via: str, run_id: int, run: Run, outcome: str, started: float,
             error: BaseException | None = None) -> None:
    """The run's one line (training/ops/logs.py writes it as JSON or text), and its count for /metrics."""
    telemetry.JOB_RUNS.labels(job, outcome).inc()
    fields = {"job": job, "via": via, "run_id": run_id, "outcome": outcome,
              "duration_ms": round((time.perf_counter() - started) * 1000, 1),
              "counts": {str(k): int(v) for k, v in run.counts.items()}, "problem": run.problem}
    if error is not None:
        log.error("job %s %s", job, outcome, extra=fields, exc_info=(type(error), error, error.__traceback__))
    else:
        log.log(logging.WARNING if run.problem else logging.INFO, "job %s %s", job, outcome, extra=fields)


def _finish(app: Flask, run_id: int, run: Run, problem: str | None) -> None:
    with unit_of_work(app) as session:
        session.execute(update(JobRun).where(JobRun.id == run_id).values(
            finished_at=utcnow(), outcome="failed" if problem else "succeeded",
            counts={str(k): int(v) for k, v in run.counts.items()}, error=problem[:2000] if problem else None))


def run_daily(app: Flask, on: date | Sequence[LocalDay], via: str = "scheduler") -> Counter:
    with recorded(app, "daily", via) as run:
        with unit_of_work(app) as session:
            counts = daily_sweep(session, on, Schedule.from_config(app.config))
            purge(session, utcnow(), timedelta(hours=app.config["SESSION_MAX_HOURS"]))
            session.execute(delete(JobRun).where(JobRun.started_at < utcnow() - KEEP_RUNS))
            forget_old_refusals(session, utcnow())
        delete_old_uploads(app)
        run.counts.update(counts)
        run.counts.update(apply_retention(app, on))
    return counts


def apply_retention(app: Flask, on: date | Sequence[LocalDay]) -> Counter:
    """The retention purge, when RETENTION_YEARS is set: counted from the day given for everyone (--as-of), or
    from today (UTC)."""
    years = retention_years(app.config.get("RETENTION_YEARS"))
    if years is None:
        return Counter()
    given = [on] if isinstance(on, date) else [day.on for day in on if day.everyone]
    as_of = given[0] if given else zone_today("UTC")
    with unit_of_work(app) as session:
        purge = purge_personal_data(session, as_of, years, Path(app.instance_path) / "uploads", via="scheduler")
    return Counter({"accounts anonymised": len(purge.account_ids)}) if purge.account_ids else Counter()


def run_delivery(app: Flask, via: str = "scheduler", **options) -> DeliveryReport:
    """A delivery of what is pending (`deliver`'s options), recorded; a mail server out of reach fails the run."""
    with recorded(app, "delivery", via) as run:
        report = deliver(app, **options)
        run.counts.update(report.counts)
        if report.unreachable:
            run.problem = f"the mail server could not be reached: {report.unreachable}"
    return report


def last_runs(session: Session) -> dict[str, JobRun | None]:
    """The latest run of each job in JOBS (None: never run), one indexed look-up per job."""
    return {job: session.scalar(select(JobRun).where(JobRun.job == job)
                                .order_by(JobRun.started_at.desc(), JobRun.id.desc()).limit(1))
            for job in JOBS}


def delete_old_uploads(app: Flask) -> int:
    """Delete the uploads whose previews can no longer be confirmed: they hold personal data."""
    deleted = delete_expired_uploads(Path(app.instance_path) / "uploads",
                                     timedelta(hours=app.config["UPLOAD_PREVIEW_HOURS"]))
    if deleted:
        log.info("deleted %s older than %s, never imported", plural(deleted, "upload"),
                 plural(app.config["UPLOAD_PREVIEW_HOURS"], "hour"))
    return deleted


def count_compliance(app: Flask, on: date | Sequence[LocalDay], *, earliest: date | None = None,
                     via: str = "scheduler") -> None:
    """The compliance dashboard's monthly trend: each month end counted once, when it has passed everywhere.

    `earliest`, the earliest day any agency is on (default: the earliest of
    `on`), holds back the month ends that have not passed everywhere (see
    `count_months`). The dashboard's other figures are counted at each request.
    """
    days = days_of(on)
    if not days:
        return
    with recorded(app, "compliance", via) as run, unit_of_work(app) as session:
        run.counts["month ends counted"] += count_months(session, earliest or min(day.on for day in days))


def count_tallies(app: Flask, now: datetime | None = None, via: str = "scheduler") -> Counter:
    """The compliance dashboard's tallies: each agency's day and the next counted where not yet, and the cells
    marked since counted again (training/reports/tallies.py), in one snapshot of the database."""
    with recorded(app, "tallies", via) as run, unit_of_work(app) as session:
        snapshot(session)
        run.counts.update(refresh_tallies(session, now))
    return run.counts
