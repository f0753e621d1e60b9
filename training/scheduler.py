"""The scheduled jobs, defined in code, thin over the same functions the CLI calls."""
from __future__ import annotations

import logging
from collections.abc import Callable

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask

from training import clock
from training.db import unit_of_work
from training.jobs import count_compliance, count_tallies, exclusive, run_daily, run_delivery, traced

log = logging.getLogger(__name__)

JOB_DEFAULTS = {
    # A job that starts late (busy process, restart) still runs once instead of
    # being skipped after APScheduler's default one-second grace time.
    "coalesce": True,
    "misfire_grace_time": 6 * 3600,
    "max_instances": 1,
}


def daily_job(app: Flask) -> None:
    """Renewals, standing rules and the reminder sweep, the dashboard's monthly trend, then a delivery.

    Run every hour. Each agency is swept for its own calendar day (in its time
    zone; officers of no agency on the server's day) once its clock has reached
    DAILY_JOB_HOUR that day, and in every run after that until its next day
    reaches the hour; before the hour the agency is left out, so no agency is
    ever swept for an earlier day than it was. A second sweep on the same day
    queues and assigns nothing new (the outbox's unique keys, one open assignment
    per officer and course), and picks up what fell due since; a day missed is
    caught up by the next. Each month end of the dashboard's trend is counted
    once, when it has passed for every agency.
    """
    with exclusive(app) as held:
        if not held:
            log.info("daily sweep skipped: another process holds the jobs lock")
            return
        now = clock.current_instant()
        with unit_of_work(app) as session:
            days = clock.local_days(session, now, from_hour=app.config["DAILY_JOB_HOUR"])
            earliest = min(day.on for day in clock.local_days(session, now))
        if days:
            log.info("daily sweep for %s: %s", clock.describe(days), dict(run_daily(app, days)))
            count_compliance(app, days, earliest=earliest)
        log.info("delivery: %s", dict(run_delivery(app).counts))
        log.info("tallies: %s", dict(count_tallies(app, now)))


def delivery_job(app: Flask) -> None:
    """Send what is pending and past its back-off."""
    with exclusive(app) as held:
        if held:
            report = run_delivery(app)
            if report.counts or report.unreachable:
                log.info("delivery: %s %s", dict(report.counts), report.unreachable or "")


def tally_job(app: Flask) -> None:
    """Count the dashboard's tallies of the days begun or about to, and the cells changed since."""
    with exclusive(app) as held:
        if held:
            counts = count_tallies(app)
            if counts:
                log.info("tallies: %s", dict(counts))


def logged_once(job: Callable[[Flask], None], app: Flask) -> None:
    """One scheduled run under one request id (the mail a sweep queues and its delivery sends carry the same),
    its failure logged once: APScheduler would log the traceback a run's own line already carries."""
    with traced():
        try:
            job(app)
        except Exception as exc:
            if not getattr(exc, "logged", False):
                log.exception("scheduled job %s failed", job.__name__)


def build_scheduler(app: Flask, *, blocking: bool = False) -> BaseScheduler:
    """The jobs live in code and in memory: no shared job store, which would run them twice or lose them.

    The daily job runs at the start of every hour: the agencies' days begin at
    different hours of the server's (see `daily_job`).
    """
    cls = BlockingScheduler if blocking else BackgroundScheduler
    scheduler = cls(job_defaults=JOB_DEFAULTS)
    scheduler.add_job(logged_once, "cron", minute=0, args=[daily_job, app], id="daily", replace_existing=True)
    scheduler.add_job(logged_once, "interval", minutes=app.config["DELIVERY_INTERVAL_MINUTES"],
                      args=[delivery_job, app], id="delivery", replace_existing=True)
    scheduler.add_job(logged_once, "interval", minutes=app.config["TALLY_INTERVAL_MINUTES"],
                      args=[tally_job, app], id="tallies", replace_existing=True)
    # Catch up at start, so a process that was down at the scheduled hour loses nothing.
    scheduler.add_job(logged_once, args=[daily_job, app], id="startup_daily")
    return scheduler
