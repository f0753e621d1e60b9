"""Org-chart import: agencies and units from one CSV, all of it or nothing.

One row per unit; a unit's parent is in the file or already in Rollcall, in the
same agency. Agencies and units are matched by code: existing ones are updated,
new ones created, and the materialised unit paths are rewritten wherever the tree
changed.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from training.audit.service import record, within_scope_of
from training.imports.bulk import Progress, expire_loaded
from training.imports.csvfile import ImportRefused, Problem, Problems, read_csv
from training.imports.rules import find_loops, is_time_zone, materialised_paths, missing, too_long
from training.people.models import Agency, Unit

ORG_HEADER = ("agency_code", "agency_name", "time_zone", "unit_code", "unit_name", "parent_unit_code")
ORG_REQUIRED = ORG_HEADER[:5]
# Levels of units below an agency: keeps every unit's path of ids ("/3/17/42/") inside its column.
MAX_DEPTH = 40
ORG_LIMITS = {"agency_code": 32, "agency_name": 200, "time_zone": 64, "unit_code": 64, "unit_name": 200,
              "parent_unit_code": 64}


@dataclass
class OrgAgency:
    line: int
    code: str
    name: str
    time_zone: str


@dataclass
class OrgUnit:
    line: int
    agency_code: str
    code: str
    name: str
    parent_code: str | None


@dataclass
class OrgPlan:
    agencies: dict[str, OrgAgency] = field(default_factory=dict)
    units: dict[str, OrgUnit] = field(default_factory=dict)
    problems: Problems = field(default_factory=Problems)

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class OrgResult:
    agencies_added: int = 0
    agencies_updated: int = 0
    units_added: int = 0
    units_updated: int = 0
    units_moved: int = 0      # existing units whose place in the tree changed, sub-units included


def parse_org_csv(data: bytes, progress: Progress = None) -> OrgPlan:
    """Read an org chart (one row per unit) and check what can be checked without the database.

    Once the file has more problems than are kept (see csvfile.Problems), the lines
    after are each checked on their own only, their problems counted and nothing of
    them kept: the file is refused anyway.
    """
    csv_file = read_csv(data, ORG_HEADER)
    plan = OrgPlan(problems=csv_file.problems)
    count = 0
    for count, (line, cells) in enumerate(csv_file.rows, start=1):
        messages = org_row_problems(cells)
        if not messages and not plan.problems.overflowed:
            messages = _add_org_row(plan, line, cells)
        plan.problems += [(line, message) for message in messages]
        if progress and count % 1000 == 0:
            progress(count)
    if progress and count % 1000:
        progress(count)
    for unit in plan.units.values():
        parent = plan.units.get(unit.parent_code)
        if parent is not None and parent.agency_code != unit.agency_code:
            plan.problems.append((unit.line, f"parent unit {parent.code} is in agency {parent.agency_code} "
                                             f"(line {parent.line}), but unit {unit.code} is in agency "
                                             f"{unit.agency_code}"))
    parents = {code: unit.parent_code for code, unit in plan.units.items()}
    for loop in find_loops(parents, plan.units):
        plan.problems.append((min(plan.units[code].line for code in loop), _unit_loop_message(loop)))
    plan.problems.sort()
    return plan


def org_row_problems(cells: dict[str, str]) -> list[str]:
    messages = [m for m in [missing(cells, ORG_REQUIRED)] if m] + too_long(cells, ORG_LIMITS)
    zone = cells["time_zone"]
    if zone and not is_time_zone(zone):
        messages.append(f"time_zone '{zone}' is not a time zone name like America/New_York")
    return messages


def _add_org_row(plan: OrgPlan, line: int, cells: dict[str, str]) -> list[str]:
    messages = []
    agency = OrgAgency(line, cells["agency_code"], cells["agency_name"], cells["time_zone"])
    first = plan.agencies.setdefault(agency.code, agency)
    if (first.name, first.time_zone) != (agency.name, agency.time_zone):
        messages.append(f"agency {agency.code} is '{agency.name}' ({agency.time_zone}) here but "
                        f"'{first.name}' ({first.time_zone}) on line {first.line}; every row of an agency "
                        f"must give the same name and time zone")
    unit = OrgUnit(line, agency.code, cells["unit_code"], cells["unit_name"], cells["parent_unit_code"] or None)
    if unit.code in plan.units:
        messages.append(f"unit {unit.code} already appears on line {plan.units[unit.code].line}; "
                        f"each unit gets one row")
    elif not messages:
        plan.units[unit.code] = unit
    return messages


def _unit_loop_message(loop: list[str]) -> str:
    if len(loop) == 2:
        return f"unit {loop[0]} cannot be its own parent"
    return f"parent units go round in a loop: {' → '.join(loop)}"


def check_org_plan(session: Session, plan: OrgPlan) -> list[Problem]:
    """Problems that show only against the database: unknown parents, units changing agency, loops."""
    problems = []
    known = {code: (agency, parent) for code, agency, parent in _units_in_db(session)}
    for unit in plan.units.values():
        if unit.code in known and known[unit.code][0] != unit.agency_code:
            problems.append((unit.line, f"unit {unit.code} belongs to agency {known[unit.code][0]} in Rollcall; "
                                        f"an import cannot move a unit to another agency"))
        if unit.parent_code is None or unit.parent_code in plan.units:
            continue
        if unit.parent_code not in known:
            problems.append((unit.line, f"parent unit {unit.parent_code} is neither in this file nor in Rollcall"))
        elif known[unit.parent_code][0] != unit.agency_code:
            problems.append((unit.line, f"parent unit {unit.parent_code} belongs to agency "
                                        f"{known[unit.parent_code][0]}, but unit {unit.code} is in agency "
                                        f"{unit.agency_code}"))
    parents = {code: parent for code, (_, parent) in known.items()}
    parents.update((code, unit.parent_code) for code, unit in plan.units.items())
    for loop in find_loops(parents, plan.units):
        if any(code not in plan.units for code in loop):   # loops inside the file are parse's to report
            problems.append((min(plan.units[c].line for c in loop if c in plan.units), _unit_loop_message(loop)))
    if not problems:
        problems += _too_deep(parents, plan)
    return sorted(problems)


def _too_deep(parents: dict[str, str | None], plan: OrgPlan) -> list[Problem]:
    """Units the plan would put more than MAX_DEPTH levels deep, reported at the file's unit that does it."""
    depth: dict[str, int] = {}
    for code in parents:
        chain, node = [], code
        while node is not None and node not in depth:
            chain.append(node)
            node = parents.get(node)
        level = depth[node] if node is not None else 0
        for member in reversed(chain):
            level += 1
            depth[member] = level
    blamed: dict[str, int] = {}
    for code in (c for c, level in depth.items() if level == MAX_DEPTH + 1):   # once on every chain too deep
        node = code
        while node is not None and node not in plan.units:
            node = parents.get(node)
        if node is not None:
            blamed[node] = plan.units[node].line
    return [(line, f"unit {code} would put units more than {MAX_DEPTH} levels deep; an org chart may be at most "
                   f"{MAX_DEPTH} levels deep") for code, line in blamed.items()]


def _units_in_db(session: Session) -> list[tuple[str, str, str | None]]:
    """(unit code, agency code, parent unit code) of every unit."""
    rows = session.execute(select(Unit.id, Unit.code, Agency.code, Unit.parent_id).join(Agency)).all()
    code_of = {unit_id: code for unit_id, code, _, _ in rows}
    return [(code, agency, code_of.get(parent_id)) for _, code, agency, parent_id in rows]


def apply_org_plan(session: Session, plan: OrgPlan, actor_id: int | None = None,
                   source: str = "org chart", action: str = "org.imported") -> OrgResult:
    """Create or update every agency and unit of the plan, then rewrite the unit paths that changed."""
    problems = plan.problems or check_org_plan(session, plan)
    if problems:
        raise ImportRefused(problems)
    result = OrgResult()
    _write_agencies(session, plan, result)
    _write_units(session, plan, result)
    _rewrite_paths(session, result)
    record(session, action, actor_id=actor_id, target="org", about=within_scope_of(session, actor_id), source=source,
           agencies=sorted(plan.agencies), units=sorted(plan.units), **asdict(result))
    session.flush()
    expire_loaded(session, Agency, Unit)
    return result


def _write_agencies(session: Session, plan: OrgPlan, result: OrgResult) -> None:
    existing = {code: (agency_id, name, zone) for agency_id, code, name, zone
                in session.execute(select(Agency.id, Agency.code, Agency.name, Agency.time_zone))}
    new = [dict(code=a.code, name=a.name, time_zone=a.time_zone)
           for a in plan.agencies.values() if a.code not in existing]
    changed = [dict(id=existing[a.code][0], name=a.name, time_zone=a.time_zone)
               for a in plan.agencies.values()
               if a.code in existing and existing[a.code][1:] != (a.name, a.time_zone)]
    if new:
        session.execute(insert(Agency), new)
    if changed:
        session.execute(update(Agency), changed)
    result.agencies_added, result.agencies_updated = len(new), len(changed)


def _write_units(session: Session, plan: OrgPlan, result: OrgResult) -> None:
    agency_ids = dict(session.execute(select(Agency.code, Agency.id)).all())
    before = {code: (name, parent_id) for code, name, parent_id
              in session.execute(select(Unit.code, Unit.name, Unit.parent_id))}
    new = [u for u in plan.units.values() if u.code not in before]
    if new:   # parents are set below, once every unit has an id
        session.execute(insert(Unit), [dict(agency_id=agency_ids[u.agency_code], code=u.code, name=u.name,
                                            path="/") for u in new])
    unit_ids = dict(session.execute(select(Unit.code, Unit.id)).all())
    changes = []
    for unit in plan.units.values():
        after = (unit.name, unit_ids[unit.parent_code] if unit.parent_code else None)
        if before.get(unit.code) != after:
            changes.append(dict(id=unit_ids[unit.code], name=after[0], parent_id=after[1]))
            if unit.code in before:
                result.units_updated += 1
    if changes:
        session.execute(update(Unit), changes)
    result.units_added = len(new)


def _rewrite_paths(session: Session, result: OrgResult) -> None:
    """Recompute every unit's path from the parents (about a thousand units: cheap) and fix the stale ones."""
    rows = session.execute(select(Unit.id, Unit.parent_id, Unit.path)).all()
    paths = materialised_paths({unit_id: parent_id for unit_id, parent_id, _ in rows})
    stale = [(unit_id, path) for unit_id, _, path in rows if paths[unit_id] != path]
    if stale:
        session.execute(update(Unit), [dict(id=unit_id, path=paths[unit_id]) for unit_id, _ in stale])
    result.units_moved = sum(1 for _, path in stale if path != "/")   # new units still have "/"
