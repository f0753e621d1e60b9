"""`flask --app app demo seed`."""
from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from training.clock import server_today
from training.commands import fail
from training.db import unit_of_work

demo_cli = AppGroup("demo", help="Demonstration data.")


@demo_cli.command("seed")
@click.option("--officers", type=click.IntRange(1, 1_000_000), default=20, show_default=True)
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--if-empty", is_flag=True, help="Do nothing (and succeed) when the database has accounts.")
def demo_seed(officers: int, seed: int, if_empty: bool) -> None:
    """Create a demo agency, units, officers and the demo sign-ins."""
    from training.assignments.service import daily_assignments
    from training.demo.service import DEMO_ACCOUNTS, DEMO_PASSWORD, AlreadySeeded, is_empty, seed_demo

    today = server_today()
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
               f"{result.assignments} assignments, as of {today.isoformat()} (the server's day).")
    click.echo(f"Demo sign-ins (password {DEMO_PASSWORD}): " + ", ".join(a[0] for a in DEMO_ACCOUNTS))


COMMANDS = (demo_cli,)
