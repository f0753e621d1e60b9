"""The compliance dashboard shows the state now: after each kind of change, its figures (overall, by agency, unit
and module, expiring soon) and its CSV equal the counts of a roster export made at the same moment, for an
administrator, a compliance user of one agency and a coordinator of a unit subtree.

The world is tests/support/roster_world.py; each change goes through the code the site or the CLI runs."""
from __future__ import annotations

import csv
import io
import re
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from tests.support.factories import make_user
from tests.support.pages import answer_form, latest_attempt, login, open_all_lessons, table_rows
from tests.support.roster_world import build_world
from training import clock
from training.admin.service import save_account
from training.assignments.manage import manage_assignments
from training.assignments.service import assign_course, extend_assignment, grant_exemption
from training.catalog.models import Course
from training.clock import today_for
from training.jobs import count_tallies
from training.people.models import Unit, User
from training.records.models import Assignment, Completion, StandingRule
from training.records.proof import revoke
from training.reports import dashboard as dashboard_module
from training.reports.dashboard import HORIZONS, SHOWN, compliance_rate
from training.reports.filters import RosterFilters, build_roster
from training.reports.service import COMPLIANCE_COLUMNS, ROSTER_COLUMNS, roster_rows

ADMIN, COMPLIANCE, COORDINATOR = "admin@x.test", "compliance@a.test", "coordinator-u1@a.test"


@pytest.fixture
def world(session, course):
    built = build_world(session, course)
    # A coordinator whose scope is the unit subtree AAA-U1 (with AAA-SUB below it).
    make_user(session, COORDINATOR, role="coordinator", agency=built.units["u1"].agency, employee_id="S-6",
              scope_unit_id=built.units["u1"].id)
    # Gus is placed in AAA but in none of its units, and is assigned the module.
    gus = make_user(session, "gus@a.test", agency=built.units["u1"].agency, first="Gus", last="Grey",
                    employee_id="A-7")
    session.add(Assignment(user_id=gus.id, course_id=course.id, due_on=built.today + timedelta(days=20),
                           reason="individual"))
    # Ed's First Aid expires in exactly 30 days, and Fay's in 60: the edges of "expiring" and "within 60 days".
    aid = session.scalar(select(Course).where(Course.code == "FIRST-AID"))
    for name, days in (("ed", 30), ("fay", 60)):
        session.add(Completion(user_id=built.users[name].id, course_id=aid.id, completed_on=built.today,
                               expires_on=built.today + timedelta(days=days), score=90, source="import"))
    session.commit()
    return built


def roster(session, email: str, agency: str | None = None) -> list[dict]:
    """The roster export's rows for the viewer, through the export's own code, made now."""
    viewer = session.scalar(select(User).where(User.email == email))
    built = build_roster(session, viewer, RosterFilters(agency=agency), today_for(viewer))
    return [dict(zip(ROSTER_COLUMNS, row, strict=True)) for row in roster_rows(session, built)]


def row_of(counts: Counter) -> list[str]:
    """A status table's row as the page shows it, from counts by status."""
    total = sum(counts.values())
    rate = compliance_rate(counts["current"] + counts["expiring"], total, counts["exempt"])
    return [str(total)] + [f"{counts[s]} ({100 * counts[s] / total if total else 0:.1f}%)" for s in SHOWN] + [
        f"{rate:.1f}%" if rate is not None else "none required"]


def expected(session, rows: list[dict], today: date) -> dict:
    """What the dashboard and its CSV must show on `today`, counted from roster rows (those with a status: a row
    without one, such as a withdrawn assignment, requires nothing)."""
    rows = [r for r in rows if r["status"]]
    units = dict(session.execute(select(Unit.code, Unit.name)).all())
    titles = dict(session.execute(select(Course.code, Course.title)).all())

    def by(key) -> dict[str, list[str]]:
        groups: dict[str, Counter] = {}
        for r in rows:
            groups.setdefault(key(r), Counter())[r["status"]] += 1
        return {label: row_of(counts) for label, counts in groups.items()}

    overall = Counter(r["status"] for r in rows)
    soon = {f"Within {days} days": [str(sum(1 for r in rows if r["expires_on"] and today <= r["expires_on"]
                                            <= today + timedelta(days=days)))] for days in HORIZONS}
    return {
        "csv": Counter((r["agency"] or "", r["unit"] or "", r["course_code"], r["status"]) for r in rows),
        "overall": row_of(overall),
        "agencies": by(lambda r: r["agency"] or "No agency"),
        "courses": by(lambda r: titles[r["course_code"]]),
        "units": by(lambda r: f"{units[r['unit']]} ({r['unit']})" if r["unit"] else "No unit"),
        "expiring": soon,
    }


def shown(client, path: str, with_units: bool, with_agencies: bool) -> dict:
    """What the dashboard at `path`, and its CSV link, show the signed-in viewer."""
    page = client.get(path).get_data(as_text=True)
    overall = Counter({s: int(n) for s, n in re.findall(r'rc-status--(\w+)">\w+</span> (\d+)</li>', page)})
    total = int(re.search(r"<li>(\d+) required modules?</li>", page).group(1))
    rate = re.search(r"<strong>(.*?)</strong> compliant", page).group(1)
    assert total == sum(overall.values())
    csv_link = re.search(r'href="(/reports/compliance\.csv[^"]*)"', page).group(1).replace("&amp;", "&")
    response = client.get(csv_link)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    lines = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    assert lines[0] == list(COMPLIANCE_COLUMNS)
    assert all(int(count) > 0 for *_, count in lines[1:])
    figures = {
        "csv": Counter({tuple(line[:4]): int(line[4]) for line in lines[1:]}),
        "overall": row_of(overall)[:-1] + ["none required" if rate == "No modules required" else rate],
        "courses": table_rows(page, "courses-table"),
        "expiring": table_rows(page, "expiring-table"),
    }
    assert len(figures["csv"]) == len(lines) - 1, "one row per agency, unit, module and status"
    if with_units:
        figures["units"] = table_rows(page, "units-table") if 'id="units-table"' in page else {}
    if with_agencies:
        figures["agencies"] = table_rows(page, "agencies-table")
    return figures


def assert_dashboard_equals_roster(client, session) -> dict:
    """For each viewer: the dashboard (and the admin's for one agency) against the roster export made now.
    Returns the admin's expected figures, for the caller to see that a change changed them."""
    views = [(ADMIN, None), (ADMIN, "AAA"), (COMPLIANCE, None), (COORDINATOR, None)]
    admin_figures = None
    for email, agency in views:
        client.post("/logout")
        assert login(client, email).status_code == 302
        viewer = session.scalar(select(User).where(User.email == email))
        want = expected(session, roster(session, email, agency), today_for(viewer))
        many = email == ADMIN and agency is None
        got = shown(client, "/reports/compliance" + (f"?agency={agency}" if agency else ""),
                    with_units=not many, with_agencies=many)
        for name, figures in got.items():
            assert figures == want[name], (email, agency, name)
        if many:
            admin_figures = want
    client.post("/logout")
    return admin_figures


def officer(session, email: str) -> User:
    return session.scalar(select(User).where(User.email == email))


def pass_the_quiz(client, session, world, course, **_):
    """Bo, expiring, passes the quiz of the module and acknowledges it."""
    bo = officer(session, "bo@a.test")
    client.post("/logout")
    login(client, bo.email)
    open_all_lessons(client, course.code)
    assert client.post(f"/courses/{course.code}/quiz").status_code == 302
    attempt = latest_attempt(session, bo)
    client.post(f"/attempts/{attempt.id}", data=answer_form(session, attempt, correct=len(attempt.items)))
    client.post(f"/attempts/{attempt.id}/result", data={"full_name": "Bo @Bee"})
    assert session.scalar(select(Completion).where(Completion.user_id == bo.id, Completion.source == "quiz"))


def import_completions(runner, tmp_path, world, **_):
    """Cy, overdue, is certified by a completions import."""
    path = tmp_path / "completions.csv"
    path.write_text(f"employee_id,course_code,completed_on,score\nA-3,TEST-BASICS,{world.today.isoformat()},90\n",
                    encoding="utf-8")
    result = runner.invoke(args=["completions", "import", str(path)])
    assert result.exit_code == 0 and "1 completion" in result.output, result.output


def import_roster(runner, session, tmp_path, world, **_):
    """A newcomer joins AAA-U1, whose standing rule requires First Aid: they and the unit's officers without it
    are assigned it."""
    aid = session.scalar(select(Course).where(Course.code == "FIRST-AID"))
    session.add(StandingRule(unit_id=world.units["u1"].id, course_id=aid.id, days_to_complete=30))
    session.commit()
    path = tmp_path / "roster.csv"
    path.write_text("employee_id,first_name,last_name,email,agency,unit,supervisor_employee_id\n"
                    "A-9,Gil,Gray,gil@a.test,AAA,AAA-U1,\n", encoding="utf-8")
    result = runner.invoke(args=["roster", "import", str(path)])
    assert result.exit_code == 0 and "1 added" in result.output, result.output
    gil = officer(session, "gil@a.test")
    assert session.scalar(select(Assignment.reason).where(Assignment.user_id == gil.id)) == "standing_rule"


def assign_by_coordinator(session, world, **_):
    """The unit's coordinator assigns First Aid to AAA-U1 and the units below it."""
    aid = session.scalar(select(Course).where(Course.code == "FIRST-AID"))
    coordinator = officer(session, COORDINATOR)
    unit = world.units["u1"]
    result = assign_course(session, aid, select(User.id).where(User.unit_id.in_([unit.id, world.units["sub"].id])),
                           world.today + timedelta(days=30), world.today, reason="unit", actor_id=coordinator.id,
                           about=unit)
    assert result.assigned


def exempt(session, world, course, **_):
    """Cy, overdue, is exempted for court duty."""
    grant_exemption(session, world.users["cy"].id, course.id, world.today, world.today + timedelta(days=10),
                    "Court duty all week", actor_id=world.users["coordinator_a"].id, max_days=90)


def exempt_of_no_unit(session, world, course, **_):
    """Gus, of AAA but of none of its units, is exempted: the cell of the agency's officers placed in no unit."""
    gus = officer(session, "gus@a.test")
    grant_exemption(session, gus.id, course.id, world.today, world.today + timedelta(days=10), "Court duty all week",
                    actor_id=world.users["coordinator_a"].id, max_days=90)


def extend(session, world, course, **_):
    """Cy, overdue, is given until later."""
    assignment = session.scalar(select(Assignment).where(Assignment.user_id == world.users["cy"].id,
                                                         Assignment.closed_at.is_(None)))
    extend_assignment(session, assignment, world.today + timedelta(days=20), "Court duty all week",
                      actor_id=world.users["coordinator_a"].id, today=world.today)


def revoke_certificate(session, world, course, **_):
    """Fay's certificate is revoked: the assignment it closed, long past due, opens again."""
    completion = session.scalar(select(Completion).where(Completion.user_id == world.users["fay"].id))
    revoke(session, completion, world.users["compliance_a"], "Recorded for the wrong officer")


def withdraw(session, world, course, **_):
    """Cy's overdue assignment is withdrawn: nothing requires the module of Cy any more."""
    result = manage_assignments(session, "withdraw", course, select(User.id).where(User.id == world.users["cy"].id),
                                reason="Left the programme", today=world.today,
                                actor_id=world.users["coordinator_a"].id)
    assert result.changed


def account_values(user: User) -> dict:
    return {k: getattr(user, k) for k in ("email", "first_name", "last_name", "employee_id", "role", "agency_id",
                                          "unit_id", "scope_unit_id", "active")}


def move(session, world, **_):
    """Ada moves from AAA-U1 to AAA-U2, out of the unit coordinator's scope."""
    ada = world.users["ada"]
    save_account(session, ada, {**account_values(ada), "unit_id": world.units["u2"].id}, None,
                 actor_id=world.users["admin"].id)


def deactivate(session, world, **_):
    """Bo's account is deactivated."""
    bo = world.users["bo"]
    save_account(session, bo, {**account_values(bo), "active": False}, None, actor_id=world.users["admin"].id)


def a_day_passes(monkeypatch, **_):
    """Sixteen days on: Bo's renewal is past due, and so is Ada's First Aid."""
    later = datetime.now(UTC) + timedelta(days=16)
    monkeypatch.setattr(clock, "current_instant", lambda: later)


CHANGES = [pass_the_quiz, import_completions, import_roster, assign_by_coordinator, exempt, exempt_of_no_unit,
           extend, revoke_certificate, withdraw, move, deactivate, a_day_passes]


@pytest.mark.parametrize("tallied", [False, True], ids=["from the records", "from the tallies"])
@pytest.mark.parametrize("change", CHANGES, ids=[c.__name__ for c in CHANGES])
def test_the_dashboard_equals_the_roster_after_each_change(change, tallied, app, client, session, runner, world,
                                                           course, tmp_path, monkeypatch):
    """With the tallies counted before the change (training/reports/tallies.py), the change shows through the
    marks its writes leave, before the tally job has run again; and after it has."""
    if tallied:
        assert count_tallies(app)["agency days counted"] > 0
    before = assert_dashboard_equals_roster(client, session)
    change(client=client, session=session, runner=runner, world=world, course=course, tmp_path=tmp_path,
           monkeypatch=monkeypatch)
    session.commit()
    after = assert_dashboard_equals_roster(client, session)
    assert after != before, "the change shows in the figures at the next page load"
    if tallied:
        count_tallies(app)
        assert assert_dashboard_equals_roster(client, session) == after


def test_a_page_of_many_units_lists_those_with_the_lowest_rate(client, session, world, monkeypatch):
    """Past UNITS_SHOWN units the page lists those with the lowest compliance rate, lowest first, and says the CSV
    has every unit."""
    monkeypatch.setattr(dashboard_module, "UNITS_SHOWN", 2)
    assert login(client, COMPLIANCE).status_code == 302
    viewer = officer(session, COMPLIANCE)
    want = expected(session, roster(session, COMPLIANCE), today_for(viewer))["units"]
    assert len(want) > 2
    rate = {label: float(row[-1].rstrip("%")) if row[-1] != "none required" else 101.0 for label, row in want.items()}
    lowest = sorted(want, key=lambda label: (rate[label], label))[:2]
    page = client.get("/reports/compliance").get_data(as_text=True)
    assert table_rows(page, "units-table") == {label: want[label] for label in lowest}
    assert list(table_rows(page, "units-table")) == lowest
    assert f"The 2 units with the lowest compliance rate, of {len(want)} units with required" in " ".join(page.split())
