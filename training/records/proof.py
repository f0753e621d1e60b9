"""Proof of training: transcripts, certificate facts, verification by code and revocation."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import ColumnElement, and_, exists, or_, select
from sqlalchemy.orm import Session, aliased, selectinload

from training.access import forbid_own
from training.audit.service import record
from training.clock import today_for
from training.db import utcnow
from training.people.models import User
from training.records import codes, rules
from training.records.models import Assignment, Attempt, Completion


class RevokeRefused(ValueError):
    """A refused revocation; nothing was changed."""


def superseded_clause(completion) -> ColumnElement[bool]:
    """SQL: a newer completion of the same officer and course, not revoked, exists."""
    newer = aliased(Completion, name="newer")
    return exists().where(
        newer.user_id == completion.user_id, newer.course_id == completion.course_id,
        newer.revoked_on.is_(None),
        or_(newer.completed_on > completion.completed_on,
            and_(newer.completed_on == completion.completed_on, newer.id > completion.id)))


@dataclass
class TranscriptLine:
    completion: Completion
    state: str


def transcript(session: Session, officer: User, on: date) -> tuple[list[TranscriptLine], list[Attempt]]:
    """Every completion (quiz, imported, demo) with its state on `on`, newest first, and every attempt."""
    rows = session.execute(
        select(Completion, superseded_clause(Completion))
        .where(Completion.user_id == officer.id)
        .options(selectinload(Completion.course), selectinload(Completion.version))
        .order_by(Completion.completed_on.desc(), Completion.id.desc())).all()
    lines = [TranscriptLine(c, rules.verification_state(on, c.expires_on, revoked=c.revoked_on is not None,
                                                        superseded=superseded))
             for c, superseded in rows]
    attempts = list(session.scalars(select(Attempt).where(Attempt.user_id == officer.id)
                                    .options(selectinload(Attempt.course), selectinload(Attempt.version))
                                    .order_by(Attempt.started_at.desc(), Attempt.id.desc())))
    return lines, attempts


@dataclass
class Verification:
    officer_name: str
    course_title: str
    course_code: str
    course_version: int | None
    completed_on: date
    expires_on: date
    state: str
    revoked_on: date | None
    checked_on: date


def verify(session: Session, text: str) -> Verification | None:
    """What a third party may learn from a code; None for anything that is not a known code."""
    code = codes.normalise(text)
    if code is None:
        return None
    row = session.execute(
        select(Completion, User, superseded_clause(Completion))
        .join(User, User.id == Completion.user_id)
        .where(Completion.verification_code == code)
        .options(selectinload(Completion.course), selectinload(Completion.version))).first()
    if row is None:
        return None
    completion, officer, superseded = row
    today = today_for(officer)
    state = rules.verification_state(today, completion.expires_on,
                                     revoked=completion.revoked_on is not None, superseded=superseded)
    return Verification(officer.full_name, completion.course.title, completion.course.code,
                        completion.version.number if completion.version else None,
                        completion.completed_on, completion.expires_on, state,
                        completion.revoked_on, today)


def revoke(session: Session, completion: Completion, actor: User, reason: str) -> None:
    """Withdraw a certificate. It no longer certifies: the assignment it closed opens again
    (or, if it closed none, a new one is due today), unless another is already open."""
    forbid_own(actor.id, completion.user_id, "revoke a certificate")
    reason = " ".join((reason or "").split())
    if len(reason) < 5:
        raise RevokeRefused("Give a reason of at least a few words.")
    if completion.revoked_on is not None:
        raise RevokeRefused("This certificate was already revoked.")
    officer = session.get(User, completion.user_id)
    completion.revoked_at, completion.revoked_on = utcnow(), today_for(officer)
    completion.revoked_by_id, completion.revoked_reason = actor.id, reason
    session.flush()
    reopened = None
    has_open = session.scalar(select(Assignment.id).where(
        Assignment.user_id == completion.user_id, Assignment.course_id == completion.course_id,
        Assignment.closed_at.is_(None)))
    if has_open is None:
        closed = session.scalar(select(Assignment).where(Assignment.completion_id == completion.id)
                                .order_by(Assignment.id.desc()).limit(1))
        if closed is not None:
            closed.closed_at, closed.completion_id = None, None
            reopened = closed
        else:
            reopened = Assignment(user_id=completion.user_id, course_id=completion.course_id,
                                  due_on=today_for(officer), reason="individual", assigned_by_id=actor.id)
            session.add(reopened)
        session.flush()
    record(session, "completion.revoked", actor_id=actor.id, target=f"user:{completion.user_id}",
           completion_id=completion.id, course=completion.course.code,
           completed_on=completion.completed_on.isoformat(), reason=reason,
           assignment_id=reopened.id if reopened else None)

