"""A compliance officer's home: the compliance rate, what changed since their last roster export, their exports."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from training.access import agencies_in_scope, scope_filter
from training.audit.models import AuditEvent
from training.people.models import User
from training.records.models import Assignment, Completion, Exemption
from training.reports.dashboard import Dashboard, dashboard, scope_of

EXPORT_ACTIONS = {"export.roster": "Roster", "export.acknowledgements": "Acknowledgements",
                  "export.audit": "Audit trail"}
RECENT_EXPORTS = 5


def compliance_figures(session: Session, viewer: User) -> Dashboard:
    """The compliance dashboard's figures for the viewer's scope now, as the dashboard page shows them."""
    return dashboard(session, scope_of(session, viewer, agencies_in_scope(session, viewer)))


@dataclass
class Changes:
    """Records made in the viewer's scope since `since`, each with the audit action that lists them."""

    since: datetime
    counts: dict[str, int]      # completions, assignments, revocations, exemptions


# What a change is, the table and time that say when it happened, and the audit action listing the events.
CHANGES = {
    "completions": (Completion.user_id, Completion.created_at, "completion.recorded"),
    "assignments": (Assignment.user_id, Assignment.created_at, "assignment.created"),
    "revocations": (Completion.user_id, Completion.revoked_at, "completion.revoked"),
    "exemptions": (Exemption.user_id, Exemption.created_at, "exemption.granted"),
}


def changes_since_last_export(session: Session, viewer: User) -> Changes | None:
    """What changed in scope since the viewer's last roster export; None when they have never exported one."""
    since = session.scalar(select(func.max(AuditEvent.at)).where(AuditEvent.actor_id == viewer.id,
                                                                 AuditEvent.action == "export.roster"))
    if since is None:
        return None
    scope = scope_filter(session, viewer)
    return Changes(since, {name: _count_since(session, user_id, at, since, scope)
                           for name, (user_id, at, _action) in CHANGES.items()})


def _count_since(session: Session, user_id, at, since: datetime, scope: list[ColumnElement[bool]]) -> int:
    return session.scalar(select(func.count()).select_from(user_id.table).join(User, User.id == user_id)
                          .where(at >= since, *scope)) or 0


@dataclass
class Export:
    at: datetime
    action: str
    format: str
    rows: int | None
    filters: dict[str, str]
    complete: bool

    @property
    def kind(self) -> str:
        return EXPORT_ACTIONS[self.action]

    @property
    def ack_query(self) -> dict[str, str]:
        """The format and filters as the acknowledgements form reads them (its fields are prefixed on the roster
        page), for downloading an acknowledgements export again."""
        return {f"ack-{name}": value for name, value in {"format": self.format, **self.filters}.items()}


def recent_exports(session: Session, viewer: User) -> list[Export]:
    """The viewer's latest roster, acknowledgements and audit trail exports, newest first."""
    events = session.scalars(select(AuditEvent).where(AuditEvent.actor_id == viewer.id,
                                                      AuditEvent.action.in_(EXPORT_ACTIONS))
                             .order_by(AuditEvent.id.desc()).limit(RECENT_EXPORTS))
    return [Export(e.at, e.action, e.details.get("format", "csv"), e.details.get("rows"),
                   dict(e.details.get("filters") or {}), e.details.get("complete", True)) for e in events]
