"""`flask --app app users create`."""
from __future__ import annotations

import click
from flask.cli import AppGroup

from training.commands import fail
from training.db import unit_of_work

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


COMMANDS = (users_cli,)
