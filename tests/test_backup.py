"""A backup taken while completions are being written is one instant of the database: restored into another
empty database, its roster, row counts, required pairs and audit chain are those of that instant, and its
triggers keep the required pairs from then on."""
from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import select, text
from sqlalchemy.exc import OperationalError

import config
from tests.support.factories import make_org, make_user, write_course
from tests.support.scratch import apps_on, scratch_databases
from training import create_app, migrate
from training.assignments.service import assign_course
from training.audit.chain import walk
from training.audit.describe import ACTIONS
from training.audit.models import AuditEvent
from training.backup.archive import read_manifest
from training.backup.manifest import read_facts
from training.catalog.models import Course
from training.catalog.service import course_by_code, current_version, sync_courses
from training.clock import server_today, today_for
from training.db import unit_of_work
from training.people.models import User
from training.records.models import Completion
from training.records.service import record_completion
from training.reports.filters import RosterFilters, build_roster
from training.reports.service import roster_rows

OFFICERS = 240


@pytest.fixture
def scratch(tmp_path):
    with scratch_databases(tmp_path, "test_backup") as made:
        yield made


@pytest.fixture
def content(tmp_path):
    courses, quizzes = write_course(tmp_path / "content")
    return {"COURSES_DIR": courses, "QUIZZES_DIR": quizzes}


@pytest.fixture
def apps():
    with apps_on() as app_for:
        yield app_for


def build_world(app) -> tuple[dict[int, str], int]:
    """OFFICERS officers, each with the test course assigned; a few of them certified more than a year ago.
    The officers' employee ids by id, in the order they were made, and the course's id."""
    with unit_of_work(app) as session:
        sync_courses(session, app.config["COURSES_DIR"], app.config["QUIZZES_DIR"])
        agency, unit = make_org(session)
        officers = [make_user(session, f"officer{n:03d}@agency.test", agency=agency, unit=unit,
                              first=f"Officer{n:03d}", last=f"Tester{n % 17:02d}") for n in range(OFFICERS)]
        course = course_by_code(session, "TEST-BASICS")
        version = current_version(session, course)
        for officer in officers[::20]:
            record_completion(session, officer, course, today_for(officer) - timedelta(days=400),
                              version_id=version.id, score=85, source="quiz")
        assign_course(session, course, select(User.id).where(User.role == "officer"),
                      server_today() + timedelta(days=30), server_today(), reason="test")
        return {o.id: o.employee_id for o in officers}, course.id


class Writer(threading.Thread):
    """Completes the course for one officer after another, each in its own transaction, until stopped."""

    def __init__(self, app, officer_ids: list[int], course_id: int):
        super().__init__(daemon=True)
        self.app, self.officer_ids, self.course_id = app, officer_ids, course_id
        self.written: list[int] = []
        self.stop = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            for officer_id in self.officer_ids:
                if self.stop.is_set():
                    return
                for attempt in range(5):
                    try:
                        self.complete(officer_id)
                        break
                    except OperationalError as exc:
                        # SQLite refuses a transaction that read before another connection committed a write
                        # (the backup's own audit event): each request of the site lives with the same rule.
                        if "database is locked" not in str(exc) or attempt == 4:
                            raise
                self.written.append(officer_id)
                time.sleep(0.005)
        except BaseException as exc:  # reported in the test's thread
            self.error = exc

    def complete(self, officer_id: int) -> None:
        with unit_of_work(self.app) as session:
            officer, course = session.get(User, officer_id), session.get(Course, self.course_id)
            record_completion(session, officer, course, today_for(officer),
                              version_id=current_version(session, course).id, score=97, source="quiz")

    def wait_for(self, count: int) -> None:
        deadline = time.monotonic() + 60
        while len(self.written) < count and self.is_alive() and time.monotonic() < deadline:
            time.sleep(0.002)
        assert self.error is None, self.error
        assert len(self.written) >= count, f"the writer wrote {len(self.written)} completions, not {count}"


def roster(app) -> list[tuple]:
    with unit_of_work(app) as session:
        return list(roster_rows(session, build_roster(session, None, RosterFilters(), server_today())))


def required_pairs(app) -> dict[tuple[int, int], tuple]:
    with unit_of_work(app) as session:
        return {(row.user_id, row.course_id): tuple(row) for row in
                session.execute(text("SELECT * FROM required_pairs ORDER BY user_id, course_id"))}


def triggers(app) -> set[str]:
    with unit_of_work(app) as session:
        if session.get_bind().dialect.name == "sqlite":
            return set(session.scalars(text("SELECT name FROM sqlite_master WHERE type = 'trigger'")))
        return set(session.scalars(text("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")))


def facts(app):
    with app.extensions["db_engine"].connect() as connection:
        return read_facts(connection)


def test_a_backup_taken_while_completions_are_written_restores_that_instant(scratch, content, apps, tmp_path):
    source = apps(scratch.migrated(), **content)
    employee_ids, course_id = build_world(source)
    officer_ids = list(employee_ids)
    roster_before, pairs_before = roster(source), required_pairs(source)
    completions_before = facts(source).counts["completions"]
    writer = Writer(source, officer_ids, course_id)
    out = tmp_path / "rollcall.backup"

    writer.start()
    writer.wait_for(3)
    before_start = len(writer.written)
    backup = source.test_cli_runner().invoke(args=["backup", "--out", str(out)])
    before_end = len(writer.written)
    writer.wait_for(before_end + 3)
    writer.stop.set()
    writer.join()
    assert writer.error is None, writer.error
    assert backup.exit_code == 0, backup.output
    assert f"Wrote {out}" in backup.output and "as it stood at" in backup.output
    roster_after, pairs_after = roster(source), required_pairs(source)

    manifest = read_manifest(out)
    taken = manifest.facts.counts["completions"] - completions_before
    # The writer wrote before the backup began, during it and after it: the backup holds some of its work.
    assert before_start <= taken <= before_end + 1 < len(writer.written)
    assert manifest.facts.revision == ScriptDirectory.from_config(migrate.alembic_config(source)).get_current_head()
    assert facts(source).counts["completions"] > manifest.facts.counts["completions"]

    target = apps(scratch.blank(), **content)
    restored = target.test_cli_runner().invoke(args=["restore", str(out)])
    assert restored.exit_code == 0, restored.output
    assert "Checked against its manifest" in restored.output and manifest.facts.last_hash in restored.output

    # One instant: the completions it holds are the first ones the writer committed, none after a gap.
    with unit_of_work(target) as session:
        held = list(session.scalars(select(Completion.user_id).where(Completion.score == 97).order_by(Completion.id)))
    assert held == writer.written[:taken]
    done = set(held)
    done_employees = {employee_ids[officer_id] for officer_id in done}

    # The roster: the final rows of the officers whose completion it holds, the first rows of the others.
    final = {row[0]: row for row in roster_after}
    expected = [final[row[0]] if row[0] in done_employees else row for row in roster_before]
    restored_roster = roster(target)
    assert restored_roster == expected
    assert restored_roster not in (roster_before, roster_after)
    assert {"current", "assigned"} <= {row[8] for row in restored_roster}

    # The counts and the chain: the manifest's, and then the restore's own event, linked after its last hash.
    found = facts(target)
    assert {k: v for k, v in found.counts.items() if k != "audit_events"} == \
        {k: v for k, v in manifest.facts.counts.items() if k != "audit_events"}
    assert found.counts["audit_events"] == manifest.facts.audit_events + 1
    with unit_of_work(target) as session:
        report = walk(session)
        last = session.scalar(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1))
        assert report.broken is None and report.checked == manifest.facts.audit_events + 1
        assert last.action == "backup.restored" and last.prev_hash == manifest.facts.last_hash
        assert last.details["path"] == str(out) and last.details["taken_at"] == manifest.taken_at
    verify = target.test_cli_runner().invoke(args=["audit", "verify"])
    assert verify.exit_code == 0 and f"OK: {manifest.facts.audit_events + 1:,} audit events" in verify.output

    # The source's trail says a backup was written, after the instant it copied.
    with unit_of_work(source) as session:
        event = session.scalar(select(AuditEvent).where(AuditEvent.action == "backup.written"))
        assert event.details["path"] == str(out) and event.details["dump_sha256"] == manifest.dump_sha256
        assert event.id > manifest.facts.audit_events
    assert "backup.written" in ACTIONS and "backup.restored" in ACTIONS

    # Required pairs are derived data: restored as they stood, neither recomputed nor doubled, and their
    # triggers restored with them.
    pairs = required_pairs(target)
    assert pairs == {key: (pairs_after if key[0] in done else pairs_before)[key] for key in pairs_before}
    assert triggers(target) == triggers(source) and len(triggers(source)) >= 4
    # The completion the source took after the backup, written again into the restored database, leaves its
    # pair as the source's triggers left it.
    later = writer.written[taken]
    assert pairs[(later, course_id)] != pairs_after[(later, course_id)]
    Writer(target, [], course_id).complete(later)
    now = required_pairs(target)
    assert len(now) == len(pairs)
    assert now[(later, course_id)] == pairs_after[(later, course_id)]


def test_a_backup_of_an_earlier_schema_restores_and_asks_for_an_upgrade(scratch, content, apps, tmp_path):
    head = ScriptDirectory.from_config(migrate.alembic_config(create_app(config.TestConfig))).get_revision("head")
    source = apps(scratch.migrated(head.down_revision), **content)
    out = tmp_path / "earlier.backup"
    assert source.test_cli_runner().invoke(args=["backup", "--out", str(out)]).exit_code == 0
    manifest = read_manifest(out)
    assert manifest.facts.revision == head.down_revision

    target = apps(scratch.blank(), **content)
    restored = target.test_cli_runner().invoke(args=["restore", str(out)])
    assert restored.exit_code == 0, restored.output
    assert (f"The backup is at schema revision {head.down_revision}; this version of Rollcall is at "
            f"{head.revision}: run `flask --app app db upgrade`") in restored.output
    # No event is written into a schema older than the code's: the database is the manifest's, exactly.
    assert facts(target) == manifest.facts
    upgraded = target.test_cli_runner().invoke(args=["db", "upgrade"])
    assert upgraded.exit_code == 0, upgraded.output
    assert facts(target).revision == head.revision
