"""Keeping note of the uploads the site refused, for a while, so that someone sees a file still waits to be fixed."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, case, delete, exists
from sqlalchemy.orm import Session

from training.audit.models import AuditEvent
from training.audit.service import within_scope_of
from training.imports.csvfile import total
from training.imports.models import ImportRefusal

KEEP_REFUSALS = timedelta(days=90)
# The audit action of a successful import of each kind.
IMPORTED_AS = {"roster": "roster.imported", "completions": "completion.imported", "org": "org.imported"}


def note_refusal(session: Session, kind: str, filename: str, actor_id: int, problems) -> ImportRefusal:
    """An upload of `kind` refused for `problems`: who, when and how many, in the uploader's scope."""
    scope = within_scope_of(session, actor_id)
    refusal = ImportRefusal(kind=kind, filename=filename[:200], actor_id=actor_id, agency_id=scope.agency_id,
                            unit_id=scope.unit_id, problems=total(problems))
    session.add(refusal)
    return refusal


def forget_old_refusals(session: Session, now: datetime) -> None:
    session.execute(delete(ImportRefusal).where(ImportRefusal.at < now - KEEP_REFUSALS))


def not_since_imported() -> ColumnElement[bool]:
    """SQL condition on ImportRefusal: the same person has not imported a file of the same kind since."""
    return ~exists().where(AuditEvent.actor_id == ImportRefusal.actor_id, AuditEvent.at > ImportRefusal.at,
                           AuditEvent.action == case(IMPORTED_AS, value=ImportRefusal.kind))
