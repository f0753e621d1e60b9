"""A policy changes and a certified officer retrains on what changed, in Debian's Chromium: the update on My
training, the marked-up lessons, the short quiz and the signature. axe-core checks every page; the walk is
repeated at 320 px wide."""
from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from tests.support.databases import database_of_its_own
from tests.support.demo_site import CHROMIUM, chromium, demo_site, sign_in
from tests.support.needs import require_file
from tests.support.paths import ROOT
from tests.support.policy_change import copy_content, publish_policy_change
from tests.test_browser import AXE, Axe, Reflow, answer_rightly
from training.catalog.models import Course
from training.db import unit_of_work
from training.people.models import User
from training.records.models import Acknowledgement, Completion
from training.records.service import record_completion

pytestmark = pytest.mark.browser
CODE = "UOF-DE-ESCALATION"
TITLE = "De-escalation"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The demo, officer@demo.test certified in de-escalation last month, then a policy change published."""
    require_file(CHROMIUM, "install Debian's browser with 'apt-get install -y chromium' to run browser tests")
    require_file(AXE, "run 'make install' to fetch axe-core")
    courses, quizzes = copy_content(ROOT, tmp_path_factory.mktemp("content"))
    with demo_site(database_of_its_own(tmp_path_factory, "updates_browser")) as (app, base):
        with unit_of_work(app) as session:
            course = session.scalar(select(Course).where(Course.code == CODE))
            officer = session.scalar(select(User).where(User.email == "officer@demo.test"))
            record_completion(session, officer, course, date.today() - timedelta(days=30),
                              version_id=course.versions[-1].id, score=90, source="quiz",
                              acknowledged_name=officer.full_name)
            published = publish_policy_change(
                session, courses, quizzes, "uof-de-escalation", "02-tactics-time-distance-cover-communication.md",
                on=date.today(), new="Before any use of force, an officer states clearly what they will do "
                                     "and gives the person time to comply, where it is safe to do so.",
                summary="A warning and time to comply before force, where safe.")
            assert published.updates[CODE] >= 1   # the officer and the demo's other certified officers
        yield app, base


@pytest.fixture(scope="module")
def browser():
    with chromium() as browser:
        yield browser


def _take_the_update(app, page, base, check, shots=None) -> None:
    sign_in(page, base, "officer@demo.test")
    check()
    page.goto(f"{base}/training")
    row = page.get_by_role("row").filter(has_text=TITLE).first
    assert "(policy update)" in row.inner_text()
    row.get_by_role("link", name=re.compile("^Take the policy update")).click()
    page.get_by_role("heading", name=re.compile(f"^Policy update: {TITLE}")).wait_for()
    check()
    main = page.locator("main")
    assert "A warning and time to comply before force, where safe." in main.inner_text()
    added = main.locator(".rc-diff ins.diff-added")
    assert "gives the person time to comply" in added.first.inner_text()
    assert main.locator("section.rc-update-lesson").count() == 1    # only the lesson that changed
    if shots:
        page.screenshot(path=str(shots / f"update-{page.viewport_size['width']}.png"), full_page=True)
    page.get_by_role("button", name="Take the update quiz").click()
    page.wait_for_url(re.compile(r"/attempts/\d+$"))
    check()
    assert answer_rightly(app, page).kind == "update"
    check()
    page.get_by_label("Your full name").fill("Jordan Reyes")
    page.get_by_role("button", name="Sign the new version").click()
    page.get_by_role("heading", name="Policy update signed").wait_for()
    check()


def test_a_certified_officer_retrains_on_what_changed(site, browser, tmp_path):
    app, base = site
    narrow = browser.new_page()
    reflow = Reflow(narrow)
    sign_in(narrow, base, "officer@demo.test")
    for path in ("/training", f"/courses/{CODE}", f"/courses/{CODE}/update"):
        narrow.goto(base + path)
        reflow.check()
    narrow.screenshot(path=str(tmp_path / "update-320.png"), full_page=True)
    assert reflow.findings == {}
    narrow.close()

    page = browser.new_page()
    axe = Axe(page)
    _take_the_update(app, page, base, axe.check, tmp_path)
    page.screenshot(path=str(tmp_path / "signed.png"), full_page=True)
    assert axe.findings == {}
    with unit_of_work(app) as session:
        officer = session.scalar(select(User).where(User.email == "officer@demo.test"))
        signed = session.scalars(select(Acknowledgement).where(Acknowledgement.user_id == officer.id,
                                                               Acknowledgement.kind == "update")).all()
        assert [(a.version_number, a.name) for a in signed] == [(2, "Jordan Reyes")]
        assert session.scalar(select(Completion.expires_on).where(Completion.user_id == officer.id)) is not None
    page.goto(f"{base}/training")
    row = page.get_by_role("row").filter(has_text=TITLE).first
    assert "(policy update)" not in row.inner_text()
    page.close()
