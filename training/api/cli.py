"""`flask --app app api-tokens create | list | revoke`."""
from __future__ import annotations

import click
from flask.cli import AppGroup

from training.commands import fail, parse_date
from training.db import unit_of_work

api_tokens_cli = AppGroup("api-tokens", help="Tokens other systems reach the JSON API with (docs/api.md).")


def _now():
    from training.clock import stored_instant

    return stored_instant()


@api_tokens_cli.command("create")
@click.option("--name", required=True, help="Which system uses the token, e.g. 'HR sync'.")
@click.option("--agency", "agency_code", required=True, help="The agency the token sees.")
@click.option("--unit", "unit_code", help="Only this unit and the units below it.")
@click.option("--write", is_flag=True, help="Also assign modules and upload rosters, as a coordinator may.")
@click.option("--expires", callback=parse_date, help="The last day the token works (the agency's day).")
def create(name: str, agency_code: str, unit_code: str | None, write: bool, expires) -> None:
    """Make a token and print it once; only its SHA-256 is kept."""
    from training.api.tokens import TokenError, create_token, resolve_scope

    try:
        with unit_of_work() as session:
            agency, unit = resolve_scope(session, agency_code, unit_code)
            token, raw = create_token(session, name, agency, unit, can_write=write, expires_on=expires,
                                      actor_id=None, now=_now(), via="cli")
            token_id = token.id
    except TokenError as exc:
        fail(f"{exc}; no token was made.")
    reach = f"unit {unit_code} and the units below it" if unit_code else f"agency {agency_code}"
    click.echo(f"Token {token_id} ({name}) sees {reach}{', and may assign and upload rosters' if write else ''}"
               f"{', through ' + expires.isoformat() if expires else ''}.")
    click.echo("Copy it now; it is not shown again:")
    click.echo(raw)


@api_tokens_cli.command("list")
def list_tokens() -> None:
    """Every token: number, name, scope, writes or not, last day, last used, and whether it works."""
    from training.api.tokens import all_tokens, state_of

    now = _now()
    with unit_of_work() as session:
        rows = all_tokens(session)
        if not rows:
            click.echo("No API tokens.")
        for token, agency, unit in rows:
            click.echo("\t".join([
                str(token.id), token.name, agency.code + (f"/{unit.code}" if unit else ""),
                "write" if token.can_write else "read", token.expires_on.isoformat() if token.expires_on else "-",
                f"{token.last_used_at:%Y-%m-%d %H:%M}" if token.last_used_at else "never used",
                state_of(token, agency, unit, now)]))


@api_tokens_cli.command("revoke")
@click.argument("token_id", type=int)
def revoke(token_id: int) -> None:
    """Stop a token working, at once."""
    from training.api.models import ApiToken
    from training.api.tokens import TokenError, revoke_token

    try:
        with unit_of_work() as session:
            token = session.get(ApiToken, token_id)
            if token is None:
                raise TokenError(f"no API token has the number {token_id}")
            revoke_token(session, token, actor_id=None, now=_now(), via="cli")
            name = token.name
    except TokenError as exc:
        fail(f"{exc}; nothing was changed.")
    click.echo(f"Token {token_id} ({name}) is revoked; requests made with it are refused from now on.")


COMMANDS = (api_tokens_cli,)
