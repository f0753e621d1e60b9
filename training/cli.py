"""`flask --app app ...`: the app's own commands (schema, serving, the scheduler) and every feature's."""
from __future__ import annotations

from importlib import import_module

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from training import migrate

# Each of these packages lists its commands in `cli.COMMANDS`.
COMMAND_PACKAGES = ("catalog", "auth", "imports", "assignments", "reminders", "reports", "audit", "demo", "api",
                    "evidence", "backup", "retention")


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


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=5000, show_default=True, envvar="PORT")
@with_appcontext
def serve(host: str, port: int) -> None:
    """Serve the site with the scheduler running in this process (development). Without BASE_URL set, links
    in mail and on certificates point at the address served."""
    from werkzeug.serving import run_simple

    from training.scheduler import build_scheduler

    app = current_app._get_current_object()
    if app.config.get("BASE_URL_FOLLOWS_SERVE"):
        app.config["BASE_URL"] = served_address(host, port)
    scheduler = build_scheduler(app)
    scheduler.start()
    try:
        # No reloader: it would start a second process and a second scheduler.
        run_simple(host, port, app, use_reloader=False, threaded=True)
    finally:
        scheduler.shutdown()


def served_address(host: str, port: int) -> str:
    """The address a browser on this machine reaches `serve` at (a wildcard host is reached on loopback)."""
    if host in ("", "0.0.0.0", "::"):
        host = "127.0.0.1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


scheduler_cli = AppGroup("scheduler", help="Scheduled jobs.")


@scheduler_cli.command("run")
def scheduler_run() -> None:
    """Run the scheduled jobs in this process, in the foreground."""
    from training.scheduler import build_scheduler

    click.echo("Scheduler running; Ctrl-C stops it.")
    build_scheduler(current_app._get_current_object(), blocking=True).start()


def register(app: Flask) -> None:
    for command in (db_cli, serve, scheduler_cli):
        app.cli.add_command(command)
    for package in COMMAND_PACKAGES:
        for command in import_module(f"training.{package}.cli").COMMANDS:
            app.cli.add_command(command)
