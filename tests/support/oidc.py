"""A real OpenID Provider on loopback (oidc-provider under Node, tests/support/oidc_provider.mjs), and walking its
sign-in with a real HTTP client, as a browser would, between the app under test and the provider."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import requests

from tests.support.needs import missing, require_file
from tests.support.net import answers, free_port
from tests.support.paths import ROOT
from tests.support.waiting import wait_for

SCRIPT = ROOT / "tests" / "support" / "oidc_provider.mjs"
PACKAGE = ROOT / "node_modules" / "oidc-provider" / "package.json"
CLIENT_ID, CLIENT_SECRET = "rollcall-test", "rollcall-test-secret-0123456789"


@dataclass
class TestProvider:
    issuer: str
    process: subprocess.Popen
    log: Path

    def settings(self, **more) -> dict:
        """The app settings that make this provider the environment's one (name `sso`)."""
        return {"OIDC_ISSUER": self.issuer, "OIDC_CLIENT_ID": CLIENT_ID, "OIDC_CLIENT_SECRET": CLIENT_SECRET,
                "OIDC_LABEL": "Sign in with Test ID", **more}

    def tamper(self, mode: str | None) -> None:
        """From now on the ID tokens the provider issues are changed so (see the script), or not (None)."""
        request = urllib.request.Request(f"{self.issuer}/test/tamper", data=json.dumps({"id_token": mode}).encode(),
                                         method="POST", headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=5):
            pass

    def answers(self) -> bool:
        return answers(f"{self.issuer}/.well-known/openid-configuration", timeout=2)


@contextmanager
def openid_provider(app_base_url: str, tmp_path: Path, *, claims_in_userinfo_only: bool = False
                    ) -> Iterator[TestProvider]:
    """oidc-provider on a free loopback port, its one client calling back to `app_base_url`; stopped after.
    With `claims_in_userinfo_only`, its ID tokens leave out email and the like, as Login.gov's do."""
    node = shutil.which("node")
    if node is None:
        missing("node is not installed: install Node.js 20 or later to run the single sign-on tests")
    require_file(PACKAGE, "run 'make install' (npm ci) to fetch oidc-provider")
    port = free_port()
    log = tmp_path / "oidc-provider.log"
    process = subprocess.Popen([node, str(SCRIPT), str(port), app_base_url, CLIENT_ID, CLIENT_SECRET], cwd=ROOT,
                               stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True,
                               env={**os.environ, "OIDC_CONFORM": "1" if claims_in_userinfo_only else "0"})
    provider = TestProvider(f"http://127.0.0.1:{port}", process, log)
    try:
        wait_for(lambda: provider.answers() or process.poll() is not None, 30, "oidc-provider to answer")
        assert process.poll() is None, f"oidc-provider stopped:\n{log.read_text()}"
        yield provider
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def sign_in_at_provider(authorize_url: str, account: str, browser: requests.Session | None = None) -> str:
    """Follow the provider's sign-in from its authorization address as a browser does, sign in as `account`,
    and return the address it sends the browser back to (the app's callback with code and state)."""
    browser = browser or requests.Session()
    url, page = authorize_url, None
    for _ in range(10):
        response = browser.get(url, allow_redirects=False, timeout=10)
        if response.status_code in (302, 303):
            url = urljoin(url, response.headers["Location"])
            if urlsplit(url).path.endswith("/login/oidc/callback"):
                return url
            continue
        assert response.status_code == 200, response.text
        page = url
        break
    assert page and "/interaction/" in page, f"no sign-in page at the provider: {url}"
    response = browser.post(page, data={"login": account}, allow_redirects=False, timeout=10)
    url = page
    for _ in range(10):
        assert response.status_code in (302, 303), response.text
        url = urljoin(url, response.headers["Location"])
        if urlsplit(url).path.endswith("/login/oidc/callback"):
            return url
        response = browser.get(url, allow_redirects=False, timeout=10)
    raise AssertionError(f"the provider never sent the browser back: {url}")
