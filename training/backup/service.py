"""Writing a backup while the site runs, and restoring one into an empty database, proven by its manifest."""
from __future__ import annotations

import getpass
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from alembic.script import ScriptDirectory
from alembic.script.revision import RevisionError
from alembic.util import CommandError
from flask import Flask
from sqlalchemy.engine import Engine, make_url

from training import migrate
from training.audit.chain import walk
from training.audit.service import record
from training.backup import postgres, sqlite
from training.backup.archive import extract_dump, read_manifest, sha256_of, write_archive
from training.backup.manifest import DATABASES, BackupError, Facts, Manifest, differences, read_facts
from training.db import unit_of_work


@dataclass(frozen=True)
class Written:
    manifest: Manifest
    path: Path
    size: int
    seconds: float


@dataclass(frozen=True)
class Restored:
    manifest: Manifest
    found: Facts
    head: str
    seconds: float


def _where(app: Flask) -> tuple[str, Engine, str]:
    engine = app.extensions["db_engine"]
    return app.config["DATABASE_URL"], engine, engine.dialect.name


def shown(url: str) -> str:
    """DATABASE_URL as a message shows it: without the password."""
    return make_url(url).render_as_string(hide_password=True)


def write_backup(app: Flask, out: Path) -> Written:
    """Copy the database to `out` (one file: the dump and its manifest), consistent at one instant while the
    site goes on writing; the backup is recorded on the audit trail."""
    started = time.monotonic()
    url, engine, dialect = _where(app)
    out = out.absolute()
    if not out.parent.is_dir():
        raise BackupError(f"{out.parent} is not a folder; nothing was written")
    # Beside the destination: the dump needs the room the backup will take, and holds personal data, which a
    # shared temporary folder should not.
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=f".{out.name}.") as folder:
        if dialect == "sqlite":
            dump = Path(folder) / sqlite.DUMP_NAME
            taken_at = datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
            sqlite.copy_online(sqlite.database_file(url), dump)
            facts, versions = sqlite.facts_of(dump), {"sqlite": sqlite.sqlite_version()}
        else:
            dump = Path(folder) / postgres.DUMP_NAME
            dumped = postgres.dump(engine, url, dump, app.config.get("PG_BIN_DIR"))
            facts, taken_at, versions = dumped.facts, dumped.taken_at, dumped.versions
        if facts.revision is None:
            raise BackupError(f"{shown(url)} has no schema revision (no alembic_version table): it is not a "
                              "Rollcall database, or `flask --app app db upgrade` never ran on it; nothing was written")
        manifest = Manifest(dialect, taken_at, facts, dump.name, sha256_of(dump), dump.stat().st_size, versions)
        size = write_archive(out, manifest, dump, compress=dialect == "sqlite")
    if facts.revision == _scripts(app).get_current_head():
        with unit_of_work(app) as session:
            record(session, "backup.written", target="database", via="cli", os_user=getpass.getuser(),
                   path=str(out), bytes=size, taken_at=taken_at, schema_revision=facts.revision,
                   dump_sha256=manifest.dump_sha256, audit_last_hash=facts.last_hash)
    return Written(manifest, out, size, time.monotonic() - started)


def _scripts(app: Flask) -> ScriptDirectory:
    return ScriptDirectory.from_config(migrate.alembic_config(app))


def _known(app: Flask, path: Path, manifest: Manifest) -> str:
    """This code's latest schema revision, once the backup's is known to be one of this code's."""
    scripts = _scripts(app)
    revision = manifest.facts.revision
    try:
        known = revision is not None and scripts.get_revision(revision) is not None
    except (CommandError, RevisionError):
        known = False
    if not known:
        raise BackupError(f"{path} is of schema revision {revision}, which this version of Rollcall does not know: "
                          "a newer release wrote it. Restore it with that release or a later one; nothing was "
                          "restored")
    return scripts.get_current_head()


def _objects(url: str, engine: Engine, dialect: str) -> list[str]:
    if dialect == "sqlite":
        return sqlite.objects_in(sqlite.database_file(url))
    with engine.connect() as connection:
        return postgres.objects_in(connection)


def _check(app: Flask, engine: Engine, manifest: Manifest, current: bool) -> tuple[Facts, list[str]]:
    """The restored database's facts, and how they and its audit chain (walked as `audit verify` walks it)
    differ from the manifest. The chain of an earlier schema is walked once it is upgraded (`current` False:
    this code's chain formula may not be the one it was written with)."""
    with engine.connect() as connection:
        found = read_facts(connection)
    problems = differences(manifest.facts, found)
    if not current:
        return found, problems
    with unit_of_work(app) as session:
        chain = walk(session)
    if chain.broken is not None:
        problems.append(f"the audit chain is broken at event {chain.broken.event_id}: {chain.broken.problem}")
    elif chain.checked != manifest.facts.audit_events or chain.last_hash != manifest.facts.last_hash:
        problems.append(f"the audit chain verifies {chain.checked} events ending with {chain.last_hash}, the "
                        f"manifest says {manifest.facts.audit_events} ending with {manifest.facts.last_hash}")
    return found, problems


def restore_backup(app: Flask, path: Path) -> Restored:
    """Restore the backup at `path` into the configured database, which must be empty, and prove it against
    the manifest: the row counts, the audit chain's last hash and an intact chain. Every refusal leaves the
    database as it was."""
    started = time.monotonic()
    url, engine, dialect = _where(app)
    manifest = read_manifest(path)
    if manifest.database != dialect:
        raise BackupError(f"{path} is a backup of a {manifest.database_name} database and DATABASE_URL names a "
                          f"{DATABASES.get(dialect, dialect)} one: restore it into a {manifest.database_name} "
                          "database; nothing was restored")
    head = _known(app, path, manifest)
    objects = _objects(url, engine, dialect)
    if objects:
        listed = ", ".join(objects[:5]) + (", ..." if len(objects) > 5 else "")
        raise BackupError(f"{shown(url)} is not empty ({len(objects)} objects: {listed}): a backup is restored "
                          "only into an empty database; nothing was restored")
    with tempfile.TemporaryDirectory(prefix="rollcall-restore-") as folder:
        dump = extract_dump(path, manifest, Path(folder))
        if dialect == "sqlite":
            # The copy is checked before it goes anywhere: a manifest that does not match it refuses the restore.
            problems = differences(manifest.facts, sqlite.facts_of(dump))
            if problems:
                raise BackupError(f"{path} does not hold what its manifest says ({'; '.join(problems)}); "
                                  "nothing was restored")
            sqlite.copy_into(dump, sqlite.database_file(url))
        else:
            with engine.connect() as connection:
                major, _ = postgres.server_version(connection)
            # pg_restore reads the archives of its own and earlier versions of pg_dump.
            made_by = postgres.major_of(manifest.versions.get("pg_dump", ""))
            postgres.restore(url, dump, max(major, made_by), app.config.get("PG_BIN_DIR"))
    found, problems = _check(app, engine, manifest, current=manifest.facts.revision == head)
    if problems:
        _empty(url, engine, dialect)
        raise BackupError(f"the restored database does not match {path}'s manifest ({'; '.join(problems)}); "
                          "it was emptied again")
    if manifest.facts.revision == head:
        with unit_of_work(app) as session:
            record(session, "backup.restored", target="database", via="cli", os_user=getpass.getuser(),
                   path=str(path), taken_at=manifest.taken_at, dump_sha256=manifest.dump_sha256,
                   audit_last_hash=manifest.facts.last_hash)
    return Restored(manifest, found, head, time.monotonic() - started)


def _empty(url: str, engine: Engine, dialect: str) -> None:
    engine.dispose()
    if dialect == "sqlite":
        sqlite.empty(sqlite.database_file(url))
        return
    with engine.begin() as connection:
        postgres.empty(connection)
