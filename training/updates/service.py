"""Publishing policy updates, finding an officer's pending update, and its short quiz."""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import func, insert, literal, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from training.audit.service import record
from training.catalog.models import Course, CourseVersion, Lesson, Question
from training.catalog.service import SyncResult, sync_courses
from training.clock import server_today, today_for
from training.db import utcnow
from training.learn.rules import draw_questions, names_match, shuffled_order
from training.people.models import User
from training.records.models import Acknowledgement, Assignment, Attempt, LessonView
from training.records.service import record_acknowledgement
from training.records.status import certified_on, exempt_on
from training.updates.diff import LessonChange, lesson_changes
from training.updates.rules import MIN_UPDATE_QUESTIONS, UPDATE_QUESTIONS, UPDATE_REASON
from training.updates.versions import version_book


class UpdateError(Exception):
    """A refusal to show to the officer; nothing was changed."""


@dataclass
class Publication:
    sync: SyncResult
    updates: dict[str, int]     # course code -> officers given an update assignment


def publish_courses(session: Session, courses_dir: Path, quizzes_dir: Path, *, actor_id: int | None = None,
                    today: date | None = None, dry_run: bool = False) -> Publication:
    """`courses sync`: load the content's new versions, then give certified officers an update assignment for
    each version that publishes a policy change (a module's first version asks nobody). With `dry_run`, nothing
    is written and `updates` counts the officers who would get one."""
    on = today or server_today()
    result = sync_courses(session, courses_dir, quizzes_dir, actor_id=actor_id, today=on, dry_run=dry_run)
    if dry_run:
        courses = {course.code: course for course in session.scalars(select(Course).where(
            Course.code.in_([plan.content.code for plan in result.plans])))}
        return Publication(result, {
            plan.content.code: session.scalar(select(func.count()).select_from(
                _update_candidates(courses[plan.content.code], None, on, None).subquery()))
            for plan in result.plans if plan.entry is not None and plan.entry.kind == "policy"})
    updates = {version.course.code: publish_update(session, version.course, version, on, actor_id=actor_id)
               for version in result.versions if version.change_kind == "policy" and version.number > 1}
    return Publication(result, updates)


def _update_candidates(course: Course, version_id: int | None, on: date, actor_id: int | None):
    """The update assignments to give: every active officer certified in `course` on `on`, but those with an
    open assignment of the course (a renewal, say: they take the new version in full) and the exempt, as for
    renewals."""
    due_on = on + timedelta(days=course.update_days)
    has_open = select(Assignment.id).where(Assignment.user_id == User.id, Assignment.course_id == course.id,
                                           Assignment.closed_at.is_(None)).exists()
    return (select(User.id, literal(course.id), literal(due_on), literal(UPDATE_REASON), literal(version_id),
                   literal(actor_id), literal(utcnow()))
            .where(User.active.is_(True), certified_on(on, course.id, User.id), ~has_open,
                   ~exempt_on(on, course.id, User.id)))


def publish_update(session: Session, course: Course, version: CourseVersion, on: date, *,
                   actor_id: int | None = None) -> int:
    """Give every active officer certified in `course` on `on` an update assignment to `version`, due
    `course.update_days` later; how many were given one.

    Set-based: one INSERT ... SELECT however many officers.
    """
    due_on = on + timedelta(days=course.update_days)
    candidates = _update_candidates(course, version.id, on, actor_id)
    assigned = len(session.execute(insert(Assignment).from_select(
        ["user_id", "course_id", "due_on", "reason", "version_id", "assigned_by_id", "created_at"], candidates)
        .returning(Assignment.id)).all())
    record(session, "assignment.updates_created", actor_id=actor_id, target=f"course:{course.code}",
           course=course.code, version=version.number, due_on=due_on.isoformat(), assigned=assigned)
    return assigned


@dataclass
class PendingUpdate:
    """What an officer certified in a module has still to acknowledge of it."""

    course: Course
    version: CourseVersion              # the current version, the one they will sign
    acknowledged: CourseVersion | None  # the latest version they signed, None when they never signed one
    assignment: Assignment | None       # their open update assignment
    changes: list[LessonChange]

    @property
    def changes_logged(self) -> list[CourseVersion]:
        """The versions published since the one they signed that carry a change log entry, newest first."""
        since = self.acknowledged.number if self.acknowledged else 0
        return sorted((v for v in self.course.versions if v.number > since and v.change_kind),
                      key=lambda v: v.number, reverse=True)

    @property
    def changed_lessons(self) -> list[Lesson]:
        """The current version's lessons that were added or rewritten since the version they signed."""
        return [change.lesson for change in self.changes if change.lesson is not None]


def acknowledged_number(session: Session, user_id: int, course_id: int) -> int | None:
    """The highest version number of the module the officer has signed."""
    return session.scalar(select(func.max(Acknowledgement.version_number)).where(
        Acknowledgement.user_id == user_id, Acknowledgement.course_id == course_id))


def pending_update(session: Session, user: User, course: Course) -> PendingUpdate | None:
    """The update the officer has to take: they hold a valid certification, have signed an earlier version than
    the required one, and have no open assignment to take the module in full. None otherwise."""
    on = today_for(user)
    if course.kind != "course" or not session.scalar(select(certified_on(on, course.id, user.id))):
        return None
    open_assignment = session.scalar(select(Assignment).where(
        Assignment.user_id == user.id, Assignment.course_id == course.id, Assignment.closed_at.is_(None)))
    if open_assignment is not None and open_assignment.version_id is None:
        return None
    required = version_book(session, [course.id]).required_of(course.id)
    signed = acknowledged_number(session, user.id, course.id)
    if signed is not None and signed >= required:
        return None
    if signed is None and open_assignment is None:
        return None     # certified by an import, never signed in Rollcall: their renewal takes it in full
    current = session.scalar(select(CourseVersion).where(
        CourseVersion.course_id == course.id, CourseVersion.number == course.current_version))
    before = session.scalar(select(CourseVersion).where(
        CourseVersion.course_id == course.id, CourseVersion.number == signed)) if signed else None
    previous = before.lessons if before is not None else []
    return PendingUpdate(course, current, before, open_assignment, lesson_changes(previous, current.lessons))


def update_questions(session: Session, update: PendingUpdate) -> list[Question]:
    """The questions of the current version tied to the lessons that changed."""
    slugs = {lesson.slug for lesson in update.changed_lessons}
    return [q for q in update.version.questions if q.lesson_slug in slugs]


def read_update(session: Session, user: User, update: PendingUpdate) -> None:
    """Record that the officer read the changed lessons (the update page shows them all)."""
    seen = set(session.scalars(select(LessonView.lesson_id).where(
        LessonView.user_id == user.id, LessonView.lesson_id.in_([lesson.id for lesson in update.changed_lessons]))))
    session.add_all(LessonView(user_id=user.id, lesson_id=lesson.id)
                    for lesson in update.changed_lessons if lesson.id not in seen)
    session.flush()


def start_update_attempt(session: Session, user: User, update: PendingUpdate,
                         rng: random.Random | None = None) -> Attempt:
    """Draw the update's short quiz, or return the one in progress."""
    opened = set(session.scalars(select(LessonView.lesson_id).where(LessonView.user_id == user.id)))
    if any(lesson.id not in opened for lesson in update.changed_lessons):
        raise UpdateError("Read what changed before taking the quiz.")
    current = session.scalar(select(Attempt).where(
        Attempt.user_id == user.id, Attempt.version_id == update.version.id, Attempt.kind == "update",
        Attempt.submitted_at.is_(None)).order_by(Attempt.id.desc()).limit(1))
    if current is not None:
        return current
    bank = {q.id: len(q.choices) for q in update_questions(session, update)}
    if len(bank) < MIN_UPDATE_QUESTIONS:
        # The version was published before `courses sync` asked for these questions: the whole bank serves.
        bank = {q.id: len(q.choices) for q in update.version.questions}
    drawn = draw_questions(list(bank), min(UPDATE_QUESTIONS, len(bank)), rng=rng)
    attempt = Attempt(user_id=user.id, course_id=update.course.id, version_id=update.version.id, kind="update",
                      items=[{"question_id": q, "order": shuffled_order(bank[q], rng)} for q in drawn])
    session.add(attempt)
    session.flush()
    return attempt



def acknowledge_update(session: Session, user: User, attempt: Attempt, typed_name: str) -> Acknowledgement:
    """Sign the version of a passed update quiz: the officer's certification stands, their update assignment
    closes. Signing the same attempt twice keeps the first signature."""
    existing = update_acknowledgement(session, attempt)
    if existing is not None:
        return existing
    if attempt.kind != "update" or not attempt.passed:
        raise UpdateError("Only a passed update quiz can be acknowledged.")
    if not names_match(typed_name, user.first_name, user.last_name):
        raise UpdateError(f"Type your full name exactly as it appears on your record: {user.full_name}.")
    try:
        with session.begin_nested():
            return record_acknowledgement(session, user, attempt.version, "update", today_for(user),
                                          name=user.full_name, attempt_id=attempt.id)
    except IntegrityError:
        # Signed at the same moment in another tab: keep the first.
        existing = update_acknowledgement(session, attempt)
        if existing is None:
            raise
        return existing


def update_acknowledgement(session: Session, attempt: Attempt) -> Acknowledgement | None:
    return session.scalar(select(Acknowledgement).where(Acknowledgement.attempt_id == attempt.id))
