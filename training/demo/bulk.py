"""Loading many rows into PostgreSQL with COPY, and what the database keeps beside them.

A load goes into one transaction: the required-pairs triggers are switched off and the loaded tables' secondary
indexes, unique and foreign-key constraints dropped; the rows are copied; the tables are analysed and the
required pairs computed again by one set-based statement over the whole tables; then the indexes and
constraints are built again from their saved definitions (one sort each instead of one index entry per row, one
join each instead of one lookup per row) and the id sequences moved past the explicit ids. Any failure rolls
all of it back.
"""
from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import IO

from sqlalchemy import Table, text
from sqlalchemy.orm import Session

from training.db import advance_sequences
from training.migrate import revision_module

# The tables a load writes, and the triggers on them that keep required_pairs (row by row, and by statement for
# the rows added).
LOADED = ("users", "completions", "assignments", "exemptions", "required_pairs")
log = logging.getLogger(__name__)
PAIR_TRIGGERS = [(table, f"{table}_required_pairs{kind}") for table in ("completions", "assignments", "exemptions")
                 for kind in ("", "_added")]


class Columns:
    """The columns of `table` a COPY names, in order: those the rows give, then those with a client-side default
    (what an INSERT through SQLAlchemy would fill in); the rest take the server's default."""

    def __init__(self, table: Table, first_row: dict):
        self.given = list(first_row)
        self.defaults: list[Callable[[], object]] = []
        names = list(self.given)
        for column in table.columns:
            if column.name in first_row or column.default is None:
                continue
            default = column.default
            if default.is_scalar:
                self.defaults.append(lambda value=default.arg: value)
            elif default.is_callable:
                self.defaults.append(lambda fn=default.arg: fn(None))
            else:
                continue
            names.append(column.name)
        self.names = names

    def values(self, row: dict) -> tuple:
        return (*[row[name] for name in self.given], *[make() for make in self.defaults])

    def statement(self, table: Table) -> str:
        return f"COPY {table.name} ({', '.join(self.names)}) FROM STDIN"


def copy_rows(session: Session, table: Table, rows: Iterable[dict], each: Callable[[], None] = lambda: None) -> int:
    """COPY `rows` (dicts with the same keys) into `table` on the session's connection; the number copied."""
    rows = iter(rows)
    first = next(rows, None)
    if first is None:
        return 0
    columns = Columns(table, first)
    count = 0
    with _cursor(session) as cursor, cursor.copy(columns.statement(table)) as copy:
        for row in _chain(first, rows):
            copy.write_row(columns.values(row))
            count += 1
            each()
    return count


class Spool:
    """Rows of one table kept in COPY's text format in a temporary file, to copy once the current COPY is done
    (a connection runs one COPY at a time)."""

    def __init__(self, table: Table):
        self.table = table
        self.columns: Columns | None = None
        self.file: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 (closed once copied)
        self.count = 0

    def add(self, row: dict) -> None:
        if self.columns is None:
            self.columns = Columns(self.table, row)
        self.file.write(("\t".join(map(_text, self.columns.values(row))) + "\n").encode())
        self.count += 1

    def copy_into(self, session: Session) -> int:
        if self.columns is not None:
            self.file.seek(0)
            with _cursor(session) as cursor, cursor.copy(self.columns.statement(self.table)) as copy:
                while block := self.file.read(1 << 20):
                    copy.write(block)
        self.file.close()
        return self.count


@contextmanager
def loading(session: Session) -> Iterator[None]:
    """Around a COPY load into LOADED: triggers off, secondary indexes and constraints dropped; afterwards all of
    them back, the required pairs of what was loaded, sequences and statistics."""
    session.flush()
    session.execute(text("SET LOCAL maintenance_work_mem = '512MB'"))
    session.execute(text("SET LOCAL work_mem = '256MB'"))
    for table, trigger in PAIR_TRIGGERS:
        session.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER {trigger}"))
    constraints = session.execute(text(
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid), contype FROM pg_constraint "
        "WHERE conrelid = ANY(CAST(:tables AS regclass[])) AND contype IN ('u', 'f') "
        "ORDER BY contype DESC"), {"tables": list(LOADED)}).all()   # unique ones first: foreign keys need them
    indexes = session.execute(text(
        "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
        "WHERE i.indrelid = ANY(CAST(:tables AS regclass[])) "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)"),
        {"tables": list(LOADED)}).all()
    for table, name, _definition, _kind in reversed(constraints):   # foreign keys first
        session.execute(text(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"'))
    for name, _definition in indexes:
        session.execute(text(f"DROP INDEX {name}"))
    started = time.perf_counter()
    yield
    log.info("rows copied in %.1f s", time.perf_counter() - started)
    with _timed("statistics of the loaded rows"):   # the plan of the next statement depends on them
        for table in LOADED[:-1]:
            session.execute(text(f"ANALYZE {table}"))
    with _timed("required pairs"):   # before their index and foreign keys: those are built once, afterwards
        session.execute(text("DELETE FROM required_pairs"))
        session.execute(text(required_pairs_sql()))
        session.execute(text("ANALYZE required_pairs"))
    for name, definition in indexes:
        with _timed(f"index {name}"):
            session.execute(text(definition))
    for table, name, definition, _kind in constraints:
        with _timed(f"constraint {name}"):
            session.execute(text(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}'))
    for table, trigger in PAIR_TRIGGERS:
        session.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER {trigger}"))
    advance_sequences(session)


@contextmanager
def _timed(what: str) -> Iterator[None]:
    started = time.perf_counter()
    yield
    log.info("%s in %.1f s", what, time.perf_counter() - started)


def required_pairs_sql() -> str:
    """One statement: the required pair of every (officer, module) with a record, with the facts the triggers
    would have left (the same rule, over whole tables at once), into an empty required_pairs."""
    settles = revision_module("d7f3b8a26e41").settles_on(
        {name: name for name in ("last_completed_on", "last_revoked_on", "exemptions", "exempt_ends_on")})
    return f"""
INSERT INTO required_pairs (user_id, course_id, due_on, expires_on, last_completed_on, last_revoked_on,
                            exemptions, exempt_starts_on, exempt_ends_on, settles_on, acknowledged_version)
SELECT user_id, course_id, due_on, expires_on, last_completed_on, last_revoked_on,
       exemptions, exempt_starts_on, exempt_ends_on, {settles}, acknowledged_version
FROM (
  SELECT p.user_id, p.course_id, a.due_on, c.expires_on, c.last_completed_on, c.last_revoked_on,
         COALESCE(e.exemptions, 0) AS exemptions, e.exempt_starts_on, e.exempt_ends_on,
         k.acknowledged_version
  FROM (SELECT user_id, course_id FROM assignments UNION SELECT user_id, course_id FROM completions
        UNION SELECT user_id, course_id FROM exemptions UNION SELECT user_id, course_id FROM acknowledgements) p
  LEFT JOIN (SELECT user_id, course_id, max(due_on) AS due_on FROM assignments WHERE closed_at IS NULL
             GROUP BY user_id, course_id) a ON a.user_id = p.user_id AND a.course_id = p.course_id
  LEFT JOIN (SELECT user_id, course_id, max(completed_on) AS last_completed_on, max(revoked_on) AS last_revoked_on,
                    (array_agg(expires_on ORDER BY completed_on DESC, id DESC)
                       FILTER (WHERE revoked_on IS NULL))[1] AS expires_on
             FROM completions GROUP BY user_id, course_id) c ON c.user_id = p.user_id AND c.course_id = p.course_id
  LEFT JOIN (SELECT user_id, course_id, count(*) AS exemptions, min(starts_on) AS exempt_starts_on,
                    max(ends_on) AS exempt_ends_on
             FROM exemptions GROUP BY user_id, course_id) e ON e.user_id = p.user_id AND e.course_id = p.course_id
  LEFT JOIN (SELECT user_id, course_id, max(version_number) AS acknowledged_version FROM acknowledgements
             GROUP BY user_id, course_id) k ON k.user_id = p.user_id AND k.course_id = p.course_id
) facts"""


@contextmanager
def _cursor(session: Session):
    """A cursor on the connection of the session's transaction."""
    cursor = session.connection().connection.driver_connection.cursor()
    try:
        yield cursor
    finally:
        cursor.close()


def _chain(first: dict, rest: Iterator[dict]) -> Iterator[dict]:
    yield first
    yield from rest


def _text(value: object) -> str:
    """A value in COPY's text format."""
    if value is None:
        return "\\N"
    if value is True or value is False:
        return "t" if value else "f"
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, int):
        return str(value)
    return (str(value).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r"))
