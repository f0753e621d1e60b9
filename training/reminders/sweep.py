"""The daily sweep: decide which reminders and escalations fall due and queue them in the outbox.

Set-based: a fixed number of INSERT ... SELECT statements whatever the number of
officers. Every row has a unique key, so a second sweep on the same day queues
nothing, and a sweep after a missed day queues the latest reminder once. Given
`agency_ids`, a sweep is for the officers of those agencies alone (None among
them: officers of no agency), whose calendar day `on` is; the daily job sweeps
each group of agencies on the same day once (see training/clock.py).
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import date, timedelta

from sqlalchemy import Date, String, and_, case, cast, exists, literal, or_, select, true, union_all
from sqlalchemy.orm import Session, aliased

from training.clock import of_agencies
from training.db import days_between, insert_ignoring_conflicts, utcnow
from training.people.models import Unit, User
from training.records.models import Assignment, Exemption
from training.reminders.models import Escalation, OutboxMessage
from training.reminders.rules import Schedule

AgencyIds = Sequence[int | None] | None


def _text(value) -> object:
    return cast(value, String)


def _exempt_on(on: date):
    return exists().where(Exemption.user_id == Assignment.user_id, Exemption.course_id == Assignment.course_id,
                          Exemption.starts_on <= on, Exemption.ends_on >= on)


def _open_assignments(on: date, agency_ids: AgencyIds):
    """Open assignments of active officers (of `agency_ids`) who are not exempt on `on`."""
    return (select().select_from(Assignment).join(User, User.id == Assignment.user_id)
            .where(Assignment.closed_at.is_(None), User.active.is_(True), ~_exempt_on(on),
                   *of_agencies(User.agency_id, agency_ids)))


def officer_kind_sql(due_on, on: date, schedule: Schedule):
    """`officer_reminder_kind` as an SQL expression over a due-date column."""
    days_left = days_between(due_on, literal(on, Date))
    before = case(*[(days_left <= step, literal(f"due-in-{step}")) for step in sorted(schedule.days_before)])
    every = schedule.overdue_every
    overdue = literal("overdue-") + _text(1 + every * ((-days_left - 1) // every))
    return case((days_left >= 0, before), else_=overdue)


def queue_officer_reminders(session: Session, on: date, schedule: Schedule, agency_ids: AgencyIds = None) -> Counter:
    """Queue, for each open assignment, the latest reminder to the officer that has fallen due."""
    kind = officer_kind_sql(Assignment.due_on, on, schedule)
    key = (_text(Assignment.user_id) + ":" + _text(Assignment.course_id) + ":"
           + _text(Assignment.due_on) + ":" + kind)
    now = utcnow()
    rows = (_open_assignments(on, agency_ids)
            .add_columns(key, kind, Assignment.user_id, Assignment.course_id, Assignment.due_on,
                         literal(on, Date), literal("pending"), literal(0), literal(now))
            .where(Assignment.due_on <= on + timedelta(days=max(schedule.days_before))))
    stmt = (insert_ignoring_conflicts(session, OutboxMessage)
            .from_select(["key", "kind", "user_id", "course_id", "due_on", "decided_on", "status", "attempts",
                          "created_at"], rows)
            .on_conflict_do_nothing(index_elements=["key"]).returning(OutboxMessage.kind))
    return Counter(_count_label(k) for k in session.scalars(stmt))


def _count_label(kind: str) -> str:
    """due-in-N as it is; overdue-1 is the first day overdue, later ones the weekly reminder."""
    if kind.startswith("overdue-"):
        return "overdue" if kind == "overdue-1" else "overdue-weekly"
    return kind


def escalate(session: Session, on: date, schedule: Schedule, agency_ids: AgencyIds = None) -> Counter:
    """Record each overdue assignment reaching a step of the ladder, once; then one digest per recipient.

    One statement for every step: the open assignments are read once, however long the ladder."""
    counts: Counter = Counter()
    ladder = union_all(*[select(literal(days).label("step_days"), literal(role).label("role"),
                                literal(on - timedelta(days=days), Date).label("due_by"))
                         for days, role in schedule.escalations]).subquery("ladder")
    rows = (_open_assignments(on, agency_ids).join(ladder, true())
            .add_columns(Assignment.user_id, Assignment.course_id, Assignment.due_on, ladder.c.step_days,
                         ladder.c.role, literal(on, Date))
            .where(Assignment.due_on <= ladder.c.due_by))
    stmt = (insert_ignoring_conflicts(session, Escalation)
            .from_select(["user_id", "course_id", "due_on", "step_days", "role", "decided_on"], rows)
            .on_conflict_do_nothing(index_elements=["user_id", "course_id", "due_on", "step_days"])
            .returning(Escalation.role))
    counts.update(f"escalated-{role}" for role in session.scalars(stmt))
    for role in sorted({role for _, role in schedule.escalations}):
        counts[f"escalation-{role}"] += _queue_digests(session, on, role, agency_ids)
    return counts


def _recipients(on: date, role: str, agency_ids: AgencyIds):
    """Ids of those who get a digest today: the supervisors, or the coordinators whose scope holds,
    officers (of `agency_ids`) escalated today at a step of `role`."""
    officer = aliased(User, name="officer")
    theirs = of_agencies(officer.agency_id, agency_ids)
    if role == "supervisor":
        return (select(officer.supervisor_id).select_from(Escalation)
                .join(officer, officer.id == Escalation.user_id)
                .join(User, and_(User.id == officer.supervisor_id, User.active.is_(True)))
                .where(Escalation.decided_on == on, Escalation.role == role, *theirs).distinct())
    # Few coordinators, many escalations: start from the coordinators and look for one officer of theirs.
    officer_unit, scope_unit = aliased(Unit, name="officer_unit"), aliased(Unit, name="scope_unit")
    in_scope = (select(Escalation.id).join(officer, officer.id == Escalation.user_id)
                .where(Escalation.decided_on == on, Escalation.role == role, *theirs)
                .outerjoin(officer_unit, officer_unit.id == officer.unit_id)
                .where(officer.agency_id == User.agency_id,
                       or_(User.scope_unit_id.is_(None), officer_unit.path.startswith(scope_unit.path))))
    return (select(User.id).outerjoin(scope_unit, scope_unit.id == User.scope_unit_id)
            .where(User.role == "coordinator", User.active.is_(True), User.agency_id.is_not(None),
                   in_scope.exists()))


def _queue_digests(session: Session, on: date, role: str, agency_ids: AgencyIds) -> int:
    kind = f"escalation-{role}"
    recipients = _recipients(on, role, agency_ids).subquery()
    recipient_id = recipients.c[0]
    rows = select(literal(f"{kind}:") + _text(recipient_id) + literal(f":{on.isoformat()}"), literal(kind),
                  recipient_id, literal(on, Date), literal("pending"), literal(0),
                  literal(utcnow())).where(recipient_id.is_not(None))
    stmt = (insert_ignoring_conflicts(session, OutboxMessage)
            .from_select(["key", "kind", "user_id", "decided_on", "status", "attempts", "created_at"], rows)
            .on_conflict_do_nothing(index_elements=["key"]).returning(OutboxMessage.id))
    return len(session.scalars(stmt).all())


def sweep(session: Session, on: date, schedule: Schedule, agency_ids: AgencyIds = None) -> Counter:
    """Queue every reminder and escalation digest that has fallen due on `on` (for the officers of
    `agency_ids`); counts by kind."""
    counts = queue_officer_reminders(session, on, schedule, agency_ids)
    counts.update(escalate(session, on, schedule, agency_ids))
    return counts
