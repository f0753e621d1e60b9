"""The administrators' API tokens page in Chromium: make a token (shown once), see it listed, revoke it; axe-core
checks each state of the page at 1280 px, and the page reflows at 320 px."""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.support.databases import database_of_its_own
from tests.support.demo_site import demo_site, go_to
from tests.support.needs import require_file
from tests.test_browser import AXE, CHROMIUM, Axe, Reflow, _sign_in, browser  # noqa: F401

pytestmark = pytest.mark.browser
# Where the pages' pictures go to be looked at (SCREENSHOTS_DIR), else the test's own folder.
SHOTS = os.environ.get("SCREENSHOTS_DIR")
TOKEN = re.compile(r"^rc_[A-Za-z0-9_-]{43}$")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    require_file(CHROMIUM, "install Debian's browser with 'apt-get install -y chromium' to run browser tests")
    require_file(AXE, "run 'make install' to fetch axe-core")
    with demo_site(database_of_its_own(tmp_path_factory, "api_browser")) as running:
        yield running


def _make(page, name: str) -> str:
    page.get_by_label("Name (the system that uses it)").fill(name)
    # USWDS draws its own box over the input: the label is what a person clicks.
    page.locator("label[for=write]").click()
    assert page.get_by_label("May also assign modules and upload rosters, as a coordinator may").is_checked()
    page.get_by_role("button", name="Make the token").click()
    page.get_by_role("heading", name=f"Token {name} made").wait_for()
    return page.locator("#made-token").inner_text()


def test_an_administrator_makes_a_token_sees_it_once_and_revokes_it(site, request, tmp_path):
    _app, base = site
    shots = Path(SHOTS) if SHOTS else tmp_path
    shots.mkdir(parents=True, exist_ok=True)
    page = request.getfixturevalue("browser").new_page(viewport={"width": 1280, "height": 900})
    axe = Axe(page)
    _sign_in(page, base, "admin@demo.test", axe.check)
    go_to(page, "Administration", "API tokens")
    page.get_by_role("heading", name="API tokens", level=1).wait_for()
    axe.check()
    page.get_by_role("button", name="Make the token").click()       # no name given
    page.get_by_role("alert").filter(has_text="problem to correct").wait_for()
    axe.check()
    token = _make(page, "HR sync")
    assert TOKEN.match(token)
    assert page.get_by_label("Name (the system that uses it)").input_value() == ""   # ready for another
    row = page.get_by_role("row").filter(has_text="HR sync")
    assert "Working" in row.inner_text() and "Yes" in row.inner_text()
    axe.check()
    page.screenshot(path=str(shots / "api-tokens-made-1280.png"), full_page=True)

    go_to(page, "Administration", "API tokens")
    assert page.locator("#made-token").count() == 0 and token not in page.content()
    page.get_by_role("button", name=re.compile(r"^Revoke token \d+, HR sync$")).click()
    page.get_by_text("Token HR sync is revoked").wait_for()
    assert "Revoked" in page.get_by_role("row").filter(has_text="HR sync").inner_text()
    axe.check()
    page.screenshot(path=str(shots / "api-tokens-revoked-1280.png"), full_page=True)
    assert axe.findings == {}, axe.findings


def test_the_tokens_page_reflows_at_320_pixels(site, request, tmp_path):
    _app, base = site
    shots = Path(SHOTS) if SHOTS else tmp_path
    shots.mkdir(parents=True, exist_ok=True)
    page = request.getfixturevalue("browser").new_page()
    reflow = Reflow(page)
    _sign_in(page, base, "admin@demo.test", reflow.check)
    page.goto(f"{base}/admin/api-tokens")
    reflow.check()
    _make(page, "Scheduling")
    reflow.check()
    page.screenshot(path=str(shots / "api-tokens-made-320.png"), full_page=True)
    assert reflow.findings == {}, reflow.findings
