"""make lighthouse: Lighthouse's mobile profile (its default: a mid-range phone on a slow 4G link, simulated) on
every kind of page of the demo, signed in as the role that reaches it.

Serves the demo on a throwaway SQLite database as `make run` does (one process, threaded), signs in with Chromium,
and hands Lighthouse the session cookie (--extra-headers); a page that sends Lighthouse elsewhere (to sign in) stops
the run. Prints performance and accessibility per kind of page,
with the first contentful paint, the largest contentful paint and the bytes transferred, and the machine's load;
the reports are kept in lighthouse/ (git-ignored). LIGHTHOUSE_PAGES=sign-in,quiz limits the run to some kinds.
"""
from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.support.demo_site import CHROMIUM, chromium, demo_site, sign_in
from tests.support.page_kinds import QUIZ, pages_by_role, start_quiz
from tests.support.paths import ROOT

OUT = ROOT / "lighthouse"
LIGHTHOUSE = ROOT / "node_modules" / ".bin" / "lighthouse"
CHROME_FLAGS = "--headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage"
# Lighthouse's own phone. Sign-in sessions are bound to the browser that signed in (Flask-Login's strong session
# protection), so Chromium signs in as this phone and Lighthouse is told to be the same one.
USER_AGENT = ("Mozilla/5.0 (Linux; Android 11; moto g power (2022)) AppleWebKit/537.36 (KHTML, like Gecko) "
              "Chrome/119.0.0.0 Mobile Safari/537.36")


def targets(app, base: str, browser) -> list[tuple[str, str, dict[str, str]]]:
    """(kind, address, headers) of each kind of page, once, as the first role reaching it sees it."""
    wanted = {name for name in os.environ.get("LIGHTHOUSE_PAGES", "").split(",") if name}
    found: dict[str, tuple[str, str, dict[str, str]]] = {}
    for email, kinds in pages_by_role(app).items():
        context = browser.new_context(user_agent=USER_AGENT)
        page = context.new_page()
        if email:
            sign_in(page, base, email)
        cookie = "; ".join(f"{c['name']}={c['value']}" for c in context.cookies())
        headers = {"Cookie": cookie} if cookie else {}
        module = next((k.path for k in kinds if k.name == "module"), None)
        for kind in kinds:
            if kind.name in found or (wanted and kind.name not in wanted):
                continue
            if kind.path == QUIZ:
                start_quiz(page, base, module)
                address = page.url
            else:
                address = base + kind.path
            found[kind.name] = (kind.name, address, headers)
        context.close()
    return list(found.values())


def run(name: str, address: str, headers: dict[str, str]) -> dict:
    report = OUT / f"{name}.json"
    command = [str(LIGHTHOUSE), address, "--quiet", "--output=json", f"--output-path={report}",
               "--only-categories=performance,accessibility", f"--chrome-flags={CHROME_FLAGS}",
               f"--emulatedUserAgent={USER_AGENT}"]
    if headers:
        command.append(f"--extra-headers={json.dumps(headers)}")
    subprocess.run(command, check=True, env={**os.environ, "CHROME_PATH": CHROMIUM})
    result = json.loads(report.read_text())
    if result["finalDisplayedUrl"] != address:
        raise SystemExit(f"{name}: Lighthouse was sent to {result['finalDisplayedUrl']} instead of {address}")
    audits = result["audits"]
    return {"page": name,
            "performance": round(result["categories"]["performance"]["score"] * 100),
            "accessibility": round(result["categories"]["accessibility"]["score"] * 100),
            "fcp_s": round(audits["first-contentful-paint"]["numericValue"] / 1000, 1),
            "lcp_s": round(audits["largest-contentful-paint"]["numericValue"] / 1000, 1),
            "kb": round(audits["total-byte-weight"]["numericValue"] / 1024)}


def main() -> int:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    OUT.mkdir(exist_ok=True)
    load = os.getloadavg()
    with tempfile.TemporaryDirectory() as folder, \
            demo_site(f"sqlite:///{Path(folder) / 'lighthouse.db'}") as (app, base):
        with chromium() as browser:
            pages = targets(app, base, browser)
        results = [run(*page) for page in pages]
    after = os.getloadavg()
    print(f"{'page':28} perf  a11y   FCP    LCP     KB")
    for r in results:
        print(f"{r['page']:28} {r['performance']:4} {r['accessibility']:5} {r['fcp_s']:5.1f}s {r['lcp_s']:5.1f}s "
              f"{r['kb']:5}")
    print(f"load average (1, 5, 15 min) before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, "
          f"after: {after[0]:.2f} {after[1]:.2f} {after[2]:.2f}; {os.cpu_count()} CPUs")
    (OUT / "summary.json").write_text(json.dumps({"results": results, "load_before": load, "load_after": after},
                                                 indent=1))
    short = [r for r in results if r["performance"] < 95 or r["accessibility"] < 100]
    return 1 if short else 0


if __name__ == "__main__":
    sys.exit(main())
