"""The calendar address in Chromium: an officer makes it from Reminders with the keyboard, copies it from the page
that shows it once, and a calendar fetching it gets their due dates; then makes a new one and the old stops
working. axe-core checks each page at 1280 px and the pages reflow at 320 px."""
from __future__ import annotations

import os
import re
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from icalendar import Calendar
from sqlalchemy import select

from tests.support.databases import database_of_its_own
from tests.support.demo_site import demo_site, go_to, sign_in
from tests.support.needs import require_file
from tests.test_browser import AXE, CHROMIUM, Axe, Reflow, browser  # noqa: F401
from training.db import unit_of_work
from training.people.models import User
from training.records.models import Assignment

pytestmark = pytest.mark.browser
# Where the pages' pictures go to be looked at (SCREENSHOTS_DIR), else the test's own folder.
SHOTS = os.environ.get("SCREENSHOTS_DIR")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    require_file(CHROMIUM, "install Debian's browser with 'apt-get install -y chromium' to run browser tests")
    require_file(AXE, "run 'make install' to fetch axe-core")
    with demo_site(database_of_its_own(tmp_path_factory, "feeds_browser")) as site:
        yield site


def fetch(url: str) -> tuple[int, str, bytes]:
    """What a calendar application gets from the address: no cookies, no sign-in."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as refused:
        return refused.code, refused.headers["Content-Type"], refused.read()


def _make_address(page, button: str) -> str:
    """On Reminders, press the button with the keyboard; the address the next page shows, once."""
    go_to(page, "Training", "Reminders")
    page.get_by_role("heading", name="Your dates in your own calendar").wait_for()
    page.get_by_role("button", name=button).focus()
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Your calendar address", level=1).wait_for()
    return page.locator("#calendar-address").inner_text()


def test_an_officer_makes_a_calendar_address_and_a_calendar_reads_it(site, request, tmp_path):
    app, base = site
    chromium = request.getfixturevalue("browser")
    shots = Path(SHOTS) if SHOTS else tmp_path
    page = chromium.new_page(viewport={"width": 1280, "height": 800})
    axe = Axe(page)
    sign_in(page, base, "officer@demo.test")
    go_to(page, "Training", "Reminders")
    assert "You have no calendar address yet." in page.locator("main").inner_text()
    axe.check()
    page.screenshot(path=str(shots / "calendar-reminders-1280.png"), full_page=True)

    address = _make_address(page, "Make my calendar address")
    assert re.fullmatch(r"https?://[^/]+/calendar/[A-Za-z0-9_-]{43}\.ics", address)
    assert page.get_by_role("link", name="Open it in this device's calendar app").get_attribute("href") == \
        "webcal://" + address.split("://", 1)[1]
    axe.check()
    page.screenshot(path=str(shots / "calendar-made-1280.png"), full_page=True)

    path = "/calendar/" + address.rsplit("/calendar/", 1)[1]
    status, content_type, body = fetch(base + path)
    assert status == 200 and content_type == "text/calendar; charset=utf-8"
    feed = Calendar.from_ical(body)
    with unit_of_work(app) as session:
        officer = session.scalar(select(User).where(User.email == "officer@demo.test"))
        open_ids = set(session.scalars(select(Assignment.id).where(Assignment.user_id == officer.id,
                                                                   Assignment.closed_at.is_(None))))
    uids = {str(event["UID"]).split("@")[0] for event in feed.walk("VEVENT")}
    assert open_ids and {f"assignment-{n}" for n in open_ids} <= uids

    page.get_by_role("link", name="Back to Reminders").click()
    assert re.search(r"You made your calendar address on \d{4}-\d\d-\d\d\.", page.locator("main").inner_text())
    newer = _make_address(page, "Make a new calendar address")
    assert newer != address
    assert fetch(base + path)[0] == 404
    assert axe.findings == {}, axe.findings
    page.close()

    narrow = chromium.new_page()
    reflow = Reflow(narrow)
    sign_in(narrow, base, "officer@demo.test")
    narrow.goto(f"{base}/reminders")
    reflow.check()
    narrow.screenshot(path=str(shots / "calendar-reminders-320.png"), full_page=True)
    _make_address(narrow, "Make a new calendar address")
    reflow.check()
    narrow.screenshot(path=str(shots / "calendar-made-320.png"), full_page=True)
    assert reflow.findings == {}, reflow.findings
    narrow.close()
