"""`flask --app app completions import FILE [--dry-run]`."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import click
from flask.cli import AppGroup

from training.cli import fail, read_import
from training.db import unit_of_work

completions_cli = AppGroup("completions", help="Completion records.")

PROGRESS_FROM = 1_000   # rows; smaller files import in a blink


@completions_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check the file and report what would be added; write nothing.")
def import_completions(file: Path, dry_run: bool) -> None:
    """Add historical completions from a CSV file: employee_id,course_code,completed_on,score.

    Records already in Rollcall (same officer, course and date) are skipped, so a
    file can be imported again safely. Any problem means nothing is imported.
    """
    from training.certification.imports import apply_completions_plan, parse_completions_csv

    with unit_of_work() as session:
        plan = parse_completions_csv(session, read_import(file), date.today())
        if not plan.ok:
            for line, message in plan.problems:
                click.echo(f"{file}:{line}: {message}", err=True)
            fail(f"{len(plan.problems)} problem(s) found; nothing was imported.")
        if dry_run:
            click.echo(f"Dry run: {len(plan.records)} completion(s) would be added, "
                       f"{plan.already_recorded} already recorded. Nothing was written.")
            return
        if len(plan.records) > PROGRESS_FROM:
            with click.progressbar(length=len(plan.records), label="Importing completions") as bar:
                added = apply_completions_plan(session, plan, file.name, progress=bar.update)
        else:
            added = apply_completions_plan(session, plan, file.name)
    click.echo(f"Imported {added} completion(s); {plan.already_recorded} already recorded, skipped.")
