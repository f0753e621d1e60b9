"""The organisation's tree: units and the units below them."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from training.people.models import Unit


def unit_path(parent: Unit | None, unit_id: int) -> str:
    return f"{parent.path if parent else '/'}{unit_id}/"


def subtree_ids(session: Session, unit: Unit) -> list[int]:
    """Ids of the unit and every unit below it.

    Resolved to a list first: a query planner can estimate `unit_id IN (ids)`,
    but not a LIKE on the path, and PostgreSQL then picks nested loops.
    """
    return list(session.scalars(select(Unit.id).where(Unit.path.startswith(unit.path))))
