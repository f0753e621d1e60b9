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
def courses_sync() -> None:
    """Validate courses/ and quizzes/, then load a new version of each changed course."""
    from training.catalog.service import ContentInvalid
    from training.updates.service import publish_courses

    cfg = current_app.config
    try:
        with unit_of_work() as session:
            published = publish_courses(session, Path(cfg["COURSES_DIR"]), Path(cfg["QUIZZES_DIR"]))
    except ContentInvalid as exc:
        for error in exc.errors:
            click.echo(str(error), err=True)
        for warning in exc.warnings:
            click.echo(f"warning: {warning}", err=True)
        fail(f"{plural(len(exc.errors), 'problem')} found; nothing was loaded.")
    result = published.sync
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    for created in result.created:
        click.echo(f"new version: {created}")
    for code, assigned in published.updates.items():
        click.echo(f"policy update: {code}: {plural(assigned, 'certified officer')} assigned the update")
    click.echo(f"{plural(len(result.created), 'course version')} created, {len(result.unchanged)} unchanged.")


COMMANDS = (courses_cli,)
