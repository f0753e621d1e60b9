"""Recording audit events."""
from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from training.audit.chain import link, link_many
from training.audit.models import AuditEvent
from training.db import utcnow


def record(session: Session, action: str, *, actor_id: int | None = None,
           target: str | None = None, **details: Any) -> AuditEvent:
    """Append one event, chained to the one before; it is written with the caller's unit of work."""
    event = AuditEvent(at=utcnow(), actor_id=actor_id, action=action, target=target, details=details)
    link(session, event)
    return event


def record_many(session: Session, action: str, events: list[dict], *, actor_id: int | None = None) -> None:
    """Append many events of one action at once, each {"target": ..., "details": {...}}, chained in order."""
    now = utcnow()
    link_many(session, [{"at": now, "actor_id": actor_id, "action": action, "target": e.get("target"),
                         "details": e["details"]} for e in events])
