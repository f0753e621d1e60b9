"""Verifying the audit chain from the site: the same walk as `flask --app app audit verify`, its result kept
on the trail as an `audit.verified` event, so everyone who reads the trail sees when it was last checked."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from training.access import event_filter
from training.audit.chain import ChainReport, walk
from training.audit.describe import Described, describe_all
from training.audit.models import AuditEvent
from training.audit.service import record
from training.people.models import User

ACTION = "audit.verified"


def verify(session: Session, actor_id: int) -> ChainReport:
    """Walk the whole chain and record what was found."""
    report = walk(session)
    broken = report.broken
    record(session, ACTION, actor_id=actor_id, target="audit", checked=report.checked,
           redacted_events=report.redacted,
           broken_event_id=broken.event_id if broken else None, problem=broken.problem if broken else None)
    return report


@dataclass(frozen=True)
class Verification:
    """The last verification: its own event, and the first broken event it found (None: the chain was intact)."""

    run: Described
    broken: Described | None

    @property
    def checked(self) -> int:
        return self.run.event.details.get("checked", 0)

    @property
    def problem(self) -> str | None:
        return self.run.event.details.get("problem")

    @property
    def broken_id(self) -> int | None:
        return self.run.event.details.get("broken_event_id")


def last_verification(session: Session, viewer: User) -> Verification | None:
    """The latest verification, described for the viewer; None before the first."""
    run = session.scalar(select(AuditEvent).where(AuditEvent.action == ACTION).order_by(AuditEvent.id.desc()).limit(1))
    if run is None:
        return None
    broken_id = run.details.get("broken_event_id")
    # The chain's state is everyone's to know; what the broken event says only for those who may read it.
    broken = session.scalar(select(AuditEvent).where(AuditEvent.id == broken_id, *event_filter(
        session, viewer, agency_id=AuditEvent.agency_id, unit_id=AuditEvent.unit_id,
        subject_id=AuditEvent.subject_id))) if isinstance(broken_id, int) else None
    described = describe_all(session, viewer, [run] + ([broken] if broken else []))
    return Verification(described[0], described[1] if broken else None)
