"""Who may see and do what: the roles, their named groups, and scope. The one home of these rules.

Scope: administrators reach everyone; coordinators and compliance staff their
agency, or their unit subtree when they have one (department-level staff, with
neither, reach every agency); officers only themselves. The operator at the
command line (`viewer` None where a function accepts it) reaches everything.

Seeing is scope; acting also needs a role that acts, and never on one's own
records: nobody records a completion, grants an exemption or an extension,
revokes a certificate or closes an assignment for themselves. Views check the
role group (`auth.guards.roles_required`) and then ask these functions about
the object; services refuse acts on oneself (`forbid_own`) whoever calls them.
"""
from __future__ import annotations

from sqlalchemy import ColumnElement, Select, and_, false, or_, select, true
from sqlalchemy.orm import Session

from training.people.models import Agency, Unit, User
from training.people.service import subtree_ids

ROLES = ("officer", "coordinator", "compliance", "admin")

# Named groups of roles; every role check in the site uses one of these.
STAFF = ("coordinator", "compliance", "admin")      # see the people in their scope, their progress and transcripts
MANAGERS = ("coordinator", "admin")                 # assign, extend, exempt, set rules, import rosters
AUDITORS = ("compliance", "admin")                  # export rosters, read the audit trail, hold and revoke certificates
ADMINS = ("admin",)                                 # accounts, roles, org chart, outbox, verifying the audit chain
SECOND_FACTOR_REQUIRED = STAFF                      # must sign in with a second factor
SCOPED = ("coordinator", "compliance")              # staff whose reach is an agency or a unit subtree


# The account fields that decide what a person may see and do: a change to any of them ends every session of
# the account, so the new access starts with a new sign-in (and its second factor).
ACCESS_FIELDS = ("role", "agency_id", "scope_unit_id", "active")


class Forbidden(PermissionError):
    """An act the rules do not allow this person; nothing was changed. Its words are shown as they are."""


def is_in(user: User, group: tuple[str, ...]) -> bool:
    return user.role in group


def supervises(session: Session, user: User) -> bool:
    """Whether anyone reports to the user (any role may be a supervisor): as the signed-in account was loaded
    with it, else from the database."""
    if user.has_reports is not None:
        return user.has_reports
    return session.scalar(select(User.id).where(User.supervisor_id == user.id).limit(1)) is not None


def may_decide_requests(user: User, supervisor: bool) -> bool:
    """Whether the user has a queue of requests for more time: supervisors and managing roles."""
    return supervisor or user.role in MANAGERS


def forbid_own(actor_id: int | None, officer_id: int, act: str) -> None:
    """Separation of duties: nobody does `act` (e.g. 'grant an extension') for themselves."""
    if actor_id is not None and actor_id == officer_id:
        raise Forbidden(f"you cannot {act} for yourself; another coordinator or an administrator must")


def changes_access(changed: set[str] | dict) -> bool:
    """Whether an account change touches what the account may see and do."""
    return any(field in changed for field in ACCESS_FIELDS)


def may_give_role(viewer: User | None, role: str | None) -> bool:
    """Only administrators (and the operator at the command line) make or change staff accounts' roles."""
    return role in (None, "officer") or viewer is None or viewer.role in ADMINS


def may_change_account(session: Session, viewer: User | None, account: User) -> bool:
    """An import may change an officer in the viewer's scope; a staff account only an administrator; never
    one's own account."""
    if viewer is None:
        return True
    if account.id == viewer.id:
        return False
    return may_see_officer(session, viewer, account) and (account.role == "officer" or viewer.role in ADMINS)


def may_supervise(supervisor_agency_id: int | None, officer_agency_id: int | None) -> bool:
    """A supervisor belongs to the officer's agency."""
    return supervisor_agency_id == officer_agency_id


def may_exempt(actor: User | None, officer: User, days: int, max_days: int | None) -> bool:
    """Exemptions for staff, or longer than `max_days`, are an administrator's (or the operator's) to grant."""
    if actor is None or actor.role in ADMINS or max_days is None:
        return True
    return officer.role == "officer" and days <= max_days


def _scope_unit(session: Session, viewer: User) -> Unit | None:
    return session.get(Unit, viewer.scope_unit_id) if viewer.scope_unit_id is not None else None


def scope_filter(session: Session, viewer: User, *, agency_id=User.agency_id, unit_id=User.unit_id,
                 user_id=User.id) -> list[ColumnElement[bool]]:
    """SQL conditions limiting rows to what `viewer` may see: on User, or on the columns given.

    Officers see only their own rows (nothing, where rows are not about one person: `user_id=None`).
    """
    if viewer.role == "admin":
        return []
    if viewer.role in SCOPED:
        if viewer.scope_unit_id is not None:
            unit = _scope_unit(session, viewer)
            if unit is None:
                return [false()]
            return [unit_id.in_(subtree_ids(session, unit))]
        if viewer.agency_id is not None:
            return [agency_id == viewer.agency_id]
        return []
    return [user_id == viewer.id] if user_id is not None else [false()]


def event_filter(session: Session, viewer: User, *, agency_id, unit_id, subject_id) -> list[ColumnElement[bool]]:
    """SQL conditions on audit events (the columns saying what each concerns): the events done to a person,
    unit or agency in the viewer's scope. Who did them does not matter; an event that concerns nothing in
    particular (a content sync, an org chart import) is for administrators and department-level staff."""
    return scope_filter(session, viewer, agency_id=agency_id, unit_id=unit_id, user_id=subject_id)


def may_see_agency(session: Session, viewer: User | None, agency: Agency) -> bool:
    """Whether any part of the agency is within the viewer's scope."""
    if viewer is None or viewer.role == "admin":
        return True
    if viewer.role not in SCOPED:
        return False
    if viewer.scope_unit_id is not None:
        scope = _scope_unit(session, viewer)
        return scope is not None and scope.agency_id == agency.id
    return viewer.agency_id in (None, agency.id)


def _covers_agency(viewer: User, agency_id: int | None) -> bool:
    """Whether the viewer's scope is the whole agency, or more (`agency_id` None: every agency)."""
    if viewer.role == "admin":
        return True
    return viewer.role in SCOPED and viewer.scope_unit_id is None and viewer.agency_id in (None, agency_id)


def may_act_on_agency(viewer: User, agency_id: int) -> bool:
    """Whole-agency work (assigning to every officer of it) needs a managing role and the whole agency."""
    return viewer.role in MANAGERS and _covers_agency(viewer, agency_id)


def may_see_unit(session: Session, viewer: User | None, unit: Unit) -> bool:
    """Whether the unit is within the viewer's scope."""
    if viewer is None or viewer.role == "admin":
        return True
    if viewer.role not in SCOPED:
        return False
    if viewer.agency_id is not None and unit.agency_id != viewer.agency_id:
        return False
    if viewer.scope_unit_id is not None:
        scope = _scope_unit(session, viewer)
        return scope is not None and unit.path.startswith(scope.path)
    return True


def may_see_place(session: Session, viewer: User, agency_id: int | None, unit_id: int | None) -> bool:
    """Whether a place in the organisation (an agency, and a unit of it or none) is within the viewer's scope."""
    if viewer.role == "admin":
        return True
    if unit_id is not None:
        return may_see_unit(session, viewer, session.get(Unit, unit_id))
    return _covers_agency(viewer, agency_id)


def may_act_on_unit(session: Session, viewer: User, unit: Unit) -> bool:
    """Whether the viewer may assign to, or set rules for, the unit and its sub-units."""
    return viewer.role in MANAGERS and may_see_unit(session, viewer, unit)


def may_see_officer(session: Session, viewer: User, officer: User) -> bool:
    """Whether staff may see this person: one in their scope."""
    return viewer.role in STAFF and may_see_place(session, viewer, officer.agency_id, officer.unit_id)


def may_see_progress(session: Session, viewer: User, officer: User) -> bool:
    """Whether the viewer may see this person's progress: staff in scope, or the person's supervisor."""
    return officer.supervisor_id == viewer.id or may_see_officer(session, viewer, officer)


def may_act_on_officer(session: Session, viewer: User, officer: User) -> bool:
    """Whether the viewer may assign, extend or exempt for this person: never themselves."""
    return viewer.id != officer.id and viewer.role in MANAGERS and may_see_officer(session, viewer, officer)


def may_see_records(session: Session, viewer: User, officer: User, group: tuple[str, ...] = STAFF) -> bool:
    """Officers see their own records; staff of `group` those of officers in their scope."""
    if viewer.id == officer.id:
        return True
    return viewer.role in group and may_see_officer(session, viewer, officer)


def act_filter(session: Session, viewer: User | None) -> list[ColumnElement[bool]]:
    """SQL conditions on User: the people whose assignments the viewer may change, many at once (a unit, or
    rows chosen on its page). The viewer's own records stay among them so that the services can report them
    as left alone (`forbid_own`) instead of silently dropping them."""
    if viewer is None:
        return []
    if viewer.role not in MANAGERS:
        return [false()]
    return scope_filter(session, viewer)


def may_decide_extension(session: Session, viewer: User, officer: User) -> bool:
    """An officer's request for more time is decided by their supervisor or a managing role in scope; never
    by the officer."""
    if viewer.id == officer.id:
        return False
    return officer.supervisor_id == viewer.id or may_act_on_officer(session, viewer, officer)


def extension_queue_filter(session: Session, viewer: User) -> ColumnElement[bool]:
    """SQL condition on User: the officers whose requests for more time the viewer decides."""
    reports = User.supervisor_id == viewer.id
    if viewer.role not in MANAGERS:
        return and_(reports, User.id != viewer.id)
    return and_(User.id != viewer.id, or_(reports, and_(true(), *scope_filter(session, viewer))))


def may_revoke(session: Session, viewer: User, officer: User) -> bool:
    """Whether the viewer may revoke this officer's certificates: never their own."""
    return viewer.id != officer.id and viewer.role in AUDITORS and may_see_officer(session, viewer, officer)


def name_for(session: Session, viewer: User | None, person: User | None) -> str:
    """How a person is named to the viewer: by name within their scope, by role alone outside it."""
    if person is None:
        return "system"
    if viewer is None or viewer.id == person.id or may_see_place(session, viewer, person.agency_id, person.unit_id):
        return person.full_name
    return f"{person.role} outside your scope"


def place_check(session: Session, viewer: User | None):
    """`may_see_place` for many rows at once: a function of (agency_id, unit_id), its lookups done once."""
    if viewer is None or viewer.role == "admin":
        return lambda _agency_id, _unit_id: True
    query = _units_in_scope(session, viewer, Unit.id)
    units = set(session.scalars(query)) if query is not None else set()
    return lambda agency_id, unit_id: unit_id in units if unit_id is not None else _covers_agency(viewer, agency_id)


def units_in_scope(session: Session, viewer: User) -> list[Unit]:
    """Units the viewer may open, in tree order."""
    query = _units_in_scope(session, viewer, Unit)
    return list(session.scalars(query.order_by(Unit.path))) if query is not None else []


def _units_in_scope(session: Session, viewer: User, what) -> Select | None:
    """`what` (the units, or a column of theirs) of the units the viewer may open; None when they may open none."""
    stmt = select(what)
    if viewer.role != "admin":
        if viewer.role not in SCOPED:
            return None
        if viewer.agency_id is not None:
            stmt = stmt.where(Unit.agency_id == viewer.agency_id)
        if viewer.scope_unit_id is not None:
            scope = _scope_unit(session, viewer)
            stmt = stmt.where(Unit.path.startswith(scope.path if scope else "\0"))
    return stmt


def agencies_in_scope(session: Session, viewer: User) -> list[Agency]:
    """Agencies the viewer may see, by code."""
    return [a for a in session.scalars(select(Agency).order_by(Agency.code)) if may_see_agency(session, viewer, a)]


def stand_in(role: str, agency_id: int | None, scope_unit_id: int | None) -> User:
    """A viewer that is no account (an API token): a staff member of `role` with this scope, never stored, so
    every rule above decides what it sees and does exactly as for a person with that role and scope."""
    if role not in SCOPED:
        raise ValueError(f"a stand-in sees as a scoped role ({', '.join(SCOPED)}), not {role!r}")
    return User(id=None, role=role, agency_id=agency_id, scope_unit_id=scope_unit_id, active=True,
                first_name="API", last_name="token", email="")
