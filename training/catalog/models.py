"""Courses and their immutable versions."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, ForeignKey, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from training.catalog.content import CYCLES
from training.db import Base, utcnow


class Course(Base):
    __tablename__ = "courses"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    # "course": lessons and a quiz, loaded by `courses sync`; "document": a directive officers read and sign,
    # published on the site (training/documents). Both are assigned, reminded and reported alike.
    kind: Mapped[str] = mapped_column(String(16), default="course", server_default="course")
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text, default="")
    recurrence_months: Mapped[int] = mapped_column(default=12)
    renewal_window_days: Mapped[int] = mapped_column(default=60)
    # Recertifying inside the renewal window counts the new expiry from the previous one.
    renew_from_expiry: Mapped[bool] = mapped_column(Boolean, default=True)
    # anniversary, fiscal-year, calendar-year or a month name: see CYCLES; the current version's.
    cycle: Mapped[str] = mapped_column(String(16), default="anniversary", server_default="anniversary")
    current_version: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # The day the content was last checked against its sources (course.yaml's reviewed_on).
    reviewed_on: Mapped[date | None] = mapped_column(Date)
    # Officers certified when a policy change is published have this many days to take the update.
    update_days: Mapped[int] = mapped_column(default=30, server_default="30")

    versions: Mapped[list[CourseVersion]] = relationship(
        back_populates="course", order_by="CourseVersion.number"
    )

    @property
    def cycle_start_month(self) -> int | None:
        """The month a fixed yearly cycle starts in; None when certifications renew on each anniversary."""
        return CYCLES.get(self.cycle)


class CourseVersion(Base):
    __tablename__ = "course_versions"
    __table_args__ = (UniqueConstraint("course_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"), index=True)
    number: Mapped[int]
    content_hash: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text, default="")
    policy_version: Mapped[str] = mapped_column(Text)
    pass_mark: Mapped[int] = mapped_column(default=80)
    questions_per_attempt: Mapped[int] = mapped_column(default=10)
    cycle: Mapped[str] = mapped_column(String(16), default="anniversary", server_default="anniversary")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The change log entry this version published: "editorial" (no retraining) or "policy" (officers certified
    # on an earlier version take an update); None for a first version and for versions published before
    # change logs, which ask nobody to retrain.
    change_kind: Mapped[str | None] = mapped_column(String(16))
    change_date: Mapped[date | None] = mapped_column(Date)
    change_summary: Mapped[str | None] = mapped_column(Text)
    # How many entries the course's change log held when this version was published: the entries after them
    # are not yet published.
    changes_logged: Mapped[int] = mapped_column(default=0, server_default="0")

    course: Mapped[Course] = relationship(back_populates="versions")
    lessons: Mapped[list[Lesson]] = relationship(order_by="Lesson.position")
    questions: Mapped[list[Question]] = relationship(order_by="Question.id")


class Lesson(Base):
    __tablename__ = "lessons"
    __table_args__ = (UniqueConstraint("version_id", "slug"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("course_versions.id"), index=True)
    position: Mapped[int]
    slug: Mapped[str] = mapped_column(String(120))
    title: Mapped[str] = mapped_column(String(200))
    body_md: Mapped[str] = mapped_column(Text)


class Question(Base):
    __tablename__ = "questions"
    __table_args__ = (UniqueConstraint("version_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("course_versions.id"), index=True)
    key: Mapped[str] = mapped_column(String(64))
    lesson_slug: Mapped[str] = mapped_column(String(120))
    stem: Mapped[str] = mapped_column(Text)
    choices: Mapped[list[str]] = mapped_column(JSON)
    answer_index: Mapped[int]
    explanation: Mapped[str] = mapped_column(Text)
    # Why each choice is wrong, in the order of `choices`, None at the answer; None for questions
    # loaded before wrong answers were explained.
    wrong_explanations: Mapped[list[str | None] | None] = mapped_column(JSON)
    source: Mapped[str] = mapped_column(Text)

    def why_wrong(self, index: int) -> str | None:
        """The explanation of why choice `index` is wrong, when the content gives one."""
        notes = self.wrong_explanations or []
        return notes[index] if 0 <= index < len(notes) else None


class DocumentFile(Base):
    """The PDF of a document version, exactly as uploaded; a Markdown document is its version's one lesson."""

    __tablename__ = "document_files"

    version_id: Mapped[int] = mapped_column(ForeignKey("course_versions.id"), primary_key=True)
    filename: Mapped[str] = mapped_column(String(200))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
