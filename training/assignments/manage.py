"""Managing open assignments, one officer or many at once: withdraw, correct the due date, extend, exempt.

Every change is a row of its own (AssignmentChange, Exemption) with who, when and why, and an audit
event for each officer. The work is set-based: a fixed number of statements, however many officers.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import Select, and_, insert, select, update
from sqlalchemy.orm import Session

from training.access import forbid_own, may_exempt
from training.audit.service import record_many
from training.catalog.models import Course
from training.db import utcnow
from training.people.models import User
from training.records.models import Assignment, AssignmentChange, Exemption
from training.records.rules import add_months
from training.words import plural


class Refused(ValueError):
    """A refused assignment, extension or exemption; nothing was changed. Views and commands show its words."""

    far = False   # refused only for a due date far ahead, which may be confirmed


class FarDate(Refused):
    """A due date further ahead than anyone usually means: done only when confirmed (--allow-far)."""

    far = True


class Refusals(Refused):
    """Every refusal of one request's input, each with the field it is about: shown together."""

    def __init__(self, problems: list[tuple[str, Refused]]):
        self.problems = [(field, str(exc)) for field, exc in problems]
        self.far = any(isinstance(exc, FarDate) for _, exc in problems)
        super().__init__("; ".join(message for _, message in self.problems))


def collect(**checks: Callable[[], object]) -> dict[str, object]:
    """Run every check (by the field it is about) and return what each returned; when any refuses, refuse
    with all of their reasons at once (`Refusals`)."""
    values, problems = {}, []
    for field_name, check in checks.items():
        try:
            values[field_name] = check()
        except Refused as exc:
            problems.extend(exc.problems if isinstance(exc, Refusals) else [(field_name, exc)])
    if problems:
        raise Refusals(problems)
    return values


FAR_MONTHS = 24

# What each action is called in messages, in the audit trail and in the history.
ACTIONS = {
    "withdraw": ("withdrawn", "assignment.withdrawn", "withdraw an assignment"),
    "set_due": ("set_due", "assignment.due_set", "change a due date"),
    "extend": ("extended", "assignment.extended", "grant an extension"),
}
KIND_LABELS = {"set_due": "Due date corrected", "extended": "Extended", "withdrawn": "Withdrawn"}


def require_reason(reason: str | None) -> str:
    reason = " ".join((reason or "").split())
    if len(reason) < 5:
        raise Refused("give a reason of at least a few words; it is kept in the audit trail")
    if len(reason) > 1000:
        raise Refused("keep the reason under 1,000 characters")
    return reason


def far_limit(today: date) -> date:
    return add_months(today, FAR_MONTHS)


def _new_due(due_on: date | None, today: date | None, allow_far: bool) -> None:
    if due_on is None:
        raise Refused("give the new due date")
    if today is not None:
        check_due(due_on, today, allow_far=allow_far)


def check_exemption_days(starts_on: date | None, ends_on: date | None) -> None:
    if ends_on is None:
        raise Refused("give the last day of the exemption")
    if starts_on is not None and ends_on < starts_on:
        raise Refused("the exemption must end on or after the day it starts")


def check_due(due_on: date, today: date, *, allow_far: bool = False) -> None:
    """A due date must not be before today, nor more than two years ahead unless that is confirmed."""
    if due_on < today:
        raise Refused(f"the due date {due_on.isoformat()} is in the past")
    if due_on > far_limit(today) and not allow_far:
        raise FarDate(f"the due date {due_on.isoformat()} is more than two years ahead (after "
                      f"{far_limit(today).isoformat()}); confirm it if it is really meant")


@dataclass
class Changed:
    user_id: int
    employee_id: str | None
    name: str
    assignment_id: int | None
    due_before: date | None
    due_after: date | None


@dataclass
class ManageResult:
    action: str
    course_code: str
    due_on: date | None
    dry_run: bool
    changed: list[Changed] = field(default_factory=list)
    left_alone: dict[str, list[Changed]] = field(default_factory=dict)

    def leave(self, why: str, row: Changed) -> None:
        self.left_alone.setdefault(why, []).append(row)

    def summary(self) -> list[str]:
        """What changed and what was left alone, in lines for a command or a flash message."""
        verb = {"withdraw": "withdrawn", "set_due": "due date set to", "extend": "extended to",
                "exempt": "exempted until"}[self.action]
        when = f" {self.due_on.isoformat()}" if self.due_on and self.action != "withdraw" else ""
        head = "Would be" if self.dry_run else "Done"
        lines = [f"{head}: {self.course_code} {verb}{when} for {plural(len(self.changed), 'officer')}."]
        lines += [f"Left alone: {plural(len(rows), 'officer')}: {why}." for why, rows in self.left_alone.items()]
        return lines


def _rows(session: Session, course: Course, officers: Select) -> list:
    targets = officers.subquery()
    return session.execute(
        select(User.id, User.employee_id, User.first_name, User.last_name, Assignment.id, Assignment.due_on,
               User.unit_id)
        .outerjoin(Assignment, and_(Assignment.user_id == User.id, Assignment.course_id == course.id,
                                    Assignment.closed_at.is_(None)))
        .where(User.id.in_(select(targets.c[0])), User.active.is_(True))
        .order_by(User.last_name, User.first_name, User.id)).all()


def manage_assignments(session: Session, action: str, course: Course, officers: Select, *, reason: str,
                       today: date | None, due_on: date | None = None, actor_id: int | None = None,
                       allow_far: bool = False, dry_run: bool = False) -> ManageResult:
    """Withdraw, correct the due date of (`set_due`, either direction) or extend (`extend`, later only) the
    open assignment of `course` of every active officer selected by `officers` (a select of user ids).

    Officers without an open assignment, whose due date would not change, or the actor themselves are left
    alone and reported; when the actor is the only officer selected, it is refused (`Forbidden`). The new
    due date is checked against `today` (the actor's day; None only where the caller checked it already).
    A withdrawal also holds off the standing rules for that officer and course (see
    `service.apply_standing_rules`).
    """
    kind, event, act = ACTIONS[action]
    reason = collect(reason=lambda: require_reason(reason),
                     due_on=lambda: action == "withdraw" or _new_due(due_on, today, allow_far))["reason"]
    rows = _rows(session, course, officers)
    if len(rows) == 1:
        forbid_own(actor_id, rows[0][0], act)
    result = ManageResult(action, course.code, due_on, dry_run)
    units = {row[0]: row[6] for row in rows}
    for user_id, employee_id, first, last, assignment_id, current, _unit_id in rows:
        row = Changed(user_id, employee_id, f"{last}, {first}", assignment_id, current,
                      None if action == "withdraw" else due_on)
        if user_id == actor_id:
            result.leave("your own records: another coordinator or an administrator must change them", row)
        elif assignment_id is None:
            result.leave(f"no open assignment of {course.code}", row)
        elif action == "extend" and due_on <= current:
            result.leave("already due on or after that date (an extension only gives more time)", row)
        elif action == "set_due" and due_on == current:
            result.leave("already due on that date", row)
        else:
            result.changed.append(row)
    if dry_run or not result.changed:
        return result
    now = utcnow()
    ids = [c.assignment_id for c in result.changed]
    values = {"closed_at": now} if action == "withdraw" else {"due_on": due_on}
    session.execute(update(Assignment).where(Assignment.id.in_(ids), Assignment.closed_at.is_(None)).values(**values)
                    .execution_options(synchronize_session="fetch"))
    session.execute(insert(AssignmentChange), [
        {"assignment_id": c.assignment_id, "user_id": c.user_id, "course_id": course.id, "kind": kind,
         "due_on_before": c.due_before, "due_on": c.due_after, "reason": reason, "actor_id": actor_id, "at": now,
         "unit_id": units[c.user_id]}
        for c in result.changed])
    record_many(session, event, [
        {"target": f"user:{c.user_id}",
         "details": {"assignment_id": c.assignment_id, "course_id": course.id, "course": course.code,
                     "reason": reason, "previous_due_on": c.due_before.isoformat(),
                     **({"due_on": c.due_after.isoformat()} if c.due_after else {}),
                     **({"of": len(rows)} if len(rows) > 1 else {})}}
        for c in result.changed], actor_id=actor_id)
    return result


def exempt_many(session: Session, course: Course, officers: Select, *, starts_on: date, ends_on: date,
                reason: str, actor: User | None, max_days: int | None, dry_run: bool = False) -> ManageResult:
    """Exempt every active officer selected from `course` for the days given; the actor themselves, and
    those an administrator must exempt (staff, or longer than `max_days`), are left alone and reported."""
    reason = collect(reason=lambda: require_reason(reason),
                     ends_on=lambda: check_exemption_days(starts_on, ends_on))["reason"]
    actor_id = actor.id if actor is not None else None
    days = (ends_on - starts_on).days + 1
    targets = officers.subquery()
    rows = session.execute(
        select(User)
        .where(User.id.in_(select(targets.c[0])), User.active.is_(True))
        .order_by(User.last_name, User.first_name, User.id)).scalars().all()
    if len(rows) == 1:
        forbid_own(actor_id, rows[0].id, "grant an exemption")
    result = ManageResult("exempt", course.code, ends_on, dry_run)
    for user in rows:
        row = Changed(user.id, user.employee_id, f"{user.last_name}, {user.first_name}", None, None, ends_on)
        if user.id == actor_id:
            result.leave("your own records: another coordinator or an administrator must change them", row)
        elif not may_exempt(actor, user, days, max_days):
            result.leave(f"an exemption of {days} days, or one for a staff member, needs an administrator", row)
        else:
            result.changed.append(row)
    if dry_run or not result.changed:
        return result
    now = utcnow()
    session.execute(insert(Exemption), [
        {"user_id": c.user_id, "course_id": course.id, "starts_on": starts_on, "ends_on": ends_on,
         "reason": reason, "granted_by_id": actor_id, "created_at": now} for c in result.changed])
    record_many(session, "exemption.granted", [
        {"target": f"user:{c.user_id}",
         "details": {"course_id": course.id, "course": course.code, "reason": reason,
                     "starts_on": starts_on.isoformat(), "ends_on": ends_on.isoformat(), "of": len(rows)}}
        for c in result.changed], actor_id=actor_id)
    return result
