"""What `restore` and `backup` refuse, each with a clear message and nothing changed: a database that is not
empty, a backup of a newer schema or format, a file cut short or altered, a backup of the other kind of
database, a manifest that does not match its dump, a backup that cannot be written."""
from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

import config
from tests.support.databases import on_postgresql
from tests.support.factories import certify, make_org, make_user, write_course
from tests.support.scratch import apps_on, scratch_databases
from training import create_app
from training.backup.archive import read_manifest
from training.backup.manifest import MANIFEST_NAME, read_facts
from training.catalog.service import course_by_code, sync_courses
from training.db import unit_of_work

OTHER = {"sqlite": "postgresql", "postgresql": "sqlite"}
NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    with scratch_databases(tmp_path_factory.mktemp("refusals"), "test_backup_refusals") as made:
        yield made


@pytest.fixture(scope="module")
def content(tmp_path_factory):
    courses, quizzes = write_course(tmp_path_factory.mktemp("content"))
    return {"COURSES_DIR": courses, "QUIZZES_DIR": quizzes}


@pytest.fixture(scope="module")
def apps():
    with apps_on() as app_for:
        yield app_for


@pytest.fixture(scope="module")
def source(scratch, content, apps):
    """A database with an officer, a course and a completion."""
    app = apps(scratch.migrated(), **content)
    with unit_of_work(app) as session:
        sync_courses(session, app.config["COURSES_DIR"], app.config["QUIZZES_DIR"])
        agency, unit = make_org(session)
        officer = make_user(session, "dana@agency.test", agency=agency, unit=unit, first="Dana", last="Cruz")
        certify(session, officer, course_by_code(session, "TEST-BASICS"), days_ago=20)
    return app


@pytest.fixture(scope="module")
def backup(source, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("backups") / "good.backup"
    result = source.test_cli_runner().invoke(args=["backup", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture
def blank(scratch, content, apps):
    """An app whose DATABASE_URL names a new, empty database."""
    return apps(scratch.blank(), **content)


def restore(app, path: Path):
    return app.test_cli_runner().invoke(args=["restore", str(path)])


def objects(app) -> list[str]:
    """What the app's database holds: nothing, for an empty one."""
    from training.backup import postgres, sqlite
    if app.extensions["db_engine"].dialect.name == "sqlite":
        return sqlite.objects_in(sqlite.database_file(app.config["DATABASE_URL"]))
    with app.extensions["db_engine"].connect() as connection:
        return postgres.objects_in(connection)


def facts(app):
    with app.extensions["db_engine"].connect() as connection:
        return read_facts(connection)


def repack(good: Path, out: Path, manifest=None, dump=None) -> Path:
    """A copy of the backup `good`, its manifest changed by `manifest(dict)` and its dump by `dump(bytes)`."""
    with tarfile.open(good, "r:*") as tar:
        members = [(m, tar.extractfile(m).read()) for m in tar.getmembers()]
    compressed = good.read_bytes()[:2] == b"\x1f\x8b"
    with tarfile.open(out, "w:gz" if compressed else "w") as tar:
        for member, data in members:
            if member.name == MANIFEST_NAME and manifest:
                data = json.dumps(manifest(json.loads(data))).encode()
            elif member.name != MANIFEST_NAME and dump:
                data = dump(data)
            member.size = len(data)
            tar.addfile(member, io.BytesIO(data))
    return out


def refused(result, *words: str) -> str:
    assert result.exit_code == 1, result.output
    for word in words:
        assert word in result.output, result.output
    return result.output


def test_a_database_that_is_not_empty_is_refused_and_left_as_it_was(source, backup):
    before = facts(source)
    refused(restore(source, backup), "is not empty", "a backup is restored only into an empty database",
            "nothing was restored", "account_tokens")
    assert facts(source) == before


def test_a_backup_of_a_newer_schema_is_refused(blank, backup, tmp_path):
    newer = repack(backup, tmp_path / "newer.backup", manifest=lambda m: {**m, "schema_revision": "9f9f9f9f9f9f"})
    refused(restore(blank, newer), "schema revision 9f9f9f9f9f9f, which this version of Rollcall does not know",
            "nothing was restored")
    assert objects(blank) == []


def test_a_backup_in_a_newer_format_is_refused(blank, backup, tmp_path):
    newer = repack(backup, tmp_path / "format.backup", manifest=lambda m: {**m, "format_version": 2})
    refused(restore(blank, newer), "backup format 2, newer than this version of Rollcall reads")
    assert objects(blank) == []


def test_a_file_cut_short_is_refused(blank, backup, tmp_path):
    data = backup.read_bytes()
    with tarfile.open(backup, "r:*") as tar:
        dump = tar.getmembers()[1]
    compressed = data[:2] == b"\x1f\x8b"
    # Near the end: a gzip file without its last bytes, or a tar file without the dump's last ones.
    for keep in (len(data) // 2, len(data) - 20 if compressed else dump.offset_data + dump.size - 100):
        cut = tmp_path / f"cut-{keep}.backup"
        cut.write_bytes(data[:keep])
        refused(restore(blank, cut), "cut short")
        assert objects(blank) == []


def test_an_altered_dump_is_refused_by_its_hash(blank, backup, tmp_path):
    def flip(data: bytes) -> bytes:
        middle = len(data) // 2
        return data[:middle] + bytes([data[middle] ^ 0xFF]) + data[middle + 1:]

    altered = repack(backup, tmp_path / "altered.backup", dump=flip)
    manifest = read_manifest(backup)
    refused(restore(blank, altered), "was altered or cut short",
                     f"the manifest says {manifest.dump_bytes} bytes with SHA-256 {manifest.dump_sha256}")
    assert objects(blank) == []
    # A byte changed in the file itself, wherever it falls, is refused too.
    raw = tmp_path / "flipped.backup"
    raw.write_bytes(flip(backup.read_bytes()))
    refused(restore(blank, raw), "Error: ")
    assert objects(blank) == []


def test_a_file_that_is_not_a_backup_is_refused(blank, tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("not a backup\n")
    refused(restore(blank, text), "is not a Rollcall backup")
    assert objects(blank) == []


def test_a_manifest_that_does_not_match_its_dump_leaves_the_database_empty(blank, backup, tmp_path):
    """The dump is intact but the manifest's counts are not its: SQLite checks the copy before restoring it,
    PostgreSQL checks the restored database and empties it again."""
    wrong = repack(backup, tmp_path / "wrong.backup",
                   manifest=lambda m: {**m, "counts": {**m["counts"], "users": m["counts"]["users"] + 1}})
    users = read_manifest(backup).facts.counts["users"]
    after = "it was emptied again" if on_postgresql() else "nothing was restored"
    refused(restore(blank, wrong), f"users: {users} rows, the manifest says {users + 1}", after)
    assert objects(blank) == []


def test_a_backup_claiming_the_other_database_is_refused(blank, backup, tmp_path):
    dialect = blank.extensions["db_engine"].dialect.name
    other = repack(backup, tmp_path / "other.backup", manifest=lambda m: {**m, "database": OTHER[dialect]})
    refused(restore(blank, other), f"is a backup of a {NAMES[OTHER[dialect]]} database and DATABASE_URL names a "
                                   f"{NAMES[dialect]} one", "nothing was restored")
    assert objects(blank) == []


@pytest.mark.postgresql
@pytest.mark.skipif(not on_postgresql(), reason="needs both databases: the PostgreSQL pass")
def test_sqlite_and_postgresql_backups_are_not_restored_into_each_other(blank, backup, content, apps, tmp_path):
    with scratch_databases(tmp_path, "sqlite", postgresql=False) as sqlite_made:
        lite = apps(sqlite_made.migrated(), **content)
        lite_backup = tmp_path / "lite.backup"
        assert lite.test_cli_runner().invoke(args=["backup", "--out", str(lite_backup)]).exit_code == 0
        refused(restore(blank, lite_backup), "is a backup of a SQLite database and DATABASE_URL names a "
                                             "PostgreSQL one")
        assert objects(blank) == []
        empty_lite = apps(sqlite_made.blank(), **content)
        refused(restore(empty_lite, backup), "is a backup of a PostgreSQL database and DATABASE_URL names a "
                                             "SQLite one")
        assert objects(empty_lite) == []


def test_a_backup_that_cannot_be_written_leaves_the_previous_file(source, backup, tmp_path):
    previous = tmp_path / "nightly.backup"
    previous.write_bytes(backup.read_bytes())
    runner = source.test_cli_runner()
    refused(runner.invoke(args=["backup", "--out", str(tmp_path / "missing" / "x.backup")]), "is not a folder")
    if on_postgresql():
        source.config["PG_BIN_DIR"] = str(tmp_path / "no-such-folder")
        try:
            refused(runner.invoke(args=["backup", "--out", str(previous)]),
                    "pg_dump of PostgreSQL", "or newer is needed", "set PG_BIN_DIR")
        finally:
            source.config["PG_BIN_DIR"] = None
    else:
        lost = create_app(config.TestConfig, DATABASE_URL=f"sqlite:///{tmp_path / 'gone.db'}")
        refused(lost.test_cli_runner().invoke(args=["backup", "--out", str(previous)]), "does not exist")
    assert previous.read_bytes() == backup.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["nightly.backup"]
    # Written again, it is replaced whole, and only its owner may read it: it holds personal data.
    assert runner.invoke(args=["backup", "--out", str(previous)]).exit_code == 0
    assert read_manifest(previous).taken_at > read_manifest(backup).taken_at
    assert previous.stat().st_mode & 0o077 == 0
