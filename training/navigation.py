"""The header's navigation: the site's pages grouped by task, each shown to whom training/access.py allows."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from flask import Flask, request, url_for
from flask_login import current_user

from training.access import ADMINS, AUDITORS, MANAGERS, STAFF, is_in, may_decide_requests, supervises
from training.db import db
from training.people.models import User


@dataclass(frozen=True)
class Viewer:
    user: User
    supervisor: bool


def anyone(_viewer: Viewer) -> bool:
    return True


def role_in(group: tuple[str, ...]) -> Callable[[Viewer], bool]:
    return lambda viewer: is_in(viewer.user, group)


@dataclass(frozen=True)
class Link:
    """A page in the menu: its text is the page's name, which its heading and browser title repeat."""
    text: str
    endpoint: str
    shown: Callable[[Viewer], bool]
    values: dict[str, str] = field(default_factory=dict)


MENU: tuple[tuple[str, tuple[Link, ...]], ...] = (
    ("Training", (
        Link("Home", "home.index", role_in(STAFF)),
        Link("My training", "learn.dashboard", anyone),
        Link("Transcript", "learn.history", anyone),
        Link("Reminders", "reminders.mine", anyone),
        Link("Assign modules", "assignments.assign", role_in(MANAGERS)),
        Link("Standing rules", "assignments.rules", role_in(MANAGERS)),
        Link("Documents", "documents.index", role_in(STAFF)),
        Link("Requests for more time", "assignments.requests",
             lambda viewer: may_decide_requests(viewer.user, viewer.supervisor)),
        Link("Import completion records", "imports.upload", role_in(MANAGERS), {"name": "completions"}),
    )),
    ("People", (
        Link("My team", "people.team", lambda viewer: viewer.supervisor),
        Link("Units", "people.units", role_in(STAFF)),
        Link("Import roster", "imports.upload", role_in(MANAGERS), {"name": "roster"}),
        Link("Accounts", "admin.users", role_in(ADMINS)),
    )),
    ("Reports", (
        Link("Compliance", "reports.compliance", role_in(STAFF)),
        Link("Question analytics", "reports.questions", role_in(STAFF)),
        Link("Roster export", "reports.roster_page", role_in(AUDITORS)),
        Link("Audit trail", "audit.events", role_in(AUDITORS)),
        Link("Verify a certificate", "records.verify_form", role_in(AUDITORS)),
    )),
    ("Administration", (
        Link("Agencies and units", "admin.org", role_in(ADMINS)),
        Link("Import org chart", "imports.upload", role_in(ADMINS), {"name": "org"}),
        Link("Outbox", "reminders.outbox", role_in(ADMINS)),
        Link("API tokens", "admin.api_tokens", role_in(ADMINS)),
    )),
    ("Account", (
        Link("Change password", "auth.password", anyone),
        Link("Two-step sign-in", "auth.two_step", anyone),
    )),
)


@dataclass(frozen=True)
class Item:
    text: str
    url: str
    current: bool


@dataclass(frozen=True)
class Group:
    label: str
    items: list[Item]

    @property
    def current(self) -> bool:
        return any(item.current for item in self.items)


def links_for(viewer: Viewer) -> list[tuple[str, list[Link]]]:
    """The groups the viewer sees and their links, in menu order; a group with no link for them is left out."""
    groups = [(label, [link for link in links if link.shown(viewer)]) for label, links in MENU]
    return [(label, links) for label, links in groups if links]


def menu_for(viewer: Viewer) -> list[Group]:
    """`links_for` with addresses, and the page being shown marked as current."""
    here = (request.endpoint, request.view_args or {})
    return [Group(label, [Item(link.text, url_for(link.endpoint, **link.values),
                               here == (link.endpoint, link.values)) for link in links])
            for label, links in links_for(viewer)]


def nav_context() -> dict:
    if not current_user.is_authenticated:
        return {"menu": []}
    return {"menu": menu_for(Viewer(current_user, supervises(db(), current_user)))}


def init_app(app: Flask) -> None:
    app.context_processor(nav_context)
