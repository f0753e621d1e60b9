"""PostgreSQL: pg_dump in its custom format from a snapshot exported by the transaction that also reads the
manifest's facts, and pg_restore in one transaction into an empty database.

pg_restore's default order is what keeps the derived `required_pairs` exact: tables and functions first, then
the rows (COPY, with no trigger on any table yet), then indexes, constraints and the triggers. The pairs are
restored as they were dumped, never recomputed nor doubled by triggers firing on the restored records.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine, make_url

from training.backup.manifest import BackupError, Facts, read_facts

DUMP_NAME = "postgresql-custom.dump"
DEBIAN = Path("/usr/lib/postgresql")

def _own(catalog: str, alias: str) -> str:
    """SQL: the row `alias` of `catalog` is in a schema of the database's own and belongs to no extension."""
    return ("n.nspname NOT IN ('information_schema') AND n.nspname NOT LIKE 'pg\\_%' AND NOT EXISTS (SELECT 1 FROM "
            f"pg_depend d WHERE d.classid = '{catalog}'::regclass AND d.objid = {alias}.oid AND d.deptype = 'e')")


# The objects of a database's own schemas (not PostgreSQL's, not an extension's), each with the statement that
# drops it: none, and the database is empty.
OBJECTS = text(f"""
SELECT 1, format('%I.%I', n.nspname, c.relname),
       format('DROP %s IF EXISTS %I.%I CASCADE', CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
              WHEN 'S' THEN 'SEQUENCE' WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END, n.nspname, c.relname)
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND {_own('pg_class', 'c')}
UNION ALL
SELECT 2, p.oid::regprocedure::text, format('DROP ROUTINE IF EXISTS %s CASCADE', p.oid::regprocedure)
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE {_own('pg_proc', 'p')}
UNION ALL
SELECT 3, format('%I.%I', n.nspname, t.typname), format('DROP TYPE IF EXISTS %I.%I CASCADE', n.nspname, t.typname)
  FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
 WHERE t.typtype IN ('e', 'd') AND {_own('pg_type', 't')}
ORDER BY 1, 2
""")


@dataclass(frozen=True)
class Dumped:
    facts: Facts
    taken_at: str
    versions: dict[str, str]


def libpq(url: str) -> tuple[str, dict[str, str]]:
    """The connection string for pg_dump and pg_restore, and their environment: the password goes in
    PGPASSWORD, never on a command line another user's `ps` could read."""
    parsed = make_url(url)
    env = {**os.environ, "PGAPPNAME": "rollcall-backup"}
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    return parsed.set(drivername="postgresql", password=None).render_as_string(hide_password=False), env


def server_version(connection: Connection) -> tuple[int, str]:
    """The server's major version and its full version text."""
    number = int(connection.scalar(text("SHOW server_version_num")))
    return number // 10000, str(connection.scalar(text("SHOW server_version"))).split()[0]


def major_of(version: str) -> int:
    """15 of "15.20"; 0 when there is no number."""
    found = re.match(r"\d+", version)
    return int(found.group(0)) if found else 0


def _version_of(program: Path) -> tuple[int, str] | None:
    try:
        said = subprocess.run([str(program), "--version"], capture_output=True, text=True, timeout=30).stdout
    except OSError:
        return None
    found = re.search(r"(\d+)(?:\.(\d+))?", said)
    return (int(found.group(1)), found.group(0)) if found else None


def find_tool(name: str, at_least: int, bin_dir: str | None) -> tuple[Path, str]:
    """`name` (pg_dump, pg_restore) of PostgreSQL `at_least` or newer: from PG_BIN_DIR when set, else Debian's
    /usr/lib/postgresql/<major>/bin (that major first, then newer ones), else the PATH. Its path and version."""
    if bin_dir:
        candidates = [Path(bin_dir) / name]
    else:
        installed = sorted((int(p.parent.parent.name), p) for p in DEBIAN.glob(f"*/bin/{name}")
                           if p.parent.parent.name.isdigit())
        candidates = [p for major, p in installed if major == at_least] + \
                     [p for major, p in installed if major > at_least]
        on_path = shutil.which(name)
        if on_path:
            candidates.append(Path(on_path))
    seen = []
    for program in candidates:
        version = _version_of(program)
        if version and version[0] >= at_least:
            return program, version[1]
        seen.append(f"{program} ({version[1] if version else 'not runnable'})")
    where = f"; found {', '.join(seen)}" if seen else ""
    raise BackupError(f"{name} of PostgreSQL {at_least} or newer is needed and none was found{where}: install "
                      f"postgresql-client-{at_least} (Debian, Ubuntu), or set PG_BIN_DIR to the folder holding it")


def dump(engine: Engine, url: str, into: Path, bin_dir: str | None) -> Dumped:
    """pg_dump the database to `into` (custom format) from the snapshot of a REPEATABLE READ transaction that
    reads the manifest's facts meanwhile: the dump and the facts are of the same instant, whatever commits
    while they are taken."""
    conninfo, env = libpq(url)
    with engine.connect() as connection:
        connection = connection.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        with connection.begin():
            snapshot = connection.scalar(text("SELECT pg_export_snapshot()"))
            taken_at = connection.scalar(text("SELECT to_char(now() AT TIME ZONE 'UTC', "
                                              "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"))
            major, server = server_version(connection)
            program, version = find_tool("pg_dump", major, bin_dir)
            process = subprocess.Popen(
                [str(program), "--format=custom", f"--snapshot={snapshot}", f"--file={into}", "--no-password",
                 f"--dbname={conninfo}"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            try:
                facts = read_facts(connection)
            finally:
                _, errors = process.communicate()
    if process.returncode != 0:
        raise BackupError(f"pg_dump failed ({process.returncode}): {errors.strip()}")
    return Dumped(facts, taken_at, {"server": server, "pg_dump": version})


def objects_in(connection: Connection) -> list[str]:
    """The database's own tables, sequences, views, routines and types, by name (none: it is empty)."""
    return [name for _, name, _ in connection.execute(OBJECTS)]


def empty(connection: Connection) -> None:
    """Drop every object of the database's own, leaving it as empty as before a restore."""
    for _, _, statement in connection.execute(OBJECTS).all():
        connection.execute(text(statement))


def restore(url: str, dump_file: Path, at_least: int, bin_dir: str | None) -> str:
    """pg_restore `dump_file` into the database in one transaction (an error leaves nothing behind); objects
    are owned by the user of DATABASE_URL, and no grants of the source's roles are replayed. The version of
    pg_restore used."""
    conninfo, env = libpq(url)
    program, version = find_tool("pg_restore", at_least, bin_dir)
    done = subprocess.run(
        [str(program), "--single-transaction", "--exit-on-error", "--no-owner", "--no-privileges", "--no-password",
         f"--dbname={conninfo}", str(dump_file)], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(f"pg_restore failed ({done.returncode}), nothing was restored: "
                          f"{(done.stderr or done.stdout).strip()}")
    return version
