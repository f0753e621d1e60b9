"""The main journeys in Debian's Chromium, as a user walks them: an officer completes a module, a coordinator imports
a roster and assigns a module, compliance staff export the roster and verify a certificate. axe-core checks every
page visited; the same journeys are walked again in a window 320 px wide."""
from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta
from pathlib import Path

import pyotp
import pytest
from sqlalchemy import select

from tests.support.databases import database_of_its_own
from tests.support.demo_site import CHROMIUM, chromium, demo_site, go_to, sign_out
from tests.support.mail import Mailbox, start_mail_server
from tests.support.needs import require_file
from tests.support.net import free_port
from tests.support.paths import ROOT
from training.auth.service import create_user
from training.catalog.models import Course, Question
from training.clock import today_for
from training.db import unit_of_work
from training.demo.service import DEMO_PASSWORD
from training.jobs import run_daily
from training.people.models import User
from training.records.models import Assignment, Attempt, Completion
from training.reminders.delivery import deliver

pytestmark = pytest.mark.browser
AXE = ROOT / "static" / "vendor" / "axe-core" / "axe.min.js"


@pytest.fixture(scope="module")
def live_app(tmp_path_factory):
    require_file(CHROMIUM, "install Debian's browser with 'apt-get install -y chromium' to run browser tests")
    require_file(AXE, "run 'make install' to fetch axe-core")
    with demo_site(database_of_its_own(tmp_path_factory, "browser")) as site:
        yield site


@pytest.fixture(scope="module")
def browser():
    with chromium() as browser:
        yield browser


WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
REFLOW_WIDTH = 320
ROSTER_EXPORT_HEADER = ("employee_id,last_name,first_name,agency,unit,course_code,course_title,course_version,"
                        "status,due_on,completed_on,score,expires_on")


class Axe:
    """Runs axe-core on each page and keeps what it finds, and any Content-Security-Policy refusal.

    Every violation of a WCAG 2.1 A or AA rule counts; of axe's best practices, the serious and critical ones.
    """

    def __init__(self, page):
        self.page = page
        self.findings: dict[str, list[str]] = {}
        page.on("console", self._console)

    def _console(self, message) -> None:
        if "Content Security Policy" in message.text:
            self.findings.setdefault(self.page.url, []).append(message.text)

    def check(self) -> None:
        self.page.wait_for_load_state()   # the style sheets too: a heading can show before they apply
        # Loaded from the site's own static files, so the CSP (script-src 'self') allows it as it is.
        origin = re.match(r"https?://[^/]+", self.page.url).group(0)
        self.page.add_script_tag(url=f"{origin}/static/vendor/axe-core/axe.min.js")
        result = self.page.evaluate(
            "async (tags) => await axe.run(document, {runOnly: {type: 'tag', values: tags}, "
            "resultTypes: ['violations']})", [*WCAG_AA, "best-practice"])
        found = [f"{v['id']} ({v['impact']}): {v['help']} x{len(v['nodes'])}" for v in result["violations"]
                 if set(v["tags"]) & set(WCAG_AA) or v["impact"] in ("serious", "critical")]
        if found:
            self.findings.setdefault(self.page.url, []).extend(found)


REFLOW_SCRIPT = """(slack) => {
  const width = document.documentElement.clientWidth;
  const describe = (el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
    + [...el.classList].map((c) => '.' + c).join('') + ' "' + (el.innerText || '').trim().slice(0, 40) + '"';
  const scrolls = (el) => ['auto', 'scroll'].includes(getComputedStyle(el).overflowX);
  const inScroller = (el) => { for (let p = el.parentElement; p; p = p.parentElement) if (scrolls(p)) return true;
                               return false; };
  const named = (el) => (el.getAttribute('aria-label')
    || (document.getElementById(el.getAttribute('aria-labelledby')) || {}).textContent || '').trim();
  const problems = [], wide = new Set();
  if (document.documentElement.scrollWidth > width + slack)
    problems.push('the page scrolls sideways: ' + document.documentElement.scrollWidth + ' px wide');
  for (const el of document.body.querySelectorAll('*')) {
    const box = el.getBoundingClientRect();
    // Not rendered, or moved off-screen on purpose (the usual way of hiding text for screen readers).
    if (!box.width || !box.height || box.right <= 0 || getComputedStyle(el).visibility === 'hidden') continue;
    if ((box.left < -slack || box.right > width + slack) && !inScroller(el)) {
      if (!wide.has(el.parentElement))   // the outermost element that is too wide says enough
        problems.push(describe(el) + ' spans ' + Math.round(box.left) + '..' + Math.round(box.right) + ' px');
      wide.add(el);
    }
    if (scrolls(el) && el.scrollWidth > el.clientWidth + slack
        && (el.tabIndex < 0 || el.getAttribute('role') !== 'region' || !named(el)))
      problems.push(describe(el) + ' scrolls sideways but is not a labelled region reachable with the keyboard');
  }
  // Text can run out of a box that itself fits, such as a long word in a heading.
  const texts = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const range = document.createRange();
  for (let text = texts.nextNode(); text; text = texts.nextNode()) {
    range.selectNodeContents(text);
    const box = range.getBoundingClientRect();
    if (box.width && box.right > 0 && (box.left < -slack || box.right > width + slack)
        && !wide.has(text.parentElement) && !inScroller(text))
      problems.push(describe(text.parentElement) + ' has text reaching ' + Math.round(box.right) + ' px');
  }
  return problems;
}"""


class Reflow:
    """At 320 CSS pixels (WCAG 1.4.10) nothing but a labelled, focusable scrolling region is wider than the window."""

    def __init__(self, page):
        page.set_viewport_size({"width": REFLOW_WIDTH, "height": 640})
        self.page = page
        self.findings: dict[str, list[str]] = {}

    def check(self) -> None:
        self.page.wait_for_load_state()
        # A panel sliding in (the narrow menu) is measured where it comes to rest.
        self.page.wait_for_function("() => document.getAnimations().every((a) => a.playState !== 'running'"
                                    " || a.effect.getComputedTiming().endTime === Infinity)")
        problems = self.page.evaluate(REFLOW_SCRIPT, 1)
        if problems:
            self.findings.setdefault(self.page.url, []).extend(problems)


def _sign_in(page, base, email, check=lambda: None, keyboard=False):
    page.goto(f"{base}/login")
    check()
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    if keyboard:
        page.keyboard.press("Enter")   # from the password field
    else:
        page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/")
    check()


def answer_rightly(app, page) -> Attempt:
    """On a quiz page, pick every right answer and submit; the attempt. The right answers never reach the
    browser: the test reads them from the database, as the officer knows them."""
    with unit_of_work(app) as session:
        attempt = session.get(Attempt, int(page.url.rsplit("/", 1)[1]))
        picks = [(item["question_id"], item["order"].index(session.get(Question, item["question_id"]).answer_index))
                 for item in attempt.items]
    for question_id, position in picks:
        page.locator(f"label[for=q{question_id}-{position}]").click()
    page.get_by_role("button", name="Submit answers").click()
    page.get_by_text("You scored 100%").wait_for()
    return attempt


def _officer_completes(app, page, base, check, title: str) -> None:
    """officer@demo.test opens a module, reads every lesson, passes the quiz, acknowledges and gets the certificate."""
    _sign_in(page, base, "officer@demo.test", check)
    _complete_module(app, page, base, check, title, "Jordan Reyes")


def _complete_module(app, page, base, check, title: str, full_name: str) -> None:
    """The signed-in officer, on their training page, completes the module and downloads its certificate."""
    page.get_by_role("link", name=f"Open {title}").click()
    page.get_by_role("heading", name=title, exact=True).wait_for()
    assert page.get_by_text("The quiz unlocks once you have opened every lesson").is_visible()
    check()
    lessons = page.locator("main ol.usa-list a").count()
    assert lessons >= 4
    page.locator("main ol.usa-list a").first.click()
    for n in range(lessons):
        page.get_by_text(f"Lesson {n + 1}", exact=True).wait_for(state="attached")   # in the breadcrumbs
        assert page.locator("article h1").inner_text()
        check()
        page.get_by_role("link", name=re.compile("^Next lesson:" if n + 1 < lessons else "^Back to the module")).click()
    page.get_by_role("heading", name=title, exact=True).wait_for()
    assert page.get_by_text("Opened", exact=True).count() == lessons
    check()
    page.get_by_role("button", name="Start the quiz").click()
    page.wait_for_url(re.compile(r"/attempts/\d+$"))
    check()

    attempt = answer_rightly(app, page)
    check()
    page.get_by_label("Your full name").fill(full_name)
    page.get_by_role("button", name="Acknowledge and complete").click()
    page.get_by_role("heading", name="Certified").wait_for()
    expires_on = re.search(r"certified until (\d{4}-\d\d-\d\d)", page.locator("main").inner_text()).group(1)
    with unit_of_work(app) as session:   # the officer's own day: their agency's, not the server's
        today = today_for(session.get(User, attempt.user_id)).isoformat()
    assert f"Completed {today}" in page.locator("main").inner_text()
    check()
    page.get_by_role("link", name="Back to my training").click()
    page.wait_for_url(f"{base}/training")
    row = page.get_by_role("row").filter(has_text=title)
    assert "current" in row.inner_text().lower() and expires_on in row.inner_text()
    check()
    go_to(page, "Training", "Transcript")
    page.get_by_role("heading", name=re.compile("^Transcript: ")).wait_for()
    row = page.locator("main tr").filter(has_text=title).filter(has_text=today).first
    assert "valid" in row.inner_text().lower() and expires_on in row.inner_text()
    code = row.locator("td.rc-code").inner_text().strip()
    check()
    with page.expect_download() as download:
        row.get_by_role("link", name=re.compile("^PDF")).click()
    assert Path(download.value.path()).read_bytes().startswith(b"%PDF")
    with unit_of_work(app) as session:
        completion = session.scalar(select(Completion).where(Completion.verification_code == code.replace("-", "")))
        assert (completion.acknowledged_name, completion.expires_on.isoformat(), completion.revoked_on) \
            == (full_name, expires_on, None)


def _coordinator_imports_and_assigns(app, page, base, check, *, first_id: int, unit: str, title: str,
                                     due_on: date) -> None:
    """coordinator@demo.test uploads a roster, confirms it, assigns a module to the unit and finds the new officers."""
    people = [(f"BRW-{first_id + n}", first, last) for n, (first, last) in
              enumerate([("Ada", f"Newcomb{first_id}"), ("Bo", f"Newell{first_id}")])]
    roster = "employee_id,first_name,last_name,email,agency,unit,supervisor_employee_id\n" + "".join(
        f"{eid},{first},{last},{eid.lower()}@demo.test,DEMO,{unit},{'DEMO-0002' if n else ''}\n"
        for n, (eid, first, last) in enumerate(people))
    _sign_in(page, base, "coordinator@demo.test", check)
    go_to(page, "People", "Import roster")
    page.get_by_role("heading", name="Import roster").wait_for()
    check()
    page.get_by_label("CSV file").set_input_files(
        files=[{"name": "new_hires_field_offices_2026.csv", "mimeType": "text/csv", "buffer": roster.encode()}])
    page.get_by_role("button", name="Check the file").click()
    page.get_by_role("heading", name="Check: Roster from new_hires_field_offices_2026.csv").wait_for()
    page.get_by_role("heading", name="2 to add").wait_for()
    for eid, first, last in people:
        assert f"{eid} {first} {last}" in page.locator("main").inner_text()
    check()
    page.get_by_role("button", name="Import").click()
    page.get_by_text("Roster imported from new_hires_field_offices_2026.csv: 2 added").wait_for()
    check()

    go_to(page, "Training", "Assign modules")
    page.get_by_role("heading", name="Assign modules").wait_for()
    check()
    for choice in (title, "A unit and its sub-units"):   # the label is what shows: the box itself is restyled
        page.get_by_text(choice, exact=True).click()
        assert page.get_by_label(choice).is_checked()
    unit_list = page.get_by_label("Unit", exact=True)
    unit_list.select_option(value=unit)
    page.get_by_role("button", name="List its officers").click()
    page.get_by_role("status").filter(has_text="Nothing was assigned yet").wait_for()
    check()
    officers = page.get_by_label("Officer", exact=True).locator("option").all_inner_texts()
    assert all(f"{last}, {first} ({eid})" in officers for eid, first, last in people), officers
    assert page.get_by_label(title).is_checked() and page.get_by_label("A unit and its sub-units").is_checked()
    page.get_by_label("Due date", exact=True).fill(due_on.isoformat())
    page.get_by_role("button", name="Assign", exact=True).click()
    assigned = page.get_by_role("status").filter(has_text=f"{title}: assigned to")
    assert int(re.search(r"assigned to (\d+) officer", assigned.inner_text()).group(1)) >= len(people)
    check()

    go_to(page, "People", "Units")
    page.get_by_role("heading", name="Units").wait_for()
    check()
    page.locator(f"main li:has-text('({unit})')").get_by_role("link").click()
    page.get_by_role("heading", name=re.compile(rf"\({unit}\)$")).wait_for()
    for _eid, first, last in people:
        row = page.get_by_role("row").filter(has=page.get_by_role("link", name=f"{last}, {first}"))
        assert re.search(rf"assigned\s+due {due_on.isoformat()}", row.inner_text(), re.IGNORECASE), row.inner_text()
    check()
    page.get_by_role("link", name=f"{people[0][2]}, {people[0][1]}").click()
    page.get_by_role("heading", name=f"{people[0][1]} {people[0][2]}").wait_for()
    row = page.get_by_role("row").filter(has_text=title)
    assert "assigned" in row.inner_text().lower() and due_on.isoformat() in row.inner_text()
    check()
    with unit_of_work(app) as session:
        open_assignments = session.execute(
            select(User.employee_id, Assignment.due_on, Assignment.reason, Assignment.assigned_by_id)
            .join(Assignment, Assignment.user_id == User.id).join(Course, Course.id == Assignment.course_id)
            .where(User.employee_id.in_([eid for eid, _, _ in people]), Course.title == title,
                   Assignment.closed_at.is_(None)).order_by(User.employee_id)).all()
        coordinator = session.scalar(select(User.id).where(User.email == "coordinator@demo.test"))
    assert open_assignments == [(eid, due_on, "unit", coordinator) for eid, _, _ in people]


def _compliance_exports_and_verifies(app, page, base, check) -> None:
    """compliance@demo.test downloads the roster, reads a certificate's code off a transcript and verifies it."""
    _sign_in(page, base, "compliance@demo.test", check)
    go_to(page, "Reports", "Roster export")
    page.get_by_role("heading", name="Roster export").wait_for()
    check()
    roster = page.get_by_role("form", name="Roster filters")
    roster.get_by_label("Agency").select_option("DEMO")
    roster.get_by_text("CSV (spreadsheet text, UTF-8)", exact=True).click()
    assert roster.get_by_label("CSV (spreadsheet text, UTF-8)").is_checked()
    with page.expect_download() as download:
        page.get_by_role("button", name="Download the roster").click()
    assert re.fullmatch(r"roster-DEMO-\d{4}-\d\d-\d\d\.csv", download.value.suggested_filename)
    header, *rows = csv.reader(io.StringIO(Path(download.value.path()).read_text("utf-8-sig")))
    assert ",".join(header) == ROSTER_EXPORT_HEADER
    assert rows and all(len(row) == len(header) and row[3] == "DEMO" for row in rows)
    acknowledgements = page.get_by_role("form", name="Who acknowledged which version")
    acknowledgements.get_by_label("Module or document").select_option("UOF-DEADLY-FORCE")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download the acknowledgements").click()
    assert re.fullmatch(r"acknowledgements-DEMO-UOF-DEADLY-FORCE-\d{4}-\d\d-\d\d\.csv",
                        download.value.suggested_filename)
    header, *rows = csv.reader(io.StringIO(Path(download.value.path()).read_text("utf-8-sig")))
    assert header == ["employee_id", "last_name", "first_name", "agency", "unit", "document", "version", "status",
                      "due_on", "acknowledged_on"]
    assert rows and all(row[5] == "UOF-DEADLY-FORCE" and row[7] in ("acknowledged", "due", "overdue", "exempt")
                        for row in rows)

    go_to(page, "People", "Units")
    page.get_by_role("heading", name="Units").wait_for()
    check()
    page.get_by_role("link", name="Headquarters", exact=True).click()
    page.get_by_role("heading", name="Headquarters (DEMO-HQ)").wait_for()
    check()
    page.get_by_label("Status", exact=True).select_option("current")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url(re.compile(r"status=current"))
    check()
    page.locator("main th[scope=row] a").first.click()
    page.wait_for_url(re.compile(r"/officers/\d+$"))
    officer_id = int(page.url.rsplit("/", 1)[1])
    check()
    page.get_by_role("link", name=re.compile("^Transcript")).click()
    page.get_by_role("heading", name=re.compile("^Transcript")).wait_for()
    check()
    row = page.locator("main tr").filter(has=page.locator(".rc-cert--valid")).first
    code = row.locator("td.rc-code").inner_text().strip()
    assert re.fullmatch(r"[A-Z0-9]{4}(-[A-Z0-9]{4}){3}", code), code

    go_to(page, "Reports", "Verify a certificate")
    page.get_by_role("heading", name="Verify a certificate").wait_for()
    check()
    page.get_by_label("Verification code").fill(code)
    page.get_by_role("button", name="Check").click()
    page.get_by_role("heading", name=f"Certificate {code}").wait_for()
    assert "Valid: this certificate is in force." in page.get_by_role("status").inner_text()
    check()
    with unit_of_work(app) as session:
        completion = session.scalar(select(Completion).where(Completion.verification_code == code.replace("-", "")))
        assert (completion.user_id, completion.revoked_on) == (officer_id, None)


def test_officer_completes_a_module(live_app, browser):
    app, base = live_app
    page = browser.new_page()
    axe = Axe(page)
    _officer_completes(app, page, base, axe.check, "Use of Force and Deadly Force")
    assert axe.findings == {}, axe.findings


def test_coordinator_imports_a_roster_and_assigns_a_unit(live_app, browser):
    app, base = live_app
    page = browser.new_page()
    axe = Axe(page)
    _coordinator_imports_and_assigns(app, page, base, axe.check, first_id=100, unit="DEMO-WEST",
                                     title="De-escalation", due_on=date.today() + timedelta(days=45))
    assert axe.findings == {}, axe.findings


def test_compliance_exports_the_roster_and_verifies_a_certificate(live_app, browser):
    app, base = live_app
    page = browser.new_page()
    axe = Axe(page)
    _compliance_exports_and_verifies(app, page, base, axe.check)
    assert axe.findings == {}, axe.findings


def test_the_journeys_reflow_at_320_pixels(live_app, browser):
    """The three journeys again in a window 320 px wide. Playwright clicks and fills only a control that shows and
    that nothing covers, so each one the journeys use is still there and works; and no page scrolls sideways."""
    app, base = live_app
    page = browser.new_page()
    reflow = Reflow(page)
    for journey, data in [
            (_officer_completes, {"title": "Duty to Intervene and to Render Medical Aid"}),
            (_coordinator_imports_and_assigns, {"first_id": 300, "unit": "DEMO-EAST-2",
                                                "title": "Implicit Bias and the Use of Protected Characteristics",
                                                "due_on": date.today() + timedelta(days=50)}),
            (_compliance_exports_and_verifies, {})]:
        journey(app, page, base, reflow.check, **data)
        page.context.clear_cookies()
    assert reflow.findings == {}, reflow.findings


def test_quiz_can_be_answered_with_the_keyboard(live_app, browser):
    app, base = live_app
    page = browser.new_page()
    _sign_in(page, base, "officer@demo.test", keyboard=True)
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


def test_quiz_answers_are_kept_as_they_are_picked_and_survive_a_reload(live_app, browser):
    app, base = live_app
    page = browser.new_page()
    axe = Axe(page)
    _sign_in(page, base, "officer@demo.test")
    page.goto(f"{base}/courses/UOF-DUTY-TO-INTERVENE")
    for href in [a.get_attribute("href") for a in page.locator("ol.usa-list a").all()]:
        page.goto(base + href)
    page.goto(f"{base}/courses/UOF-DUTY-TO-INTERVENE")
    page.get_by_role("button", name=re.compile("Start the quiz|Continue the quiz")).click()
    page.wait_for_url(re.compile(r"/attempts/\d+$"))
    groups = page.locator("fieldset.rc-question")
    picked = []
    for n in range(3):
        field_id = groups.nth(n).locator("input[type=radio]").nth(1).get_attribute("id")
        page.locator(f"label[for='{field_id}']").click()   # the radio itself is hidden behind its tile
        picked.append(field_id)
        page.get_by_text(f"Saved: {n + 1} of").wait_for()
    axe.check()
    page.reload()
    assert [page.locator(f"#{field_id}").is_checked() for field_id in picked] == [True, True, True]
    assert page.locator("input[type=radio]:checked").count() == 3
    assert axe.findings == {}, axe.findings


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
        _sign_in(page, base, email)
        page.goto(base + path)
        assert expected in page.content()
        axe.check()
        sign_out(page)
    assert axe.findings == {}, axe.findings


def test_compliance_revokes_a_certificate_and_the_public_page_says_so(live_app, browser):
    from training.records.codes import display

    app, base = live_app
    with unit_of_work(app) as session:
        completion = session.scalar(select(Completion).where(Completion.revoked_on.is_(None))
                                    .order_by(Completion.id.desc()).limit(1))
        officer_id, code = completion.user_id, display(completion.verification_code)
    page = browser.new_page()
    axe = Axe(page)
    page.goto(f"{base}/verify")
    page.get_by_label("Verification code").fill(code.lower())
    page.get_by_role("button", name="Check").click()
    page.get_by_role("heading", name=f"Certificate {code}").wait_for()
    axe.check()
    page.goto(f"{base}/verify/NOT-A-CODE")
    page.get_by_role("heading", name="Certificate not found").wait_for()
    axe.check()

    _sign_in(page, base, "compliance@demo.test")
    go_to(page, "Reports", "Audit trail")
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


def test_staff_pages_pass_axe_and_filter_by_keyboard(live_app, browser):
    """Staff pages the journeys above do not pass through."""
    app, base = live_app
    page = browser.new_page()
    axe = Axe(page)
    _sign_in(page, base, "coordinator@demo.test")
    page.goto(f"{base}/units/DEMO-HQ")
    # Filter the unit view by status using only the keyboard: Any -> Exempt -> Current.
    page.get_by_label("Status", exact=True).focus()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    page.get_by_role("button", name="Apply").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"status=current"))
    page.get_by_text(re.compile(r"\d+ active officers? in ")).wait_for()
    axe.check()
    for path in ("/rules", "/imports/completions"):
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
    _sign_in(page, base, "compliance@demo.test", keyboard=True)
    go_to(page, "Reports", "Compliance")
    page.get_by_role("heading", name="Compliance").wait_for()
    assert page.get_by_role("img", name=re.compile("Compliance rate at the end of each")).count() == 1
    axe.check()
    page.get_by_role("link", name="Download these figures as CSV").focus()
    with page.expect_download() as download:
        page.keyboard.press("Enter")
    assert re.fullmatch(r"compliance-\d{4}-\d\d-\d\d\.csv", download.value.suggested_filename)
    go_to(page, "Reports", "Roster export")
    page.get_by_role("heading", name="Roster export").wait_for()
    roster = page.get_by_role("form", name="Roster filters")
    roster.get_by_label("Status").focus()
    roster.get_by_label("Status").select_option("overdue")
    roster.get_by_label("CSV (spreadsheet text, UTF-8)").focus()
    page.keyboard.press("ArrowDown")   # to the next radio button: XLSX
    assert roster.get_by_label("Excel workbook (XLSX)").is_checked()
    page.get_by_role("button", name="Download the roster").focus()
    with page.expect_download() as download:
        page.keyboard.press("Enter")
    assert re.fullmatch(r"roster-DEMO-overdue-\d{4}-\d\d-\d\d\.xlsx", download.value.suggested_filename)
    page.goto(f"{base}/reports/roster/download?unit=NOPE&format=csv")
    page.get_by_text(re.compile(r"\d+ problems? to correct")).wait_for()
    axe.check()
    assert axe.findings == {}, axe.findings


def test_a_coordinator_sets_up_two_step_sign_in_and_uses_it(live_app, browser):
    """A staff account without a second factor: password, set-up page, recovery codes; then password and code.
    axe-core and the 320 px check run on every page of it."""
    app, base = live_app
    with unit_of_work(app) as session:
        agency = session.scalar(select(User.agency_id).where(User.email == "coordinator@demo.test"))
        create_user(session, email="lead@agency.test", password=DEMO_PASSWORD, first_name="Lee",
                    last_name="Adair", role="coordinator", agency_id=agency)
    page = browser.new_page()
    axe, reflow = Axe(page), Reflow(page)

    def check():
        axe.check()
        reflow.check()

    def password():
        page.goto(f"{base}/login")
        page.get_by_label("Email").fill("lead@agency.test")
        page.get_by_label("Password").fill(DEMO_PASSWORD)
        page.get_by_role("button", name="Sign in").click()

    password()
    page.wait_for_url(f"{base}/login/enrol")
    check()
    secret = page.locator("code.rc-secret").inner_text().replace(" ", "")
    page.get_by_label("Code").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Turn on two-step sign-in").click()
    page.get_by_role("heading", name="Your recovery codes").wait_for()
    check()
    codes = page.get_by_role("list", name="Recovery codes").locator("code").all_inner_texts()
    assert len(codes) == 10
    page.get_by_role("link", name="I have kept my codes: continue").click()
    page.wait_for_url(f"{base}/")
    go_to(page, "Account", "Two-step sign-in")
    assert "10 unused recovery codes left" in page.content()
    check()
    sign_out(page)
    password()
    page.wait_for_url(f"{base}/login/code")
    check()
    page.get_by_label("Code").fill(codes[0])
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/")
    assert "9 left" in page.content()
    assert axe.findings == {} and reflow.findings == {}, (axe.findings, reflow.findings)


def test_coordinator_fixes_a_unit_s_due_date_extends_three_and_approves_a_request(live_app, browser):
    """A due date typed as 2999-12-31 for a whole unit is corrected in one action, three officers are given
    more time at once, and an officer's request for more time is approved from the queue."""
    from training.assignments.requests import request_extension
    from training.assignments.service import assign_course
    from training.people.models import Agency, Unit
    from training.people.service import unit_path
    from training.records.models import AssignmentChange, ExtensionRequest

    app, base = live_app
    with unit_of_work(app) as session:
        agency = session.scalar(select(Agency).where(Agency.code == "DEMO"))
        unit = Unit(agency_id=agency.id, code="DEMO-FIX", name="Fix-up team")
        session.add(unit)
        session.flush()
        unit.path = unit_path(None, unit.id)
        officers = [create_user(session, email=f"fix{n}@demo.test", password=DEMO_PASSWORD, first_name=first,
                                last_name="Fixer", role="officer", agency_id=agency.id, unit_id=unit.id,
                                employee_id=f"FIX-{n}")
                    for n, first in enumerate(["Ana", "Ben", "Cy", "Dee"])]
        session.flush()
        course = session.scalar(select(Course).where(Course.title == "De-escalation"))
        ids = [o.id for o in officers]
        today = date.today()
        assign_course(session, course, select(User.id).where(User.id.in_(ids)), date(2999, 12, 31), today,
                      reason="unit", allow_far=True)
        session.flush()
        assignment = session.scalar(select(Assignment).where(Assignment.user_id == ids[3],
                                                             Assignment.course_id == course.id))
        request_extension(session, officers[3], assignment, "Recovering from surgery this month", today)
    page = browser.new_page()
    axe = Axe(page)
    _sign_in(page, base, "coordinator@demo.test", axe.check)
    page.goto(f"{base}/units/DEMO-FIX")
    page.get_by_role("heading", name="Fix-up team (DEMO-FIX)").wait_for()
    axe.check()
    fixed = today + timedelta(days=30)
    page.get_by_text("Correct the due date", exact=True).click()
    page.get_by_label("Module", exact=True).select_option(label="De-escalation")
    page.get_by_label("New due date, or the last day of the exemption").fill(fixed.isoformat())
    page.get_by_label("Reason", exact=True).fill("The year was typed wrong")
    page.get_by_text("Every officer of DEMO-FIX and its sub-units, not only the selected ones").click()
    page.get_by_role("button", name="Change the assignments").click()
    page.get_by_text("due date set to").wait_for()
    assert "for 4 officers" in page.locator("main").inner_text()
    axe.check()

    later = today + timedelta(days=60)
    for first in ("Ana", "Ben", "Cy"):
        page.get_by_label(f"Select Fixer, {first}").check()
    page.get_by_text("Extend (more time)", exact=True).click()
    page.get_by_label("Module", exact=True).select_option(label="De-escalation")
    page.get_by_label("New due date, or the last day of the exemption").fill(later.isoformat())
    page.get_by_label("Reason", exact=True).fill("Range closed for two weeks")
    page.get_by_role("button", name="Change the assignments").click()
    page.get_by_text("extended to").wait_for()
    assert "for 3 officers" in page.locator("main").inner_text()
    axe.check()

    go_to(page, "Training", "Requests for more time")
    page.get_by_role("heading", name="Fixer, Dee: De-escalation").wait_for()
    axe.check()
    granted = today + timedelta(days=45)
    page.get_by_label("New due date").fill(granted.isoformat())
    page.get_by_role("button", name="Approve").click()
    page.get_by_text("Request approved").wait_for()
    axe.check()
    page.goto(f"{base}/officers/{ids[0]}")
    page.get_by_role("heading", name="History of each assignment").wait_for()
    axe.check()
    with unit_of_work(app) as session:
        dues = session.execute(select(Assignment.user_id, Assignment.due_on).where(
            Assignment.user_id.in_(ids), Assignment.closed_at.is_(None)).order_by(Assignment.user_id)).all()
        kinds = session.scalars(select(AssignmentChange.kind).where(AssignmentChange.user_id.in_(ids))
                                .order_by(AssignmentChange.id)).all()
        status = session.scalar(select(ExtensionRequest.status).where(ExtensionRequest.user_id == ids[3]))
    assert dues == [(ids[0], later), (ids[1], later), (ids[2], later), (ids[3], granted)]
    assert kinds == ["set_due"] * 4 + ["extended"] * 4 and status == "approved"
    assert axe.findings == {}, axe.findings


def test_an_invited_officer_chooses_a_password_and_completes_a_module(live_app, browser):
    """A coordinator uploads a roster and invites the newcomers; one follows the link in the e-mail the test SMTP
    server received, chooses a password, lands on their training and completes a module. axe-core checks every
    page."""
    app, base = live_app
    mailbox, port = Mailbox(), free_port()
    server = start_mail_server(mailbox, port)
    saved = {name: app.config[name] for name in ("SMTP_HOST", "SMTP_PORT", "BASE_URL")}
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=port, BASE_URL=base)
    try:
        page = browser.new_page()
        axe = Axe(page)
        roster = ("employee_id,first_name,last_name,email,agency,unit,supervisor_employee_id\n"
                  "BRW-INV-1,Iris,Invited,iris.invited@demo.test,DEMO,DEMO-WEST,\n")
        _sign_in(page, base, "coordinator@demo.test", axe.check)
        go_to(page, "People", "Import roster")
        page.get_by_role("heading", name="Import roster").wait_for()
        page.get_by_label("CSV file").set_input_files(
            files=[{"name": "invited.csv", "mimeType": "text/csv", "buffer": roster.encode()}])
        page.get_by_text("Invite by e-mail the officers in the file", exact=False).click()
        axe.check()
        page.get_by_role("button", name="Check the file").click()
        page.get_by_role("heading", name="Check: Roster from invited.csv").wait_for()
        assert "invited by e-mail to choose a password" in page.locator("main").inner_text()
        axe.check()
        page.get_by_role("button", name="Import").click()
        page.get_by_text("Invitations sent to 1 officer").wait_for()
        axe.check()
        go_to(page, "People", "Units")
        page.locator("main li:has-text('(DEMO-WEST)')").get_by_role("link").click()
        page.get_by_role("link", name="Show who has never signed in, and their invitations").click()
        row = page.get_by_role("row").filter(has_text="Invited, Iris").filter(has_text="good until")
        assert "good until" in row.inner_text()
        axe.check()
        sign_out(page)

        with unit_of_work(app) as session:
            course = session.scalar(select(Course).where(Course.title == "Duty to Intervene and to Render Medical Aid"))
            officer = session.scalar(select(User).where(User.employee_id == "BRW-INV-1"))
            session.add(Assignment(user_id=officer.id, course_id=course.id, reason="individual",
                                   due_on=date.today() + timedelta(days=30)))
        [message] = [m for m in mailbox.messages if m["To"] == "iris.invited@demo.test"]
        link = re.search(rf"{re.escape(base)}/invitation/[A-Za-z0-9_-]+",
                         message.get_body(("plain",)).get_content()).group(0)

        page.goto(base + "/login")
        page.get_by_role("link", name="Forgot your password?").click()
        page.get_by_role("heading", name="Forgot your password?").wait_for()
        axe.check()
        page.goto(link)
        page.get_by_role("heading", name="Choose your password").wait_for()
        axe.check()
        page.get_by_label("New password", exact=True).fill("lantern-orchard-meadow")
        page.get_by_label("New password again").fill("lantern-orchard-meadow")
        page.get_by_role("button", name="Set my password and start").click()
        page.wait_for_url(f"{base}/")
        page.get_by_text("Your password is set.").wait_for()
        axe.check()
        _complete_module(app, page, base, axe.check, "Duty to Intervene and to Render Medical Aid", "Iris Invited")
        page.goto(link)
        page.get_by_role("heading", name="This link no longer works").wait_for()
        axe.check()
        assert axe.findings == {}, axe.findings
    finally:
        app.config.update(saved)
        server.stop()
