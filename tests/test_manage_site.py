"""Managing assignments in the site: one officer's from their page, many at once from the unit's page."""
from datetime import date, timedelta

import pytest
from sqlalchemy import func, insert, select

from tests.support.factories import add_unit, make_org, make_user
from tests.support.pages import login
from tests.support.statements import count_statements
from training.audit.models import AuditEvent
from training.clock import today_for
from training.people.models import User
from training.records.models import Assignment, AssignmentChange, Exemption


@pytest.fixture
def world(session, course):
    agency, top = make_org(session, "A")
    sub = add_unit(session, agency, "A-SUB", top)
    other_agency, other_top = make_org(session, "B")
    coord = make_user(session, "coord@a.test", role="coordinator", agency=agency, employee_id="C-A",
                      unit=top)
    people = [make_user(session, f"o{i}@a.test", agency=agency, unit=top if i < 3 else sub, employee_id=f"O{i}",
                        first=f"Of{i}", last="Icer") for i in range(5)]
    outsider = make_user(session, "b@b.test", agency=other_agency, unit=other_top, employee_id="B1")
    today = today_for(coord)
    for user in [*people, outsider, coord]:
        session.add(Assignment(user_id=user.id, course_id=course.id, due_on=date(2999, 12, 31), reason="unit"))
    session.commit()
    login_as = coord.email
    return {"coord": coord, "people": people, "outsider": outsider, "today": today, "login": login_as}


def dues(session, users):
    session.expire_all()
    return [session.scalar(select(Assignment.due_on).where(Assignment.user_id == u.id,
                                                           Assignment.closed_at.is_(None))) for u in users]


def bulk(client, **data):
    data.setdefault("course", "TEST-BASICS")
    data.setdefault("next", "/units/A-U1")
    return client.post("/assignments/bulk", data=data, follow_redirects=True).get_data(as_text=True)


def test_a_whole_unit_s_wrong_due_date_is_corrected_in_one_action(client, session, world):
    login(client, world["login"])
    due = world["today"] + timedelta(days=30)
    html = bulk(client, action="set_due", whole_unit="y", unit="A-U1", due_on=due.isoformat(),
                reason="Typed the wrong year")
    assert "due date set to" in html and "for 5 officers" in html
    assert "Left alone: 1 officer: your own records" in html
    assert dues(session, world["people"]) == [due] * 5
    assert dues(session, [world["coord"], world["outsider"]]) == [date(2999, 12, 31)] * 2


def test_selected_rows_are_extended_and_others_left_alone(client, session, world):
    login(client, world["login"])
    people = world["people"]
    session.execute(Assignment.__table__.update().values(due_on=world["today"] + timedelta(days=5)))
    session.commit()
    due = world["today"] + timedelta(days=40)
    html = bulk(client, action="extend", officer=[str(p.id) for p in people[:3]] + [str(world["outsider"].id)],
                due_on=due.isoformat(), reason="Qualification range closed")
    assert "extended to" in html and "for 3 officers" in html
    assert dues(session, people) == [due] * 3 + [world["today"] + timedelta(days=5)] * 2
    assert dues(session, [world["outsider"]]) == [world["today"] + timedelta(days=5)]
    assert session.scalar(select(func.count(AssignmentChange.id)).where(AssignmentChange.kind == "extended")) == 3


def test_withdraw_and_exempt_many(client, session, world):
    login(client, world["login"])
    people = world["people"]
    html = bulk(client, action="withdraw", officer=[str(p.id) for p in people[:2]], reason="Wrong module chosen")
    assert "withdrawn for 2 officers" in html
    assert dues(session, people[:2]) == [None, None]
    until = world["today"] + timedelta(days=20)
    html = bulk(client, action="exempt", officer=[str(p.id) for p in people[2:]], due_on=until.isoformat(),
                reason="Deployed for three weeks")
    assert "exempted until" in html and "for 3 officers" in html
    assert session.scalar(select(func.count(Exemption.id))) == 3


@pytest.mark.parametrize("data, message", [
    ({"action": "set_due", "whole_unit": "y", "unit": "A-U1", "reason": "Typo in the year", "due_on": "2001-01-01"},
     "in the past"),
    ({"action": "set_due", "whole_unit": "y", "unit": "A-U1", "reason": "Typo in the year"}, "Give the new due date."),
    ({"action": "withdraw", "whole_unit": "y", "unit": "A-U1", "reason": ""}, "Give a reason"),
    ({"action": "withdraw", "reason": "Wrong module here"}, "select at least one officer"),
    ({"action": "set_due", "whole_unit": "y", "unit": "A-U1", "reason": "Long deployment",
      "due_on": "2999-06-30"}, "Tick the box to confirm"),
])
def test_bad_bulk_input_changes_nothing(client, session, world, data, message):
    login(client, world["login"])
    html = bulk(client, **data)
    assert "Nothing was changed" in html and message in html, html[html.find("usa-alert"):][:600]
    assert session.scalar(select(func.count(AssignmentChange.id))) == 0


def test_far_date_goes_through_when_confirmed(client, session, world):
    login(client, world["login"])
    far = world["today"] + timedelta(days=365 * 3)
    bulk(client, action="set_due", whole_unit="y", unit="A-U1", due_on=far.isoformat(), reason="Long deployment",
         confirm_far="y")
    assert dues(session, world["people"]) == [far] * 5


def test_a_unit_outside_scope_is_not_found(client, session, world):
    login(client, world["login"])
    response = client.post("/assignments/bulk", data={"action": "withdraw", "whole_unit": "y", "unit": "B-U1",
                                                      "course": "TEST-BASICS", "reason": "Not mine at all"})
    assert response.status_code == 404
    assert dues(session, [world["outsider"]]) == [date(2999, 12, 31)]


def test_one_officer_corrected_and_withdrawn_from_their_page_with_history(client, session, world):
    login(client, world["login"])
    officer = world["people"][0]
    assignment = session.scalar(select(Assignment).where(Assignment.user_id == officer.id))
    due = world["today"] + timedelta(days=10)
    html = client.post(f"/officers/{officer.id}/assignments/{assignment.id}/due",
                       data={"due_on": due.isoformat(), "reason": "Typed the wrong year"},
                       follow_redirects=True).get_data(as_text=True)
    assert f"Due date moved to {due.isoformat()}" in html
    assert "Due date corrected" in html and f"due 2999-12-31 moved to {due.isoformat()}" in html
    html = client.post(f"/officers/{officer.id}/assignments/{assignment.id}/withdraw",
                       data={"reason": "Left the unit last week"}, follow_redirects=True).get_data(as_text=True)
    assert "Assignment withdrawn." in html and "Withdrawn" in html and "Left the unit last week" in html
    events = session.scalars(select(AuditEvent.action).where(AuditEvent.subject_id == officer.id)).all()
    assert "assignment.due_set" in events and "assignment.withdrawn" in events
    own = session.scalar(select(Assignment).where(Assignment.user_id == world["coord"].id))
    refused = client.post(f"/officers/{world['coord'].id}/assignments/{own.id}/withdraw",
                          data={"reason": "I do not need this"}, follow_redirects=True).get_data(as_text=True)
    assert "you cannot withdraw an assignment for yourself" in refused


def test_the_unit_page_lists_every_officer(client, session, world):
    make_user(session, "new@a.test", agency=session.get(User, world["coord"].id).agency,
              unit=session.get(User, world["people"][0].id).unit, first="Nia", last="Newcomer", employee_id="N1")
    session.commit()
    login(client, world["login"])
    html = client.get("/units/A-U1").get_data(as_text=True)
    assert "Newcomer, Nia" in html and "7 active officers" in html


def bulk_counts(app, session, connection, course, n: int) -> dict[str, int]:
    agency, top = make_org(session, f"N{n}")
    coord = make_user(session, f"coord{n}@n.test", role="coordinator", agency=agency, employee_id=f"C{n}")
    session.commit()
    ids = list(session.scalars(insert(User).returning(User.id), [
        {"email": f"o{i}@n{n}.test", "first_name": "Of", "last_name": f"Icer{i:05}", "employee_id": f"N{n}-{i}",
         "agency_id": agency.id, "unit_id": top.id, "role": "officer"} for i in range(n)]))
    today = today_for(coord)
    session.execute(insert(Assignment), [{"user_id": i, "course_id": course.id, "due_on": today + timedelta(days=5),
                                          "reason": "unit"} for i in ids])
    session.commit()
    client = app.test_client()
    login(client, coord.email)
    selected = [str(i) for i in ids]
    counts = {}

    def post(**data):
        response = client.post("/assignments/bulk", data={"course": "TEST-BASICS", "next": "/units", **data})
        assert response.status_code == 302

    counts["extend selected"] = count_statements(connection, lambda: post(
        action="extend", officer=selected, due_on=(today + timedelta(days=30)).isoformat(), reason="More time"))
    counts["set-due unit"] = count_statements(connection, lambda: post(
        action="set_due", whole_unit="y", unit=top.code, due_on=(today + timedelta(days=20)).isoformat(),
        reason="Correct the date"))
    counts["exempt unit"] = count_statements(connection, lambda: post(
        action="exempt", whole_unit="y", unit=top.code, due_on=(today + timedelta(days=9)).isoformat(),
        reason="Range closed"))
    counts["withdraw selected"] = count_statements(connection, lambda: post(
        action="withdraw", officer=selected, reason="Wrong module"))
    assert session.scalar(select(func.count(AssignmentChange.id)).where(AssignmentChange.user_id.in_(ids))) == 3 * n
    return counts


def test_bulk_actions_take_as_many_statements_for_1000_officers_as_for_10(app, session, connection, course):
    small = bulk_counts(app, session, connection, course, 10)
    large = bulk_counts(app, session, connection, course, 1000)
    assert small == large, (small, large)
    print("bulk statement counts", large)
