"""`flask --app app evidence --officer EMPLOYEE_ID --out PATH [--as-of DATE]`."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from training.commands import fail, parse_date
from training.db import unit_of_work


@click.command("evidence")
@with_appcontext
@click.option("--officer", "employee_id", required=True, help="The officer's employee id.")
@click.option("--out", type=click.Path(path_type=Path), required=True, help="The ZIP file to write.")
@click.option("--as-of", callback=parse_date,
              help="Everything held at the end of DATE, the officer's local day (default: their today).")
def evidence(employee_id: str, out: Path, as_of: date | None) -> None:
    """Write an officer's evidence packet: one ZIP of their training records, with a manifest of SHA-256 hashes.
    The same officer and day give the same bytes."""
    import getpass

    from training.evidence.service import (
        PacketRefused,
        build_packet,
        officer_by_employee_id,
        record_packet,
        write_atomically,
    )

    try:
        with unit_of_work() as session:
            officer = officer_by_employee_id(session, employee_id)
            built = build_packet(session, officer, as_of, current_app.config["BASE_URL"])
            record_packet(session, built, actor_id=None, via="cli", out=str(out),
                          os_user=f"{getpass.getuser()} (command line)")
            write_atomically(built.data, out)
    except PacketRefused as exc:
        fail(f"{exc}; nothing was written.")
    click.echo(f"Wrote the evidence packet of {built.officer.full_name} as of {built.as_of.isoformat()} to {out}: "
               f"{built.files} files, {len(built.data)} bytes, SHA-256 {built.sha256}.")


COMMANDS = (evidence,)
