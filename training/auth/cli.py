"""`flask --app app users create` and `flask --app app secrets rotate`."""
from __future__ import annotations

import click
from flask.cli import AppGroup

from training.commands import fail
from training.db import unit_of_work
from training.words import plural

users_cli = AppGroup("users", help="Accounts.")


@users_cli.command("create")
@click.option("--email", prompt=True)
@click.option("--first-name", prompt=True)
@click.option("--last-name", prompt=True)
@click.option("--role", type=click.Choice(["officer", "coordinator", "compliance", "admin"]), default="admin",
              show_default=True)
@click.option("--agency", "agency_code", help="Agency code: the officer's agency, or the staff member's scope.")
@click.option("--unit", "unit_code", help="Unit code (of that agency): the officer's unit, or the unit subtree a "
                                          "coordinator or compliance user is limited to.")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
def users_create(email: str, first_name: str, last_name: str, role: str, agency_code: str | None,
                 unit_code: str | None, password: str) -> None:
    """Create an account (the first administrator, say), with the scope a coordinator or compliance user needs."""
    from training.access import SCOPED
    from training.admin.service import resolve_codes
    from training.audit.service import record
    from training.auth.service import AccountError, create_user

    scoped = role in SCOPED
    try:
        with unit_of_work() as session:
            place = resolve_codes(session, agency_code, unit_code, unit_code if scoped else None)
            user = create_user(session, email=email, password=password, first_name=first_name,
                               last_name=last_name, role=role, **place)
            record(session, "user.created", target=f"user:{user.id}", role=role, via="cli", agency=agency_code,
                   unit=unit_code)
    except AccountError as exc:
        fail(str(exc))
    if scoped:
        reach = (f"unit {unit_code} and the units below it" if unit_code else
                 f"agency {agency_code}" if agency_code else "every agency (department level)")
        click.echo(f"Created {role} {email}; sees and acts within {reach}.")
    else:
        click.echo(f"Created {role} {email}.")


secrets_cli = AppGroup("secrets", help="Secrets stored encrypted with ENCRYPTION_KEYS.")


@secrets_cli.command("rotate")
def secrets_rotate() -> None:
    """Re-encrypt every stored secret with the newest of ENCRYPTION_KEYS (the first)."""
    from training.audit.service import record
    from training.auth.keys import keyring
    from training.auth.second_factor import rotate_keys

    keys = keyring()
    with unit_of_work() as session:
        done = rotate_keys(session, keys)
        if done.unreadable:
            shown = "; ".join(done.unreadable[:20]) + ("; ..." if len(done.unreadable) > 20 else "")
            fail(f"{plural(len(done.unreadable), 'stored secret')} cannot be decrypted with any of the "
                 f"{plural(keys.size, 'key')} in "
                 f"ENCRYPTION_KEYS ({shown}). Put back the key they were encrypted with; nothing was changed.")
        record(session, "secrets.rotated", via="cli", secrets=done.secrets, recovery_codes=done.recovery_codes,
               setups=done.setups, under_older_keys=done.under_older_keys, keys=keys.size)
    click.echo(f"Re-encrypted {plural(done.total, 'stored secret')} with the newest key: "
               f"{plural(done.secrets, 'second-factor secret')}, {plural(done.recovery_codes, 'recovery code')}, "
               f"{plural(done.setups, 'set-up')} in progress; "
               f"{done.under_older_keys} had been encrypted with an older key.")
    if keys.size > 1:
        click.echo("Every stored secret now opens with the newest key alone: the older keys may be removed from "
                   "ENCRYPTION_KEYS once every process runs with the new list.")


COMMANDS = (users_cli, secrets_cli)
