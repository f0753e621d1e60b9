"""`flask --app app courses sync`."""
from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from training.commands import fail
from training.db import unit_of_work
from training.words import plural

courses_cli = AppGroup("courses", help="Course content.")


@courses_cli.command("sync")
@click.option("--dry-run", is_flag=True,
              help="Validate and compare with the published versions, list what would be published; write nothing.")
def courses_sync(dry_run: bool) -> None:
    """Validate courses/ and quizzes/, then load a new version of each changed course, listing what changed."""
    from training.catalog.service import ContentInvalid
    from training.updates.service import publish_courses

    cfg = current_app.config
    try:
        with unit_of_work() as session:
            published = publish_courses(session, Path(cfg["COURSES_DIR"]), Path(cfg["QUIZZES_DIR"]),
                                        dry_run=dry_run)
            if dry_run:
                session.rollback()
    except ContentInvalid as exc:
        for error in exc.errors:
            click.echo(str(error), err=True)
        for warning in exc.warnings:
            click.echo(f"warning: {warning}", err=True)
        fail(f"{plural(len(exc.errors), 'problem')} found; nothing was loaded.")
    result = published.sync
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    would = "would be " if dry_run else ""
    for plan in result.plans:
        entry = plan.entry
        about = f" ({entry.describe()}: {entry.summary})" if entry else ""
        click.echo(f"new version{' (dry run)' if dry_run else ''}: {plan.content.code} v{plan.number}{about}")
        for label, names in plan.changes.listing() if plan.changes else []:
            if names:
                click.echo(f"  {label}: {', '.join(names)}")
    for code, assigned in published.updates.items():
        click.echo(f"policy update: {code}: {plural(assigned, 'certified officer')} {would}assigned the update")
    click.echo(f"{plural(len(result.created), 'course version')} {would}created, {len(result.unchanged)} unchanged"
               f"{'; nothing was written (dry run)' if dry_run else ''}.")


COMMANDS = (courses_cli,)
