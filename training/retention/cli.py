"""`flask --app app retention run [--as-of DATE] [--dry-run]`."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from training.commands import fail, parse_date
from training.words import plural

retention_cli = AppGroup("retention", help="Removing personal data kept longer than the records schedule says.")


@retention_cli.command("run")
@click.option("--as-of", callback=parse_date, help="The day the retention period counts back from (default: today).")
@click.option("--dry-run", is_flag=True, help="List what would go; change nothing.")
def retention_run(as_of: date | None, dry_run: bool) -> None:
    """Anonymise the accounts deactivated more than RETENTION_YEARS before the day, keeping their records."""
    from training import clock
    from training.db import unit_of_work
    from training.retention.service import RetentionRefused, plan, retention_years, run

    app = current_app._get_current_object()
    try:
        years = retention_years(app.config.get("RETENTION_YEARS"))
    except RetentionRefused as exc:
        fail(f"{exc}; nothing was done")
    if years is None:
        fail("RETENTION_YEARS is not set, so nothing is purged; set it to the years your records schedule keeps "
             "personal data after an account is deactivated")
    day = as_of or clock.zone_today("UTC")
    with unit_of_work(app) as session:
        if dry_run:
            purge = plan(session, day, years)
        else:
            purge = run(session, day, years, Path(app.instance_path) / "uploads", via="cli")
    ids = ", ".join(map(str, purge.account_ids)) or "none"
    if dry_run:
        click.echo(f"Dry run: {plural(len(purge.account_ids), 'account')} deactivated more than "
                   f"{plural(years, 'year')} before {day.isoformat()} would be anonymised (account ids: {ids}); "
                   "nothing was changed.")
        return
    done = ", ".join(f"{count} {what}" for what, count in purge.counts.items())
    click.echo(f"{plural(len(purge.account_ids), 'account')} deactivated more than {plural(years, 'year')} before "
               f"{day.isoformat()} anonymised (account ids: {ids}): {done}.")


COMMANDS = (retention_cli,)
