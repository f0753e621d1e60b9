"""Single sign-on in Debian's Chromium: an officer signs in through the test provider (oidc-provider on loopback)
and lands on My training; axe-core checks Rollcall's pages on the way, as in tests/test_browser.py."""
from __future__ import annotations

import pytest

from tests.support.databases import database_of_its_own
from tests.support.demo_site import demo_site, sign_out
from tests.support.needs import require_file
from tests.support.net import free_port
from tests.support.oidc import openid_provider
from tests.test_browser import AXE, CHROMIUM, Axe, browser  # noqa: F401  (browser is a fixture)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def sso_site(tmp_path_factory):
    require_file(CHROMIUM, "install Debian's browser with 'apt-get install -y chromium' to run browser tests")
    require_file(AXE, "run 'make install' to fetch axe-core")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with openid_provider(base, tmp_path_factory.mktemp("oidc")) as provider, \
            demo_site(database_of_its_own(tmp_path_factory, "sso_browser"), officers=2, port=port, BASE_URL=base,
                      OIDC_PROVIDERS_FILE=None, PASSWORD_SIGN_IN="staff", **provider.settings()):
        yield base, provider


def test_an_officer_signs_in_through_the_provider_and_lands_on_my_training(sso_site, browser):  # noqa: F811
    base, provider = sso_site
    context = browser.new_context()
    page = context.new_page()
    axe = Axe(page)
    page.goto(f"{base}/login")
    axe.check()
    page.get_by_role("button", name="Sign in with Test ID").click()
    page.wait_for_url(f"{provider.issuer}/interaction/*")
    page.get_by_label("Account").fill("demo_officer")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/")
    page.get_by_role("heading", name="My training").wait_for()
    axe.check()
    sign_out(page)
    page.get_by_role("heading", name="You have signed out of Rollcall").wait_for()
    axe.check()
    assert page.get_by_role("link", name="Sign out of your provider too").get_attribute("href").startswith(
        f"{provider.issuer}/session/end?")
    context.close()
    assert not axe.findings, axe.findings
