"""The demo site served on a loopback port from a thread: the built-in courses and the demo organisation, as the
browser tests, `make screenshots` and `make lighthouse` look at it."""
from __future__ import annotations

import os
import re
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

from werkzeug.serving import make_server

import config
from tests.support.databases import reset_database
from tests.support.paths import ROOT
from training import create_app
from training.assignments.service import daily_assignments
from training.catalog.service import sync_courses
from training.db import unit_of_work
from training.demo.service import DEMO_PASSWORD, seed_demo
from training.jobs import count_compliance

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-quic", "--no-first-run", "--disable-component-update", "--disable-sync"]


@contextmanager
def demo_site(url: str, officers: int = 5, port: int = 0, **settings) -> Iterator[tuple]:
    """(app, base URL) of the demo, on an emptied database at `url`, until the block ends; on `port` (by default
    any free one), with `settings` added to the app's."""
    reset_database(url)
    app = create_app(config.Config, DATABASE_URL=url, SECRET_KEY="demo-site-secret", **settings)
    today = date.today()
    with unit_of_work(app) as session:
        sync_courses(session, ROOT / "courses", ROOT / "quizzes")
        seed_demo(session, today, officers=officers)
        daily_assignments(session, today)
    count_compliance(app, today)
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield app, f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        app.extensions["db_engine"].dispose()


@contextmanager
def chromium() -> Iterator:
    """Debian's Chromium driven by Playwright (never a browser Playwright downloads)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which(CHROMIUM) or CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def sign_in(page, base: str, email: str) -> None:
    """Signs in with a demo account's password, landing on the home page."""
    page.goto(f"{base}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/")


def open_menu(page, group: str):
    """Opens one of the header's menus as a person would (first the Menu button on a narrow screen), and gives
    the primary navigation to find its links in."""
    menu = page.get_by_role("button", name="Menu", exact=True)
    if menu.is_visible():
        menu.click()
    nav = page.get_by_role("navigation", name="Primary")
    toggle = nav.get_by_role("button", name=group, exact=True)
    if toggle.get_attribute("aria-expanded") != "true":
        toggle.click()
    return nav


def go_to(page, group: str, link: str) -> None:
    """Follows a link of the header's menu `group`."""
    open_menu(page, group).get_by_role("link", name=link, exact=True).click()


def sign_out(page) -> None:
    open_menu(page, "Account").get_by_role("button", name=re.compile("^Sign out")).click()
