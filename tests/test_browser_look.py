"""The header's menus with a keyboard and a screen reader, at 1280 and 320 px, and what a first visit to each kind of
page downloads."""
from __future__ import annotations

import pytest

from tests import test_browser
from tests.support.demo_site import open_menu, sign_in
from tests.support.page_kinds import QUIZ, pages_by_role, start_quiz
from tests.test_browser import Axe, Reflow

pytestmark = pytest.mark.browser
live_app, browser = test_browser.live_app, test_browser.browser   # the demo site and Chromium, as fixtures
FIRST_VISIT_LIMIT = 100 * 1024


def focused(page) -> str:
    return page.evaluate("document.activeElement.textContent.trim()")


def test_the_mobile_menu_works_with_the_keyboard_at_320_pixels(live_app, browser):
    app, base = live_app
    page = browser.new_page()
    axe, reflow = Axe(page), Reflow(page)   # Reflow makes the window 320 px wide
    sign_in(page, base, "coordinator@demo.test")
    menu = page.get_by_role("button", name="Menu", exact=True)
    units = page.get_by_role("link", name="Units", exact=True)
    assert menu.is_visible() and not units.is_visible()
    reflow.check()

    menu.focus()
    page.keyboard.press("Enter")
    close = page.get_by_role("button", name="Close")
    close.wait_for()
    assert focused(page) == "" and page.evaluate("document.activeElement.className") == "usa-nav__close"
    assert page.locator("main").get_attribute("aria-hidden") == "true"   # only the menu is there to read
    people = page.get_by_role("navigation", name="Primary").get_by_role("button", name="People", exact=True)
    assert people.get_attribute("aria-expanded") == "false"
    for _ in range(10):
        page.keyboard.press("Tab")
        if focused(page) == "People":
            break
    page.keyboard.press("Enter")
    assert people.get_attribute("aria-expanded") == "true" and units.is_visible()
    axe.check()
    reflow.check()
    page.keyboard.press("Escape")
    close.wait_for(state="hidden")
    assert focused(page) == "Menu" and page.locator("main").get_attribute("aria-hidden") is None

    page.keyboard.press("Enter")
    open_menu(page, "People")
    units.focus()
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Units", exact=True).wait_for()
    assert axe.findings == {} and reflow.findings == {}, (axe.findings, reflow.findings)


def test_the_desktop_menus_open_and_close_with_the_keyboard(live_app, browser):
    app, base = live_app
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    axe = Axe(page)
    sign_in(page, base, "admin@demo.test")
    nav = page.get_by_role("navigation", name="Primary")
    assert [b.strip() for b in nav.get_by_role("button").all_inner_texts()] == \
        ["Training", "People", "Reports", "Administration", "Account"]
    reports = nav.get_by_role("button", name="Reports", exact=True)
    reports.focus()
    page.keyboard.press("Enter")
    assert reports.get_attribute("aria-expanded") == "true"
    assert nav.get_by_role("link", name="Audit trail").is_visible()
    axe.check()
    page.keyboard.press("Escape")
    assert reports.get_attribute("aria-expanded") == "false" and focused(page) == "Reports"
    assert not nav.get_by_role("link", name="Audit trail").is_visible()
    open_menu(page, "Account").get_by_role("button", name="Sign out Avery Lindqvist").wait_for()
    axe.check()   # the sign-out button reads as well as the links beside it
    # The menu holding the page shown is marked, and so is the page's link.
    page.goto(f"{base}/audit")
    assert "usa-current" in reports.get_attribute("class")
    assert nav.get_by_role("link", name="Audit trail", include_hidden=True).get_attribute("aria-current") == "page"
    assert axe.findings == {}, axe.findings


def test_an_officer_sees_only_their_own_menus(live_app, browser):
    app, base = live_app
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    sign_in(page, base, "officer@demo.test")
    nav = page.get_by_role("navigation", name="Primary")
    assert [b.strip() for b in nav.get_by_role("button").all_inner_texts()] == ["Training", "Account"]


def first_visit_bytes(page) -> int:
    """What the page and everything it loaded came to over the wire (headers included), nothing from a cache."""
    return page.evaluate("""() => performance.getEntriesByType('navigation')
        .concat(performance.getEntriesByType('resource'))
        .reduce((sum, entry) => sum + entry.transferSize, 0)""")


def test_a_first_visit_to_any_kind_of_page_transfers_under_100_kb(live_app, browser):
    app, base = live_app
    weights = {}
    for email, kinds in pages_by_role(app).items():
        for width in (1280, 320):
            context = browser.new_context(viewport={"width": width, "height": 800})
            page = context.new_page()
            client = context.new_cdp_session(page)
            if email:
                sign_in(page, base, email)
            client.send("Network.enable")
            client.send("Network.setCacheDisabled", {"cacheDisabled": True})
            module = next((k.path for k in kinds if k.name == "module"), None)
            for kind in kinds:
                if kind.path == QUIZ:
                    start_quiz(page, base, module)
                    page.reload()
                else:
                    page.goto(base + kind.path)
                page.wait_for_load_state("networkidle")
                weights[f"{email or 'signed out'} {kind.name} {width}"] = first_visit_bytes(page)
            context.close()
    heavy = {name: size for name, size in weights.items() if size >= FIRST_VISIT_LIMIT}
    assert len(weights) > 40 and heavy == {}, heavy
    assert all(size > 30 * 1024 for size in weights.values()), weights   # the measure counts the files at all
