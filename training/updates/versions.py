"""Which version of each module and document officers have acknowledged, against the one they must have.

The rules are training/updates/rules.py's: `required_version` picks the version to sign from a module's
versions, `acknowledgement_status` says where an officer stands, `version_label` names a version.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import ColumnElement, and_, case, literal, select
from sqlalchemy.orm import Session

from training.catalog.models import Course, CourseVersion
from training.records.models import RequiredPair
from training.records.status import CourseState, PairState
from training.updates.rules import acknowledgement_status, required_version, version_label


@dataclass(frozen=True)
class VersionBook:
    """The versions of modules and documents published by some moment: their names and the one to sign."""

    codes: dict[str, int]                   # course code -> id
    titles: dict[str, str]                  # course code -> title
    labels: dict[tuple[int, int], str]      # (course id, version number) -> how people name it
    required: dict[int, int]                # course id -> the version number officers must have signed
    documents: frozenset[str]               # the codes of those that are documents (read and signed, no quiz)

    def label(self, course_id: int, number: int | None) -> str | None:
        if number is None:
            return None
        return self.labels.get((course_id, number), f"v{number}")

    def required_of(self, course_id: int) -> int:
        return self.required.get(course_id, 1)

    def required_label(self, course_id: int) -> str:
        return self.label(course_id, self.required_of(course_id)) or ""


def version_book(session: Session, course_ids: Iterable[int] | None = None, *,
                 created_before: datetime | None = None) -> VersionBook:
    """The modules (all, or `course_ids`) and their versions created before `created_before` (all without it):
    one query."""
    published = CourseVersion.course_id == Course.id
    if created_before is not None:
        published = and_(published, CourseVersion.created_at < created_before)
    stmt = (select(Course.id, Course.code, Course.title, Course.kind, CourseVersion.number,
                   CourseVersion.change_kind, CourseVersion.policy_version)
            .outerjoin(CourseVersion, published))
    if course_ids is not None:
        stmt = stmt.where(Course.id.in_(list(course_ids)))
    codes: dict[str, int] = {}
    titles: dict[str, str] = {}
    labels: dict[tuple[int, int], str] = {}
    versions: dict[int, list[tuple[int, str | None]]] = {}
    documents: set[str] = set()
    for course_id, code, title, kind, number, change_kind, policy_version in session.execute(stmt):
        codes[code], titles[code] = course_id, title
        if kind == "document":
            documents.add(code)
        if number is not None:
            labels[(course_id, number)] = version_label(kind, number, policy_version)
            versions.setdefault(course_id, []).append((number, change_kind))
    return VersionBook(codes, titles, labels,
                       {course_id: required_version(rows) for course_id, rows in versions.items()},
                       frozenset(documents))


def signed_required(acknowledged, course_id, required: dict[int, int]) -> ColumnElement[bool]:
    """Whether the version signed (`acknowledged`, a column) is the one to sign or later, as SQL: the
    `acknowledged` case of `acknowledgement_status`, for counting in the database. `required` maps course ids to
    the version to sign (1 for any other)."""
    to_sign = case(required, value=course_id, else_=1) if required else literal(1)
    return and_(acknowledged.is_not(None), acknowledged >= to_sign)


@dataclass(frozen=True)
class VersionStanding:
    """One officer's signature of one module: the version signed, the one to sign, and where that leaves them."""

    acknowledged: str | None        # the label of the latest version signed; None when they never signed one
    required: str                   # the label of the version to sign
    status: str                     # acknowledged, due, overdue or exempt

    @property
    def waits(self) -> bool:
        """A version they have not signed waits for them."""
        return self.status in ("due", "overdue")


def acknowledged_versions(session: Session, user_ids: Iterable[int],
                          course_ids: Iterable[int]) -> dict[tuple[int, int], int | None]:
    """The highest version signed of each (user id, course id) pair of the officers and modules, as the pairs
    table keeps it now: one query (pages ask for a page of officers at most)."""
    user_ids, course_ids = sorted(set(user_ids)), sorted(set(course_ids))
    if not user_ids or not course_ids:
        return {}
    return {(user_id, course_id): version for user_id, course_id, version in session.execute(
        select(RequiredPair.user_id, RequiredPair.course_id, RequiredPair.acknowledged_version)
        .where(RequiredPair.user_id.in_(user_ids), RequiredPair.course_id.in_(course_ids)))}


def version_standings(session: Session, on: date, states: Iterable[CourseState | PairState], *,
                      book: VersionBook | None = None, signed: dict[tuple[int, int], int | None] | None = None,
                      ) -> dict[tuple[int, int], VersionStanding]:
    """For each state (officer and required module on `on`, today's), the version they signed and the current
    one, keyed by (user id, course id). Two queries, however many states (of a page of officers at most); one
    fewer for each of the `book` of their modules and the versions `signed` (as `acknowledged_versions` gives
    them) that a page which reads them anyway passes on."""
    states = [s for s in states if s.status is not None]
    if not states:
        return {}
    if signed is None:
        signed = acknowledged_versions(session, {s.user_id for s in states}, {s.course_id for s in states})
    book = book or version_book(session, {s.course_id for s in states})
    standings = {}
    for s in states:
        acknowledged = signed.get((s.user_id, s.course_id))
        standings[(s.user_id, s.course_id)] = VersionStanding(
            book.label(s.course_id, acknowledged), book.required_label(s.course_id),
            acknowledgement_status(on, acknowledged=acknowledged, required=book.required_of(s.course_id),
                                   open_due_on=s.due_on, exempt=s.exempt_until is not None))
    return standings
