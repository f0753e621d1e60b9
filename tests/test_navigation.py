"""The header's menus: which a role sees, and one name per page (the link, the heading and the browser title)."""
from __future__ import annotations

import html
import re

import pytest

from tests.support.factories import make_user
from tests.support.pages import login

MENUS = {
    "officer": {"Training": ["My training", "Transcript", "Reminders"], "Account": ["Change password",
                                                                                   "Two-step sign-in"]},
    "supervisor": {"Training": ["My training", "Transcript", "Reminders", "Requests for more time"],
                   "People": ["My team"], "Account": ["Change password", "Two-step sign-in"]},
    "coordinator": {"Training": ["Home", "My training", "Transcript", "Reminders", "Assign modules", "Standing rules",
                                 "Documents", "Requests for more time", "Import completion records"],
                    "People": ["Units", "Import roster"], "Reports": ["Compliance", "Question analytics"],
                    "Account": ["Change password", "Two-step sign-in"]},
    "compliance": {"Training": ["Home", "My training", "Transcript", "Reminders", "Documents"], "People": ["Units"],
                   "Reports": ["Compliance", "Question analytics", "Roster export", "Audit trail", "Verify a certificate"],
                   "Account": ["Change password", "Two-step sign-in"]},
    "admin": {"Training": ["Home", "My training", "Transcript", "Reminders", "Assign modules", "Standing rules",
                           "Documents", "Requests for more time", "Import completion records"],
              "People": ["Units", "Import roster", "Accounts"],
              "Reports": ["Compliance", "Question analytics", "Roster export", "Audit trail", "Verify a certificate"],
              "Administration": ["Agencies and units", "Import org chart", "Outbox", "API tokens"],
              "Account": ["Change password", "Two-step sign-in"]},
}


@pytest.fixture
def signed_in(client, session, org):
    """Signs in as someone of the given kind ("supervisor": an officer someone reports to)."""
    def sign_in(kind: str):
        agency, unit = org
        user = make_user(session, f"{kind}@agency.test", role="officer" if kind == "supervisor" else kind,
                         agency=agency, unit=unit, first="Robin", last="Hale")
        if kind == "supervisor":
            make_user(session, "report@agency.test", agency=agency, unit=unit, supervisor_id=user.id)
        session.commit()
        login(client, user.email)
        return client
    return sign_in


def menus(page: str) -> dict[str, list[tuple[str, str]]]:
    """{menu: [(link text, address)]} of the primary navigation."""
    nav = page.split('aria-label="Primary"', 1)[1].split("</nav>", 1)[0]
    found = {}
    for label, items in re.findall(r"<span>([^<]+)</span></button>\s*<ul[^>]*>(.*?)</ul>", nav, re.S):
        found[label] = [(html.unescape(text), href) for href, text in re.findall(r'<a href="([^"]+)"[^>]*>([^<]+)</a>', items)]
    return found


def heading_and_title(page: str) -> tuple[str, str]:
    h1 = re.search(r"<h1[^>]*>(.*?)</h1>", page, re.S).group(1)
    title = re.search(r"<title>(.*?)</title>", page, re.S).group(1)
    return html.unescape(re.sub(r"<[^>]+>|\s+", " ", h1).strip()), html.unescape(title.strip())


@pytest.mark.parametrize("kind", MENUS)
def test_each_role_sees_the_menus_it_may_use(signed_in, kind):
    client = signed_in(kind)
    found = menus(client.get("/").get_data(as_text=True))
    assert {label: [text for text, _ in links] for label, links in found.items()} == MENUS[kind]


@pytest.mark.parametrize("kind", MENUS)
def test_every_page_in_the_menus_has_one_name(signed_in, kind):
    """The link's text is the page's heading (or its start, before a colon) and its browser title."""
    client = signed_in(kind)
    for label, links in menus(client.get("/").get_data(as_text=True)).items():
        for text, href in links:
            response = client.get(href)
            assert response.status_code == 200, href
            heading, title = heading_and_title(response.get_data(as_text=True))
            assert heading == text or heading.startswith(f"{text}: "), (label, text, heading)
            assert title == f"{heading} | Rollcall", (label, text, title)


def test_the_menu_marks_the_page_shown(signed_in):
    client = signed_in("coordinator")
    page = client.get("/imports/roster").get_data(as_text=True)
    assert re.search(r'usa-nav__link usa-current"[^>]*><span>People</span>', page)
    assert re.findall(r'<a href="([^"]+)" aria-current="page">', page) == ["/imports/roster"]


def test_signed_out_pages_have_no_menu(client):
    page = client.get("/login").get_data(as_text=True)
    assert 'aria-label="Primary"' not in page and "usa-menu-btn" not in page
    assert heading_and_title(page) == ("Sign in to Rollcall", "Sign in to Rollcall | Rollcall")
