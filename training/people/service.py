"""Who may see whom: scope rules over people."""
from __future__ import annotations

from sqlalchemy import ColumnElement, false, select
from sqlalchemy.orm import Session

from training.people.models import Unit, User


def scope_filter(session: Session, viewer: User, *, agency_id=User.agency_id, unit_id=User.unit_id,
                 user_id=User.id) -> list[ColumnElement[bool]]:
    """Conditions limiting rows to what `viewer` may see: on User, or on the columns given.

    Administrators see everyone; coordinators and compliance staff their agency,
    or their unit subtree when they have one (department-level staff have no
    agency and see every agency); officers only themselves (nothing, where rows
    are not about one person: `user_id=None`).
    """
    if viewer.role == "admin":
        return []
    if viewer.role in ("coordinator", "compliance"):
        if viewer.scope_unit_id is not None:
            unit = session.get(Unit, viewer.scope_unit_id)
            if unit is None:
                return [false()]
            return [unit_id.in_(subtree_ids(session, unit))]
        if viewer.agency_id is not None:
            return [agency_id == viewer.agency_id]
        return []
    return [user_id == viewer.id] if user_id is not None else [false()]


def unit_path(parent: Unit | None, unit_id: int) -> str:
    return f"{parent.path if parent else '/'}{unit_id}/"


def unit_in_scope(session: Session, viewer: User, unit: Unit) -> bool:
    """Whether a coordinator, compliance user or administrator may act on or see `unit`."""
    if viewer.role == "admin":
        return True
    if viewer.role not in ("coordinator", "compliance"):
        return False
    if viewer.agency_id is not None and unit.agency_id != viewer.agency_id:
        return False
    if viewer.scope_unit_id is not None:
        scope = session.get(Unit, viewer.scope_unit_id)
        return scope is not None and unit.path.startswith(scope.path)
    return True


def place_in_scope(session: Session, viewer: User, agency_id: int | None, unit_id: int | None) -> bool:
    """Whether a place in the organisation (an agency, and a unit of it or none) is within the viewer's scope."""
    if viewer.role == "admin":
        return True
    if unit_id is not None:
        return unit_in_scope(session, viewer, session.get(Unit, unit_id))
    return viewer.role in ("coordinator", "compliance") and viewer.scope_unit_id is None \
        and viewer.agency_id in (None, agency_id)


def user_in_scope(session: Session, viewer: User, user: User) -> bool:
    return place_in_scope(session, viewer, user.agency_id, user.unit_id)


def agency_in_scope(viewer: User, agency_id: int) -> bool:
    """Whole-agency actions need a scope of the whole agency (or more)."""
    if viewer.role == "admin":
        return True
    return viewer.role in ("coordinator", "compliance") and viewer.scope_unit_id is None \
        and viewer.agency_id in (None, agency_id)


def units_in_scope(session: Session, viewer: User) -> list[Unit]:
    """Units the viewer may open, in tree order."""
    stmt = select(Unit).order_by(Unit.path)
    if viewer.role != "admin":
        if viewer.agency_id is not None:
            stmt = stmt.where(Unit.agency_id == viewer.agency_id)
        if viewer.scope_unit_id is not None:
            scope = session.get(Unit, viewer.scope_unit_id)
            stmt = stmt.where(Unit.path.startswith(scope.path if scope else "\0"))
    return list(session.scalars(stmt))


def subtree_ids(session: Session, unit: Unit) -> list[int]:
    """Ids of the unit and every unit below it.

    Resolved to a list first: a query planner can estimate `unit_id IN (ids)`,
    but not a LIKE on the path, and PostgreSQL then picks nested loops.
    """
    return list(session.scalars(select(Unit.id).where(Unit.path.startswith(unit.path))))
