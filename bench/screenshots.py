"""make screenshots: a full-page picture of every kind of page, for each demo role, 1280 and 320 px wide.

Serves the demo on a throwaway SQLite database and saves screenshots/<role>/<page>-<width>.png, so that a reviewer
sees the whole site in a minute.
"""
from __future__ import annotations

import logging
import shutil
import sys
import tempfile
from pathlib import Path

from tests.support.demo_site import chromium, demo_site, open_menu, sign_in
from tests.support.page_kinds import QUIZ, pages_by_role, start_quiz
from tests.support.paths import ROOT

OUT = ROOT / "screenshots"
WIDTHS = (1280, 320)


def picture(browser, base: str, email: str, pages, width: int) -> int:
    context = browser.new_context(viewport={"width": width, "height": 800})
    page = context.new_page()
    if email:
        sign_in(page, base, email)
    folder = OUT / (email.split("@")[0] if email else "signed-out")
    folder.mkdir(parents=True, exist_ok=True)
    module = next((p.path for p in pages if p.name == "module"), None)
    for kind in pages:
        if kind.path == QUIZ:
            start_quiz(page, base, module)
        else:
            page.goto(base + kind.path)
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(folder / f"{kind.name}-{width}.png"), full_page=True)
    if email:   # and the header's first menu, opened
        open_menu(page, "Training")
        page.screenshot(path=str(folder / f"menu-{width}.png"), full_page=False)
    context.close()
    return len(pages) + bool(email)


def main() -> int:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    shutil.rmtree(OUT, ignore_errors=True)
    with tempfile.TemporaryDirectory() as folder, \
            demo_site(f"sqlite:///{Path(folder) / 'screenshots.db'}") as (app, base), chromium() as browser:
        taken = sum(picture(browser, base, email, pages, width)
                    for email, pages in pages_by_role(app).items() for width in WIDTHS)
    print(f"{taken} screenshots in {OUT.relative_to(ROOT)}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
