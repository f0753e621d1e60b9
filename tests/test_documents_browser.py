"""Documents in Chromium: a coordinator publishes one and an officer reads and signs it. axe-core checks every page
visited; the publishing and reading pages are walked again 320 px wide."""
from __future__ import annotations

import hashlib
import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.support.databases import database_of_its_own
from tests.support.demo_site import demo_site, go_to, sign_out
from tests.support.needs import require_file
from tests.test_browser import AXE, CHROMIUM, Axe, Reflow, _sign_in, browser  # noqa: F401
from tests.test_documents import tiny_pdf
from training.assignments.service import assign_course
from training.catalog.service import course_by_code
from training.db import unit_of_work
from training.people.models import User
from training.records.models import Acknowledgement

pytestmark = pytest.mark.browser
TEXT = ("# Body-worn cameras\n\nRecord every use of force from start to end.\n\n"
        "| Situation | Camera |\n| --- | --- |\n| Traffic stop | On |\n| Hospital | On, unless a patient objects |\n")


@pytest.fixture(scope="module")
def live_app(tmp_path_factory):
    require_file(CHROMIUM, "install Debian's browser with 'apt-get install -y chromium' to run browser tests")
    require_file(AXE, "run 'make install' to fetch axe-core")
    with demo_site(database_of_its_own(tmp_path_factory, "documents_browser")) as site:
        yield site


def _publish(page, base, check, code: str) -> None:
    """coordinator@demo.test publishes a Markdown document, after being told what a first try left out."""
    _sign_in(page, base, "coordinator@demo.test", check)
    go_to(page, "Training", "Documents")
    page.get_by_role("heading", name="Documents", exact=True).wait_for()
    check()
    page.get_by_role("link", name="Publish a new document").click()
    page.get_by_role("heading", name="Publish a new document").wait_for()
    check()
    page.get_by_label("Document code").fill(code)
    page.get_by_role("button", name="Publish").click()
    summary = page.get_by_role("alert").filter(has_text="problems to correct")
    summary.wait_for()
    assert "Give the document's text, or upload its PDF." in summary.inner_text()
    check()
    page.get_by_label("Title").fill("Body-worn cameras")
    page.get_by_label("Version").fill("2026-1")
    page.get_by_label("Summary of changes").fill("First issue of the order.")
    page.get_by_label("Text (Markdown)").fill(TEXT)
    page.get_by_role("button", name="Publish").click()
    page.get_by_text(f"Published {code} version 2026-1.").wait_for()
    assert page.get_by_role("row").filter(has_text=code).filter(has_text="2026-1").count() == 1
    check()


def _sign(page, base, check, title: str) -> None:
    """officer@demo.test opens the document from My training, mistypes their name, then signs."""
    _sign_in(page, base, "officer@demo.test", check)
    go_to(page, "Training", "My training")
    page.get_by_role("link", name=f"Read and sign {title}").click()
    page.get_by_role("heading", name=title, exact=True, level=1).wait_for()
    assert hashlib.sha256(TEXT.encode()).hexdigest() in page.locator("#fingerprint").inner_text()
    check()
    page.get_by_label("Your full name").fill("Jordan Smith")
    page.get_by_role("button", name="Sign version 2026-1").click()
    page.get_by_role("alert").filter(has_text="Type your full name exactly").wait_for()
    check()
    page.get_by_label("Your full name").fill("Jordan Reyes")
    page.get_by_role("button", name="Sign version 2026-1").click()
    page.get_by_text(re.compile(r"You signed version 2026-1 on \d{4}-\d\d-\d\d as Jordan Reyes\.")).wait_for()
    check()


def _assign(app, code: str) -> None:
    with unit_of_work(app) as session:
        today = date.today()
        officer = select(User.id).where(User.email == "officer@demo.test")
        assign_course(session, course_by_code(session, code), officer, today + timedelta(days=14), today,
                      reason="individual")


def test_a_coordinator_publishes_a_document_and_an_officer_signs_it(live_app, request):
    app, base = live_app
    page = request.getfixturevalue("browser").new_page()
    axe = Axe(page)
    _publish(page, base, axe.check, "GO-2026-04")
    sign_out(page)
    _assign(app, "GO-2026-04")
    _sign(page, base, axe.check, "Body-worn cameras")
    assert axe.findings == {}, axe.findings
    with unit_of_work(app) as session:
        (ack,) = session.scalars(select(Acknowledgement).where(Acknowledgement.kind == "document")).all()
        assert (ack.name, ack.version_number, ack.text_sha256) == (
            "Jordan Reyes", 1, hashlib.sha256(TEXT.encode()).hexdigest())


def test_the_document_pages_reflow_at_320_pixels(live_app, request):
    app, base = live_app
    page = request.getfixturevalue("browser").new_page()
    reflow = Reflow(page)
    _publish(page, base, reflow.check, "GO-2026-05")
    sign_out(page)
    _assign(app, "GO-2026-05")
    _sign_in(page, base, "officer@demo.test", reflow.check)
    page.goto(f"{base}/documents/GO-2026-05")
    reflow.check()
    assert reflow.findings == {}, reflow.findings


def test_a_pdf_document_is_published_and_shown_in_its_page(live_app, request):
    _app, base = live_app
    page = request.getfixturevalue("browser").new_page()
    axe = Axe(page)
    data = tiny_pdf()
    _sign_in(page, base, "coordinator@demo.test", axe.check)
    page.goto(f"{base}/documents/new")
    page.get_by_label("Document code").fill("GO-2026-06")
    page.get_by_label("Title").fill("Pursuit driving")
    page.get_by_label("Version").fill("Rev. 1")
    page.get_by_label("Summary of changes").fill("First issue.")
    page.get_by_label("Or a PDF file").set_input_files(
        files=[{"name": "pursuits.pdf", "mimeType": "application/pdf", "buffer": data}])
    page.get_by_role("button", name="Publish").click()
    page.get_by_text("Published GO-2026-06 version Rev. 1.").wait_for()
    page.get_by_role("link", name="Pursuit driving", exact=True).click()
    page.get_by_role("heading", name="Pursuit driving", level=1).wait_for()
    assert page.locator("#fingerprint").inner_text() == hashlib.sha256(data).hexdigest()
    assert page.locator("iframe[title='Pursuit driving, version Rev. 1 (PDF)']").count() == 1
    axe.check()
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the PDF (pursuits.pdf)").click()
    assert Path(download.value.path()).read_bytes() == data
    assert axe.findings == {}, axe.findings
