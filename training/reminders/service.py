"""The outbox's rows through their life: queued, claimed by a sender, sent, retried, failed or cancelled."""
from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import date, datetime, timedelta

from sqlalchemy import exists, func, or_, select, update
from sqlalchemy.orm import Session, aliased

from training.audit.service import record, within_scope_of
from training.clock import of_agencies
from training.db import insert_ignoring_conflicts, utcnow
from training.people.models import User
from training.records.models import ExtensionRequest
from training.records.status import course_states
from training.reminders.compose import OPEN_STATUSES
from training.reminders.mail import Letter
from training.reminders.models import OutboxMessage, is_officer_reminder, reminder_applies
from training.reminders.rules import retry_at

# A sender that claimed a row and then vanished (killed between the SMTP server
# accepting a message and the row being marked) leaves the claim; after this long
# another sender sends it again: at most one duplicate, never a loss.
CLAIM_TIMEOUT = timedelta(minutes=15)


def queue_nudges(session: Session, user_ids: list[int], on: date, actor_id: int | None) -> tuple[list[int], int]:
    """Queue one message per officer with something to do; at most one nudge per officer a day.

    Returns the queued rows' ids and how many officers had nothing to do.
    """
    due = {s.user_id for s in course_states(session, on, User.id.in_(user_ids)) if s.status in OPEN_STATUSES}
    rows = [{"key": f"nudge:{user_id}:{on.isoformat()}", "kind": "nudge", "user_id": user_id, "decided_on": on,
             "created_by_id": actor_id, "status": "pending", "attempts": 0, "created_at": utcnow()}
            for user_id in sorted(due)]
    queued = []
    if rows:
        stmt = insert_ignoring_conflicts(session, OutboxMessage).values(rows)
        queued = list(session.scalars(stmt.on_conflict_do_nothing(index_elements=["key"])
                                      .returning(OutboxMessage.id)))
    record(session, "reminder.nudged", actor_id=actor_id, target="officers",
           about=within_scope_of(session, actor_id), selected=len(user_ids),
           queued=len(queued), nothing_due=len(user_ids) - len(due))
    return queued, len(user_ids) - len(due)


def queue_extension_decision(session: Session, request: ExtensionRequest, on: date, actor_id: int | None) -> None:
    """Tell the officer what was decided about their request for more time: one message per request."""
    stmt = insert_ignoring_conflicts(session, OutboxMessage).values(
        key=f"extension:{request.id}", kind="extension-decided", user_id=request.user_id, course_id=request.course_id,
        due_on=request.decided_due_on, decided_on=on, created_by_id=actor_id, status="pending", attempts=0,
        created_at=utcnow())
    session.execute(stmt.on_conflict_do_nothing(index_elements=["key"]))


def cancel_stale(session: Session, on: date, agency_ids: Sequence[int | None] | None = None, *,
                 user_ids: Sequence[int] | None = None) -> int:
    """Cancel pending officer reminders that no longer apply.

    The assignment was completed, extended to another date or withdrawn, the
    officer is exempt on `on` or has left, or a later reminder for the same due
    date has been queued: one UPDATE, whatever path changed the records. With
    `agency_ids`, only the reminders of their officers, whose day `on` is; with
    `user_ids`, only theirs (right after their assignments were changed).
    """
    theirs = ([exists().where(User.id == OutboxMessage.user_id, *of_agencies(User.agency_id, agency_ids))]
              if agency_ids is not None else [])
    if user_ids is not None:
        theirs.append(OutboxMessage.user_id.in_(list(user_ids)))
    later = aliased(OutboxMessage, name="later")
    superseded = exists().where(later.user_id == OutboxMessage.user_id, later.course_id == OutboxMessage.course_id,
                                later.due_on == OutboxMessage.due_on, later.id > OutboxMessage.id)
    result = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.status == "pending", is_officer_reminder(), *theirs,
               or_(~reminder_applies(on), superseded))
        .values(status="cancelled", claimed_at=None)
        .execution_options(synchronize_session=False))
    return result.rowcount


def claim(session: Session, now: datetime, *, after_id: int = 0, force: bool = False,
          ids: list[int] | None = None, limit: int = 100) -> list[OutboxMessage]:
    """Take up to `limit` pending rows (id above `after_id`) for this sender; another sender skips them.

    `force` ignores the retry back-off, as an operator's run does.
    """
    free = or_(OutboxMessage.claimed_at.is_(None), OutboxMessage.claimed_at < now - CLAIM_TIMEOUT)
    conditions = [OutboxMessage.status == "pending", OutboxMessage.id > after_id, free]
    if not force:
        conditions.append(or_(OutboxMessage.next_attempt_at.is_(None), OutboxMessage.next_attempt_at <= now))
    if ids is not None:
        conditions.append(OutboxMessage.id.in_(ids))
    candidates = select(OutboxMessage.id).where(*conditions).order_by(OutboxMessage.id).limit(limit)
    # The conditions are checked again by the UPDATE itself, so two senders never take the same row.
    claiming = (update(OutboxMessage).values(claimed_at=now).returning(OutboxMessage.id)
                .execution_options(synchronize_session=False))
    if session.get_bind().dialect.name == "postgresql":
        taken = _claim_on_postgresql(session, candidates, claiming.where(*conditions))
    else:
        # One statement: SQLite takes its write lock with it (a read first would lose to another sender's write).
        taken = list(session.scalars(claiming.where(OutboxMessage.id.in_(candidates.scalar_subquery()),
                                                    *conditions)))
    if not taken:
        return []
    return list(session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(taken))
                                .order_by(OutboxMessage.id).execution_options(populate_existing=True)))


def _claim_on_postgresql(session: Session, candidates, claiming) -> list[int]:
    """The candidates are read first, on their own, and the UPDATE held to their range of ids: planning on
    statistics from before the sweep queued the rows (as good as none pending), PostgreSQL otherwise reads every
    pending row again for each one it claims, seconds a batch. When another sender took all of them first, the
    next ones are tried."""
    while ids := list(session.scalars(candidates)):
        if taken := list(session.scalars(claiming.where(OutboxMessage.id.between(ids[0], ids[-1]),
                                                        OutboxMessage.id.in_(ids)))):
            return taken
        candidates = candidates.where(OutboxMessage.id > ids[-1])
    return []


def finish(session: Session, rows: list[OutboxMessage], letters: dict[int, Letter | None],
           errors: dict[int, str | None], now: datetime, max_attempts: int) -> Counter:
    """Record what became of claimed rows: sent, cancelled (nothing left to say), or an error with a retry time."""
    counts: Counter = Counter()
    changes = []
    for row in rows:
        change = {"id": row.id, "claimed_at": None}
        letter = letters.get(row.id)
        if letter is None:
            change["status"] = "cancelled"
            counts["cancelled"] += 1
        elif errors.get(row.id) is None:
            change.update(status="sent", sent_at=now, attempts=row.attempts + 1, last_error=None,
                          subject=letter.subject)
            counts["sent"] += 1
        else:
            attempts = row.attempts + 1
            gave_up = attempts >= max_attempts
            change.update(status="failed" if gave_up else "pending", attempts=attempts, last_error=errors[row.id],
                          next_attempt_at=retry_at(attempts, now), subject=letter.subject)
            counts["errors"] += 1
            counts["failed"] += gave_up
        changes.append(change)
    if changes:
        session.execute(update(OutboxMessage), changes)
    return counts


def retry_failed(session: Session, row: OutboxMessage, actor_id: int) -> None:
    """Put a failed message back in the queue for the next delivery, with a fresh count of attempts."""
    if row.status != "failed":
        raise ValueError("only a failed message can be retried")
    row.status, row.attempts, row.next_attempt_at, row.claimed_at = "pending", 0, None, None
    record(session, "outbox.retried", actor_id=actor_id, target=f"outbox:{row.id}", about=row.recipient, kind=row.kind,
           recipient_id=row.user_id, last_error=row.last_error)


def status_counts(session: Session) -> dict[str, int]:
    counts = dict(session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all())
    return {status: counts.get(status, 0) for status in ("pending", "sent", "failed", "cancelled")}

