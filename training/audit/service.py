"""Recording audit events, each with what it concerns: the person, unit or agency it was done to."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from training import telemetry
from training.access import SCOPED
from training.audit.chain import link, link_many
from training.audit.models import AuditEvent
from training.db import utcnow
from training.people.models import Agency, Unit, User


@dataclass(frozen=True)
class Concern:
    """The person, unit or agency an event was done to; none of them: only administrators read it."""
    subject_id: int | None = None
    agency_id: int | None = None
    unit_id: int | None = None


NOBODY = Concern()
TRACE_KEY = "x_request_id"


def concern(about: User | Unit | Agency | None) -> Concern:
    if isinstance(about, User):
        return Concern(about.id, about.agency_id, about.unit_id)
    if isinstance(about, Unit):
        return Concern(None, about.agency_id, about.id)
    if isinstance(about, Agency):
        return Concern(None, about.id, None)
    return NOBODY


def within_scope_of(session: Session, actor_id: int | None) -> Concern:
    """For work done over a staff member's whole scope (an import, an export): their agency, or unit subtree."""
    actor = session.get(User, actor_id) if actor_id is not None else None
    if actor is None or actor.role not in SCOPED:
        return NOBODY
    return Concern(None, actor.agency_id, actor.scope_unit_id)


def _people(session: Session, targets: list[str | None]) -> dict[str, Concern]:
    """Concerns of the people named by targets like 'user:12', in one query."""
    ids = {int(t[5:]) for t in targets if t and t.startswith("user:") and t[5:].isdigit()}
    if not ids:
        return {}
    return {f"user:{user_id}": Concern(user_id, agency_id, unit_id) for user_id, agency_id, unit_id
            in session.execute(select(User.id, User.agency_id, User.unit_id).where(User.id.in_(ids)))}


def record(session: Session, action: str, *, actor_id: int | None = None, target: str | None = None,
           about: User | Unit | Agency | Concern | None = None, **details: Any) -> AuditEvent:
    """Append one event, chained to the one before; it is written with the caller's unit of work.

    `about` says what the event concerns; without it, the person a 'user:ID' target names.
    """
    said = about if isinstance(about, Concern) else concern(about)
    if about is None:
        said = _people(session, [target]).get(target, NOBODY)
    event = AuditEvent(at=utcnow(), actor_id=actor_id, action=action, target=target, details=_traced(details),
                       subject_id=said.subject_id, agency_id=said.agency_id, unit_id=said.unit_id)
    link(session, event)
    return event


def _traced(details: dict) -> dict:
    """An event's details with the id of the request or job run that recorded it (`x_request_id`, as the
    X-Request-ID header), which its log lines and the mail it sent carry too."""
    rid = telemetry.request_id()
    return {**details, TRACE_KEY: rid} if rid and TRACE_KEY not in details else details


def record_refusal(session: Session, actor_id: int | None, officer: User, act: str, reason: str) -> AuditEvent:
    """A refused act on a person's records, kept on the trail of the person it concerned."""
    return record(session, "access.refused", actor_id=actor_id, target=f"user:{officer.id}", about=officer, act=act,
                  reason=reason[:500])


def record_many(session: Session, action: str, events: list[dict], *, actor_id: int | None = None) -> None:
    """Append many events of one action at once, each {"target": "user:ID", "details": {...}}, chained in order."""
    now = utcnow()
    concerns = _people(session, [e.get("target") for e in events])
    rows = []
    for e in events:
        said = concerns.get(e.get("target"), NOBODY)
        rows.append({"at": now, "actor_id": actor_id, "action": action, "target": e.get("target"),
                     "details": _traced(e["details"]), "subject_id": said.subject_id, "agency_id": said.agency_id,
                     "unit_id": said.unit_id})
    link_many(session, rows)
