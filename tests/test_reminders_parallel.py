"""Two `reminders run` processes started together against one database send each reminder once.

Runs on a database of its own (a SQLite file, or a schema of the PostgreSQL test
database), because the processes must see committed data.
"""
from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import config
from tests.support.databases import committed_database
from tests.support.factories import make_org, make_user, write_course
from tests.support.mail import Mailbox, start_mail_server
from tests.support.net import free_port
from tests.support.paths import ROOT
from training import create_app, migrate
from training.catalog.service import course_by_code, sync_courses
from training.db import unit_of_work
from training.records.models import Assignment

DUE = date(2026, 12, 15)
OFFICERS = 40


def seed(url: str, tmp_path: Path) -> None:
    courses, quizzes = write_course(tmp_path / "content")
    app = create_app(config.TestConfig, DATABASE_URL=url)
    migrate.upgrade(app)
    with unit_of_work(app) as session:
        sync_courses(session, courses, quizzes)
        course = course_by_code(session, "TEST-BASICS")
        agency, unit = make_org(session, "PAR")
        boss = make_user(session, "boss@par.test", agency=agency, unit=unit, employee_id="BOSS")
        for n in range(OFFICERS):
            officer = make_user(session, f"officer{n}@par.test", agency=agency, unit=unit, employee_id=f"P{n}",
                                supervisor_id=boss.id)
            # Half are due in 14 days, half have been overdue for 7: reminders and a supervisor digest.
            due = DUE if n % 2 else DUE - timedelta(days=21)
            session.add(Assignment(user_id=officer.id, course_id=course.id, due_on=due, reason="agency"))
    app.extensions["db_engine"].dispose()


def test_two_processes_started_together_send_each_reminder_once(tmp_path):
    with committed_database(tmp_path, "reminders_parallel") as url:
        outputs, codes, mailbox = run_two_processes(url, tmp_path)
    # Each process's whole output, not a shortened list of them: a failed run's error is at its end.
    shown = "\n---\n".join(outputs)
    assert codes == [0, 0], shown
    recipients = sorted(m["To"] for m in mailbox.messages)
    assert recipients == sorted([f"officer{n}@par.test" for n in range(OFFICERS)] + ["boss@par.test"]), shown
    assert sum("nothing new fell due" in out for out in outputs) == 1, shown


def run_two_processes(url: str, tmp_path: Path):
    seed(url, tmp_path)
    mailbox, port = Mailbox(), free_port()
    controller = start_mail_server(mailbox, port)
    try:
        env = {**os.environ, "DATABASE_URL": url, "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(port),
               "MAIL_FROM": "rollcall@test.invalid", "ROLLCALL_ENV": "development"}
        command = [sys.executable, "-m", "flask", "--app", "app", "reminders", "run",
                   "--as-of", (DUE - timedelta(days=14)).isoformat()]
        processes = [subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                      text=True) for _ in range(2)]
        outputs = [p.communicate(timeout=180)[0] for p in processes]
    finally:
        controller.stop()
    return outputs, [p.returncode for p in processes], mailbox
