"""`flask --app app org import FILE`, `roster import FILE [--dry-run] [--full] [--invite]`,
`completions import FILE [--dry-run]`."""
from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from training.assignments.service import apply_standing_rules
from training.clock import describe, local_days, server_today
from training.commands import fail, read_import
from training.db import unit_of_work, utcnow
from training.imports import ImportRefused, apply_org_plan, apply_roster_plan, parse_org_csv, parse_roster_csv
from training.imports.csvfile import total
from training.reminders.delivery import deliver
from training.reminders.invitations import invite_employees
from training.words import plural

PROGRESS_FROM_ROWS = 1000
SHOWN = 20

org_cli = AppGroup("org", help="Agencies and units.")
roster_cli = AppGroup("roster", help="Officers and their accounts.")
csv_file = click.Path(exists=True, dir_okay=False, readable=True, path_type=Path)


def refuse(path: Path, problems: Sequence[tuple[int, str]]) -> None:
    """Print the problems kept (IMPORT_PROBLEMS_SHOWN at most), how many more were found, and exit."""
    for line, message in problems:
        click.echo(f"{path}:{line}: {message}", err=True)
    found = total(problems)
    if found > len(problems):
        click.echo(f"… and {found - len(problems):,} more problems; fix these and run the import again.", err=True)
    click.echo(f"Error: {plural(found, 'problem')} found; nothing was imported.", err=True)
    sys.exit(1)


@contextmanager
def progress_bar(label: str, total: int) -> Iterator:
    """A callback for the import functions: a progress bar for big files, nothing for small ones."""
    if total <= PROGRESS_FROM_ROWS:
        yield None
        return
    with click.progressbar(length=total, label=label, file=sys.stderr) as bar:
        yield lambda done: bar.update(done - bar.pos)


@org_cli.command("import")
@click.argument("file", type=csv_file)
def org_import(file: Path) -> None:
    """Create or update agencies and units from an org-chart CSV.

    Header: agency_code,agency_name,time_zone,unit_code,unit_name,parent_unit_code
    """
    data = read_import(file)
    with progress_bar("Checking rows", data.count(b"\n")) as progress:
        plan = parse_org_csv(data, progress=progress)
    if not plan.ok:
        refuse(file, plan.problems)
    try:
        with unit_of_work() as session:
            result = apply_org_plan(session, plan, source=file.name)
    except ImportRefused as exc:
        refuse(file, exc.problems)
    click.echo(f"Agencies: {result.agencies_added} added, {result.agencies_updated} updated. "
               f"Units: {result.units_added} added, {result.units_updated} updated, {result.units_moved} moved.")


@roster_cli.command("import")
@click.argument("file", type=csv_file)
@click.option("--dry-run", is_flag=True, help="Check the file and show what would change; write nothing.")
@click.option("--full", is_flag=True,
              help="The file is the whole roster of its agencies: deactivate their officers who are not in it.")
@click.option("--invite", is_flag=True,
              help="Then invite by e-mail the file's officers who cannot sign in yet to choose a password.")
def roster_import(file: Path, dry_run: bool, full: bool, invite: bool) -> None:
    """Add and update officers from a roster CSV; all of it or nothing.

    Header: employee_id,first_name,last_name,email,agency,unit,supervisor_employee_id
    (and optionally more columns, e.g. role).
    """
    data = read_import(file)
    rows = data.count(b"\n")
    with unit_of_work() as session:
        with progress_bar("Checking rows", rows) as progress:
            plan = parse_roster_csv(session, data, full=full, progress=progress)
        if plan.ok and not dry_run:
            work = len(plan.to_add) + len(plan.to_change) + len(plan.to_deactivate)
            with progress_bar("Writing", work if rows > PROGRESS_FROM_ROWS else 0) as progress:
                counts = apply_roster_plan(session, plan, source=file.name, progress=progress)
            # Newcomers and officers who moved are held to their new unit's standing rules at once, due counted
            # from each agency's own day, as the daily job counts it.
            days = local_days(session)
            counts["assigned by standing rules"] = sum(sum(apply_standing_rules(session, day.on, day.agency_ids)
                                                           .values()) for day in days)
            invited = invite_employees(session, plan.employee_ids, utcnow(), current_app.config["INVITATION_DAYS"],
                                       None, via="roster import") if invite else None
    if not plan.ok:
        refuse(file, plan.problems)
    if dry_run:
        show_plan(plan)
        return
    click.echo(f"Imported {file.name}: {summary(counts)}.")
    click.echo(f"Standing rules applied as of {describe(days)}.")
    if invited is not None:
        report = deliver(current_app._get_current_object(), force=True, ids=invited.queued)
        click.echo(f"Invitations: {len(invited.sent_to)} queued, {report.counts['sent']} sent"
                   + (f", {invited.already} skipped (their invitation still works)" if invited.already else "")
                   + ".")
        if report.unreachable:
            fail(f"the roster was imported, but the mail server could not be reached ({report.unreachable}); "
                 "the invitations stay queued for the next delivery")


def summary(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {what}" for what, n in counts.items())


def show_plan(plan) -> None:
    click.echo(f"Dry run: would add {len(plan.to_add)}, change {len(plan.to_change)} and deactivate "
               f"{len(plan.to_deactivate)}; {plan.unchanged} unchanged. Nothing was written.")
    lists = [("To add", plan.to_add), ("To change", plan.to_change), ("To deactivate", plan.to_deactivate)]
    for title, items in lists:
        if not items:
            continue
        more = f" (first {SHOWN} of {len(items)})" if len(items) > SHOWN else ""
        click.echo(f"{title}{more}:")
        for item in items[:SHOWN]:
            click.echo(f"  {item.describe()}")
    if not plan.full:
        click.echo("Without --full, officers missing from the file are left as they are.")


completions_cli = AppGroup("completions", help="Completion records.")

@completions_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check the file and report what would be added; write nothing.")
def import_completions(file: Path, dry_run: bool) -> None:
    """Add historical completions from a CSV file: employee_id,course_code,completed_on,score.

    Records already in Rollcall (same officer, course and date) are skipped, so a
    file can be imported again safely. Any problem means nothing is imported.
    """
    from training.imports.completions import apply_completions_plan, parse_completions_csv

    today = server_today()
    click.echo(f"Completion dates checked against {today.isoformat()} (the server's day).")
    with unit_of_work() as session:
        plan = parse_completions_csv(session, read_import(file), today)
        if not plan.ok:
            refuse(file, plan.problems)
        if dry_run:
            click.echo(f"Dry run: {plural(len(plan.records), 'completion')} would be added, "
                       f"{plan.already_recorded} already recorded. Nothing was written.")
            return
        with progress_bar("Importing completions", len(plan.records)) as progress:
            added = apply_completions_plan(session, plan, file.name, progress=progress)
    click.echo(f"Imported {plural(added, 'completion')}; {plan.already_recorded} already recorded, skipped.")


COMMANDS = (org_cli, roster_cli, completions_cli)
