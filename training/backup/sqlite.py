"""SQLite: a copy through SQLite's online backup API while the site writes, and a restore the same way back."""
from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

from training.backup.manifest import BackupError, Facts, read_facts

DUMP_NAME = "database.sqlite3"


def database_file(url: str) -> Path:
    """The file a sqlite:/// URL names; an in-memory database has none to copy or restore into."""
    name = make_url(url).database
    if not name or name == ":memory:" or name.startswith("file::memory:"):
        raise BackupError("the database is in memory: there is no file to back up or restore into")
    return Path(name)


def copy_online(source: Path, target: Path) -> None:
    """Copy the database at `source` to the new file `target` in one step of the backup API: one read
    transaction, so one consistent snapshot, while other connections go on writing (WAL)."""
    if not source.is_file():
        raise BackupError(f"the database file {source} does not exist")
    with closing(sqlite3.connect(source, timeout=30)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)
        # One self-contained file: the copy keeps no write-ahead log beside it.
        dst.execute("PRAGMA journal_mode=DELETE")


def facts_of(path: Path) -> Facts:
    """The facts of the SQLite file at `path` (a backup's copy, before or after it is restored)."""
    engine = create_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as connection:
            return read_facts(connection)
    finally:
        engine.dispose()


def objects_in(path: Path) -> list[str]:
    """The names of the tables and views in the SQLite file at `path` (none: it is empty; its indexes and
    triggers go with its tables)."""
    if not path.exists() or path.stat().st_size == 0:
        return []
    with closing(sqlite3.connect(path, timeout=30)) as connection:
        return [name for (name,) in connection.execute(
            "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') ORDER BY name")]


def copy_into(source: Path, target: Path) -> None:
    """Write the database at `source` over the empty database at `target`, in one transaction of the backup API."""
    try:
        with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target, timeout=30)) as dst:
            src.backup(dst)
    except sqlite3.Error as exc:
        raise BackupError(f"the database file {target} cannot be written ({exc}); nothing was restored") from None


def sqlite_version() -> str:
    return sqlite3.sqlite_version


def empty(path: Path) -> None:
    """Make the database at `path` empty again, as it was before a restore."""
    with closing(sqlite3.connect(":memory:")) as blank, closing(sqlite3.connect(path, timeout=30)) as dst:
        blank.backup(dst)
