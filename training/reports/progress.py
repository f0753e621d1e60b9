"""Officers × modules with their statuses: the unit view and the supervisor's view."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import ColumnElement, select

from training.catalog.models import Course
from training.people.models import Unit, User
from training.records.rules import STATUSES, certification_status
from training.records.status import PairState, pair_facts_query
from training.updates.versions import VersionStanding, version_standings

SORTS = {"name": "Name", "unit": "Unit", "attention": "Most overdue first"}
PAGE_SIZE = 100
_ATTENTION = {"overdue": 3, "lapsed": 3, "expiring": 1, "assigned": 1}


@dataclass
class OfficerRow:
    user_id: int
    name: str
    employee_id: str | None
    unit_code: str | None
    # Per module code: the pair's status and the dates behind it.
    states: dict[str, PairState] = field(default_factory=dict)
    # Per module code: the version signed and the one in force (the rows of the page shown only).
    versions: dict[str, VersionStanding] = field(default_factory=dict)

    @property
    def attention(self) -> int:
        return sum(_ATTENTION.get(s.status, 0) for s in self.states.values())


@dataclass
class Progress:
    courses: list[tuple[str, str]]           # (code, title), in column order
    rows: list[OfficerRow]                   # this page
    counts: dict[str, int]                   # cells per status, whole selection before the status filter
    total_officers: int                      # after filters
    page: int
    pages: int


def progress(session, on: date, *where: ColumnElement[bool], status: str | None = None,
             sort: str = "name", page: int = 1) -> Progress:
    """The page of officers matching `where`, with their statuses, counts, filter and sort from the stored facts of
    their pairs (`pair_facts_query`, one narrow row each), and the versions signed for the page shown."""
    session.flush()  # the rows are read at the Core level, which does not autoflush
    # Every officer selected has a row, whether or not anything is required of them yet.
    rows: dict[int, OfficerRow] = {
        user_id: OfficerRow(user_id, f"{last}, {first}", employee_id, unit_code)
        for user_id, employee_id, first, last, unit_code in session.connection().execute(
            select(User.id, User.employee_id, User.first_name, User.last_name, Unit.code)
            .outerjoin(Unit, Unit.id == User.unit_id).where(User.active.is_(True), *where)
            .order_by(User.last_name, User.first_name, User.id)).all()}
    modules = {course_id: (code, title) for course_id, code, title in session.execute(
        select(Course.id, Course.code, Course.title).where(Course.active.is_(True)))}
    courses: dict[str, str] = {}
    counts: Counter[str] = Counter()
    facts = pair_facts_query(on, User.active.is_(True), *where, few=True).subquery()
    pairs = session.connection().execute(
        select(facts.c.user_id, facts.c.course_id, facts.c.due_on, facts.c.expires_on, facts.c.exempt_until)).all()
    for user_id, course_id, due_on, expires_on, exempt_until in pairs:
        row = rows.get(user_id)
        if row is None:
            continue
        code, title = modules[course_id]
        state = PairState(user_id, course_id, due_on, expires_on, exempt_until,
                          certification_status(on, expires_on=expires_on, open_due_on=due_on,
                                               exempt=exempt_until is not None))
        row.states[code] = state
        courses[code] = title
        counts[state.status] += 1
    selected = [r for r in rows.values() if status is None or any(s.status == status for s in r.states.values())]
    if sort == "unit":
        selected.sort(key=lambda r: (r.unit_code or "", r.name))
    elif sort == "attention":
        selected.sort(key=lambda r: (-r.attention, r.name))
    pages = max(1, -(-len(selected) // PAGE_SIZE))
    page = min(max(page, 1), pages)
    shown = selected[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]
    standings = version_standings(session, on, (s for row in shown for s in row.states.values()))
    for row in shown:
        row.versions = {code: standings[(row.user_id, s.course_id)] for code, s in row.states.items()
                        if (row.user_id, s.course_id) in standings}
    return Progress(sorted(courses.items()), shown, {s: counts.get(s, 0) for s in STATUSES}, len(selected),
                    page, pages)
