"""Security headers on every response, and templates the Content-Security-Policy can hold to."""
import re

import pytest

from tests.support.factories import make_user
from tests.support.pages import login
from tests.support.paths import ROOT
from tests.support.views import every_view
from training.assets import manifest

TEMPLATES = ROOT / "templates"
EXPECTED = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
}
CSP_PARTS = ["default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:",
             "frame-ancestors 'none'", "base-uri 'self'", "form-action 'self'", "object-src 'none'"]


def assert_protected(response, where) -> None:
    for name, value in EXPECTED.items():
        assert response.headers.get(name) == value, (where, name)
    policy = response.headers.get("Content-Security-Policy", "")
    assert all(part in policy for part in CSP_PARTS), (where, policy)
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert "Strict-Transport-Security" not in response.headers, where   # only in production, over HTTPS


@pytest.mark.parametrize("role", ["officer", "admin"])
def test_every_page_of_a_signed_in_walk_has_the_headers(app, client, session, org, course, role):
    agency, unit = org
    make_user(session, f"{role}@agency.test", role=role, agency=agency, unit=unit)
    session.commit()
    login(client, f"{role}@agency.test")
    walked = 0
    for endpoint, method, path in every_view(app):
        if method == "GET" and endpoint != "auth.logout":
            assert_protected(client.get(path), path)
            walked += 1
    assert walked > 25


def test_public_pages_errors_and_files_have_the_headers(app, client):
    built = [f"/static/dist/{name}" for name in manifest(app).values()]
    for path in ["/login", "/verify", "/verify/NOT-A-CODE", "/no-such-page", *built]:
        assert_protected(client.get(path), path)


INLINE = {
    "inline script": re.compile(r"<script\b(?![^>]*\bsrc=)", re.I),
    "event handler attribute": re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.I),
    "style attribute": re.compile(r"<[a-z][^>]*\sstyle\s*=", re.I),
    "style element": re.compile(r"<style\b", re.I),
    "javascript: URL": re.compile(r"javascript:", re.I),
}


def test_no_template_has_inline_script_or_style():
    found = [f"{path.relative_to(TEMPLATES)}: {what}"
             for path in sorted(TEMPLATES.rglob("*.html")) if "mail" not in path.parts
             for what, pattern in INLINE.items() if pattern.search(path.read_text(encoding="utf-8"))]
    assert found == []
