"""`flask --app app export roster ...`."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import click
from flask.cli import AppGroup

from training.clock import server_today
from training.commands import fail, parse_date
from training.db import unit_of_work
from training.records.rules import STATUSES
from training.reports.export import FORMATS
from training.updates.rules import ACKNOWLEDGEMENT_STATUSES

export_cli = AppGroup("export", help="Exports for compliance staff.")


@export_cli.command("roster")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="csv", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, writable=True, path_type=Path), required=True)
@click.option("--agency", help="Agency code.")
@click.option("--unit", help="Unit code; its sub-units are included.")
@click.option("--course", help="Course code.")
@click.option("--status", type=click.Choice(STATUSES), help="Status on the as-of day.")
@click.option("--completed-from", callback=parse_date, help="Latest completion on or after DATE.")
@click.option("--completed-to", callback=parse_date, help="Latest completion on or before DATE.")
@click.option("--expiring-before", callback=parse_date, help="Certification expiring before DATE (not on it).")
@click.option("--as-of", callback=parse_date,
              help="The roster as it stood at the end of DATE (default today, the server's day).")
def export_roster(fmt: str, out: Path, as_of: date | None, **filters) -> None:
    """Write the roster: one row per officer and required course."""
    import getpass

    from training.reports.export import write_roster
    from training.reports.filters import FilterError, RosterFilters, build_roster
    from training.reports.service import record_export

    partial = out.with_name(out.name + ".part")
    today = server_today()
    try:
        with unit_of_work() as session:
            roster = build_roster(session, None, RosterFilters(as_of=as_of, **filters), today)
            who = f"{getpass.getuser()} (command line)"
            rows = write_roster(session, roster, fmt, partial, who)
            record_export(session, roster, fmt, rows, actor_id=None, via="cli", out=str(out), os_user=who)
        partial.replace(out)
    except FilterError as exc:
        fail(f"--{exc.field.replace('_', '-')}: {exc}")
    finally:
        partial.unlink(missing_ok=True)
    day = f"{as_of.isoformat()} (given)" if as_of else f"{today.isoformat()} (the server's day)"
    click.echo(f"Wrote {rows} rows to {out}, as of {day}.")


@export_cli.command("acknowledgements")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="csv", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, writable=True, path_type=Path), required=True)
@click.option("--agency", help="Agency code.")
@click.option("--unit", help="Unit code; its sub-units are included.")
@click.option("--document", help="A module's or a document's code.")
@click.option("--course", help="The same as --document, as the roster export names it.")
@click.option("--status", type=click.Choice(ACKNOWLEDGEMENT_STATUSES), help="Status on the as-of day.")
@click.option("--as-of", callback=parse_date,
              help="As it stood at the end of DATE: the acknowledgements made and versions published by then "
                   "(default today, the server's day).")
def export_acknowledgements(fmt: str, out: Path, as_of: date | None, document: str | None, course: str | None,
                            **filters) -> None:
    """Write who acknowledged which version: one row per officer and required module or document."""
    import getpass

    from training.reports.acknowledgements import (
        AcknowledgementFilters,
        build_acknowledgements,
        record_acknowledgements_export,
    )
    from training.reports.export import write_acknowledgements
    from training.reports.filters import FilterError

    if document and course and document != course:
        fail(f"--course: '{course}' and --document '{document}' name different modules; give one")
    partial = out.with_name(out.name + ".part")
    today = server_today()
    try:
        with unit_of_work() as session:
            export = build_acknowledgements(
                session, None, AcknowledgementFilters(document=document or course, as_of=as_of, **filters), today)
            who = f"{getpass.getuser()} (command line)"
            rows = write_acknowledgements(session, export, fmt, partial, who)
            record_acknowledgements_export(session, export, fmt, rows, actor_id=None, via="cli", out=str(out),
                                           os_user=who)
        partial.replace(out)
    except FilterError as exc:
        field = "course" if exc.field == "document" and course and not document else exc.field
        fail(f"--{field.replace('_', '-')}: {exc}")
    finally:
        partial.unlink(missing_ok=True)
    day = f"{as_of.isoformat()} (given)" if as_of else f"{today.isoformat()} (the server's day)"
    click.echo(f"Wrote {rows} rows to {out}, as of {day}.")


COMMANDS = (export_cli,)
