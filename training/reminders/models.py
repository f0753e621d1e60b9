"""The outbox, the escalations decided, the lease that lets one process run the jobs, and each job's runs."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint, and_, exists, or_
from sqlalchemy.orm import Mapped, mapped_column, relationship

from training.catalog.models import Course
from training.db import Base, utcnow
from training.people.models import User
from training.records.models import Assignment, Exemption

OFFICER_KINDS = ("due-in-", "overdue-")


class OutboxMessage(Base):
    """One message to send. Its text is written when it is sent, from the records as they are then."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Officer reminders: "user:course:due date:kind"; a reminder is never queued twice.
    key: Mapped[str] = mapped_column(String(200), unique=True)
    # due-in-N, overdue-K, escalation-supervisor, escalation-coordinator, nudge
    kind: Mapped[str] = mapped_column(String(32))
    # The recipient.
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    course_id: Mapped[int | None] = mapped_column(ForeignKey("courses.id"))
    due_on: Mapped[date | None]
    # The day the sweep (or a coordinator) decided on this message.
    decided_on: Mapped[date]
    subject: Mapped[str | None] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending, sent, failed, cancelled
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None]
    # Set while a process is sending it; a claim older than the claim time-out is abandoned.
    claimed_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]

    recipient: Mapped[User] = relationship(foreign_keys=[user_id])
    course: Mapped[Course | None] = relationship()

    __table_args__ = (Index("ix_outbox_status", "status", "id"),
                      Index("ix_outbox_recipient", "user_id", "course_id", "due_on"))

    @property
    def is_officer_reminder(self) -> bool:
        return self.kind.startswith(OFFICER_KINDS)


def is_officer_reminder():
    """SQL: the row is a reminder to an officer about one assignment."""
    return or_(*[OutboxMessage.kind.startswith(prefix) for prefix in OFFICER_KINDS])


def reminder_applies(on: date):
    """SQL: an officer reminder's assignment is still open on its due date, the officer active and not exempt
    on `on`. A reminder that no longer applies is neither sent nor shown."""
    still_open = exists().where(Assignment.user_id == OutboxMessage.user_id,
                                Assignment.course_id == OutboxMessage.course_id,
                                Assignment.due_on == OutboxMessage.due_on, Assignment.closed_at.is_(None))
    exempt = exists().where(Exemption.user_id == OutboxMessage.user_id, Exemption.course_id == OutboxMessage.course_id,
                            Exemption.starts_on <= on, Exemption.ends_on >= on)
    active = exists().where(User.id == OutboxMessage.user_id, User.active.is_(True))
    return and_(still_open, ~exempt, active)


class Escalation(Base):
    """An overdue assignment escalated at one step of the ladder: decided once, whatever the sweeps."""

    __tablename__ = "escalations"
    __table_args__ = (UniqueConstraint("user_id", "course_id", "due_on", "step_days"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"))
    due_on: Mapped[date]
    step_days: Mapped[int]
    role: Mapped[str] = mapped_column(String(16))
    decided_on: Mapped[date] = mapped_column(index=True)


class SweepDay(Base):
    """What the last sweep of one agency's officers (agency_key 0: of no agency) left, so that the next one reads
    only the open assignments whose reminder or escalation can have changed since (training/reminders/sweep.py)."""

    __tablename__ = "sweep_days"

    agency_key: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    swept_on: Mapped[date]
    # The last day the sweep read every open assignment of these officers.
    read_all_on: Mapped[date]
    # The schedule the sweep followed (repr of Schedule): another schedule reads every assignment again.
    schedule: Mapped[str] = mapped_column(String(300))
    # The highest assignment and assignment-change ids when it ran, and those of the sweep before it: the next
    # sweep reads the rows added after the earlier pair, so that one committed while a sweep ran is not missed.
    assignments_upto: Mapped[int]
    changes_upto: Mapped[int]
    assignments_after: Mapped[int]
    changes_after: Mapped[int]


class JobLease(Base):
    """Which process may run the scheduled jobs, until when (the lock on databases without advisory locks)."""

    __tablename__ = "job_leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime]


class JobRun(Base):
    """One run of a scheduled job, by the scheduler or a command: when, how it ended, what it did."""

    __tablename__ = "job_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(String(32))           # daily, compliance, delivery
    via: Mapped[str] = mapped_column(String(16))           # scheduler, command
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    outcome: Mapped[str] = mapped_column(String(16), default="running")   # running, succeeded, failed
    counts: Mapped[dict] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_job_runs_job_started", "job", "started_at"),)
