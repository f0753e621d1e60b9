"""`flask --app app audit verify`."""
from __future__ import annotations

import click
from flask.cli import AppGroup

from training.commands import fail
from training.db import unit_of_work
from training.words import plural

audit_cli = AppGroup("audit", help="The audit trail.")


@audit_cli.command("verify")
def verify() -> None:
    """Walk the audit trail's hash chain in order; report the first broken link."""
    from training.audit.chain import walk

    with unit_of_work() as session:
        report = walk(session)
    if report.broken is not None:
        fail(f"audit chain broken at event {report.broken.event_id}: {report.broken.problem} "
             f"({plural(report.checked, 'event')} before it intact).")
    redacted = f" ({report.redacted} redacted by the retention purge)" if report.redacted else ""
    click.echo(f"OK: {plural(report.checked, 'audit event')}{redacted}, chain intact; last hash {report.last_hash}.")


COMMANDS = (audit_cli,)
