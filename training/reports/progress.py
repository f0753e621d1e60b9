"""Officers × modules with their statuses: the unit view and the supervisor's view."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import ColumnElement, case, func, literal, select

from training.catalog.models import Course
from training.people.models import Unit, User
from training.records.rules import STATUSES
from training.records.status import ROSTER_ORDER, PairState, pair_facts_query, status_expression
from training.updates.versions import VersionStanding, version_standings

SORTS = {"name": "Name", "unit": "Unit", "attention": "Most overdue first"}
PAGE_SIZE = 100
# How much each status of a module adds to an officer's need of attention, for the "Most overdue first" sort.
_ATTENTION = {"overdue": 3, "lapsed": 3, "expiring": 1, "assigned": 1}


@dataclass
class OfficerRow:
    user_id: int
    name: str
    employee_id: str | None
    unit_code: str | None
    # Per module code: the pair's status and the dates behind it.
    states: dict[str, PairState] = field(default_factory=dict)
    # Per module code: the version signed and the one in force.
    versions: dict[str, VersionStanding] = field(default_factory=dict)


@dataclass
class Progress:
    courses: list[tuple[str, str]]           # (code, title), in column order
    rows: list[OfficerRow]                   # this page
    counts: dict[str, int]                   # cells per status, whole selection before the status filter
    total_officers: int                      # after filters
    page: int
    pages: int


def _pair_states(on: date, *where: ColumnElement[bool]):
    """The required pairs of the active officers matching `where`, each with its status on `on` as SQL."""
    facts = pair_facts_query(on, User.active.is_(True), *where, few=True).subquery("facts")
    return select(facts, status_expression(on, facts.c.expires_on, facts.c.due_on, facts.c.exempt_until)
                  .label("status")).subquery("states")


def progress(session, on: date, *where: ColumnElement[bool], status: str | None = None,
             sort: str = "name", page: int = 1) -> Progress:
    """The page of officers matching `where`, with their statuses, counts, filter and sort from the stored facts of
    their pairs (`pair_facts_query`). The database counts, filters, sorts and cuts the page; only the page's
    officers and their pairs are read."""
    session.flush()  # the rows are read at the Core level, which does not autoflush
    connection = session.connection()
    states = _pair_states(on, *where)
    columns: dict[str, str] = {}
    counts = dict.fromkeys(STATUSES, 0)
    for code, title, state, cells in connection.execute(
            select(Course.code, Course.title, states.c.status, func.count())
            .join(Course, Course.id == states.c.course_id)
            .group_by(Course.code, Course.title, states.c.status)):
        columns[code] = title
        if state in counts:
            counts[state] += cells

    # Every officer selected has a row, whether or not anything is required of them yet.
    officers = (select(User.id, User.employee_id, User.first_name, User.last_name, Unit.code,
                       func.count().over().label("total"))
                .outerjoin(Unit, Unit.id == User.unit_id).where(User.active.is_(True), *where))
    if status is not None or sort == "attention":
        # Per officer: their need of attention, and how many of their modules have the status chosen.
        need = (select(states.c.user_id,
                       func.sum(case(_ATTENTION, value=states.c.status, else_=0)).label("attention"),
                       func.count(states.c.status).filter(states.c.status == literal(status)).label("chosen"))
                .group_by(states.c.user_id).subquery("need"))
        officers = officers.outerjoin(need, need.c.user_id == User.id)
        if status is not None:
            officers = officers.where(need.c.chosen > 0)
    if sort == "unit":
        order = (func.coalesce(Unit.code, ""), *ROSTER_ORDER)
    elif sort == "attention":
        order = (func.coalesce(need.c.attention, 0).desc(), *ROSTER_ORDER)
    else:
        order = ROSTER_ORDER
    officers = officers.order_by(*order).limit(PAGE_SIZE)
    page = max(page, 1)
    found = connection.execute(officers.offset((page - 1) * PAGE_SIZE)).all()
    if not found and page > 1:  # past the last page: show the last one
        total = connection.execute(select(func.count()).select_from(officers.limit(None).subquery())).scalar_one()
        page = max(1, -(-total // PAGE_SIZE))
        found = connection.execute(officers.offset((page - 1) * PAGE_SIZE)).all()
    total = found[0].total if found else 0
    rows = {user_id: OfficerRow(user_id, f"{last}, {first}", employee_id, unit_code)
            for user_id, employee_id, first, last, unit_code, _total in found}

    shown = _pair_states(on, User.id.in_(list(rows))) if rows else None
    pairs = connection.execute(
        select(shown.c.user_id, shown.c.course_id, Course.code, shown.c.due_on, shown.c.expires_on,
               shown.c.exempt_until, shown.c.status, shown.c.acknowledged_version)
        .join(Course, Course.id == shown.c.course_id)).all() if rows else []
    for user_id, course_id, code, due_on, expires_on, exempt_until, state, _signed in pairs:
        rows[user_id].states[code] = PairState(user_id, course_id, due_on, expires_on, exempt_until, state)
    standings = version_standings(session, on, (s for row in rows.values() for s in row.states.values()),
                                  signed={(p.user_id, p.course_id): p.acknowledged_version for p in pairs})
    for row in rows.values():
        row.versions = {code: standings[(row.user_id, s.course_id)] for code, s in row.states.items()
                        if (row.user_id, s.course_id) in standings}
    return Progress(sorted(columns.items()), list(rows.values()), counts, total, page,
                    max(1, -(-total // PAGE_SIZE)))
