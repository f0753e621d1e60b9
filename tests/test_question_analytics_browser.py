"""Question analytics in Chromium: compliance staff open the page from the Reports menu, choose a module and a
period, meet a refused period and download the CSV file. axe-core checks every state of the page; it is walked
again 320 px wide."""
from __future__ import annotations

import random
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.support.databases import database_of_its_own
from tests.support.demo_site import demo_site, go_to
from tests.support.needs import require_file
from tests.test_browser import AXE, CHROMIUM, Axe, Reflow, _sign_in, browser  # noqa: F401
from tests.test_question_analytics import HEADER, take
from training.catalog.models import Course
from training.catalog.service import current_version
from training.db import unit_of_work
from training.people.models import User

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def live_app(tmp_path_factory):
    require_file(CHROMIUM, "install Debian's browser with 'apt-get install -y chromium' to run browser tests")
    require_file(AXE, "run 'make install' to fetch axe-core")
    with demo_site(database_of_its_own(tmp_path_factory, "questions_browser")) as site:
        app, base = site
        with unit_of_work(app) as session:
            course = session.scalar(select(Course).where(Course.kind == "course").order_by(Course.code).limit(1))
            compliance = session.scalar(select(User).where(User.email == "compliance@demo.test"))
            officers = session.scalars(select(User).where(User.role == "officer",
                                                          User.agency_id == compliance.agency_id)).all()
            rng = random.Random(19)
            questions = current_version(session, course).questions
            for officer in officers:
                for _ in range(2):
                    take(session, officer, course, {q.key: _pick(rng, q) for q in questions})
        yield app, base, course.code, course.title


def _pick(rng: random.Random, question) -> int:
    """Mostly the right answer; when wrong, the first wrong choice as often as the others together."""
    wrong = [n for n in range(len(question.choices)) if n != question.answer_index]
    return question.answer_index if rng.random() < 0.7 else rng.choice(wrong[:1] * (len(wrong) - 1) + wrong[1:])


def _walk(page, base, code, title, check) -> None:
    _sign_in(page, base, "compliance@demo.test", check)
    go_to(page, "Reports", "Question analytics")
    page.get_by_role("heading", name="Question analytics", level=1).wait_for()
    page.get_by_role("table", name=f"Questions of {title}, in quiz file order").wait_for()
    check()
    page.get_by_label("Module").select_option(code)
    page.get_by_role("button", name="Show").click()
    page.get_by_role("heading", name=f"{title} ({code})", level=2).wait_for()
    check()
    page.get_by_label("From", exact=True).fill("2026-12-31")
    page.get_by_label("To", exact=True).fill("2026-01-01")
    page.get_by_role("button", name="Show").click()
    page.get_by_role("alert").filter(has_text="The 'to' day is before the 'from' day.").wait_for()
    check()


def test_compliance_staff_read_the_question_figures_and_download_them(live_app, request, tmp_path):
    _app, base, code, title = live_app
    page = request.getfixturevalue("browser").new_page(viewport={"width": 1280, "height": 900})
    axe = Axe(page)
    _walk(page, base, code, title, axe.check)
    page.get_by_label("From", exact=True).fill("")
    page.get_by_label("To", exact=True).fill("")
    page.get_by_role("button", name="Show").click()
    page.get_by_role("heading", name=f"{title} ({code})", level=2).wait_for()
    page.screenshot(path=str(tmp_path / "questions-1280.png"), full_page=True)
    with page.expect_download() as download:
        page.get_by_role("link", name="Download these figures as CSV").click()
    text = Path(download.value.path()).read_text(encoding="utf-8-sig")
    lines = text.splitlines()
    assert lines[0] == HEADER and len(lines) > 1 and all(line.startswith(code + ",") for line in lines[1:])
    assert axe.findings == {}, axe.findings


def test_the_question_analytics_page_reflows_at_320_pixels(live_app, request, tmp_path):
    _app, base, code, title = live_app
    page = request.getfixturevalue("browser").new_page()
    reflow = Reflow(page)
    _walk(page, base, code, title, reflow.check)
    page.get_by_label("From", exact=True).fill("")
    page.get_by_label("To", exact=True).fill("")
    page.get_by_role("button", name="Show").click()
    page.get_by_role("heading", name=f"{title} ({code})", level=2).wait_for()
    reflow.check()
    page.screenshot(path=str(tmp_path / "questions-320.png"), full_page=True)
    assert reflow.findings == {}, reflow.findings
