"""The evidence packet form on an officer's page, in Chromium: compliance staff ask for a day that has not come,
are told so, then download the packet. axe-core checks each state of the page; it is walked again 320 px wide."""
from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.support.databases import database_of_its_own
from tests.support.demo_site import CHROMIUM, chromium, demo_site, sign_in
from tests.support.needs import require_file
from tests.test_browser import AXE, Axe, Reflow
from training.audit.models import AuditEvent
from training.clock import today_for
from training.db import unit_of_work
from training.people.models import User

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    require_file(CHROMIUM, "install Debian's browser with 'apt-get install -y chromium' to run browser tests")
    require_file(AXE, "run 'make install' to fetch axe-core")
    with demo_site(database_of_its_own(tmp_path_factory, "evidence_browser")) as site:
        yield site


@pytest.fixture(scope="module")
def browser():
    with chromium() as browser:
        yield browser


def _officer(app) -> tuple[int, str]:
    with unit_of_work(app) as session:
        officer = session.scalar(select(User).where(User.email == "officer@demo.test"))
        return officer.id, today_for(officer).isoformat()


def _shots(tmp_path: Path) -> Path:
    """Where the screenshots go: SCREENSHOTS_DIR when set, to look at them, else the test's own folder."""
    folder = Path(os.environ.get("SCREENSHOTS_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _ask_for_tomorrow(page, base, officer_id: int, today: str) -> None:
    page.goto(f"{base}/officers/{officer_id}")
    page.get_by_role("heading", name="Evidence packet").wait_for()
    tomorrow = (date.fromisoformat(today) + timedelta(days=1)).isoformat()
    page.get_by_label("As of (optional)").evaluate("(field, day) => { field.max = ''; field.value = day; }", tomorrow)
    page.get_by_role("button", name="Download the evidence packet").click()
    summary = page.get_by_role("alert").filter(has_text="problem to correct")
    summary.wait_for()
    assert "is in the future" in summary.inner_text()


def test_compliance_staff_download_an_officers_packet(site, browser, tmp_path):
    app, base = site
    officer_id, today = _officer(app)
    shots = _shots(tmp_path)
    page = browser.new_page(accept_downloads=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    axe = Axe(page)
    sign_in(page, base, "compliance@demo.test")
    page.goto(f"{base}/officers/{officer_id}")
    form = page.get_by_role("heading", name="Evidence packet")
    form.wait_for()
    assert page.get_by_label("As of (optional)").get_attribute("max") == today
    axe.check()
    page.locator("#evidence").scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "evidence-form-1280.png"), full_page=True)

    _ask_for_tomorrow(page, base, officer_id, today)
    axe.check()
    page.screenshot(path=str(shots / "evidence-refused-1280.png"), full_page=True)
    # The summary's link takes the keyboard to the field.
    page.get_by_role("alert").get_by_role("link").click()
    assert page.evaluate("document.activeElement.id") == "as_of"

    page.get_by_label("As of (optional)").fill("")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download the evidence packet").click()
    assert download.value.suggested_filename.startswith("evidence-") and today in download.value.suggested_filename
    data = Path(download.value.path()).read_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        assert all(hashlib.sha256(archive.read(f["path"])).hexdigest() == f["sha256"] for f in manifest["files"])
    assert manifest["as_of"] == today
    with unit_of_work(app) as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "evidence.created")).one()
        assert event.details["sha256"] == hashlib.sha256(data).hexdigest() and event.subject_id == officer_id
    assert axe.findings == {}, axe.findings


def test_the_form_reflows_at_320_pixels(site, browser, tmp_path):
    app, base = site
    officer_id, today = _officer(app)
    page = browser.new_page()
    reflow = Reflow(page)
    sign_in(page, base, "compliance@demo.test")
    page.goto(f"{base}/officers/{officer_id}")
    page.get_by_role("heading", name="Evidence packet").wait_for()
    reflow.check()
    page.screenshot(path=str(_shots(tmp_path) / "evidence-form-320.png"), full_page=True)
    _ask_for_tomorrow(page, base, officer_id, today)
    reflow.check()
    page.screenshot(path=str(_shots(tmp_path) / "evidence-refused-320.png"), full_page=True)
    assert reflow.findings == {}, reflow.findings
