"""Administering accounts."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from training.access import changes_access
from training.audit.service import record
from training.auth import second_factor, tokens
from training.auth.passwords import password_problem
from training.auth.service import AccountError, find_by_email, hash_password, normalise_email
from training.auth.sessions import end_all_sessions
from training.db import utcnow
from training.imports.csvfile import ImportRefused
from training.imports.org import OrgAgency, OrgPlan, OrgResult, OrgUnit, apply_org_plan, org_row_problems
from training.people.models import ROLES, Agency, Unit, User

FIELDS = ("email", "first_name", "last_name", "employee_id", "role", "agency_id", "unit_id", "scope_unit_id",
          "active")


class AccountProblems(AccountError):
    """Every problem with an account's values at once, each with the field it is about (`agency`, `unit`,
    `scope_unit`, `email`, `employee_id`, `role`, `active`, `password`)."""

    def __init__(self, problems: list[tuple[str, str]]):
        self.problems = problems
        super().__init__("; ".join(message for _, message in problems))


def resolve_codes(session: Session, agency_code: str | None, unit_code: str | None,
                  scope_code: str | None) -> dict:
    """Agency, unit and scope ids from their codes; the units must belong to the agency."""
    agency = session.scalar(select(Agency).where(Agency.code == agency_code)) if agency_code else None
    problems = []
    if agency_code and agency is None:
        problems.append(("agency", f"no agency has code {agency_code}"))
    ids = {"agency_id": agency.id if agency else None, "unit_id": None, "scope_unit_id": None}
    for key, field, code in (("unit_id", "unit", unit_code), ("scope_unit_id", "scope_unit", scope_code)):
        if not code:
            continue
        unit = session.scalar(select(Unit).where(Unit.code == code))
        if unit is None:
            problems.append((field, f"no unit has code {code}"))
        elif agency is None or unit.agency_id != agency.id:
            problems.append((field, f"unit {code} is not part of the chosen agency"))
        else:
            ids[key] = unit.id
    if problems:
        raise AccountProblems(problems)
    return ids


def account_problems(session: Session, user: User | None, values: dict, password: str | None, *,
                     actor_id: int) -> list[tuple[str, str]]:
    """Every reason the account cannot be saved with these values, each with its field."""
    problems = []
    if values["role"] not in ROLES:
        problems.append(("role", f"role must be one of {', '.join(ROLES)}"))
    other = find_by_email(session, values["email"])
    if other is not None and other is not user:
        problems.append(("email", f"{values['email']} is already used by another account"))
    if values["employee_id"]:
        clash = session.scalar(select(User).where(User.employee_id == values["employee_id"]))
        if clash is not None and clash is not user:
            problems.append(("employee_id", f"employee id {values['employee_id']} is already used by another account"))
    if user is None and not password:
        problems.append(("password", "a new account needs a password"))
    elif password and (problem := password_problem(password, values["email"])):
        problems.append(("password", problem))
    if user is not None and user.id == actor_id and (values["role"] != "admin" or not values["active"]):
        problems.append(("role", "you cannot remove your own administrator role or deactivate yourself"))
    return problems


def save_account(session: Session, user: User | None, values: dict, password: str | None, *,
                 actor_id: int) -> User:
    """Create or update an account; records what changed (never the password)."""
    values = {**values, "email": normalise_email(values["email"]), "employee_id": values.get("employee_id") or None}
    problems = account_problems(session, user, values, password, actor_id=actor_id)
    if problems:
        raise AccountProblems(problems)
    created = user is None
    if created:
        user = User(**{k: values[k] for k in FIELDS}, deactivated_at=None if values["active"] else utcnow())
        session.add(user)
        changed = {k: [None, values[k]] for k in FIELDS}
    else:
        changed = {k: [getattr(user, k), values[k]] for k in FIELDS if getattr(user, k) != values[k]}
        for key in changed:
            setattr(user, key, values[key])
        if "active" in changed:
            user.deactivated_at = None if user.active else utcnow()
    if password:
        user.password_hash = hash_password(password)
        changed["password"] = ["(set)", "(changed)"]
    session.flush()
    if not created and ("password" in changed or changes_access(changed)):
        # A new password, or a change of what the account may see and do, signs it out everywhere.
        end_all_sessions(session, user.id, utcnow())
    if not created and not user.active and "active" in changed:
        tokens.revoke_for(session, [user.id], utcnow())
    if changed:
        action = "user.created" if created else "user.updated"
        record(session, action, actor_id=actor_id, target=f"user:{user.id}", changes=changed)
        if not created and "role" in changed:
            record(session, "user.role_changed", actor_id=actor_id, target=f"user:{user.id}",
                   before=changed["role"][0], after=changed["role"][1])
    return user


def reset_second_factor(session: Session, user: User, *, actor_id: int) -> None:
    second_factor.remove(session, user)
    end_all_sessions(session, user.id, utcnow())
    record(session, "user.second_factor_reset", actor_id=actor_id, target=f"user:{user.id}")


def save_org_entry(session: Session, agency: OrgAgency, unit: OrgUnit | None, *, actor_id: int) -> OrgResult:
    """Add or change one agency, or one unit of an agency, under the org-chart import's rules.

    Raises ImportRefused with what is wrong; nothing is written then.
    """
    cells = {"agency_code": agency.code, "agency_name": agency.name, "time_zone": agency.time_zone,
             "unit_code": unit.code if unit else "-", "unit_name": unit.name if unit else "-",
             "parent_unit_code": (unit.parent_code or "") if unit else ""}
    problems = org_row_problems(cells)
    if unit is not None and unit.parent_code == unit.code:
        problems.append(f"unit {unit.code} cannot be its own parent")
    if problems:
        raise ImportRefused([(0, message) for message in problems])
    plan = OrgPlan(agencies={agency.code: agency}, units={unit.code: unit} if unit else {})
    return apply_org_plan(session, plan, actor_id=actor_id, source="site", action="org.changed")
