"""Faults, and recovery with no hand on it: nothing the site said it saved is lost, nothing is saved twice.

- A gunicorn worker killed (SIGKILL) in the middle of a quiz submission, before
  and after its commit: gunicorn starts another, the site answers again, the
  attempt is recorded wholly or not at all, and the officer's second try counts
  exactly once. Runs on the suite's database kind (a SQLite file, or a schema of
  the PostgreSQL test database), served by gunicorn in production settings: each
  kind recovers from a writer killed mid-transaction in its own way, so this one
  runs in both passes (marked each_database).
- The database restarted under load: a PostgreSQL server of the test's own
  (initdb in a temporary folder, never the machine's shared one) is restarted,
  then stopped as by a crash and started again, while officers take quizzes
  through gunicorn, and restarted once more while nobody uses the site.
  Requests fail only while it is down; the same worker processes answer again
  at once; every submission the officers were told succeeded is there once.
  It brings its own server: the suite's database kind does not matter to it.
- The mail server stopped in the middle of a delivery and started again: every
  message arrives exactly once, sent by the scheduler's next delivery runs.
  (A mail server down for a whole run is tests/test_reminders.py::
  test_smtp_down_keeps_the_message_pending_until_it_is_back.)

All are marked `faults`: `make test` runs them in the PostgreSQL pass, and in the
SQLite pass only the each_database one, or all of them when there is no PostgreSQL pass.
"""
from __future__ import annotations

import os
import random
import signal
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

import config
from bench.officer import Officer, Site
from tests.support.databases import PG_BIN, committed_database, private_postgres
from tests.support.factories import PASSWORD, make_org, make_user, write_course
from tests.support.mail import StoppingMailbox, start_mail_server
from tests.support.needs import missing
from tests.support.net import free_port
from tests.support.servers import gunicorn
from tests.support.waiting import wait_for
from training import create_app, migrate
from training.audit.chain import walk
from training.audit.models import AuditEvent
from training.catalog.service import sync_courses
from training.db import make_engine, unit_of_work
from training.records.models import Attempt

pytestmark = pytest.mark.faults
CODE = "TEST-BASICS"
# The right choice of every question of the test course (tests/support/factories.py: write_course).
ANSWERS = {CODE: {f"Right {n}" for n in range(1, 25)}}


def seed(url: str, tmp_path: Path, emails: list[str]) -> None:
    """The test course and one agency with these officers, committed."""
    courses, quizzes = write_course(tmp_path / "content")
    app = create_app(config.TestConfig, DATABASE_URL=url)
    migrate.upgrade(app)
    with unit_of_work(app) as session:
        sync_courses(session, courses, quizzes)
        agency, unit = make_org(session)
        for n, email in enumerate(emails):
            make_user(session, email, agency=agency, unit=unit, employee_id=f"F{n}")
    app.extensions["db_engine"].dispose()


def submissions(engine, attempt_id: int) -> tuple[tuple, int]:
    """The attempt's submission columns and the number of its 'attempt.submitted' events."""
    with engine.connect() as conn:
        row = conn.execute(select(Attempt.submitted_at.is_not(None), Attempt.score, Attempt.passed,
                                  Attempt.answers.is_not(None)).where(Attempt.id == attempt_id)).one()
        events = conn.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "attempt.submitted", AuditEvent.target == f"attempt:{attempt_id}"))
    return tuple(row), events


def chain_is_whole(engine) -> bool:
    from sqlalchemy.orm import Session

    with Session(engine) as session:
        return walk(session).broken is None


# --- a worker killed mid-request --------------------------------------------------------------------

@pytest.mark.each_database
def test_a_worker_killed_mid_submission_is_replaced_and_the_retry_counts_once(tmp_path):
    with committed_database(tmp_path, "faults_worker") as url:
        seed(url, tmp_path, ["kill@agency.test"])
        engine = make_engine(url)
        try:
            with gunicorn(url, tmp_path, app="tests.support.fault_app:app",
                          env={"FAULT_STALL_DIR": str(tmp_path)}) as server:
                officer = Officer(Site(server.base_url, timeout=60), "kill@agency.test", PASSWORD, ANSWERS,
                                  rng=random.Random(7), accuracy=0.8)
                officer.sign_in()
                officer.read_lessons(CODE)
                for where in ("before-commit", "after-commit"):
                    attempt_id = officer.start_quiz(CODE)
                    sheet = officer.answer_sheet(CODE, attempt_id)
                    before = server.workers()
                    outcome: list[object] = []

                    def submit(sheet=sheet, where=where, outcome=outcome):
                        try:
                            outcome.append(officer.submit(sheet, headers={"X-Fault-Stall": where}))
                        except Exception as exc:
                            outcome.append(exc)

                    sending = threading.Thread(target=submit)
                    sending.start()
                    marker = tmp_path / f"{where}.pid"
                    pid = int(wait_for(lambda marker=marker: marker.exists() and marker.read_text(), 30, f"the {where} stall"))
                    assert pid in before
                    # While the worker waits, another connection sees the attempt as it was, or as committed.
                    expected_now = (((False, None, None, False), 0) if where == "before-commit"
                                    else ((True, sheet.percent, sheet.percent >= 80, True), 1))
                    assert submissions(engine, attempt_id) == expected_now
                    os.kill(pid, signal.SIGKILL)
                    sending.join(30)
                    assert isinstance(outcome[0], OSError), outcome   # no answer: the connection dropped

                    # The master starts another worker; the site answers; nothing was half written.
                    wait_for(lambda before=before, pid=pid: len(server.workers()) == len(before) and pid not in server.workers(), 30,
                             "gunicorn to replace the killed worker")
                    assert server.process.poll() is None
                    assert wait_for(server.answers, 30, "the site to answer")
                    assert submissions(engine, attempt_id) == expected_now

                    # The officer sends the same answers again: accepted, counted once, scored as answered.
                    officer.submit(sheet)
                    score, page = officer.result(attempt_id)
                    assert score == sheet.percent
                    if where == "after-commit":
                        assert "This quiz was already submitted; your first answers stand." in page
                    assert submissions(engine, attempt_id) == (
                        (True, sheet.percent, sheet.percent >= 80, True), 1)
                officer.site.close()
            log = server.log.read_text()
            assert log.count("Booting worker") == 4, log   # two at start, one after each kill
            assert chain_is_whole(engine)
        finally:
            engine.dispose()


# --- the database restarted under load --------------------------------------------------------------

@dataclass
class Traffic:
    """What the officers' browsers saw: every request's start, end and whether it worked."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    requests: list[tuple[float, float, str, str | None]] = field(default_factory=list)
    submitted: dict[int, int] = field(default_factory=dict)
    submitted_at: list[tuple[float, str]] = field(default_factory=list)

    def record(self, kind: str, status: int | None, seconds: float, error: str | None) -> None:
        end = time.monotonic()
        with self.lock:
            self.requests.append((end - seconds, end, kind, error))


def take_quizzes(officer: Officer, traffic: Traffic, stop: threading.Event) -> None:
    """Start, answer and submit quizzes until told to stop; after a failure, try the step again."""
    while not stop.is_set():
        try:
            attempt_id = officer.start_quiz(CODE)   # the attempt in progress, if one is
            sheet = officer.answer_sheet(CODE, attempt_id)
            while True:
                try:
                    officer.submit(sheet)
                    break
                except Exception:
                    time.sleep(0.05)
            with traffic.lock:
                traffic.submitted[attempt_id] = sheet.percent
                traffic.submitted_at.append((time.monotonic(), officer.email))
        except Exception:
            time.sleep(0.05)


@pytest.mark.slow
def test_the_database_restarted_under_load_loses_nothing_and_the_site_recovers_by_itself(tmp_path):
    if not PG_BIN:
        missing("no PostgreSQL server binaries under /usr/lib/postgresql/*/bin: "
                "install them with 'apt-get install -y postgresql'")
    emails = [f"restart{n}@agency.test" for n in range(3)]
    with private_postgres() as postgres:
        seed(postgres.url, tmp_path, emails)
        engine = make_engine(postgres.url)
        traffic, stop = Traffic(), threading.Event()
        try:
            with gunicorn(postgres.url, tmp_path) as server:
                workers = server.workers()
                officers = [Officer(Site(server.base_url, timeout=30, record=traffic.record), email, PASSWORD,
                                    ANSWERS, rng=random.Random(n), accuracy=0.8) for n, email in enumerate(emails)]
                for officer in officers:
                    officer.sign_in()
                    officer.read_lessons(CODE)
                drivers = [threading.Thread(target=take_quizzes, args=(o, traffic, stop)) for o in officers]
                for driver in drivers:
                    driver.start()
                outages = []
                try:
                    time.sleep(1.5)
                    began = time.monotonic()
                    postgres.pg_ctl("-m", "fast", "restart")
                    outages.append((began, time.monotonic()))
                    time.sleep(1.5)
                    began = time.monotonic()
                    postgres.pg_ctl("-m", "immediate", "stop")   # as a crash: recovery from the WAL at start
                    time.sleep(0.5)
                    postgres.pg_ctl("start")
                    outages.append((began, time.monotonic()))
                    time.sleep(2)
                finally:
                    stop.set()
                    for driver in drivers:
                        driver.join(60)
                # Restarted while nobody was using the site: each worker's pooled connections are stale,
                # and yet the next requests work the first time (each connection is checked before use).
                postgres.pg_ctl("-m", "fast", "restart")
                quiet_restart = time.monotonic()
                for officer in officers:
                    officer.site.fresh_after = 0   # a new connection each time: both workers take some
                    officer.dashboard()
                    attempt_id = officer.start_quiz(CODE)
                    sheet = officer.answer_sheet(CODE, attempt_id)
                    officer.submit(sheet)
                    traffic.submitted[attempt_id] = sheet.percent
                    officer.site.close()
                # The same processes served throughout: nothing restarted the site.
                assert server.workers() == workers and server.process.poll() is None
            assert not any(driver.is_alive() for driver in drivers)

            failed = [r for r in traffic.requests if r[3] is not None]
            assert failed, "no request met the outages: the test proved nothing"
            # Every failure was a request under way while the database was down, none after it was back.
            strays = [r for r in failed if not any(start <= r[1] and r[0] <= end for start, end in outages)]
            assert not strays, strays
            assert not [r for r in traffic.requests if r[0] >= quiet_restart and r[3] is not None]
            # After the second outage, each officer had submissions accepted again.
            recovered = Counter(email for at, email in traffic.submitted_at if at > outages[-1][1])
            assert set(recovered) == set(emails), recovered

            with engine.connect() as conn:
                rows = conn.execute(select(Attempt.id, Attempt.submitted_at.is_not(None), Attempt.score,
                                           Attempt.answers.is_not(None), Attempt.passed.is_not(None))).all()
                events = Counter(conn.scalars(select(AuditEvent.target).where(
                    AuditEvent.action == "attempt.submitted")))
            recorded = {row.id: row.score for row in rows if row[1]}
            # Every submission the officers were told succeeded is there, scored as answered, once.
            assert recorded == traffic.submitted
            assert events == Counter(f"attempt:{a}" for a in recorded)
            # Nothing half written: an attempt is submitted with its answers and score, or has neither.
            assert all(row[1] == row[3] == row[4] == (row.score is not None) for row in rows)
            assert chain_is_whole(engine)
        finally:
            engine.dispose()


# --- the mail server stopped mid-delivery -----------------------------------------------------------

def test_the_mail_server_stopped_mid_delivery_then_back_gets_every_message_once(app, session, course, monkeypatch):
    from training.jobs import run_daily
    from training.records.models import Assignment
    from training.reminders import delivery
    from training.reminders.models import OutboxMessage
    from training.scheduler import delivery_job

    today = date.today()
    agency, unit = make_org(session, "MAIL")
    officers = [make_user(session, f"mail{n}@agency.test", agency=agency, unit=unit, employee_id=f"M{n}")
                for n in range(6)]
    for officer in officers:
        session.add(Assignment(user_id=officer.id, course_id=course.id, due_on=today + timedelta(days=14),
                               reason="agency"))
    session.commit()
    assert run_daily(app, today)["due-in-14"] == 6

    port = free_port()
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=port, MAIL_FROM="rollcall@test.invalid")
    first = StoppingMailbox(stop_at=3)
    first.controller = start_mail_server(first, port)
    delivery_job(app)   # the scheduler's delivery: two accepted, then the server is gone
    first.stopping.join(10)
    assert len(first.messages) == 2
    states = Counter(session.scalars(select(OutboxMessage.status).execution_options(populate_existing=True)))
    assert states == {"sent": 2, "pending": 4}

    delivery_job(app)   # the next run, the server still down: the four wait for their back-off
    second = StoppingMailbox()
    second.controller = start_mail_server(second, port)
    try:
        delivery_job(app)   # the server is back, but the retries wait for their back-off
        assert second.messages == []
        # The scheduler's runs after the back-off send the rest.
        later = delivery.utcnow() + timedelta(minutes=30)
        monkeypatch.setattr(delivery, "utcnow", lambda: later)
        delivery_job(app)
        delivery_job(app)
    finally:
        second.controller.stop()
    received = [m["To"] for m in first.messages + second.messages]
    assert sorted(received) == sorted(o.email for o in officers)
    ids = [m["Message-ID"] for m in first.messages + second.messages]
    assert len(set(ids)) == len(ids) == 6
    rows = session.scalars(select(OutboxMessage).execution_options(populate_existing=True)).all()
    assert {(r.status, r.claimed_at) for r in rows} == {("sent", None)}
