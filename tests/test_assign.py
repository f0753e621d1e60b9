"""Assigning a course to an officer, a unit subtree or an agency."""
from datetime import date, timedelta

from sqlalchemy import select

from tests.support.factories import add_unit, make_org, make_user
from training.audit.models import AuditEvent
from training.clock import agency_today
from training.people.models import Unit
from training.records.models import Assignment, Completion


def tree(session):
    """AGY-U1 > MID > LEAF, and a sibling OTHER: one officer in each."""
    agency, top = make_org(session)
    mid = add_unit(session, agency, "MID", top)
    leaf = add_unit(session, agency, "LEAF", mid)
    other = add_unit(session, agency, "OTHER")
    people = {name: make_user(session, f"{name}@agency.test", agency=agency, unit=unit, employee_id=name.upper())
              for name, unit in [("top", top), ("mid", mid), ("leaf", leaf), ("other", other)]}
    session.commit()
    return agency, people


def assigned_ids(session, course):
    return {a.user_id for a in session.scalars(select(Assignment).where(Assignment.course_id == course.id))}


def test_unit_assignment_reaches_every_sub_unit(runner, session, course):
    _, people = tree(session)
    due = date.today() + timedelta(days=30)
    result = runner.invoke(args=["assign", "--course", "TEST-BASICS", "--unit", "MID", "--due", due.isoformat()])
    assert result.exit_code == 0, result.output
    assert "to 2 officers" in result.output
    assert assigned_ids(session, course) == {people["mid"].id, people["leaf"].id}
    assignment = session.scalar(select(Assignment).where(Assignment.user_id == people["leaf"].id))
    assert (assignment.due_on, assignment.reason) == (due, "unit")


def test_certified_or_already_assigned_officers_are_reported_not_doubled(runner, session, course):
    _, people = tree(session)
    today = date.today()
    session.add(Completion(user_id=people["top"].id, course_id=course.id, completed_on=today,
                           expires_on=today + timedelta(days=300), score=100, source="import"))
    session.add(Assignment(user_id=people["mid"].id, course_id=course.id, due_on=today, reason="individual"))
    session.commit()
    due = (today + timedelta(days=10)).isoformat()
    result = runner.invoke(args=["assign", "--course", "TEST-BASICS", "--agency", "AGY", "--due", due])
    assert result.exit_code == 0, result.output
    assert "to 2 officers" in result.output
    assert "1 officer already holds a valid certification" in result.output
    assert "1 officer already has an open assignment" in result.output
    open_for_mid = session.scalars(select(Assignment).where(Assignment.user_id == people["mid"].id)).all()
    assert len(open_for_mid) == 1
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "assignment.created"))
    assert event.details["assigned"] == 2 and event.details["already_certified"] == 1


def test_single_officer_and_refusals(runner, session, course):
    _, people = tree(session)
    due = (date.today() + timedelta(days=5)).isoformat()
    ok = runner.invoke(args=["assign", "--course", "TEST-BASICS", "--officer", "LEAF", "--due", due])
    assert ok.exit_code == 0 and assigned_ids(session, course) == {people["leaf"].id}
    refusals = [
        (["--officer", "NOBODY", "--due", due], "no officer has employee id NOBODY"),
        (["--unit", "NOPE", "--due", due], "no unit has code NOPE"),
        (["--agency", "AGY", "--unit", "MID", "--due", due], "exactly one"),
        (["--agency", "AGY", "--due", "2001-01-01"], "in the past"),
    ]
    for extra, message in refusals:
        result = runner.invoke(args=["assign", "--course", "TEST-BASICS", *extra])
        assert result.exit_code == 1 and message in result.output, result.output
    unknown = runner.invoke(args=["assign", "--course", "NOPE", "--agency", "AGY", "--due", due])
    assert unknown.exit_code == 1 and "no course has code NOPE" in unknown.output
    assert assigned_ids(session, course) == {people["leaf"].id}


def test_standing_rule_reaches_officers_who_join_later(session, course):
    from training.assignments.service import apply_standing_rules
    from training.records.models import StandingRule

    agency, people = tree(session)
    mid = session.scalar(select(Unit).where(Unit.code == "MID"))
    day = date(2026, 4, 1)
    session.add(Completion(user_id=people["leaf"].id, course_id=course.id, completed_on=day - timedelta(days=10),
                           expires_on=day + timedelta(days=355), score=100, source="import"))
    session.add(StandingRule(unit_id=mid.id, course_id=course.id, days_to_complete=30))
    session.flush()
    assert apply_standing_rules(session, day) == {"MID:TEST-BASICS": 1}   # mid; leaf is certified
    assert assigned_ids(session, course) == {people["mid"].id}
    assert apply_standing_rules(session, day) == {}                        # nothing twice
    # An officer moves from OTHER into the subtree: due 30 days after the rule reaches them.
    mover = people["other"]
    mover.unit_id = mid.id
    session.flush()
    later = day + timedelta(days=5)
    assert apply_standing_rules(session, later) == {"MID:TEST-BASICS": 1}
    assignment = session.scalar(select(Assignment).where(Assignment.user_id == mover.id))
    assert (assignment.due_on, assignment.reason) == (later + timedelta(days=30), "standing_rule")


def test_an_officer_moved_by_roster_import_into_a_ruled_unit_is_assigned_at_once(runner, session, course, tmp_path):
    from training.assignments.service import apply_standing_rules
    from training.records.models import StandingRule

    agency, people = tree(session)
    mid = session.scalar(select(Unit).where(Unit.code == "MID"))
    session.add(StandingRule(unit_id=mid.id, course_id=course.id, days_to_complete=45))
    session.flush()
    apply_standing_rules(session, date.today())
    session.commit()
    assert assigned_ids(session, course) == {people["mid"].id, people["leaf"].id}
    roster = tmp_path / "move.csv"
    roster.write_text("employee_id,first_name,last_name,email,agency,unit,supervisor_employee_id\n"
                      "OTHER,Pat,Doe,other@agency.test,AGY,LEAF,\n", encoding="utf-8")
    result = runner.invoke(args=["roster", "import", str(roster)])
    assert result.exit_code == 0, result.output
    assert "1 changed" in result.output and "1 assigned by standing rules" in result.output
    assignment = session.scalar(select(Assignment).where(Assignment.user_id == people["other"].id))
    # Due counted from the agency's own day, as the daily job counts it.
    assert (assignment.due_on, assignment.reason) == (agency_today(agency) + timedelta(days=45), "standing_rule")
    again = runner.invoke(args=["roster", "import", str(roster)])
    assert "0 assigned by standing rules" in again.output
    assert assigned_ids(session, course) == {people["mid"].id, people["leaf"].id, people["other"].id}


def test_moves_made_by_an_administrator_meet_the_standing_rules_at_once(client, session, course):
    from tests.support.pages import login
    from training.records.models import StandingRule

    agency, people = tree(session)
    mid = session.scalar(select(Unit).where(Unit.code == "MID"))
    session.add(StandingRule(unit_id=mid.id, course_id=course.id, days_to_complete=30))
    admin = make_user(session, "root@agency.test", role="admin", agency=agency, employee_id="ROOT")
    session.commit()
    login(client, admin.email)
    # The officer in TOP moves into LEAF on his account page.
    top = people["top"]
    response = client.post(f"/admin/users/{top.id}", data={
        "email": top.email, "first_name": top.first_name, "last_name": top.last_name, "employee_id": "TOP",
        "role": "officer", "agency": "AGY", "unit": "LEAF", "scope_unit": "", "active": "y"})
    assert response.status_code == 302, response.get_data(as_text=True)
    assert top.id in assigned_ids(session, course)
    # The whole unit OTHER moves under MID, and its officer with it.
    response = client.post("/admin/org/units/OTHER", data={"agency": "AGY", "name": "OTHER", "parent": "MID"})
    assert response.status_code == 302, response.get_data(as_text=True)
    assert people["other"].id in assigned_ids(session, course)
