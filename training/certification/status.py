"""Status of officers for their required courses, computed in one query.

Pages, exports and jobs all read states through `course_states` so that every
place applies `certification_status` to the same facts.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from sqlalchemy import ColumnElement, and_, func, literal, select, union
from sqlalchemy.orm import Session

from training.assignments.models import Assignment, Exemption
from training.catalog.models import Course, CourseVersion
from training.certification.models import Completion
from training.certification.rules import certification_status
from training.people.models import Agency, Unit, User


@dataclass(frozen=True)
class CourseState:
    user_id: int
    employee_id: str | None
    first_name: str
    last_name: str
    agency_code: str | None
    unit_code: str | None
    course_id: int
    course_code: str
    course_title: str
    course_version: int | None
    due_on: date | None
    completed_on: date | None
    score: int | None
    expires_on: date | None
    exempt_until: date | None
    status: str | None


def course_states(session: Session, on: date, *where: ColumnElement[bool],
                  order_by_due: bool = False, yield_per: int | None = None) -> Iterator[CourseState]:
    """Every (officer, required course) pair matching `where` (on users), with its status on `on`.

    A course is required of an officer who has ever been assigned it, has completed
    it or is exempted from it.
    """
    pairs = union(
        select(Assignment.user_id, Assignment.course_id),
        select(Completion.user_id, Completion.course_id),
        select(Exemption.user_id, Exemption.course_id),
    ).subquery("pairs")
    ranked = select(
        Completion.user_id, Completion.course_id, Completion.completed_on,
        Completion.expires_on, Completion.score, Completion.version_id,
        func.row_number().over(
            partition_by=(Completion.user_id, Completion.course_id),
            order_by=(Completion.completed_on.desc(), Completion.id.desc()),
        ).label("rn"),
    ).where(Completion.completed_on <= on).subquery("latest")
    open_assignment = select(Assignment.user_id, Assignment.course_id, Assignment.due_on).where(
        Assignment.closed_at.is_(None)).subquery("open_assignment")
    exemption = select(
        Exemption.user_id, Exemption.course_id, func.max(Exemption.ends_on).label("ends_on")
    ).where(Exemption.starts_on <= on, Exemption.ends_on >= on).group_by(
        Exemption.user_id, Exemption.course_id).subquery("exemption")

    stmt = (
        select(
            User.id, User.employee_id, User.first_name, User.last_name,
            Agency.code, Unit.code, Course.id, Course.code, Course.title, CourseVersion.number,
            open_assignment.c.due_on, ranked.c.completed_on, ranked.c.score, ranked.c.expires_on,
            exemption.c.ends_on,
        )
        .select_from(pairs)
        .join(User, User.id == pairs.c.user_id)
        .join(Course, Course.id == pairs.c.course_id)
        .outerjoin(Agency, Agency.id == User.agency_id)
        .outerjoin(Unit, Unit.id == User.unit_id)
        .outerjoin(ranked, and_(ranked.c.user_id == pairs.c.user_id,
                                ranked.c.course_id == pairs.c.course_id, ranked.c.rn == literal(1)))
        .outerjoin(CourseVersion, CourseVersion.id == ranked.c.version_id)
        .outerjoin(open_assignment, and_(open_assignment.c.user_id == pairs.c.user_id,
                                         open_assignment.c.course_id == pairs.c.course_id))
        .outerjoin(exemption, and_(exemption.c.user_id == pairs.c.user_id,
                                   exemption.c.course_id == pairs.c.course_id))
        .where(User.active.is_(True), Course.active.is_(True), *where)
    )
    if order_by_due:
        stmt = stmt.order_by(func.coalesce(open_assignment.c.due_on, ranked.c.expires_on), Course.code)
    else:
        stmt = stmt.order_by(User.last_name, User.first_name, User.id, Course.code)
    result = session.execute(stmt.execution_options(yield_per=yield_per) if yield_per else stmt)
    for row in result:
        (user_id, employee_id, first, last, agency, unit, course_id, code, title, version,
         due_on, completed_on, score, expires_on, exempt_until) = row
        status = certification_status(on, expires_on=expires_on, open_due_on=due_on,
                                      exempt=exempt_until is not None)
        yield CourseState(user_id, employee_id, first, last, agency, unit, course_id, code, title,
                          version, due_on, completed_on, score, expires_on, exempt_until, status)
