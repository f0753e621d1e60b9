"""Recording audit events."""
from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from training.audit.models import AuditEvent


def record(session: Session, action: str, *, actor_id: int | None = None,
           target: str | None = None, **details: Any) -> AuditEvent:
    """Append one event; it is written with the caller's unit of work."""
    event = AuditEvent(actor_id=actor_id, action=action, target=target, details=details)
    session.add(event)
    return event
