"""The scheduled jobs, defined in code, thin over the same functions the CLI calls."""
from __future__ import annotations

import logging
from datetime import date

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask

from training.jobs import count_compliance, exclusive, run_daily
from training.reminders.delivery import deliver

log = logging.getLogger(__name__)

JOB_DEFAULTS = {
    # A job that starts late (busy process, restart) still runs once instead of
    # being skipped after APScheduler's default one-second grace time.
    "coalesce": True,
    "misfire_grace_time": 6 * 3600,
    "max_instances": 1,
}


def daily_job(app: Flask) -> None:
    """Renewals, standing rules and the reminder sweep for today, the dashboard's figures, then a delivery."""
    with exclusive(app) as held:
        if not held:
            log.info("daily sweep skipped: another process holds the jobs lock")
            return
        today = date.today()
        log.info("daily sweep: %s", dict(run_daily(app, today)))
        count_compliance(app, today)
        log.info("delivery: %s", dict(deliver(app).counts))


def delivery_job(app: Flask) -> None:
    """Send what is pending and past its back-off."""
    with exclusive(app) as held:
        if held:
            report = deliver(app)
            if report.counts or report.unreachable:
                log.info("delivery: %s %s", dict(report.counts), report.unreachable or "")


def build_scheduler(app: Flask, *, blocking: bool = False) -> BaseScheduler:
    """The jobs live in code and in memory: no shared job store, which would run them twice or lose them."""
    cls = BlockingScheduler if blocking else BackgroundScheduler
    scheduler = cls(job_defaults=JOB_DEFAULTS)
    scheduler.add_job(daily_job, "cron", hour=app.config["DAILY_JOB_HOUR"], args=[app], id="daily",
                      replace_existing=True)
    scheduler.add_job(delivery_job, "interval", minutes=app.config["DELIVERY_INTERVAL_MINUTES"], args=[app],
                      id="delivery", replace_existing=True)
    # Catch up at start, so a process that was down at the scheduled hour loses nothing.
    scheduler.add_job(daily_job, args=[app], id="startup_daily")
    return scheduler
