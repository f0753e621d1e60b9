"""Who may see whom: scope rules over people."""
from __future__ import annotations

from sqlalchemy import ColumnElement, false, select
from sqlalchemy.orm import Session

from training.people.models import Unit, User


def scope_filter(session: Session, viewer: User) -> list[ColumnElement[bool]]:
    """Conditions on User limiting rows to what `viewer` may see.

    Administrators see everyone; coordinators and compliance staff their agency,
    or their unit subtree when they have one (department-level staff have no
    agency and see every agency); officers only themselves.
    """
    if viewer.role == "admin":
        return []
    if viewer.role in ("coordinator", "compliance"):
        if viewer.scope_unit_id is not None:
            unit = session.get(Unit, viewer.scope_unit_id)
            if unit is None:
                return [false()]
            return [User.unit_id.in_(select(Unit.id).where(Unit.path.startswith(unit.path)))]
        if viewer.agency_id is not None:
            return [User.agency_id == viewer.agency_id]
        return []
    return [User.id == viewer.id]


def unit_path(parent: Unit | None, unit_id: int) -> str:
    return f"{parent.path if parent else '/'}{unit_id}/"
