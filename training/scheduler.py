"""The scheduled jobs, defined in code, thin over the same functions the CLI calls."""
from __future__ import annotations

import logging
from datetime import date

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask

from training.assignments.service import daily_assignments
from training.db import unit_of_work

log = logging.getLogger(__name__)

JOB_DEFAULTS = {
    # A job that starts late (busy process, restart) still runs once instead of
    # being skipped after APScheduler's default one-second grace time.
    "coalesce": True,
    "misfire_grace_time": 6 * 3600,
    "max_instances": 1,
}


def run_daily_assignments(app: Flask) -> None:
    with unit_of_work(app) as session:
        created = daily_assignments(session, date.today())
    log.info("daily assignments: %s", created)


def build_scheduler(app: Flask, *, blocking: bool = False) -> BaseScheduler:
    cls = BlockingScheduler if blocking else BackgroundScheduler
    scheduler = cls(job_defaults=JOB_DEFAULTS)
    hour = app.config["DAILY_JOB_HOUR"]
    scheduler.add_job(run_daily_assignments, "cron", hour=hour, args=[app], id="daily_assignments",
                      replace_existing=True)
    # Catch up at start, so a process that was down at the scheduled hour loses nothing.
    scheduler.add_job(run_daily_assignments, args=[app], id="startup_assignments")
    return scheduler
