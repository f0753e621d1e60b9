"""Reading the audit trail: filters, scope, pages and the CSV export."""
from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import Select, and_, case, func, literal, or_, select
from sqlalchemy.orm import Session, aliased

from training.access import event_filter, may_see_officer, scope_filter
from training.audit.describe import KINDS, SECURITY, action_label, security_actions
from training.audit.models import AuditEvent
from training.clock import day_start, viewer_zone
from training.people.models import User

PAGE_SIZE = 50
CSV_COLUMNS = ("id", "at_utc", "actor_email", "action", "target", "details", "details_sha256", "prev_hash", "hash")


@dataclass(frozen=True)
class AuditFilters:
    actor: str | None = None        # part of the actor's name or email
    action: str | None = None
    date_from: date | None = None   # days in the viewer's time zone (training/clock.py, viewer_zone), both included
    date_to: date | None = None
    kind: str | None = None         # a key of describe.KINDS: sign-ins and account security, or the rest

    def as_dict(self) -> dict[str, str]:
        return {k: v.isoformat() if isinstance(v, date) else v for k, v in vars(self).items() if v}


def events_query(session: Session, viewer: User, filters: AuditFilters) -> Select:
    """(event, actor) rows the viewer may read, newest first.

    Administrators (and department-level compliance staff) read everything; others the
    events about a person, unit or agency in their scope, whoever did them. An actor
    outside the viewer's scope is shown by role only, never by address.
    """
    actor = aliased(User, name="actor")
    in_scope = scope_filter(session, viewer, agency_id=actor.agency_id, unit_id=actor.unit_id, user_id=actor.id)
    shown = case((and_(*in_scope), actor.email), else_=actor.role + literal(" outside your scope")) \
        if in_scope else actor.email
    stmt = select(AuditEvent, shown.label("actor")).outerjoin(actor, actor.id == AuditEvent.actor_id)
    stmt = stmt.where(*event_filter(session, viewer, agency_id=AuditEvent.agency_id, unit_id=AuditEvent.unit_id,
                                    subject_id=AuditEvent.subject_id))
    if filters.actor:
        words = filters.actor.strip()
        name = actor.first_name + literal(" ") + actor.last_name
        named = and_(*in_scope, name.icontains(words, autoescape=True)) if in_scope \
            else name.icontains(words, autoescape=True)
        stmt = stmt.where(or_(shown.icontains(words, autoescape=True), named))
    if filters.action:
        stmt = stmt.where(AuditEvent.action == filters.action)
    if filters.kind in KINDS:
        security = AuditEvent.action.in_(security_actions())
        stmt = stmt.where(security if filters.kind == SECURITY else ~security)
    zone = viewer_zone(viewer)
    if filters.date_from:
        stmt = stmt.where(AuditEvent.at >= day_start(filters.date_from, zone))
    if filters.date_to:
        stmt = stmt.where(AuditEvent.at < day_start(filters.date_to + timedelta(days=1), zone))
    return stmt.order_by(AuditEvent.id.desc())


def actions(session: Session) -> list[tuple[str, str]]:
    """(code, plain name) of every action on the trail, by plain name."""
    codes = session.scalars(select(AuditEvent.action).distinct())
    return sorted(((code, action_label(code)) for code in codes), key=lambda pair: (pair[1], pair[0]))


def page(session: Session, viewer: User, filters: AuditFilters, number: int) -> tuple[list, bool]:
    """One page of (event, actor) rows and whether an older page follows."""
    number = max(number, 1)
    rows = session.execute(events_query(session, viewer, filters)
                           .offset((number - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1)).all()
    return rows[:PAGE_SIZE], len(rows) > PAGE_SIZE


def assignment_links(session: Session, viewer: User, events) -> dict[int, tuple[int, int]]:
    """Event id -> (officer id, assignment id) for the events about one assignment (an `assignment_id` in
    their details) whose officer the viewer may see today: their page holds that assignment's history."""
    about = {e.id: (e.subject_id, e.details.get("assignment_id")) for e in events
             if e.subject_id is not None and isinstance(e.details.get("assignment_id"), int)}
    officers = session.scalars(select(User).where(User.id.in_({user_id for user_id, _ in about.values()})))
    visible = {o.id for o in officers if may_see_officer(session, viewer, o)}
    return {event_id: pair for event_id, pair in about.items() if pair[0] in visible}


def last_event_id(session: Session) -> int:
    return session.scalar(select(func.max(AuditEvent.id))) or 0


def count(session: Session, viewer: User, filters: AuditFilters, up_to_id: int) -> int:
    stmt = events_query(session, viewer, filters).where(AuditEvent.id <= up_to_id).order_by(None)
    return session.scalar(select(func.count()).select_from(stmt.subquery()))


def csv_rows(session: Session, viewer: User, filters: AuditFilters, up_to_id: int) -> Iterator[tuple]:
    """The export's rows, streamed, oldest first so the chain reads in order."""
    stmt = (events_query(session, viewer, filters).where(AuditEvent.id <= up_to_id)
            .order_by(None).order_by(AuditEvent.id))
    for event, email in session.execute(stmt.execution_options(yield_per=1000)):
        yield (event.id, event.at.isoformat(timespec="microseconds"), email, event.action, event.target,
               json.dumps(event.details, sort_keys=True, separators=(",", ":"), ensure_ascii=False),
               event.details_sha256, event.prev_hash, event.hash)
