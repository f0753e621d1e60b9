"""Each role's home page in Chromium, at 1280 and at 320 pixels: axe finds no WCAG 2.1 AA violation, nothing scrolls
sideways at 320, and one item of the page is followed and acted on, as the person would."""
from __future__ import annotations

import csv
import io
import re
import threading
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update
from werkzeug.serving import make_server

import config
from tests.support.databases import database_of_its_own, reset_database
from tests.support.mail import Mailbox, start_mail_server
from tests.support.needs import require_file
from tests.support.net import free_port
from tests.support.paths import ROOT
from tests.test_browser import AXE, CHROMIUM, ROSTER_EXPORT_HEADER, Axe, Reflow, _sign_in, browser  # noqa: F401
from training import create_app
from training.assignments.service import daily_assignments
from training.auth.service import create_user
from training.catalog.models import Course
from training.catalog.service import sync_courses
from training.db import unit_of_work
from training.demo.service import DEMO_PASSWORD, seed_demo
from training.jobs import count_compliance, run_daily
from training.people.models import User
from training.records.models import Assignment
from training.reminders.models import OutboxMessage

pytestmark = pytest.mark.browser
WIDTHS = (1280, 320)


@pytest.fixture(scope="module")
def home_app(tmp_path_factory):
    """The demo organisation, served with a mail server, plus what the homes show: an officer overdue, failed
    messages in the outbox, a sergeant with a team, and a day's jobs run."""
    require_file(CHROMIUM, "install Debian's browser with 'apt-get install -y chromium' to run browser tests")
    require_file(AXE, "run 'make install' to fetch axe-core")
    url = database_of_its_own(tmp_path_factory, "home")
    reset_database(url)
    mailbox, port = Mailbox(), free_port()
    mail = start_mail_server(mailbox, port)
    app = create_app(config.Config, DATABASE_URL=url, SECRET_KEY="browser-test-secret", SMTP_HOST="127.0.0.1",
                     SMTP_PORT=port, MAIL_FROM="rollcall@test.invalid")
    today = date.today()
    with unit_of_work(app) as session:
        sync_courses(session, ROOT / "courses", ROOT / "quizzes")
        seed_demo(session, today, officers=12)
        daily_assignments(session, today)
        course = session.scalar(select(Course).order_by(Course.code).limit(1))
        officers = list(session.scalars(select(User).where(User.email.like("officer0%")).order_by(User.id)))
        sergeant = create_user(session, email="sergeant@demo.test", password=DEMO_PASSWORD, first_name="Pat",
                               last_name="Sergeant", role="officer", agency_id=officers[0].agency_id,
                               unit_id=officers[0].unit_id, employee_id="DEMO-0900")
        session.execute(update(User).where(User.id.in_([o.id for o in officers[:3]])).values(supervisor_id=sergeant.id))
        session.execute(update(Assignment).where(Assignment.user_id == officers[0].id, Assignment.closed_at.is_(None))
                        .values(due_on=today - timedelta(days=5)))
        if session.scalar(select(Assignment.id).where(Assignment.user_id == officers[0].id).limit(1)) is None:
            session.add(Assignment(user_id=officers[0].id, course_id=course.id, due_on=today - timedelta(days=5),
                                   reason="individual"))
        session.add_all(OutboxMessage(key=f"home-failed-{n}", kind="overdue-1", user_id=officers[n].id,
                                      course_id=course.id, decided_on=today, status="failed", attempts=5,
                                      last_error="550 5.1.1 mailbox unavailable") for n in range(len(WIDTHS)))
    run_daily(app, today)
    count_compliance(app, today)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield app, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    mail.stop()
    app.extensions["db_engine"].dispose()


class Checks:
    """axe at every width; at 320 px also no sideways scrolling."""

    def __init__(self, page, width: int):
        self.axe = Axe(page)
        page.set_viewport_size({"width": width, "height": 800})
        self.reflow = Reflow(page) if width == 320 else None

    def __call__(self) -> None:
        self.axe.check()
        if self.reflow:
            self.reflow.check()

    def assert_clean(self) -> None:
        assert self.axe.findings == {}, self.axe.findings
        assert self.reflow is None or self.reflow.findings == {}, self.reflow.findings


@pytest.fixture(params=WIDTHS, ids=lambda width: f"{width}px")
def walk(request, home_app):
    app, base = home_app
    page = request.getfixturevalue("browser").new_page()
    checks = Checks(page, request.param)
    yield app, base, page, checks
    checks.assert_clean()
    page.close()


def test_coordinator_follows_overdue_to_the_unit_and_sends_a_reminder(walk):
    app, base, page, check = walk
    _sign_in(page, base, "coordinator@demo.test", check)
    page.get_by_role("heading", name="Home", exact=True).wait_for()
    assert re.search(r"\d+ officers? overdue", page.locator("main").inner_text())
    page.get_by_role("link", name=re.compile(r"^\d+ overdue: ")).first.click()
    page.wait_for_url(re.compile(r"/units/[A-Z0-9-]+\?status=overdue$"))
    check()
    page.locator("main input[name=officer]").first.check()
    page.get_by_role("button", name="Send a reminder to the selected officers now").click()
    page.get_by_text(re.compile("^Reminder sent to")).wait_for()
    assert "status=overdue" in page.url
    check()


def test_compliance_downloads_their_last_export_again(walk):
    app, base, page, check = walk
    _sign_in(page, base, "compliance@demo.test", check)
    page.get_by_role("heading", name="Home", exact=True).wait_for()
    assert "% of the required modules are held" in page.locator("main").inner_text()
    page.get_by_role("link", name="Export the roster").click()
    page.get_by_role("heading", name="Roster export").wait_for()
    page.get_by_role("form", name="Roster filters").get_by_label("Status", exact=True).select_option("overdue")
    with page.expect_download() as first:
        page.get_by_role("button", name="Download the roster").click()
    first_rows = Path(first.value.path()).read_text("utf-8-sig")
    page.goto(f"{base}/")
    row = page.get_by_role("row").filter(has_text="status: overdue").first
    assert "Roster" in row.inner_text() and "CSV" in row.inner_text()
    check()
    with page.expect_download() as again:
        row.get_by_role("link", name=re.compile("^Download again")).click()
    header, *rows = csv.reader(io.StringIO(Path(again.value.path()).read_text("utf-8-sig")))
    assert ",".join(header) == ROSTER_EXPORT_HEADER and rows and all(r[8] == "overdue" for r in rows)
    assert Path(again.value.path()).read_text("utf-8-sig") == first_rows


def test_administrator_opens_a_failed_message_and_retries_it(walk):
    app, base, page, check = walk
    _sign_in(page, base, "admin@demo.test", check)
    page.get_by_role("heading", name="Home", exact=True).wait_for()
    jobs = page.get_by_role("table", name="The last run of each job").inner_text()
    assert "Renewals, standing rules and reminders" in jobs and "Succeeded" in jobs
    readiness = page.get_by_role("table", name="Each readiness check and what it found").inner_text()
    assert re.search(r"Database\s+Passing\s+The database answers\.", readiness)
    assert re.search(r"Daily job\s+Passing\s+The daily job last started", readiness)
    page.get_by_role("link", name=re.compile(r"^\d+ messages? failed$")).click()
    page.wait_for_url(re.compile(r"/admin/outbox\?status=failed$"))
    check()
    page.get_by_role("button", name=re.compile("^Retry")).first.click()
    page.get_by_text(re.compile(r"^Message \d+ to .* is queued again")).wait_for()
    check()
    with unit_of_work(app) as session:
        assert session.scalar(select(OutboxMessage.status).where(OutboxMessage.key.like("home-failed-%"))
                              .order_by(OutboxMessage.attempts, OutboxMessage.id).limit(1)) == "pending"


def test_a_sergeant_opens_their_team_from_home(walk):
    app, base, page, check = walk
    _sign_in(page, base, "sergeant@demo.test", check)
    page.get_by_role("heading", name="My training", exact=True).wait_for()
    team = page.get_by_role("region", name="Your team")
    assert "3 officers report to you" in team.inner_text()
    team.get_by_role("link", name="Open My team").click()
    page.get_by_role("heading", name="My team").wait_for()
    assert page.locator("main th[scope=row] a").count() == 3
    check()
