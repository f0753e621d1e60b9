"""Selecting officers by employee id, unit subtree or agency."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from training.people.models import Agency, Unit, User
from training.people.service import subtree_ids


class UnknownTarget(LookupError):
    pass


@dataclass(frozen=True)
class Target:
    officers: Select          # user ids
    reason: str               # the assignment reason to record
    about: User | Unit | Agency


def officers_of(session: Session, *, officer: str | None = None, unit: str | None = None,
                agency: str | None = None) -> Target:
    """The officers of exactly one target, the reason to record for assigning to them, and the target itself."""
    if sum(x is not None for x in (officer, unit, agency)) != 1:
        raise UnknownTarget("name exactly one of an officer, a unit or an agency")
    if officer is not None:
        user = session.scalar(select(User).where(User.employee_id == officer))
        if user is None:
            raise UnknownTarget(f"no officer has employee id {officer}")
        return Target(select(User.id).where(User.id == user.id), "individual", user)
    if unit is not None:
        found = session.scalar(select(Unit).where(Unit.code == unit))
        if found is None:
            raise UnknownTarget(f"no unit has code {unit}")
        return Target(select(User.id).where(User.unit_id.in_(subtree_ids(session, found))), "unit", found)
    found = session.scalar(select(Agency).where(Agency.code == agency))
    if found is None:
        raise UnknownTarget(f"no agency has code {agency}")
    return Target(select(User.id).where(User.agency_id == found.id), "agency", found)


OFFICERS_LISTED = 1000


def officers_listed(session: Session, unit: Unit, limit: int = OFFICERS_LISTED) -> list[User]:
    """The active people of a unit and its sub-units, by name, to choose one from: at most `limit`."""
    return list(session.scalars(
        select(User).where(User.unit_id.in_(subtree_ids(session, unit)), User.active.is_(True))
        .order_by(User.last_name, User.first_name, User.employee_id).limit(limit)))
