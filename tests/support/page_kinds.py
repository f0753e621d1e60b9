"""Every kind of page of the demo site, by role: what the page-weight test loads, `make screenshots` pictures
and `make lighthouse` scores.

Each role's pages are the ones its menu offers (training/navigation.py) and the pages those lead to: a module,
a lesson and a quiz for the officer, a unit and an officer for staff. The quiz is started by the browser, as an
officer starts it (a form), so that kind is reached by `start_quiz`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from flask import url_for
from sqlalchemy import select

from training.access import STAFF, is_in, supervises
from training.catalog.models import Course, CourseVersion, Lesson
from training.db import unit_of_work
from training.demo.service import DEMO_ACCOUNTS
from training.navigation import Viewer, links_for
from training.people.models import User

QUIZ = "quiz"


@dataclass(frozen=True)
class Page:
    name: str    # a short name for files: "my-training", "lesson"...
    path: str    # where it is, or QUIZ


def slug(text: str) -> str:
    return "-".join(text.lower().replace(":", "").split())


def pages_by_role(app) -> dict[str, list[Page]]:
    """{demo account's e-mail: its pages}, and "" for the pages one sees signed out."""
    found: dict[str, list[Page]] = {"": [Page("sign-in", "/login"), Page("verify-a-certificate", "/verify")]}
    with unit_of_work(app) as session, app.test_request_context():
        course, lesson = session.execute(
            select(Course.code, Lesson.slug).join(CourseVersion, CourseVersion.course_id == Course.id)
            .join(Lesson, Lesson.version_id == CourseVersion.id)
            .order_by(Course.code, CourseVersion.number.desc(), Lesson.position).limit(1)).one()
        for email, *_ in DEMO_ACCOUNTS:
            user = session.scalar(select(User).where(User.email == email))
            viewer = Viewer(user, supervises(session, user))
            pages = [Page(slug(link.text), url_for(link.endpoint, **link.values))
                     for _, links in links_for(viewer) for link in links]
            if user.role == "officer":
                pages.append(Page("module", url_for("learn.course", code=course)))
                pages.append(Page("lesson", url_for("learn.lesson", code=course, slug=lesson)))
                pages.append(Page(QUIZ, QUIZ))
            if is_in(user, STAFF):
                officer = session.scalar(select(User).where(User.email == DEMO_ACCOUNTS[0][0]))
                pages.append(Page("unit", url_for("people.unit", code="DEMO-HQ")))
                pages.append(Page("officer", url_for("people.officer", user_id=officer.id)))
            found[email] = pages
    return found


def start_quiz(page, base: str, module_path: str) -> None:
    """Opens every lesson of the module, then starts its quiz: the page shown is the quiz."""
    page.goto(base + module_path)
    for href in [a.get_attribute("href") for a in page.locator("main ol.usa-list a").all()]:
        page.goto(base + href)
    page.goto(base + module_path)
    page.get_by_role("button", name=re.compile("^(Start|Continue) the quiz$")).click()
    page.wait_for_url(f"{base}/attempts/**")
