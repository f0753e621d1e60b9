"""The system of record: assignments, exemptions, standing rules, lesson views, quiz attempts and completions."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from training.catalog.models import Course, CourseVersion
from training.db import Base, utcnow
from training.records.codes import new_code


class LessonView(Base):
    __tablename__ = "lesson_views"
    __table_args__ = (UniqueConstraint("user_id", "lesson_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    lesson_id: Mapped[int] = mapped_column(ForeignKey("lessons.id"))
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)


class Attempt(Base):
    __tablename__ = "attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"))
    version_id: Mapped[int] = mapped_column(ForeignKey("course_versions.id"))
    # [{"question_id": 12, "order": [2, 0, 3, 1]}, ...]: the draw and the shown choice order.
    items: Mapped[list[dict]] = mapped_column(JSON)
    # {"12": 3, ...}: question id -> original choice index picked.
    answers: Mapped[dict | None] = mapped_column(JSON)
    # {"q12": "2", ...}: while open, the choices picked so far as the quiz shows them (field -> shown position),
    # so a reload or another visit restores them; cleared when submitted.
    saved_answers: Mapped[dict | None] = mapped_column(JSON)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    submitted_at: Mapped[datetime | None]
    score: Mapped[int | None]
    passed: Mapped[bool | None] = mapped_column(Boolean)
    # "module": the whole module's quiz; "update": the short quiz of a policy update (training/updates).
    kind: Mapped[str] = mapped_column(String(16), default="module", server_default="module")

    course: Mapped[Course] = relationship()
    version: Mapped[CourseVersion] = relationship()

    __table_args__ = (
        Index("ix_attempts_user_course", "user_id", "course_id"),
        # Question analytics' attempts: a module's quizzes submitted in a period. On PostgreSQL it also holds who,
        # the score and the id, so the analytics read no attempt's row (each holds its draw and answers too).
        Index("ix_attempts_module_submitted", "course_id", "kind", "submitted_at",
              postgresql_include=["user_id", "score", "id"]),
    )


class AttemptAnswer(Base):
    """One answer of a submitted attempt, for question analytics: the choice picked (its index in the question's
    own order) and whether it was right. Written with the attempt's submission; `Attempt.answers` holds the same."""

    __tablename__ = "attempt_answers"

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempts.id"))
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id"), index=True)
    choice: Mapped[int]
    correct: Mapped[bool] = mapped_column(Boolean)

    # An attempt's answers; on PostgreSQL with what question analytics counts, read from the index alone.
    __table_args__ = (Index("ix_attempt_answers_attempt_id", "attempt_id",
                            postgresql_include=["question_id", "choice", "correct"]),)


class Completion(Base):
    """A passed attempt (or an imported record) with its acknowledgement: a certification."""

    __tablename__ = "completions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"))
    version_id: Mapped[int | None] = mapped_column(ForeignKey("course_versions.id"))
    attempt_id: Mapped[int | None] = mapped_column(ForeignKey("attempts.id"), unique=True)
    completed_on: Mapped[date]
    expires_on: Mapped[date]
    score: Mapped[int | None]
    source: Mapped[str] = mapped_column(String(16), default="quiz")
    acknowledged_name: Mapped[str | None] = mapped_column(String(200))
    acknowledged_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Printed on the certificate; a third party checks it at /verify/<code>.
    verification_code: Mapped[str] = mapped_column(String(16), unique=True, default=new_code)
    # A revoked completion no longer certifies from revoked_on, the officer's local date (see status.py).
    revoked_at: Mapped[datetime | None]
    revoked_on: Mapped[date | None]
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    revoked_reason: Mapped[str | None] = mapped_column(Text)

    course: Mapped[Course] = relationship()
    version: Mapped[CourseVersion | None] = relationship()

    # Serves "the latest completion of this officer for this course" with one seek; on PostgreSQL it also holds
    # each completion's expiry and revocation, so that the renewal pass (and the test for a completion valid on a
    # day) reads an officer's completions from the index alone, not one table page for each.
    __table_args__ = (Index("ix_completions_latest", "user_id", "course_id", "completed_on", "id",
                            postgresql_include=["expires_on", "revoked_on"]),)

class Assignment(Base):
    __tablename__ = "assignments"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"))
    due_on: Mapped[date]
    reason: Mapped[str] = mapped_column(String(32))
    assigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None]
    completion_id: Mapped[int | None] = mapped_column(ForeignKey("completions.id"))
    # An update assignment (reason "policy_update"): the version whose changes the officer reads and
    # acknowledges; their certification stands. None for an assignment to take the whole module.
    version_id: Mapped[int | None] = mapped_column(ForeignKey("course_versions.id"))

    course: Mapped[Course] = relationship()
    version: Mapped[CourseVersion | None] = relationship()

    __table_args__ = (
        # At most one open assignment per officer and course.
        Index(
            "uq_assignments_open",
            "user_id",
            "course_id",
            unique=True,
            sqlite_where=text("closed_at IS NULL"),
            postgresql_where=text("closed_at IS NULL"),
        ),
        Index("ix_assignments_user_course", "user_id", "course_id"),
        # The daily sweep's open assignments by due date: those whose reminder or escalation falls due.
        Index("ix_assignments_open_due", "due_on", sqlite_where=text("closed_at IS NULL"),
              postgresql_where=text("closed_at IS NULL")),
    )


class AssignmentChange(Base):
    """One change to an assignment after it was made: its due date corrected or extended, or the assignment
    withdrawn. Rows are only ever added, so an as-of roster can show the due date as it stood on any day."""

    __tablename__ = "assignment_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"))
    kind: Mapped[str] = mapped_column(String(16))          # set_due, extended, withdrawn
    due_on_before: Mapped[date]
    due_on: Mapped[date | None]                            # None for a withdrawal
    reason: Mapped[str] = mapped_column(Text)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    # The officer's unit when the change was made: a withdrawal holds off standing rules while they stay in it.
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))

    # Serves "the due date as it stood at the end of a day" with one seek per assignment.
    __table_args__ = (Index("ix_assignment_changes_assignment_at", "assignment_id", "at", "id"),)


class ExtensionRequest(Base):
    """An officer asks for more time on an open assignment; their supervisor or a coordinator decides."""

    __tablename__ = "extension_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"))
    asked_due_on: Mapped[date | None]
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(String(16), default="pending")   # pending, approved, refused
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]
    decided_due_on: Mapped[date | None]
    note: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_extension_requests_status", "status", "created_at"),)


class Exemption(Base):
    __tablename__ = "exemptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"))
    starts_on: Mapped[date]
    ends_on: Mapped[date]
    reason: Mapped[str] = mapped_column(Text)
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class StandingRule(Base):
    """Everyone in a unit (and below) must hold a course."""

    __tablename__ = "standing_rules"
    __table_args__ = (UniqueConstraint("unit_id", "course_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"))
    # An officer who joins the unit later is due this many days after the rule reaches them.
    days_to_complete: Mapped[int] = mapped_column(default=30)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RequiredPair(Base):
    """One row per (officer, module) that has an assignment, a completion or an exemption, with the facts its
    status is decided from, so that counting the statuses of an agency reads one narrow row per pair.

    Kept by database triggers in the same transaction as every write to assignments, completions and exemptions
    (migrations/versions/2026_11_27_1140_d7f3b8a26e41_required_pairs.py; on PostgreSQL the rows a statement adds
    are kept once per statement, migrations/versions/2026_11_29_0900_f5b2c8d7a1e4_required_pairs_by_statement.py),
    whatever code writes them: nothing in the application writes this table. `training/records/status.py`
    (`pair_facts_query`) reads it.
    """

    __tablename__ = "required_pairs"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"), primary_key=True)
    # The open assignment's due date (None: no open assignment).
    due_on: Mapped[date | None]
    # The expiry of the latest completion never revoked (by completed_on, then id).
    expires_on: Mapped[date | None]
    # The latest completed_on and revoked_on of any of the pair's completions.
    last_completed_on: Mapped[date | None]
    last_revoked_on: Mapped[date | None]
    # The pair's exemptions: how many, the earliest starts_on and the latest ends_on.
    exemptions: Mapped[int] = mapped_column(default=0, server_default="0")
    exempt_starts_on: Mapped[date | None]
    exempt_ends_on: Mapped[date | None]
    # From this day on (None: on any day), the facts above are those of the day: the latest completion never
    # revoked is the latest valid one, and the pair is exempt on a day between exempt_starts_on and
    # exempt_ends_on. It is the latest of last_completed_on, last_revoked_on and, with several exemptions,
    # exempt_ends_on (see `pair_facts_query`).
    settles_on: Mapped[date | None] = mapped_column(index=True)
    # The highest version number of the module the officer has acknowledged (see Acknowledgement), kept by a
    # trigger on acknowledgements (migrations/versions/2026_11_27_1300_e2a7c4d91b36_policy_updates.py).
    acknowledged_version: Mapped[int | None]

    __table_args__ = (
        # The daily renewal pass: per module, the pairs with no open assignment by how soon they expire.
        Index("ix_required_pairs_renewal", "course_id", "expires_on",
              sqlite_where=text("due_on IS NULL"), postgresql_where=text("due_on IS NULL")),
    )


class Acknowledgement(Base):
    """An officer signed for a version of a module or document by typing their name: at the end of the whole
    module, of a policy update, or on reading a document. Rows are only ever added."""

    __tablename__ = "acknowledgements"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"))
    version_id: Mapped[int] = mapped_column(ForeignKey("course_versions.id"))
    version_number: Mapped[int]
    # "module" (the whole module, with its completion), "update" (a policy update) or "document".
    kind: Mapped[str] = mapped_column(String(16))
    # The account's name as written on the account, signed by typing it.
    name: Mapped[str] = mapped_column(String(200))
    acknowledged_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The officer's local day.
    acknowledged_on: Mapped[date]
    # SHA-256 of the exact text (or PDF) shown when a document was signed.
    text_sha256: Mapped[str | None] = mapped_column(String(64))
    completion_id: Mapped[int | None] = mapped_column(ForeignKey("completions.id"))
    # One signature per quiz: of two tabs signing the same attempt, one wins.
    attempt_id: Mapped[int | None] = mapped_column(ForeignKey("attempts.id"), unique=True)
    assignment_id: Mapped[int | None] = mapped_column(ForeignKey("assignments.id"))

    version: Mapped[CourseVersion] = relationship()

    __table_args__ = (Index("ix_acknowledgements_user_course", "user_id", "course_id", "version_number"),)
