"""The daily sweep: decide which reminders and escalations fall due and queue them in the outbox.

Set-based: a fixed number of INSERT ... SELECT statements whatever the number of
officers. Every row has a unique key, so a second sweep on the same day queues
nothing, and a sweep after a missed day queues the latest reminder once. Given
`agency_ids`, a sweep is for the officers of those agencies alone (None among
them: officers of no agency), whose calendar day `on` is; the daily job sweeps
each group of agencies on the same day once (see training/clock.py).

Most days a sweep reads only the open assignments whose reminder or escalation
can have changed since the last sweep of the same officers (`Since`): those due
on the days a new reminder or a step of the ladder falls due, those made or
whose due date changed since, and those whose exemption has ended. Every
`READ_ALL_EVERY` days, on the first sweep, after a schedule change or for a day
before the last one swept, it reads every open assignment, which also reaches
what the narrower read cannot see: an officer made active again, or moved to an
agency swept on another day.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import (
    Date,
    String,
    and_,
    case,
    cast,
    delete,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    true,
    union,
    union_all,
)
from sqlalchemy.orm import Session, aliased

from training.clock import of_agencies
from training.db import days_between, insert_ignoring_conflicts, utcnow
from training.people.models import Agency, Unit, User
from training.records.models import Assignment, AssignmentChange, Exemption
from training.reminders.models import Escalation, OutboxMessage, SweepDay
from training.reminders.rules import Schedule, officer_reminder_kind

AgencyIds = Sequence[int | None] | None


def _text(value) -> object:
    return cast(value, String)


def _exempt_on(on: date):
    return exists().where(Exemption.user_id == Assignment.user_id, Exemption.course_id == Assignment.course_id,
                          Exemption.starts_on <= on, Exemption.ends_on >= on)


READ_ALL_EVERY = timedelta(days=7)


@dataclass(frozen=True)
class Since:
    """What the last sweep of a group of officers left: the day it swept, and the highest assignment and
    assignment-change ids it may not have seen committed."""

    swept_on: date
    assignments_after: int
    changes_after: int


def _open_assignments(on: date, agency_ids: AgencyIds):
    """Open assignments of active officers (of `agency_ids`) who are not exempt on `on`."""
    return (select().select_from(Assignment).join(User, User.id == Assignment.user_id)
            .where(Assignment.closed_at.is_(None), User.active.is_(True), ~_exempt_on(on),
                   *of_agencies(User.agency_id, agency_ids)))


def _candidates(on: date, agency_ids: AgencyIds, since: Since | None, due: Sequence[tuple[date, date]]):
    """The open assignments (user_id, course_id, due_on) to look at on `on`: all of them without `since`;
    else those due within one of the `due` ranges, made or whose due date changed since, or whose officer's
    exemption ended since."""
    def rows(*conditions):
        return _open_assignments(on, agency_ids).add_columns(
            Assignment.user_id, Assignment.course_id, Assignment.due_on).where(*conditions)

    if since is None:
        return rows().subquery("candidate")
    changed = select(AssignmentChange.assignment_id).where(AssignmentChange.id > since.changes_after)
    exemption_ended = exists().where(Exemption.user_id == Assignment.user_id,
                                     Exemption.course_id == Assignment.course_id,
                                     Exemption.ends_on >= since.swept_on, Exemption.ends_on < on)
    arms = [rows(Assignment.id > since.assignments_after), rows(Assignment.id.in_(changed)), rows(exemption_ended)]
    if due:
        arms.append(rows(or_(*[Assignment.due_on.between(first, last) for first, last in due])))
    return union(*arms).subquery("candidate")


def _ranges(days: Iterable[date]) -> list[tuple[date, date]]:
    """Days as the fewest ranges of consecutive days, first and last."""
    ranges: list[tuple[date, date]] = []
    for day in sorted(set(days)):
        if ranges and ranges[-1][1] + timedelta(days=1) == day:
            ranges[-1] = (ranges[-1][0], day)
        else:
            ranges.append((day, day))
    return ranges


def reminder_due_days(on: date, swept_on: date, earliest_due: date | None,
                      schedule: Schedule) -> list[tuple[date, date]]:
    """The due dates for which the latest reminder on `on` differs from the one on `swept_on`, as ranges, back
    to `earliest_due` (the earliest due date of an open assignment)."""
    if earliest_due is None:
        return []
    last_due = on + timedelta(days=max(schedule.days_before))
    days = (earliest_due + timedelta(days=n) for n in range((last_due - earliest_due).days + 1))
    return _ranges(due for due in days
                   if officer_reminder_kind(due, on, schedule) != officer_reminder_kind(due, swept_on, schedule))


def escalation_due_days(on: date, swept_on: date, schedule: Schedule) -> list[tuple[date, date]]:
    """The due dates overdue by a step of the ladder on `on` and not yet on `swept_on`, as ranges."""
    return _ranges(on - timedelta(days=step) - timedelta(days=back)
                   for step, _ in schedule.escalations for back in range((on - swept_on).days))


def officer_kind_sql(due_on, on: date, schedule: Schedule):
    """`officer_reminder_kind` as an SQL expression over a due-date column."""
    days_left = days_between(due_on, literal(on, Date))
    before = case(*[(days_left <= step, literal(f"due-in-{step}")) for step in sorted(schedule.days_before)])
    every = schedule.overdue_every
    overdue = literal("overdue-") + _text(1 + every * ((-days_left - 1) // every))
    return case((days_left >= 0, before), else_=overdue)


def queue_officer_reminders(session: Session, on: date, schedule: Schedule, agency_ids: AgencyIds = None,
                            since: Since | None = None) -> Counter:
    """Queue, for each open assignment (whose reminder can have changed since the last sweep, given `since`),
    the latest reminder to the officer that has fallen due."""
    due = []
    if since is not None:
        earliest = session.scalar(select(func.min(Assignment.due_on)).where(Assignment.closed_at.is_(None)))
        due = reminder_due_days(on, since.swept_on, earliest, schedule)
    candidate = _candidates(on, agency_ids, since, due)
    kind = officer_kind_sql(candidate.c.due_on, on, schedule)
    key = (_text(candidate.c.user_id) + ":" + _text(candidate.c.course_id) + ":"
           + _text(candidate.c.due_on) + ":" + kind)
    now = utcnow()
    rows = (select(key, kind, candidate.c.user_id, candidate.c.course_id, candidate.c.due_on,
                   literal(on, Date), literal("pending"), literal(0), literal(now))
            .where(candidate.c.due_on <= on + timedelta(days=max(schedule.days_before)))
            # In the order of the officer's index and key: each index page is written once, not at random.
            .order_by(candidate.c.user_id, candidate.c.course_id, candidate.c.due_on))
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


def escalate(session: Session, on: date, schedule: Schedule, agency_ids: AgencyIds = None,
             since: Since | None = None) -> Counter:
    """Record each overdue assignment reaching a step of the ladder, once; then one digest per recipient.

    One statement for every step: the open assignments (those that can have reached a step since the last
    sweep, given `since`) are read once, however long the ladder."""
    counts: Counter = Counter()
    ladder = union_all(*[select(literal(days).label("step_days"), literal(role).label("role"),
                                literal(on - timedelta(days=days), Date).label("due_by"))
                         for days, role in schedule.escalations]).subquery("ladder")
    due = escalation_due_days(on, since.swept_on, schedule) if since is not None else []
    candidate = _candidates(on, agency_ids, since, due)
    rows = (select(candidate.c.user_id, candidate.c.course_id, candidate.c.due_on, ladder.c.step_days,
                   ladder.c.role, literal(on, Date))
            .select_from(candidate).join(ladder, true())
            .where(candidate.c.due_on <= ladder.c.due_by)
            .order_by(candidate.c.user_id, candidate.c.course_id, candidate.c.due_on, ladder.c.step_days))  # its key
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
    # Many escalations, few coordinators: the agencies and units of the officers escalated today, each once (kept
    # apart from the coordinators' plan: today's escalations are not yet in the statistics), then the coordinators
    # whose scope holds one of them (an officer placed in no unit, in their agency's scope only).
    officer_unit, scope_unit = aliased(Unit, name="officer_unit"), aliased(Unit, name="scope_unit")
    escalated = (select(officer.agency_id, officer_unit.path).select_from(Escalation)
                 .join(officer, officer.id == Escalation.user_id)
                 .outerjoin(officer_unit, officer_unit.id == officer.unit_id)
                 .where(Escalation.decided_on == on, Escalation.role == role, *theirs).distinct()
                 .cte("escalated").prefix_with("MATERIALIZED", dialect="postgresql"))
    in_scope = exists().where(escalated.c.agency_id == User.agency_id,
                              or_(User.scope_unit_id.is_(None), escalated.c.path.startswith(scope_unit.path)))
    return (select(User.id).outerjoin(scope_unit, scope_unit.id == User.scope_unit_id)
            .where(User.role == "coordinator", User.active.is_(True), in_scope))


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
    last = _last_sweeps(session, agency_ids)
    since = _since([day for _, day in last], on, schedule)
    counts = queue_officer_reminders(session, on, schedule, agency_ids, since)
    counts.update(escalate(session, on, schedule, agency_ids, since))
    _record(session, last, on, schedule, read_all=since is None)
    return counts


def _last_sweeps(session: Session, agency_ids: AgencyIds) -> list[tuple[int, SweepDay | None]]:
    """Each agency of `agency_ids` (every one for None) by its sweep_days key (0: no agency), with what its
    last sweep left, if any: one statement."""
    agencies = select(Agency.id.label("key"))
    if agency_ids is not None:
        agencies = agencies.where(Agency.id.in_([i for i in agency_ids if i is not None]))
    keys = (union_all(agencies, select(literal(0).label("key")))
            if agency_ids is None or None in agency_ids else agencies).subquery("agency_key")
    return [tuple(row) for row in session.execute(
        select(keys.c.key, SweepDay).outerjoin(SweepDay, SweepDay.agency_key == keys.c.key))]


def _since(last: Sequence[SweepDay | None], on: date, schedule: Schedule) -> Since | None:
    """What the last sweeps of a group of agencies left, taken together; None when every open assignment must
    be read: one has never been swept, or under another schedule, or not read in full for READ_ALL_EVERY days,
    or `on` is before a day swept."""
    if not last or any(day is None or day.schedule != repr(schedule) for day in last):
        return None
    swept_on = min(day.swept_on for day in last)
    if max(day.swept_on for day in last) > on or on - min(day.read_all_on for day in last) >= READ_ALL_EVERY:
        return None
    return Since(swept_on, min(day.assignments_after for day in last), min(day.changes_after for day in last))


def _record(session: Session, last: Sequence[tuple[int, SweepDay | None]], on: date, schedule: Schedule,
            read_all: bool) -> None:
    """Write what this sweep leaves for the next one, for each agency of `last`."""
    if not last:
        return
    assignments_upto, changes_upto = session.execute(select(
        select(func.coalesce(func.max(Assignment.id), 0)).scalar_subquery(),
        select(func.coalesce(func.max(AssignmentChange.id), 0)).scalar_subquery())).one()
    rows = [{"agency_key": key, "swept_on": on, "schedule": repr(schedule),
             "read_all_on": on if read_all or day is None else day.read_all_on,
             "assignments_upto": assignments_upto, "changes_upto": changes_upto,
             "assignments_after": assignments_upto if day is None else day.assignments_upto,
             "changes_after": changes_upto if day is None else day.changes_upto} for key, day in last]
    session.execute(delete(SweepDay).where(SweepDay.agency_key.in_([key for key, _ in last])))
    session.execute(insert(SweepDay), rows)
