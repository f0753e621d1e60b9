"""What every `flask --app app ...` command shares: refusing with a clear message, dates, import files."""
from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import click
from flask import current_app


def fail(message: str) -> None:
    click.echo(f"Error: {message}", err=True)
    sys.exit(1)


def megabytes(size: int) -> str:
    return f"{size / 1024 / 1024:g} MB"


def read_import(path: Path) -> bytes:
    """The file an import command was given, unless it is larger than IMPORT_MAX_BYTES."""
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


