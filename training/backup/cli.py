"""`flask --app app backup ...` and `flask --app app restore ...`."""
from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from training.commands import fail, megabytes
from training.words import plural


@click.command("backup")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The backup file to write (replaced, once complete, if it exists).")
@with_appcontext
def backup(out: Path) -> None:
    """Write a consistent copy of the database, with its manifest, while the site runs."""
    from training.backup.manifest import BackupError
    from training.backup.service import write_backup

    try:
        written = write_backup(current_app._get_current_object(), out)
    except BackupError as exc:
        fail(str(exc))
    m = written.manifest
    click.echo(f"Wrote {written.path} ({megabytes(written.size)}, {written.seconds:.1f} s): {m.database_name} at "
               f"schema revision {m.facts.revision}, as it stood at {m.taken_at}; "
               f"{plural(len(m.facts.counts), 'table')}, {plural(m.facts.counts.get('users', 0), 'account')}, "
               f"{plural(m.facts.audit_events, 'audit event')} (last hash {m.facts.last_hash}).")


@click.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def restore(path: Path) -> None:
    """Restore the backup at PATH into the database DATABASE_URL names, which must be empty."""
    from training.backup.manifest import BackupError
    from training.backup.service import restore_backup

    try:
        restored = restore_backup(current_app._get_current_object(), path)
    except BackupError as exc:
        fail(str(exc))
    m = restored.manifest
    current = m.facts.revision == restored.head
    chain = (f"the audit chain intact over {plural(m.facts.audit_events, 'event')} and ending with "
             f"{m.facts.last_hash}" if current else f"the audit chain ending with {m.facts.last_hash}")
    click.echo(f"Restored {path} ({restored.seconds:.1f} s): {m.database_name}, as it stood at {m.taken_at}. "
               f"Checked against its manifest: {plural(len(m.facts.counts), 'table')} with the same row counts, "
               f"{chain}.")
    if not current:
        click.echo(f"The backup is at schema revision {m.facts.revision}; this version of Rollcall is at "
                   f"{restored.head}: run `flask --app app db upgrade`, then `flask --app app audit verify`, "
                   f"before serving it.")


COMMANDS = (backup, restore)
