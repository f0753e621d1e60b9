"""Creating assignments."""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import and_, exists, func, insert, literal, select
from sqlalchemy.orm import Session

from training.assignments.models import Assignment
from training.audit.service import record
from training.catalog.models import Course
from training.certification.models import Completion
from training.db import utcnow
from training.people.models import User


def create_renewal_assignments(session: Session, on: date) -> dict[str, int]:
    """Open an assignment due on `expires_on` for each certification inside its renewal window.

    Set-based: one INSERT ... SELECT per course, whatever the number of officers.
    A certification whose window opened on a day this did not run is caught up.
    """
    created: dict[str, int] = {}
    courses = session.execute(select(Course.id, Course.code, Course.renewal_window_days)
                              .where(Course.active.is_(True))).all()
    for course_id, code, window in courses:
        threshold = on + timedelta(days=window)
        has_open = exists().where(Assignment.user_id == Completion.user_id,
                                  Assignment.course_id == Completion.course_id,
                                  Assignment.closed_at.is_(None))
        latest_expiry = func.max(Completion.expires_on)
        candidates = (
            select(Completion.user_id, literal(course_id), latest_expiry, literal("annual_renewal"),
                   literal(utcnow()))
            .join(User, and_(User.id == Completion.user_id, User.active.is_(True)))
            .where(Completion.course_id == course_id, ~has_open)
            .group_by(Completion.user_id)
            .having(latest_expiry <= threshold)
        )
        count = len(session.execute(insert(Assignment).from_select(
            ["user_id", "course_id", "due_on", "reason", "created_at"], candidates)
            .returning(Assignment.id)).all())
        if count:
            created[code] = count
    if created:
        record(session, "assignment.renewals_created", target="courses", on=on.isoformat(), created=created)
    return created
