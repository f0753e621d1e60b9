"""Roster import: officers' accounts from one CSV, all of it or nothing.

A person is matched by employee_id; an existing account without one (made by
hand) is matched by email. New accounts have no password until an administrator
sets one. With `full`, the file is the whole roster of the agencies it names:
their active officers missing from it are deactivated (never deleted).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from training.access import may_change_account, may_give_role, may_supervise, place_check
from training.imports.bulk import Progress
from training.imports.csvfile import Problem, Problems, read_csv
from training.imports.rules import email_problem, find_loops, missing, too_long
from training.people.models import ROLES, Agency, Unit, User

# How a message names someone the uploader may not see: never by name, id or address.
OUTSIDE = "a person outside your scope"
ROSTER_HEADER = ("employee_id", "first_name", "last_name", "email", "agency", "unit", "supervisor_employee_id")
ROSTER_REQUIRED = ROSTER_HEADER[:6]
ROSTER_LIMITS = {"employee_id": 64, "first_name": 100, "last_name": 100, "email": 254,
                 "supervisor_employee_id": 64}


@dataclass
class RosterRow:
    """One valid row of a roster file, with its codes resolved."""
    line: int
    employee_id: str
    first_name: str
    last_name: str
    email: str
    agency: str
    unit: str
    supervisor: str | None    # employee_id
    role: str | None          # None: keep the account's role (officer for a new one)
    agency_id: int
    unit_id: int

    def describe(self) -> str:
        return (f"line {self.line}: {self.employee_id} {self.first_name} {self.last_name} <{self.email}>, "
                f"{self.agency} / {self.unit}")


@dataclass
class RosterChange:
    row: RosterRow
    user_id: int
    changes: dict[str, tuple[Any, Any]]    # field -> (now, after the import), as the file names fields

    def describe(self) -> str:
        said = ", ".join(f"{name} {_shown(old)} → {_shown(new)}" for name, (old, new) in self.changes.items())
        return f"line {self.row.line}: {self.row.employee_id} {self.row.first_name} {self.row.last_name}: {said}"


@dataclass
class Departure:
    user_id: int
    employee_id: str | None
    name: str
    email: str

    def describe(self) -> str:
        return f"{self.employee_id or '(no employee_id)'} {self.name} <{self.email}>"


@dataclass
class RosterPlan:
    full: bool = False
    rows: int = 0
    to_add: list[RosterRow] = field(default_factory=list)
    to_change: list[RosterChange] = field(default_factory=list)
    to_deactivate: list[Departure] = field(default_factory=list)
    unchanged: int = 0
    problems: Problems = field(default_factory=Problems)
    known_ids: dict[str, int] = field(default_factory=dict)   # employee_id -> user id, existing supervisors
    employee_ids: list[str] = field(default_factory=list)     # every valid row's, in file order

    @property
    def ok(self) -> bool:
        return not self.problems

    def counts(self) -> dict[str, int]:
        return {"added": len(self.to_add), "changed": len(self.to_change),
                "deactivated": len(self.to_deactivate), "unchanged": self.unchanged}


def _shown(value: Any) -> str:
    return "(none)" if value is None or value == "" else str(value)


@dataclass
class _Known:
    """What the database holds: the agencies and units, loaded at once; the people (the columns the import
    compares), loaded when first asked for, as a file none of whose rows is valid never needs them."""
    session: Session
    agencies: dict[str, int]
    agency_codes: dict[int, str]
    units: dict[str, tuple[int, int]]     # code -> (unit id, agency id)
    unit_codes: dict[int, str]
    in_scope: Callable[[int | None, int | None], bool]   # (agency id, unit id): within the uploader's scope

    def visible(self, person: Any) -> bool:
        return self.in_scope(person.agency_id, person.unit_id)

    @classmethod
    def load(cls, session: Session, in_scope: Callable[[int | None, int | None], bool]) -> _Known:
        agencies = dict(session.execute(select(Agency.code, Agency.id)).all())
        units = {code: (unit_id, agency_id) for unit_id, code, agency_id
                 in session.execute(select(Unit.id, Unit.code, Unit.agency_id))}
        return cls(session, agencies, {v: k for k, v in agencies.items()}, units,
                   {unit_id: code for code, (unit_id, _) in units.items()}, in_scope)

    @cached_property
    def people(self) -> list[Any]:
        return self.session.execute(select(
            User.id, User.employee_id, User.email, User.first_name, User.last_name, User.agency_id,
            User.unit_id, User.supervisor_id, User.role, User.active).order_by(User.id)).all()

    @cached_property
    def by_id(self) -> dict[int, Any]:
        return {p.id: p for p in self.people}

    @cached_property
    def by_employee_id(self) -> dict[str, Any]:
        return {p.employee_id: p for p in self.people if p.employee_id}

    @cached_property
    def by_email(self) -> dict[str, Any]:
        return {p.email.lower(): p for p in self.people}


def parse_roster_csv(session: Session, data: bytes, full: bool = False, progress: Progress = None,
                     viewer: User | None = None) -> RosterPlan:
    """Check a roster file against the database and work out who is added, changed and (full) deactivated.

    A person is matched by employee_id; an existing account without one (made by
    hand) is matched by email. With `full`, active officers of the agencies named
    in the file who are not in it are deactivated (never deleted).

    `viewer` is the staff member uploading (None: the operator at the command line):
    rows may only place people within their scope and change accounts they may
    change, and nothing about a person outside their scope is said, only that a
    row names one.

    Once a file has more problems than are kept (see csvfile.Problems), the lines
    after are each checked on their own only and their problems counted: the file is
    refused anyway, and the checks across lines and against the officers in Rollcall
    would need every line kept.
    """
    csv_file = read_csv(data, ROSTER_HEADER, extra_columns=True)
    plan = RosterPlan(full=full, problems=csv_file.problems)
    if not csv_file.header:
        return plan
    known = _Known.load(session, place_check(session, viewer))
    rows, in_file, whole = _check_rows(csv_file.rows, known, plan.problems, progress)
    plan.rows = csv_file.count
    if not whole or not rows:
        plan.problems.sort()
        return plan
    _check_scope(viewer, rows, known, plan.problems)
    matched = _match_people(rows, known, plan.problems)
    _check_accounts(session, viewer, rows, matched, known, plan.problems)
    if full:
        agencies = {row.agency_id for row in rows}
        kept = {person.id for person in matched.values() if person is not None}
        plan.to_deactivate = [Departure(p.id, p.employee_id, f"{p.first_name} {p.last_name}", p.email)
                              for p in known.people if p.active and p.role == "officer" and known.visible(p)
                              and p.agency_id in agencies and p.id not in kept]
    _check_supervisors(plan, rows, in_file, matched, known)
    _check_supervisor_loops(plan, rows, matched, known)
    if plan.problems:
        plan.problems.sort()
        plan.to_deactivate = []
        return plan
    plan.employee_ids = [row.employee_id for row in rows]
    for row in rows:
        person = matched[row.employee_id]
        if person is None:
            plan.to_add.append(row)
        elif changes := officer_changes(person, row, known):
            plan.to_change.append(RosterChange(row, person.id, changes))
        else:
            plan.unchanged += 1
    return plan


def roster_row(line: int, cells: dict[str, str], known: _Known) -> tuple[RosterRow | None, list[str]]:
    """One row checked on its own: required values, lengths, email, agency, unit and role."""
    messages = [m for m in [missing(cells, ROSTER_REQUIRED)] if m] + too_long(cells, ROSTER_LIMITS)
    email, agency, unit, role = cells["email"].lower(), cells["agency"], cells["unit"], cells.get("role", "").lower()
    if email and (problem := email_problem(email)):
        messages.append(problem)
    agency_id = known.agencies.get(agency)
    if agency and agency_id is None:
        messages.append(f"agency {agency} is not in Rollcall; check the code, or import the org chart first")
    unit_id, unit_agency = known.units.get(unit, (None, None))
    if unit and unit_id is None:
        messages.append(f"unit {unit} is not in Rollcall; check the code, or import the org chart first")
    elif agency_id is not None and unit_agency is not None and unit_agency != agency_id:
        messages.append(f"unit {unit} belongs to agency {known.agency_codes[unit_agency]}, not {agency}")
    if role and role not in ROLES:
        messages.append(f"role '{role}' is not one of {', '.join(ROLES)}")
    if messages:
        return None, messages
    return RosterRow(line, cells["employee_id"], cells["first_name"], cells["last_name"], email, agency, unit,
                     cells["supervisor_employee_id"] or None, role or None, agency_id, unit_id), []


def _check_rows(numbered: Iterable[tuple[int, dict[str, str]]], known: _Known, problems: Problems,
                progress: Progress) -> tuple[list[RosterRow], set[str], bool]:
    """Every row on its own, then duplicates inside the file. Returns the valid rows, every employee_id, and
    whether those are the whole file's: once `problems` overflowed, no line after is kept or remembered."""
    rows, first_line_of_id, first_line_of_email = [], {}, {}
    whole, count = True, 0
    for count, (line, cells) in enumerate(numbered, start=1):
        row, messages = roster_row(line, cells, known)
        whole = whole and not problems.overflowed
        employee_id, email = cells["employee_id"], cells["email"].lower()
        for key, first_line_of, what in ((employee_id, first_line_of_id, "employee_id"),
                                         (email, first_line_of_email, "email")):
            first = first_line_of.get(key) if key else None
            if first is not None:
                messages.append(f"{what} {key} already appears on line {first}")
            elif key and whole:
                first_line_of[key] = line
        problems.extend((line, message) for message in messages)
        if row is not None and not messages and whole:
            rows.append(row)
        if progress and count % 1000 == 0:
            progress(count)
    if progress and count % 1000:
        progress(count)
    return rows, set(first_line_of_id), whole


def _match_people(rows: list[RosterRow], known: _Known, problems: list[Problem]) -> dict[str, Any]:
    """employee_id -> the existing account of each row (None: a new person); flags emails taken by others."""
    matched = {}
    for row in rows:
        person = known.by_employee_id.get(row.employee_id)
        holder = known.by_email.get(row.email)
        if person is None and holder is not None and holder.employee_id is None:
            person = holder   # an account made by hand now joins the roster
        if holder is not None and holder is not person:
            if known.visible(holder):
                who = f"{holder.employee_id} " if holder.employee_id else ""
                problems.append((row.line, f"email {row.email} is already used by {who}({holder.first_name} "
                                           f"{holder.last_name}) in Rollcall"))
            else:
                problems.append((row.line, f"email {row.email} is already used by {OUTSIDE}"))
        matched[row.employee_id] = person
    return matched


def _check_supervisors(plan: RosterPlan, rows: list[RosterRow], in_file: set[str], matched: dict[str, Any],
                       known: _Known) -> None:
    leaving = {d.employee_id for d in plan.to_deactivate}
    for row in rows:
        boss = row.supervisor
        if boss is None:
            continue
        person = matched.get(boss) if boss in in_file else known.by_employee_id.get(boss)
        if boss in in_file:
            boss_agency = next(r.agency for r in rows if r.employee_id == boss)
            if boss_agency != row.agency:
                plan.problems.append((row.line, f"supervisor_employee_id {boss} is in agency {boss_agency} in this "
                                                f"file, not {row.agency}; a supervisor belongs to the officer's "
                                                f"agency"))
        elif person is not None and not known.visible(person):
            if not may_supervise(person.agency_id, row.agency_id) or not person.active or boss in leaving:
                plan.problems.append((row.line, f"supervisor_employee_id {boss} names {OUTSIDE} who cannot "
                                                f"supervise this officer"))
        else:
            if person is None:
                plan.problems.append((row.line, f"supervisor_employee_id {boss} is neither in this file nor "
                                                f"an officer in Rollcall"))
            elif not person.active:
                plan.problems.append((row.line, f"supervisor_employee_id {boss} ({person.first_name} "
                                                f"{person.last_name}) is deactivated in Rollcall and not in "
                                                f"this file"))
            elif boss in leaving:
                plan.problems.append((row.line, f"supervisor_employee_id {boss} ({person.first_name} "
                                                f"{person.last_name}) is not in this file, so this full import "
                                                f"would deactivate them"))
            elif not may_supervise(person.agency_id, row.agency_id):
                plan.problems.append((row.line, f"supervisor_employee_id {boss} ({person.first_name} "
                                                f"{person.last_name}) belongs to agency "
                                                f"{known.agency_codes.get(person.agency_id, '(none)')}, not "
                                                f"{row.agency}; a supervisor belongs to the officer's agency"))
        if person is not None:
            plan.known_ids[boss] = person.id


def _check_supervisor_loops(plan: RosterPlan, rows: list[RosterRow], matched: dict[str, Any],
                            known: _Known) -> None:
    """Supervisor chains must end: the file's supervisors, and the database's for people not in the file."""
    key_of = {p.id: p.employee_id or f"account #{p.id}" for p in known.people}
    hidden = {key_of[p.id] for p in known.people if not known.visible(p)}
    key_of.update((person.id, employee_id) for employee_id, person in matched.items() if person is not None)
    boss_of = {key_of[p.id]: key_of.get(p.supervisor_id) for p in known.people}
    boss_of.update((row.employee_id, row.supervisor) for row in rows)
    line_of = {row.employee_id: row.line for row in rows}
    for loop in find_loops(boss_of, line_of):
        lines = [line_of[key] for key in loop if key in line_of]
        if not lines:
            continue
        shown = [key if key in line_of or key not in hidden else OUTSIDE for key in loop]
        message = (f"{loop[0]} cannot be their own supervisor" if len(loop) == 2
                   else f"supervisors go round in a loop: {' → '.join(shown)}")
        plan.problems.append((min(lines), message))


def _check_scope(viewer: User | None, rows: list[RosterRow], known: _Known, problems: list[Problem]) -> None:
    """Each row places its person within the uploader's scope, with a role the uploader may give."""
    for row in rows:
        if not known.in_scope(row.agency_id, row.unit_id):
            problems.append((row.line, f"unit {row.unit} of agency {row.agency} is outside your scope"))
        if not may_give_role(viewer, row.role):
            problems.append((row.line, f"only an administrator can give the role '{row.role}'"))


def _check_accounts(session: Session, viewer: User | None, rows: list[RosterRow], matched: dict[str, Any],
                    known: _Known, problems: list[Problem]) -> None:
    """The existing accounts the file would change are ones the uploader may change; nobody changes their own."""
    if viewer is None:
        return
    for row in rows:
        person = matched.get(row.employee_id)
        if person is None:
            continue
        if person.id == viewer.id:
            problems.append((row.line, "this row is your own account; another coordinator or an administrator "
                                       "must change it"))
        elif not may_change_account(session, viewer, person):
            said = (f"employee_id {row.employee_id} names {OUTSIDE}" if not known.visible(person)
                    else f"{row.employee_id} has the role '{person.role}'; only an administrator can change "
                         f"that account")
            problems.append((row.line, said))


CHANGEABLE = ("employee_id", "first_name", "last_name", "email", "agency", "unit", "supervisor_employee_id", "role",
              "active")


def officer_changes(person: Any, row: RosterRow, known: _Known) -> dict[str, tuple[Any, Any]]:
    """Which fields of an existing account the row changes: {field: (now, after)}, in CHANGEABLE order."""
    boss = known.by_id.get(person.supervisor_id)
    now = (person.employee_id, person.first_name, person.last_name, person.email,
           known.agency_codes.get(person.agency_id), known.unit_codes.get(person.unit_id),
           boss.employee_id if boss else None, person.role, person.active)
    after = (row.employee_id, row.first_name, row.last_name, row.email, row.agency, row.unit, row.supervisor,
             row.role or person.role, True)
    if now == after:
        return {}
    return {name: (old, new) for name, old, new in zip(CHANGEABLE, now, after) if old != new}
