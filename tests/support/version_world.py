"""Officers who signed different versions of a module that published a policy change, and a document."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import select, update

from tests.support.factories import log_change, make_user
from training.catalog.models import Course, CourseVersion
from training.catalog.service import sync_courses
from training.clock import server_today
from training.people.models import User
from training.records.models import Assignment, Exemption
from training.records.service import record_acknowledgement, record_completion
from training.updates.service import publish_update


def noon(day: date) -> datetime:
    return datetime.combine(day, time(12))


@dataclass
class VersionWorld:
    today: date             # the server's day
    published: date         # the day version 2 of the module published a policy change
    signed_v2: date         # the day Bo signed version 2
    course: Course
    document: Course
    ada: User               # signed v1, took no update: overdue once v2 is out
    bo: User                # signed v1, then v2
    cy: User                # exempt
    dee: User               # never certified, assigned the module (due ahead) and the document (signed)
    compliance: User


def build_version_world(session, app, course: Course, org) -> VersionWorld:
    """Version 1 published 60 days ago; Ada and Bo certified and signed it 50 days ago; version 2, a policy
    change, published 10 days ago with 3 days to take the update; Bo signed v2 3 days ago. Cy is exempt.
    Dee is assigned the module (due in 10 days) and signed version "Directive 2026-01" of a document."""
    agency, unit = org
    today = server_today()
    published, signed_v2, v1_day = today - timedelta(days=10), today - timedelta(days=3), today - timedelta(days=60)
    v1 = session.scalar(select(CourseVersion).where(CourseVersion.course_id == course.id))
    v1.created_at = noon(v1_day)
    people = {name: make_user(session, f"{name}@agency.test", agency=agency, unit=unit, first=name.capitalize(),
                              last=f"{name.capitalize()}son", employee_id=f"E-{name.upper()}")
              for name in ("ada", "bo", "cy", "dee")}
    compliance = make_user(session, "compliance@agency.test", role="compliance", agency=agency)
    signed_v1 = today - timedelta(days=50)
    for name in ("ada", "bo"):
        record_completion(session, people[name], course, signed_v1, version_id=v1.id, score=90, source="quiz",
                          acknowledged_name=people[name].full_name)
    session.add(Exemption(user_id=people["cy"].id, course_id=course.id, starts_on=v1_day,
                          ends_on=today + timedelta(days=300), reason="Medical leave"))
    session.add(Assignment(user_id=people["dee"].id, course_id=course.id, due_on=today + timedelta(days=10),
                           reason="individual", created_at=noon(v1_day)))

    document = Course(code="DIR-2026-01", title="Body-worn cameras directive", kind="document", current_version=1)
    session.add(document)
    session.flush()
    directive = CourseVersion(course_id=document.id, number=1, content_hash="d" * 64, title=document.title,
                              policy_version="Directive 2026-01", created_at=noon(v1_day))
    session.add(directive)
    session.add(Assignment(user_id=people["dee"].id, course_id=document.id, due_on=today + timedelta(days=20),
                           reason="individual", created_at=noon(v1_day)))
    session.flush()
    record_acknowledgement(session, people["dee"], directive, "document", today - timedelta(days=5),
                           name=people["dee"].full_name, text_sha256="e" * 64)

    # Version 2: the lessons change and the change log calls it a policy change.
    first_lesson = sorted((app.config["COURSES_DIR"] / "test-basics" / "lessons").glob("*.md"))[0]
    first_lesson.write_text("# Topic 1\n\nThe rule changed.\n", encoding="utf-8")
    log_change(app.config["COURSES_DIR"], course.code, kind="policy", on=published.isoformat(),
               summary="The rule changed.")
    sync_courses(session, app.config["COURSES_DIR"], app.config["QUIZZES_DIR"])
    v2 = session.scalar(select(CourseVersion).where(CourseVersion.course_id == course.id, CourseVersion.number == 2))
    assert (v2.change_kind, v2.change_date) == ("policy", published)
    v2.created_at = noon(published)
    course.update_days = 3
    assert publish_update(session, course, v2, published) == 2
    session.execute(update(Assignment).where(Assignment.version_id == v2.id).values(created_at=noon(published)))
    record_acknowledgement(session, people["bo"], v2, "update", signed_v2, name=people["bo"].full_name)
    session.execute(update(Assignment).where(Assignment.version_id == v2.id, Assignment.user_id == people["bo"].id)
                    .values(closed_at=noon(signed_v2)))
    session.commit()
    return VersionWorld(today, published, signed_v2, course, document, people["ada"], people["bo"], people["cy"],
                        people["dee"], compliance)
