"""An officer completes a module in Debian's Chromium; axe-core checks every page visited."""
from __future__ import annotations

import os
import re
import shutil
import threading
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from werkzeug.serving import make_server

import config
from tests.conftest import free_port, reset_database
from training import create_app
from training.assignments.service import daily_assignments
from training.catalog.models import Question
from training.catalog.service import sync_courses
from training.certification.models import Attempt
from training.db import unit_of_work
from training.demo.service import DEMO_PASSWORD, seed_demo
from training.jobs import count_compliance, run_daily
from training.reminders.delivery import deliver

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
AXE = ROOT / "static" / "vendor" / "axe-core" / "axe.min.js"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-quic", "--no-first-run", "--disable-component-update", "--disable-sync"]


def _require(path: Path | str, how: str) -> None:
    if Path(path).exists():
        return
    message = f"{path} is missing: {how}"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def _browser_database(tmp_path_factory) -> str:
    """A database of its own: the live server commits for real."""
    if os.environ.get("ROLLCALL_TEST_DB") == "postgresql":
        url = make_url(os.environ["TEST_DATABASE_URL"])
        name = f"{url.database}_browser"
        admin = create_engine(url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            if not conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}):
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        return url.set(database=name).render_as_string(hide_password=False)
    return f"sqlite:///{tmp_path_factory.mktemp('browser') / 'browser.db'}"


@pytest.fixture(scope="module")
def live_app(tmp_path_factory):
    _require(CHROMIUM, "install Debian's browser with 'apt-get install -y chromium' to run browser tests")
    _require(AXE, "run 'make install' to fetch axe-core")
    url = _browser_database(tmp_path_factory)
    reset_database(url)
    app = create_app(config.Config, DATABASE_URL=url, SECRET_KEY="browser-test-secret")
    with unit_of_work(app) as session:
        sync_courses(session, ROOT / "courses", ROOT / "quizzes")
        seed_demo(session, date.today(), officers=5)
        daily_assignments(session, date.today())
    count_compliance(app, date.today())
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield app, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    app.extensions["db_engine"].dispose()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which(CHROMIUM) or CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Axe:
    """Runs axe-core on each page and keeps what it finds, and any Content-Security-Policy refusal."""

    def __init__(self, page):
        self.page = page
        self.findings: dict[str, list[str]] = {}
        page.on("console", self._console)

    def _console(self, message) -> None:
        if "Content Security Policy" in message.text:
            self.findings.setdefault(self.page.url, []).append(message.text)

    def check(self) -> None:
        # Loaded from the site's own static files, so the CSP (script-src 'self') allows it as it is.
        origin = re.match(r"https?://[^/]+", self.page.url).group(0)
        self.page.add_script_tag(url=f"{origin}/static/vendor/axe-core/axe.min.js")
        result = self.page.evaluate(
            "async () => await axe.run(document, {runOnly: {type: 'tag', values: "
            "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}})")
        serious = [f"{v['id']} ({v['impact']}): {v['help']} x{len(v['nodes'])}"
                   for v in result["violations"] if v["impact"] in ("serious", "critical")]
        if serious:
            self.findings[self.page.url] = serious


def test_officer_completes_a_module(live_app, browser):
    app, base = live_app
    page = browser.new_page()
    axe = Axe(page)
    page.goto(f"{base}/login")
    axe.check()
    page.get_by_label("Email").fill("officer@demo.test")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="My training").wait_for()
    axe.check()

    page.get_by_role("link", name="Open Use of Force and Deadly Force").click()
    page.get_by_role("heading", name="Use of Force and Deadly Force").wait_for()
    axe.check()
    lessons = [a.get_attribute("href") for a in page.locator("ol.usa-list a").all()]
    assert len(lessons) >= 4
    for href in lessons:
        page.goto(base + href)
        assert page.locator("article h1").inner_text()
        axe.check()
    page.goto(f"{base}/courses/UOF-DEADLY-FORCE")
    page.get_by_role("button", name="Start the quiz").click()
    page.wait_for_url(re.compile(r"/attempts/\d+$"))
    axe.check()

    attempt_id = int(page.url.rsplit("/", 1)[1])
    with unit_of_work(app) as session:
        attempt = session.get(Attempt, attempt_id)
        picks = [(item["question_id"], item["order"].index(session.get(Question, item["question_id"]).answer_index))
                 for item in attempt.items]
    assert len(picks) == 10
    for question_id, position in picks:
        page.locator(f"label[for=q{question_id}-{position}]").click()
    page.get_by_role("button", name="Submit answers").click()
    page.get_by_text("You scored 100%").wait_for()
    axe.check()

    page.get_by_label("Your full name").fill("Jordan Reyes")
    page.get_by_role("button", name="Acknowledge and complete").click()
    page.get_by_role("heading", name="Certified").wait_for()
    assert "certified until" in page.content()
    axe.check()
    page.get_by_role("link", name="My training").first.click()
    row = page.get_by_role("row").filter(has_text="Use of Force and Deadly Force")
    assert "current" in row.inner_text().lower()
    axe.check()
    page.goto(f"{base}/history")
    axe.check()
    assert axe.findings == {}, axe.findings


def test_quiz_can_be_answered_with_the_keyboard(live_app, browser):
    app, base = live_app
    page = browser.new_page()
    page.goto(f"{base}/login")
    page.get_by_label("Email").fill("officer@demo.test")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="My training").wait_for()
    for href in [a.get_attribute("href") for a in
                 page.goto(f"{base}/courses/UOF-DE-ESCALATION") and page.locator("ol.usa-list a").all()]:
        page.goto(base + href)
    page.goto(f"{base}/courses/UOF-DE-ESCALATION")
    page.get_by_role("button", name="Start the quiz").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/attempts/\d+$"))
    # Tab into each radio group and pick its first choice with the space bar.
    page.locator("input[type=radio]").first.focus()
    for _ in range(10):
        page.keyboard.press("Space")
        page.keyboard.press("Tab")
    assert page.locator("input[type=radio]:checked").count() == 10
    page.get_by_role("button", name="Submit answers").focus()
    page.keyboard.press("Enter")
    page.get_by_text("You scored").wait_for()


def test_reminder_pages_are_accessible(live_app, browser):
    app, base = live_app
    run_daily(app, date.today())
    # No mail server: every message is refused once and, with one attempt allowed, marked failed.
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=free_port(), REMINDER_MAX_ATTEMPTS=1)
    assert deliver(app, force=True).counts["failed"] > 0
    page = browser.new_page()
    axe = Axe(page)
    for email, path, expected in [("officer@demo.test", "/reminders", "Could not be delivered"),
                                  ("admin@demo.test", "/admin/outbox", "Retry")]:
        page.goto(f"{base}/login")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(DEMO_PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.goto(base + path)
        assert expected in page.content()
        axe.check()
        page.get_by_role("button", name=re.compile("Sign out")).click()
    assert axe.findings == {}, axe.findings


def test_compliance_revokes_a_certificate_and_the_public_page_says_so(live_app, browser):
    from sqlalchemy import select

    from training.certification.codes import display
    from training.certification.models import Completion

    app, base = live_app
    with unit_of_work(app) as session:
        completion = session.scalar(select(Completion).where(Completion.revoked_on.is_(None))
                                    .order_by(Completion.id.desc()).limit(1))
        officer_id, code = completion.user_id, display(completion.verification_code)
    page = browser.new_page()
    axe = Axe(page)
    page.goto(f"{base}/verify")
    axe.check()
    page.get_by_label("Verification code").fill(code.lower())
    page.get_by_role("button", name="Check").click()
    page.get_by_role("heading", name=f"Certificate {code}").wait_for()
    axe.check()
    page.goto(f"{base}/verify/NOT-A-CODE")
    page.get_by_role("heading", name="Certificate not found").wait_for()
    axe.check()

    page.goto(f"{base}/login")
    page.get_by_label("Email").fill("compliance@demo.test")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Audit trail").click()
    page.get_by_role("heading", name="Audit trail").wait_for()
    axe.check()
    page.goto(f"{base}/officers/{officer_id}/transcript")
    axe.check()
    page.locator(f"tr:has-text('{code}')").get_by_role("link", name=re.compile("^Revoke")).click()
    axe.check()
    page.get_by_label("Reason for revoking").fill("Completed under another officer's account")
    page.get_by_role("button", name="Revoke certificate").click()
    page.get_by_text("Revoked the").wait_for()
    axe.check()
    page.goto(f"{base}/verify/{code}")
    assert "Revoked on" in page.content()
    assert axe.findings == {}, axe.findings


def _sign_in(page, base, email):
    page.goto(f"{base}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/")


def test_staff_pages_pass_axe_and_filter_by_keyboard(live_app, browser):
    app, base = live_app
    page = browser.new_page()
    axe = Axe(page)
    _sign_in(page, base, "coordinator@demo.test")
    page.goto(f"{base}/units")
    axe.check()
    page.locator("main a[href^='/units/']").first.click()
    page.wait_for_url(re.compile(r"/units/[A-Z0-9-]+$"))
    unit_url = page.url
    axe.check()
    # Filter the unit view by status using only the keyboard: Any -> Exempt -> Current.
    page.get_by_label("Status", exact=True).focus()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    page.get_by_role("button", name="Apply").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"status=current"))
    page.get_by_text(re.compile(r"\d+ officer\(s\)")).wait_for()
    axe.check()
    page.goto(unit_url)
    page.locator("main th[scope=row] a").first.click()
    page.wait_for_url(re.compile(r"/officers/\d+$"))
    axe.check()
    for path in ("/assign", "/rules", "/imports/roster", "/imports/completions"):
        page.goto(base + path)
        axe.check()
    page.context.clear_cookies()
    _sign_in(page, base, "admin@demo.test")
    for path in ("/admin/users", "/admin/users/new", "/imports/org", "/admin/org", "/admin/org/agencies/new",
                 "/admin/org/agencies/DEMO", "/admin/org/units/new", "/admin/org/units/DEMO-EAST"):
        assert page.goto(base + path).ok, path
        axe.check()
    assert axe.findings == {}, axe.findings


def test_compliance_pages_with_the_keyboard(live_app, browser):
    app, base = live_app
    page = browser.new_page(accept_downloads=True)
    axe = Axe(page)
    page.goto(f"{base}/login")
    page.get_by_label("Email").fill("compliance@demo.test")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.keyboard.press("Enter")
    page.get_by_role("link", name="Compliance").click()
    page.get_by_role("heading", name="Compliance").wait_for()
    assert page.get_by_role("img", name=re.compile("Compliance rate at the end of each")).count() == 1
    axe.check()
    page.get_by_role("link", name="Roster export").click()
    page.get_by_role("heading", name="Roster export").wait_for()
    axe.check()
    page.get_by_label("Status").focus()
    page.get_by_label("Status").select_option("overdue")
    page.get_by_label("CSV (spreadsheet text, UTF-8)").focus()
    page.keyboard.press("ArrowDown")   # to the next radio button: XLSX
    assert page.get_by_label("Excel workbook (XLSX)").is_checked()
    page.get_by_role("button", name="Download the roster").focus()
    with page.expect_download() as download:
        page.keyboard.press("Enter")
    assert re.fullmatch(r"roster-DEMO-overdue-\d{4}-\d\d-\d\d\.xlsx", download.value.suggested_filename)
    page.goto(f"{base}/reports/roster/download?unit=NOPE&format=csv")
    page.get_by_text("Correct the fields marked below").wait_for()
    axe.check()
    assert axe.findings == {}, axe.findings
