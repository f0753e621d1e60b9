"""Org-chart and roster CSV imports: all of it or nothing, every problem with its line."""
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.support.factories import make_org, make_user
from training.audit.models import AuditEvent
from training.imports import ImportRefused, apply_roster_plan, parse_roster_csv
from training.imports.roster_write import supervisor_levels
from training.imports.rules import find_loops, materialised_paths
from training.people.models import Agency, Unit, User
from training.people.service import unit_path

ORG_HEADER = "agency_code,agency_name,time_zone,unit_code,unit_name,parent_unit_code\n"
ROSTER_HEADER = "employee_id,first_name,last_name,email,agency,unit,supervisor_employee_id\n"


def write(tmp_path: Path, text: str | bytes, name: str = "file.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode(encoding))
    return path


def snapshot(session) -> tuple:
    """Everything an import may write."""
    return (session.execute(select(Agency.id, Agency.code, Agency.name, Agency.time_zone).order_by(Agency.id)).all(),
            session.execute(select(Unit.id, Unit.code, Unit.name, Unit.parent_id, Unit.path).order_by(Unit.id)).all(),
            session.execute(select(User.id, User.employee_id, User.email, User.first_name, User.last_name,
                                   User.agency_id, User.unit_id, User.supervisor_id, User.role, User.active)
                            .order_by(User.id)).all(),
            session.scalar(select(func.count()).select_from(AuditEvent)))


def by_employee_id(session, employee_id: str) -> User:
    return session.scalar(select(User).where(User.employee_id == employee_id).execution_options(
        populate_existing=True))


def last_event(session, action: str) -> AuditEvent:
    return session.scalar(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id.desc()))


# --- Org chart -------------------------------------------------------------------------------

TREE = (ORG_HEADER
        + "FPS,Federal Protective Service,America/Chicago,FPS-HQ,Headquarters,\n"
        + "FPS,Federal Protective Service,America/Chicago,FPS-EAST,Region East,FPS-HQ\n"
        + "FPS,Federal Protective Service,America/Chicago,FPS-EAST-1,East Team 1,FPS-EAST\n"
        + "FPS,Federal Protective Service,America/Chicago,FPS-WEST,Region West,FPS-HQ\n")


def units_by_code(session) -> dict[str, Unit]:
    return {u.code: u for u in session.scalars(select(Unit).execution_options(populate_existing=True))}


def test_org_import_builds_a_three_level_tree(runner, session, tmp_path):
    result = runner.invoke(args=["org", "import", str(write(tmp_path, TREE, "org.csv"))])
    assert result.exit_code == 0, result.output
    assert "Agencies: 1 added, 0 updated. Units: 4 added, 0 updated, 0 moved." in result.output
    agency = session.scalar(select(Agency).where(Agency.code == "FPS"))
    assert (agency.name, agency.time_zone) == ("Federal Protective Service", "America/Chicago")
    units = units_by_code(session)
    hq, east, team, west = (units[c] for c in ("FPS-HQ", "FPS-EAST", "FPS-EAST-1", "FPS-WEST"))
    assert hq.parent_id is None and hq.path == f"/{hq.id}/" == unit_path(None, hq.id)
    assert east.parent_id == hq.id and east.path == f"/{hq.id}/{east.id}/"
    assert team.parent_id == east.id and team.path == f"/{hq.id}/{east.id}/{team.id}/"
    assert west.path == f"/{hq.id}/{west.id}/"
    assert {u.agency_id for u in units.values() if u.code.startswith("FPS")} == {agency.id}
    event = last_event(session, "org.imported")
    assert event.details["source"] == "org.csv" and event.details["units_added"] == 4


def test_org_reimport_updates_names_and_moves_a_subtree(runner, session, tmp_path):
    runner.invoke(args=["org", "import", str(write(tmp_path, TREE, "org.csv"))])
    moved = (TREE.replace("Federal Protective Service,America/Chicago", "FPS,America/Denver")
             .replace("FPS-EAST,Region East,FPS-HQ", "FPS-EAST,Region East,FPS-WEST"))
    result = runner.invoke(args=["org", "import", str(write(tmp_path, moved, "org2.csv"))])
    assert result.exit_code == 0, result.output
    assert "Agencies: 0 added, 1 updated. Units: 0 added, 1 updated, 2 moved." in result.output
    units = units_by_code(session)
    hq, east, team, west = (units[c] for c in ("FPS-HQ", "FPS-EAST", "FPS-EAST-1", "FPS-WEST"))
    assert east.parent_id == west.id and east.path == f"/{hq.id}/{west.id}/{east.id}/"
    assert team.path == f"/{hq.id}/{west.id}/{east.id}/{team.id}/"
    assert session.scalar(select(Agency.time_zone).where(Agency.code == "FPS")) == "America/Denver"


def test_org_unit_may_hang_under_a_unit_already_in_rollcall(runner, session, org, tmp_path):
    agency, top = org
    session.commit()
    text = ORG_HEADER + f"AGY,{agency.name},{agency.time_zone},AGY-NEW,New team,AGY-U1\n"
    result = runner.invoke(args=["org", "import", str(write(tmp_path, text))])
    assert result.exit_code == 0, result.output
    new = units_by_code(session)["AGY-NEW"]
    assert new.parent_id == top.id and new.path == f"/{top.id}/{new.id}/"


BAD_ORGS = {
    "wrong header": ("unit,name\nA,B\n", 1, "the first line must be the header agency_code,agency_name,"),
    "missing value": (ORG_HEADER + "FPS,,America/Chicago,FPS-HQ,HQ,\n", 2, "a value is missing for agency_name"),
    "bad time zone": (ORG_HEADER + "FPS,F,Mars/Olympus,FPS-HQ,HQ,\n", 2,
                      "time_zone 'Mars/Olympus' is not a time zone name"),
    "agency differs": (ORG_HEADER + "FPS,F,America/Chicago,FPS-HQ,HQ,\nFPS,F,UTC,FPS-E,E,FPS-HQ\n", 3,
                       "agency FPS is 'F' (UTC) here but 'F' (America/Chicago) on line 2"),
    "duplicate unit": (ORG_HEADER + "FPS,F,UTC,FPS-HQ,HQ,\nFPS,F,UTC,FPS-HQ,HQ again,\n", 3,
                       "unit FPS-HQ already appears on line 2"),
    "unknown parent": (ORG_HEADER + "FPS,F,UTC,FPS-HQ,HQ,FPS-NOPE\n", 2,
                       "parent unit FPS-NOPE is neither in this file nor in Rollcall"),
    "parent in another agency (file)": (
        ORG_HEADER + "FPS,F,UTC,FPS-HQ,HQ,\nUSSS,S,UTC,USSS-HQ,HQ,FPS-HQ\n", 3,
        "parent unit FPS-HQ is in agency FPS (line 2), but unit USSS-HQ is in agency USSS"),
    "parent in another agency (database)": (
        ORG_HEADER + "FPS,F,UTC,FPS-HQ,HQ,AGY-U1\n", 2,
        "parent unit AGY-U1 belongs to agency AGY, but unit FPS-HQ is in agency FPS"),
    "unit moves agency": (ORG_HEADER + "FPS,F,UTC,AGY-U1,Unit one,\n", 2,
                          "unit AGY-U1 belongs to agency AGY in Rollcall; an import cannot move a unit"),
    "own parent": (ORG_HEADER + "FPS,F,UTC,FPS-HQ,HQ,FPS-HQ\n", 2, "unit FPS-HQ cannot be its own parent"),
    "loop in the file": (
        ORG_HEADER + "FPS,F,UTC,FPS-A,A,FPS-C\nFPS,F,UTC,FPS-B,B,FPS-A\nFPS,F,UTC,FPS-C,C,FPS-B\n", 2,
        "parent units go round in a loop: FPS-A → FPS-C → FPS-B → FPS-A"),
    "loop through the database": (
        ORG_HEADER + "AGY,Agency AGY,America/New_York,AGY-U1,Unit one,AGY-U2\n", 2,
        "parent units go round in a loop: AGY-U1 → AGY-U2 → AGY-U1"),
}


@pytest.mark.parametrize("case", BAD_ORGS.keys())
def test_bad_org_file_is_refused_with_its_line(case, runner, session, org, tmp_path):
    agency, top = org
    below = Unit(agency_id=agency.id, code="AGY-U2", name="Unit two", parent_id=top.id)
    session.add(below)
    session.flush()
    below.path = unit_path(top, below.id)
    session.commit()
    text, line, message = BAD_ORGS[case]
    path = write(tmp_path, text, "org.csv")
    before = snapshot(session)
    result = runner.invoke(args=["org", "import", str(path)])
    assert result.exit_code == 1
    assert f"{path}:{line}: {message}" in result.output
    assert "nothing was imported" in result.output
    assert snapshot(session) == before


# --- Roster: refusals ------------------------------------------------------------------------

@pytest.fixture
def people(session, org):
    """AGY (units AGY-U1, AGY-U2) and OTH (OTH-U1); E100 active, E200 deactivated, E301 reports to E300."""
    agency, unit = org
    second = Unit(agency_id=agency.id, code="AGY-U2", name="Unit two")
    session.add(second)
    session.flush()
    second.path = unit_path(None, second.id)
    other, other_unit = make_org(session, "OTH")
    kept = make_user(session, "kept@agency.test", agency=agency, unit=unit, employee_id="E100")
    make_user(session, "gone@agency.test", agency=agency, unit=unit, employee_id="E200", active=False)
    chief = make_user(session, "chief@agency.test", agency=agency, unit=unit, employee_id="E300", first="Ana")
    make_user(session, "deputy@agency.test", agency=agency, unit=unit, employee_id="E301", supervisor_id=chief.id)
    make_user(session, "coord@agency.test", role="coordinator", agency=agency, unit=unit, employee_id="C1")
    make_user(session, "far@other.test", agency=other, unit=other_unit, employee_id="O1")
    session.commit()
    return {"agency": agency, "unit": unit, "second": second, "kept": kept}


def row(employee_id="N1", first="Lee", last="Park", email=None, agency="AGY", unit="AGY-U1", boss=""):
    email = f"{employee_id.lower()}@agency.test" if email is None else email
    return f"{employee_id},{first},{last},{email},{agency},{unit},{boss}\n"


BAD_ROSTERS = {
    "not UTF-8": (ROSTER_HEADER.encode() + row().encode() + "N2,Zoë,Park,n2@agency.test,AGY,AGY-U1,\n"
                  .encode("latin-1"), [], 3, "the file is not UTF-8 text"),
    "wrong header": ("employee,name,mail\n" + row(), [], 1,
                     "the first line must be the header employee_id,first_name,last_name,email,agency,unit,"
                     "supervisor_employee_id (more columns may follow), but it is employee,name,mail"),
    "empty file": ("", [], 1, "the first line must be the header employee_id,first_name,last_name,email,agency,"
                   "unit,supervisor_employee_id (more columns may follow), but the file is empty"),
    "not CSV": (ROSTER_HEADER + row() + 'N2,"Lee"x,Park,n2@agency.test,AGY,AGY-U1,\n', [], 3,
                "this line is not valid CSV"),
    "wrong number of values": (ROSTER_HEADER + row() + "N2,Lee,Park\n", [], 3,
                               "expected 7 values separated by commas, found 3"),
    "missing field": (ROSTER_HEADER + row(first="") + row("N2", email="", unit=""), [], 2,
                      "a value is missing for first_name"),
    "missing fields": (ROSTER_HEADER + row() + row("N2", email="", unit=""), [], 3,
                       "values are missing for email, unit"),
    "invalid email": (ROSTER_HEADER + row() + row("N2", email="n2.agency.test"), [], 3,
                      "email 'n2.agency.test' is not a valid address: An email address must have an @-sign."),
    "unknown agency": (ROSTER_HEADER + row(agency="NOPE"), [], 2,
                       "agency NOPE is not in Rollcall; check the code, or import the org chart first"),
    "unknown unit": (ROSTER_HEADER + row(unit="AGY-NOPE"), [], 2,
                     "unit AGY-NOPE is not in Rollcall; check the code, or import the org chart first"),
    "unit of another agency": (ROSTER_HEADER + row(unit="OTH-U1"), [], 2,
                               "unit OTH-U1 belongs to agency OTH, not AGY"),
    "unknown role": ("employee_id,first_name,last_name,email,agency,unit,supervisor_employee_id,role\n"
                     + row().replace("\n", ",boss\n"), [], 2,
                     "role 'boss' is not one of officer, coordinator, compliance, admin"),
    "duplicate employee_id": (ROSTER_HEADER + row() + row("N2") + row("N1", email="other@agency.test"), [], 4,
                              "employee_id N1 already appears on line 2"),
    "duplicate email": (ROSTER_HEADER + row() + row("N2", email="N1@Agency.test"), [], 3,
                        "email n1@agency.test already appears on line 2"),
    "email of another person in the database": (
        ROSTER_HEADER + row() + row("N2", email="kept@agency.test"), [], 3,
        "email kept@agency.test is already used by E100 (Pat Doe) in Rollcall"),
    "unknown supervisor": (ROSTER_HEADER + row(boss="E999"), [], 2,
                           "supervisor_employee_id E999 is neither in this file nor an officer in Rollcall"),
    "deactivated supervisor": (ROSTER_HEADER + row(boss="E200"), [], 2,
                               "supervisor_employee_id E200 (Pat Doe) is deactivated in Rollcall and not in "
                               "this file"),
    "supervisor a full import would deactivate": (
        ROSTER_HEADER + row(boss="E100"), ["--full"], 2,
        "supervisor_employee_id E100 (Pat Doe) is not in this file, so this full import would deactivate them"),
    "own supervisor": (ROSTER_HEADER + row(boss="N1"), [], 2, "N1 cannot be their own supervisor"),
    "loop of two": (ROSTER_HEADER + row(boss="N2") + row("N2", boss="N1"), [], 2,
                    "supervisors go round in a loop: N1 → N2 → N1"),
    "longer loop": (ROSTER_HEADER + row(boss="E100") + row("N2", boss="N1") + row("N3", boss="N2")
                    + row("E100", email="kept@agency.test", boss="N3"), [], 2,
                    "supervisors go round in a loop: N1 → E100 → N3 → N2 → N1"),
    "loop through a supervisor in the database": (
        ROSTER_HEADER + row() + row("E300", email="chief@agency.test", boss="E301"), [], 3,
        "supervisors go round in a loop: E300 → E301 → E300"),
}


@pytest.mark.parametrize("case", BAD_ROSTERS.keys())
def test_bad_roster_is_refused_with_its_line_and_nothing_is_written(case, runner, session, people, tmp_path):
    text, flags, line, message = BAD_ROSTERS[case]
    path = write(tmp_path, text, "roster.csv")
    before = snapshot(session)
    result = runner.invoke(args=["roster", "import", str(path), *flags])
    assert result.exit_code == 1, result.output
    assert f"{path}:{line}: {message}" in result.output
    assert "nothing was imported" in result.output
    assert snapshot(session) == before


def test_every_problem_is_reported_not_just_the_first(session, people):
    data = (ROSTER_HEADER + row(agency="NOPE") + row("N2", email="bad") + row("N3", boss="E999")).encode()
    plan = parse_roster_csv(session, data)
    assert [line for line, _ in plan.problems] == [2, 3, 4] and not plan.ok
    with pytest.raises(ImportRefused):
        apply_roster_plan(session, plan)


# --- Roster: adding, changing, deactivating --------------------------------------------------

CHANGES = ("employee_id,first_name,last_name,email,agency,unit,supervisor_employee_id,role\n"
           "E100,Pat,Doe,kept@agency.test,AGY,AGY-U2,N1,\n"       # moves unit, gets a new supervisor
           "N1,Robin,Hale,Robin.Hale@Agency.test,AGY,AGY-U1,,coordinator\n"
           "N2,Sam,Ito,sam@agency.test,AGY,AGY-U1,N1,\n"
           "E200,Pat,Doe,gone@agency.test,AGY,AGY-U1,,\n"           # comes back
           "C1,Pat,Doe,coord@agency.test,AGY,AGY-U1,,\n")           # unchanged


def test_roster_adds_and_changes_and_leaves_the_missing_alone(runner, session, people, tmp_path):
    path = write(tmp_path, CHANGES, "roster.csv")
    result = runner.invoke(args=["roster", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "Imported roster.csv: 2 added, 2 changed, 0 deactivated, 1 unchanged, 0 assigned by standing rules." in result.output
    robin, sam, kept = (by_employee_id(session, e) for e in ("N1", "N2", "E100"))
    assert (robin.email, robin.role, robin.password_hash, robin.active) == (
        "robin.hale@agency.test", "coordinator", None, True)
    assert (sam.role, sam.supervisor_id, sam.agency_id) == ("officer", robin.id, people["agency"].id)
    assert (kept.unit_id, kept.supervisor_id) == (people["second"].id, robin.id)
    assert by_employee_id(session, "E200").active
    assert by_employee_id(session, "E300").active and by_employee_id(session, "E301").active
    event = last_event(session, "roster.imported")
    assert event.details.items() >= {"source": "roster.csv", "full": False, "added": 2, "changed": 2,
                                  "deactivated": 0, "unchanged": 1, "rows": 5}.items()


def test_plan_says_which_fields_change(session, people):
    plan = parse_roster_csv(session, CHANGES.encode())
    changes = {c.row.employee_id: c.changes for c in plan.to_change}
    assert changes == {"E100": {"unit": ("AGY-U1", "AGY-U2"), "supervisor_employee_id": (None, "N1")},
                       "E200": {"active": (False, True)}}


def test_full_import_deactivates_missing_officers_of_the_named_agencies_only(runner, session, people, tmp_path):
    path = write(tmp_path, CHANGES, "roster.csv")
    result = runner.invoke(args=["roster", "import", str(path), "--full"])
    assert result.exit_code == 0, result.output
    assert "2 added, 2 changed, 2 deactivated, 1 unchanged" in result.output
    assert not by_employee_id(session, "E300").active and not by_employee_id(session, "E301").active
    assert by_employee_id(session, "E300") is not None                  # deactivated, never deleted
    assert by_employee_id(session, "O1").active                          # agency not in the file
    assert by_employee_id(session, "C1").active and by_employee_id(session, "E100").active
    assert last_event(session, "roster.imported").details["full"] is True


def test_dry_run_shows_the_plan_and_writes_nothing(runner, session, people, tmp_path):
    path = write(tmp_path, CHANGES, "roster.csv")
    before = snapshot(session)
    result = runner.invoke(args=["roster", "import", str(path), "--dry-run", "--full"])
    assert result.exit_code == 0, result.output
    assert "Dry run: would add 2, change 2 and deactivate 2; 1 unchanged. Nothing was written." in result.output
    assert "line 3: N1 Robin Hale <robin.hale@agency.test>, AGY / AGY-U1" in result.output
    assert "line 2: E100 Pat Doe: unit AGY-U1 → AGY-U2, supervisor_employee_id (none) → N1" in result.output
    assert "E301 Pat Doe <deputy@agency.test>" in result.output
    assert snapshot(session) == before


def test_utf8_bom_is_accepted(runner, session, people, tmp_path):
    path = write(tmp_path, ROSTER_HEADER + row(first="Zoë"), "excel.csv", encoding="utf-8-sig")
    result = runner.invoke(args=["roster", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert by_employee_id(session, "N1").first_name == "Zoë"


def test_a_quoted_line_break_is_reported_at_the_start_of_its_row(session, people):
    data = (ROSTER_HEADER + 'N1,"Lee\nAnn",Park,n1@agency.test,AGY,AGY-U1,\n' + row("N2", agency="NOPE")).encode()
    assert parse_roster_csv(session, data).problems == [
        (4, "agency NOPE is not in Rollcall; check the code, or import the org chart first")]


def test_a_roster_of_2000_rows_imports(runner, session, people, tmp_path):
    lines = [ROSTER_HEADER]
    for n in range(2000):   # a tree: officer n reports to officer n // 10; the file lists reports first
        boss = f"B{(1999 - n) // 10:04d}" if n < 1999 else ""
        lines.append(row(f"B{1999 - n:04d}", last=f"Officer{n}", unit=("AGY-U1", "AGY-U2")[n % 2], boss=boss))
    path = write(tmp_path, "".join(lines), "big.csv")
    seen = []
    plan = parse_roster_csv(session, path.read_bytes(), progress=seen.append)
    assert plan.ok and len(plan.to_add) == 2000 and seen[-1] == 2000
    session.rollback()
    result = runner.invoke(args=["roster", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "2000 added" in result.output
    assert session.scalar(select(func.count()).select_from(User).where(User.employee_id.like("B%"))) == 2000
    ids = dict(session.execute(select(User.employee_id, User.id)).all())
    bosses = dict(session.execute(select(User.employee_id, User.supervisor_id)).all())
    assert bosses["B0000"] is None
    assert bosses["B1234"] == ids["B0123"] and bosses["B0009"] == ids["B0000"]


# --- Rules ----------------------------------------------------------------------------------

def test_find_loops_reports_each_loop_once():
    parents = {"a": "b", "b": "c", "c": "a", "d": "a", "e": None, "f": "f"}
    assert find_loops(parents, ["d", "a", "b", "e", "f"]) == [["a", "b", "c", "a"], ["f", "f"]]


def test_materialised_paths_follow_parents():
    assert materialised_paths({12: 5, 5: 1, 1: None, 7: None}) == {12: "/1/5/12/", 5: "/1/5/", 1: "/1/", 7: "/7/"}


def test_supervisor_levels_put_supervisors_first(session, people):
    data = (ROSTER_HEADER + row("N3", boss="N2") + row("N2", boss="N1") + row("N1", boss="E100")
            + row("N4")).encode()
    plan = parse_roster_csv(session, data)
    assert [[r.employee_id for r in level] for level in supervisor_levels(plan.to_add)] == [
        ["N1", "N4"], ["N2"], ["N3"]]
