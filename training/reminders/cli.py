"""`flask --app app reminders run`: the sweep and a delivery, now."""
from __future__ import annotations

from datetime import date

import click
from flask import current_app
from flask.cli import AppGroup

from training.commands import fail, parse_date

reminders_cli = AppGroup("reminders", help="Reminders and the outbox.")


@reminders_cli.command("run")
@click.option("--as-of", callback=parse_date,
              help="The day to sweep for, for every agency (default: each agency's own day, in its time zone).")
@click.option("--wait", type=click.IntRange(0, 3600), default=120, show_default=True,
              help="Seconds to wait while another process runs the jobs.")
def reminders_run(as_of: date | None, wait: int) -> None:
    """Queue what has fallen due and try every pending message now, whatever its back-off.

    Each agency is swept for its own calendar day, or all of them for --as-of.
    """
    from training import clock
    from training.db import unit_of_work
    from training.jobs import exclusive, run_daily
    from training.reminders.delivery import deliver

    app = current_app._get_current_object()
    now = clock.current_instant()
    with exclusive(app, wait=wait) as held:
        if not held:
            fail(f"another process has been running the scheduled jobs for {wait} s; nothing was done")
        if as_of is not None:
            days = [clock.every_agency_on(as_of)]
        else:
            with unit_of_work(app) as session:
                days = clock.local_days(session, now)
        queued = run_daily(app, days)
        report = deliver(app, on=as_of, force=True)
    click.echo(f"Sweep for {clock.describe(days)}:")
    for kind, count in sorted(queued.items()):
        click.echo(f"  {kind}: {count}")
    if not queued:
        click.echo("  nothing new fell due")
    counts = report.counts
    click.echo(f"Delivery: {counts['sent']} sent, {counts['errors']} not accepted "
               f"({counts['failed']} given up after repeated failures), {counts['cancelled']} cancelled.")
    if report.unreachable:
        fail(f"the mail server could not be reached ({report.unreachable}); "
             "the rest stays pending for the next delivery")
    if counts["errors"]:
        fail("some messages were not accepted; they are retried later (see the outbox page)")


COMMANDS = (reminders_cli,)
