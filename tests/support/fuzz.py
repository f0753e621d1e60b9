"""Strategies and helpers for the property-based tests: arbitrary input, a small world to throw it at."""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from tests.support.factories import make_user
from training.audit.models import AuditEvent
from training.catalog.models import Course, CourseVersion, DocumentFile
from training.catalog.service import current_version
from training.documents.service import Draft, publish
from training.learn.service import start_attempt
from training.people.models import Agency, Unit, User
from training.records.models import Acknowledgement, Assignment, Attempt, Completion, StandingRule
from training.records.service import record_completion
from training.reminders.models import OutboxMessage

FUZZ = settings(max_examples=30, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large])

# Text a browser can send: any character but lone surrogates.
TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)
NASTY = st.sampled_from([
    "", " ", "\x00", "a\x00b", "\r", "\n\n", "\t", "\u202e", "\ufeff", "💥", "=1+1", "+1", "-1", "@SUM(A1)",
    "<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "' OR 1=1 --", "%", "_", "\\",
    "0", "-0", "1e309", "nan", "9" * 30, "-" + "9" * 30, "2024-02-30", "9999-12-31", "0001-01-01",
    "10000-01-01", "2026-12-31", "AGY", "AGY-U1", "TEST-BASICS", "officer", "admin", "y", "on",
    "a@b.test", "x" * 65, "x" * 101, "x" * 201, "x" * 255, "x" * 1001, "x" * 70_000,
])
VALUE = st.one_of(NASTY, TEXT, st.integers().map(str))


def form_data(fields: list[str], valid: dict[str, str] | None = None) -> st.SearchStrategy[dict[str, list[str]]]:
    """Some of the form's fields (maybe none, maybe repeated) and maybe a few it does not have; or,
    given a `valid` filling, that filling with one or two of its values replaced."""
    if valid:
        spoilt = st.dictionaries(st.sampled_from(sorted(valid)), VALUE, min_size=1, max_size=2).map(
            lambda changes: {**valid, **changes})
        return st.one_of(spoilt, spoilt, _any_fields(fields))
    return _any_fields(fields)


def _any_fields(fields: list[str]) -> st.SearchStrategy[dict[str, list[str]]]:
    known = st.dictionaries(st.sampled_from(fields), st.lists(VALUE, min_size=1, max_size=2), max_size=len(fields)) \
        if fields else st.just({})
    extra = st.dictionaries(st.one_of(TEXT, st.sampled_from(["q1", "q99999999999999999999", "csrf_token", "next",
                                                             "officer", "token", "full"])),
                            st.lists(VALUE, min_size=1, max_size=2), max_size=3)
    return st.builds(lambda a, b: {**b, **a}, known, extra)


def query_string() -> st.SearchStrategy[dict[str, str]]:
    keys = st.one_of(st.sampled_from(["page", "q", "status", "sort", "sub", "supervisor", "actor", "action",
                                      "date_from", "date_to", "code", "target", "agency", "next"]), TEXT)
    return st.dictionaries(keys, VALUE, max_size=4)


TABLES = (User, Agency, Unit, Course, CourseVersion, DocumentFile, Assignment, StandingRule, Completion, Attempt,
          Acknowledgement, AuditEvent, OutboxMessage)


def row_counts(connection) -> dict[str, int]:
    """Rows per table, read on the test's connection (not through a session, whose savepoints an example undoes)."""
    return {model.__tablename__: connection.scalar(select(func.count()).select_from(model)) for model in TABLES}


@contextmanager
def rolled_back(connection):
    """Everything an example writes is undone before the next one."""
    savepoint = connection.begin_nested()
    try:
        yield
    finally:
        savepoint.rollback()


@dataclass
class World:
    """One of everything the forms act on, and an account of each role."""
    agency: Agency
    unit: Unit
    officer: User
    course: Course
    attempt: Attempt
    assignment: Assignment
    completion: Completion
    rule: StandingRule
    message: OutboxMessage
    lesson_slug: str
    document: Course


def build_world(session, org, course) -> World:
    agency, unit = org
    for role in ("coordinator", "compliance", "admin"):
        make_user(session, f"{role}@agency.test", role=role, agency=agency, unit=unit)
    officer = make_user(session, "officer@agency.test", agency=agency, unit=unit, first="Dana", last="Cruz")
    other = make_user(session, "other@agency.test", agency=agency, unit=unit, employee_id="E-2")
    session.flush()
    version = current_version(session, course)
    from training.records.models import LessonView
    session.add_all(LessonView(user_id=officer.id, lesson_id=lesson.id) for lesson in version.lessons)
    session.flush()
    attempt = start_attempt(session, officer, version)
    today = date.today()
    assignment = Assignment(user_id=officer.id, course_id=course.id, due_on=today + timedelta(days=30),
                            reason="individual")
    session.add(assignment)
    completion = record_completion(session, other, course, today - timedelta(days=10), version_id=version.id,
                                   score=90, source="quiz")
    rule = StandingRule(unit_id=unit.id, course_id=course.id, days_to_complete=30)
    message = OutboxMessage(key="fuzz", kind="nudge", user_id=officer.id, decided_on=today, status="failed")
    session.add_all([rule, message])
    document = publish(session, Draft("DOC-1", "Radio discipline", "2026-1", "First issue.", text="Keep it short."),
                       today).version.course
    session.commit()
    return World(agency, unit, officer, course, attempt, assignment, completion, rule, message,
                 version.lessons[0].slug, document)
