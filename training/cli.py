"""`flask --app app ...` commands: thin wrappers that parse, call a function and print."""
from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from training import migrate
from training.certification.rules import STATUSES
from training.db import unit_of_work


def fail(message: str) -> None:
    click.echo(f"Error: {message}", err=True)
    sys.exit(1)


def read_import(path: Path) -> bytes:
    """The file an import command was given, unless it is larger than IMPORT_MAX_BYTES."""
    from training import megabytes

    limit = current_app.config["IMPORT_MAX_BYTES"]
    if path.stat().st_size > limit:
        fail(f"{path} is {megabytes(path.stat().st_size)}; at most {megabytes(limit)} can be imported at once. "
             f"Split it into smaller files; nothing was imported.")
    return path.read_bytes()


# Dates a command takes: the reminder and renewal rules count months and weeks on from them.
EARLIEST, LATEST = date(1900, 1, 1), date(2999, 12, 31)


def parse_date(_ctx, _param, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"'{value}' is not a date like 2026-09-30") from None
    if not EARLIEST <= day <= LATEST:
        raise click.BadParameter(f"{value} is outside the years {EARLIEST.year} to {LATEST.year}")
    return day


db_cli = AppGroup("db", help="Database schema.")


@db_cli.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION (default: the latest)."""
    migrate.upgrade(current_app, revision)
    click.echo("Database is up to date.")


@db_cli.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Revert migrations down to REVISION."""
    migrate.downgrade(current_app, revision)


@db_cli.command("revision")
@click.option("-m", "--message", required=True)
def db_revision(message: str) -> None:
    """Write a new migration from the difference between the models and the database."""
    migrate.revision(current_app, message)


courses_cli = AppGroup("courses", help="Course content.")


@courses_cli.command("sync")
def courses_sync() -> None:
    """Validate courses/ and quizzes/, then load a new version of each changed course."""
    from training.catalog.service import ContentInvalid, sync_courses

    cfg = current_app.config
    try:
        with unit_of_work() as session:
            result = sync_courses(session, Path(cfg["COURSES_DIR"]), Path(cfg["QUIZZES_DIR"]))
    except ContentInvalid as exc:
        for error in exc.errors:
            click.echo(str(error), err=True)
        fail(f"{len(exc.errors)} problem(s) found; nothing was loaded.")
    for created in result.created:
        click.echo(f"new version: {created}")
    click.echo(f"{len(result.created)} course version(s) created, {len(result.unchanged)} unchanged.")


users_cli = AppGroup("users", help="Accounts.")


@users_cli.command("create")
@click.option("--email", prompt=True)
@click.option("--first-name", prompt=True)
@click.option("--last-name", prompt=True)
@click.option("--role", type=click.Choice(["officer", "coordinator", "compliance", "admin"]), default="admin",
              show_default=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
def users_create(email: str, first_name: str, last_name: str, role: str, password: str) -> None:
    """Create an account (the first administrator, say)."""
    from training.audit.service import record
    from training.auth.service import AccountError, create_user

    try:
        with unit_of_work() as session:
            user = create_user(session, email=email, password=password, first_name=first_name,
                               last_name=last_name, role=role)
            record(session, "user.created", target=f"user:{user.id}", role=role, via="cli")
    except AccountError as exc:
        fail(str(exc))
    click.echo(f"Created {role} {email}.")


export_cli = AppGroup("export", help="Exports for compliance staff.")


@export_cli.command("roster")
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx"]), default="csv", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, writable=True, path_type=Path), required=True)
@click.option("--agency", help="Agency code.")
@click.option("--unit", help="Unit code; its sub-units are included.")
@click.option("--course", help="Course code.")
@click.option("--status", type=click.Choice(STATUSES), help="Status on the as-of day.")
@click.option("--completed-from", callback=parse_date, help="Latest completion on or after DATE.")
@click.option("--completed-to", callback=parse_date, help="Latest completion on or before DATE.")
@click.option("--expiring-before", callback=parse_date, help="Certification expiring before DATE (not on it).")
@click.option("--as-of", callback=parse_date, help="The roster as it stood at the end of DATE (default today).")
def export_roster(fmt: str, out: Path, as_of: date | None, **filters) -> None:
    """Write the roster: one row per officer and required course."""
    import getpass

    from training.reports.export import write_roster
    from training.reports.filters import FilterError, RosterFilters, build_roster
    from training.reports.service import record_export

    partial = out.with_name(out.name + ".part")
    try:
        with unit_of_work() as session:
            roster = build_roster(session, None, RosterFilters(as_of=as_of, **filters), date.today())
            who = f"{getpass.getuser()} (command line)"
            rows = write_roster(session, roster, fmt, partial, who)
            record_export(session, roster, fmt, rows, actor_id=None, via="cli", out=str(out), os_user=who)
        partial.replace(out)
    except FilterError as exc:
        fail(f"--{exc.field.replace('_', '-')}: {exc}")
    finally:
        partial.unlink(missing_ok=True)
    click.echo(f"Wrote {rows} rows to {out}.")


demo_cli = AppGroup("demo", help="Demonstration data.")


@demo_cli.command("seed")
@click.option("--officers", type=click.IntRange(1, 1_000_000), default=20, show_default=True)
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--if-empty", is_flag=True, help="Do nothing (and succeed) when the database has accounts.")
def demo_seed(officers: int, seed: int, if_empty: bool) -> None:
    """Create a demo agency, units, officers and the demo sign-ins."""
    from training.assignments.service import daily_assignments
    from training.demo.service import DEMO_ACCOUNTS, DEMO_PASSWORD, AlreadySeeded, is_empty, seed_demo

    today = date.today()
    try:
        with unit_of_work() as session:
            if if_empty and not is_empty(session):
                click.echo("The database already has data; demo seed skipped.")
                click.echo(f"Demo sign-ins, where this database holds the demo data (password {DEMO_PASSWORD}): "
                           + ", ".join(a[0] for a in DEMO_ACCOUNTS))
                return
            # Two passes over the officers: their accounts, then their histories.
            with click.progressbar(length=2 * officers, label="Seeding", file=sys.stderr) as bar:
                result = seed_demo(session, today, officers=officers, seed=seed,
                                   progress=lambda _label, n: bar.update(n))
            daily_assignments(session, today)
    except AlreadySeeded as exc:
        fail(str(exc))
    click.echo(f"Seeded {result.officers} officers, {result.completions} completions, "
               f"{result.assignments} assignments.")
    click.echo(f"Demo sign-ins (password {DEMO_PASSWORD}): " + ", ".join(a[0] for a in DEMO_ACCOUNTS))


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=5000, show_default=True, envvar="PORT")
@with_appcontext
def serve(host: str, port: int) -> None:
    """Serve the site with the scheduler running in this process (development)."""
    from werkzeug.serving import run_simple

    from training.scheduler import build_scheduler

    app = current_app._get_current_object()
    scheduler = build_scheduler(app)
    scheduler.start()
    try:
        # No reloader: it would start a second process and a second scheduler.
        run_simple(host, port, app, use_reloader=False, threaded=True)
    finally:
        scheduler.shutdown()


scheduler_cli = AppGroup("scheduler", help="Scheduled jobs.")


@scheduler_cli.command("run")
def scheduler_run() -> None:
    """Run the scheduled jobs in this process, in the foreground."""
    from training.scheduler import build_scheduler

    click.echo("Scheduler running; Ctrl-C stops it.")
    build_scheduler(current_app._get_current_object(), blocking=True).start()


def register(app: Flask) -> None:
    from training.assignments.cli import assign
    from training.audit.cli import audit_cli
    from training.certification.cli import completions_cli
    from training.people.cli import org_cli, roster_cli
    from training.reminders.cli import reminders_cli

    for command in (db_cli, courses_cli, users_cli, export_cli, demo_cli, serve, scheduler_cli, assign,
                    org_cli, roster_cli, completions_cli, audit_cli, reminders_cli):
        app.cli.add_command(command)
