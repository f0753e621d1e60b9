"""The audit trail and the outbox in Debian's Chromium: an administrator verifies the chain, filters sign-ins and
opens an event's details, then reads a failed message, all with the keyboard; axe-core checks each page, at
1280 and at 320 px (tests/test_browser.py holds the browser, axe and reflow helpers)."""
from __future__ import annotations

import re
from datetime import date

import pytest

from tests.support.net import free_port
from tests.test_browser import REFLOW_WIDTH, Axe, Reflow, _sign_in, browser, live_app  # noqa: F401 (fixtures)
from training.jobs import run_daily
from training.reminders.delivery import deliver

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("width", [1280, REFLOW_WIDTH])
def test_an_administrator_reads_the_trail_and_the_outbox_with_the_keyboard(live_app, browser, width):  # noqa: F811
    app, base = live_app
    run_daily(app, date.today())
    # No mail server: every message is refused once and, with one attempt allowed, marked failed.
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=free_port(), REMINDER_MAX_ATTEMPTS=1)
    deliver(app, force=True)
    page = browser.new_page(viewport={"width": width, "height": 800})
    axe, reflow = Axe(page), Reflow(page) if width == REFLOW_WIDTH else None
    _sign_in(page, base, "admin@demo.test")

    page.goto(f"{base}/audit")
    page.get_by_role("heading", name="Chain verification").wait_for()
    page.get_by_role("button", name="Verify now").focus()
    page.keyboard.press("Enter")
    page.get_by_text(re.compile(r"The audit chain is intact: [\d,]+ events checked")).wait_for()
    assert page.get_by_text("Intact.", exact=True).count() == 1
    axe.check()
    page.get_by_label("Kind").focus()
    page.get_by_label("Kind").select_option(label="Sign-ins and account security")
    page.get_by_role("button", name="Filter").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"kind=security"))
    first = page.locator("tbody tr").first
    assert re.search(r"\w+ \w+ signed in\.", first.inner_text())
    first.locator("summary").focus()
    page.keyboard.press("Enter")
    assert first.get_by_text("auth.signed_in").is_visible()
    axe.check()
    if reflow:
        reflow.check()

    page.goto(f"{base}/admin/outbox")
    message = page.locator("ol > li").first
    message.get_by_text("The mail server could not be reached (connection refused).").wait_for()
    letter = message.locator("details", has=page.get_by_text("Read the message"))
    letter.locator("summary").focus()
    page.keyboard.press("Enter")
    assert letter.locator(".rc-letter").is_visible() and "Rollcall" in letter.locator(".rc-letter").inner_text()
    axe.check()
    if reflow:
        reflow.check()
    assert axe.findings == {}, axe.findings
    assert reflow is None or reflow.findings == {}, reflow.findings
