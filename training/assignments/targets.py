"""Selecting officers by employee id, unit subtree or agency."""
from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from training.people.models import Agency, Unit, User
from training.people.service import subtree_ids


class UnknownTarget(LookupError):
    pass


def officers_of(session: Session, *, officer: str | None = None, unit: str | None = None,
                agency: str | None = None) -> tuple[Select, str]:
    """A select of user ids for exactly one target, and the reason to record for it."""
    if sum(x is not None for x in (officer, unit, agency)) != 1:
        raise UnknownTarget("name exactly one of an officer, a unit or an agency")
    if officer is not None:
        user_id = session.scalar(select(User.id).where(User.employee_id == officer))
        if user_id is None:
            raise UnknownTarget(f"no officer has employee id {officer}")
        return select(User.id).where(User.id == user_id), "individual"
    if unit is not None:
        found = session.scalar(select(Unit).where(Unit.code == unit))
        if found is None:
            raise UnknownTarget(f"no unit has code {unit}")
        return select(User.id).where(User.unit_id.in_(subtree_ids(session, found))), "unit"
    agency_id = session.scalar(select(Agency.id).where(Agency.code == agency))
    if agency_id is None:
        raise UnknownTarget(f"no agency has code {agency}")
    return select(User.id).where(User.agency_id == agency_id), "agency"
