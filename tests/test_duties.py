"""Separation of duties, and access that changes only through a new sign-in.

Nobody records a completion, grants an exemption or an extension, or revokes a certificate for themselves;
long exemptions and exemptions for staff are an administrator's; supervisors belong to the officer's agency;
a change of role or scope, by any path, ends the account's sessions."""
from __future__ import annotations

import io
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.support.factories import add_unit, certify, make_org, make_user
from tests.support.pages import login
from training.access import Forbidden
from training.assignments.service import assign_course, extend_assignment, grant_exemption
from training.audit.models import AuditEvent
from training.auth.models import UserSession
from training.clock import today_for
from training.people.models import User
from training.records.models import Assignment, Completion, Exemption


@pytest.fixture
def team(session, course):
    agency, unit = make_org(session, "AGY")
    other, other_unit = make_org(session, "OTH")
    people = {
        "coord": make_user(session, "coord@agency.test", role="coordinator", agency=agency, unit=unit,
                           employee_id="C-1"),
        "peer": make_user(session, "peer@agency.test", role="coordinator", agency=agency, employee_id="C-2"),
        "comp": make_user(session, "comp@agency.test", role="compliance", agency=agency, unit=unit, employee_id="K-1"),
        "admin": make_user(session, "admin@agency.test", role="admin", employee_id="ADM"),
        "officer": make_user(session, "officer@agency.test", agency=agency, unit=unit, employee_id="O-1"),
        "elsewhere": make_user(session, "far@other.test", agency=other, unit=other_unit, employee_id="F-1"),
    }
    today = today_for(people["officer"])
    for key in ("coord", "officer", "comp"):
        assign_course(session, course, select(User.id).where(User.id == people[key].id), today + timedelta(days=30),
                      today, reason="individual")
    session.commit()
    return people


def refusals(session, user) -> int:
    return session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "access.refused",
                                                                  AuditEvent.target == f"user:{user.id}"))


def own_assignment(session, user) -> Assignment:
    return session.scalar(select(Assignment).where(Assignment.user_id == user.id))


def test_a_coordinator_cannot_extend_or_exempt_their_own_training(client, session, team, course):
    coord = team["coord"]
    assignment = own_assignment(session, coord)
    due = assignment.due_on
    login(client, coord.email)
    page = client.get(f"/officers/{coord.id}").get_data(as_text=True)
    assert f"/officers/{coord.id}/exemptions" not in page     # no buttons on one's own record
    later = (due + timedelta(days=30)).isoformat()
    extended = client.post(f"/officers/{coord.id}/assignments/{assignment.id}/extend",
                           data={"due_on": later, "reason": "I am too busy this month"}, follow_redirects=True)
    assert "you cannot grant an extension for yourself" in extended.get_data(as_text=True)
    exempted = client.post(f"/officers/{coord.id}/exemptions", follow_redirects=True, data={
        "course": course.code, "starts_on": due.isoformat(), "ends_on": "2099-12-31", "reason": "Exempt me please"})
    assert "you cannot grant an exemption for yourself" in exempted.get_data(as_text=True)
    session.expire_all()
    assert own_assignment(session, coord).due_on == due
    assert session.scalar(select(func.count(Exemption.id))) == 0
    assert refusals(session, coord) == 2


def test_the_services_refuse_acts_on_oneself_whoever_calls_them(session, team, course):
    coord = team["coord"]
    with pytest.raises(Forbidden, match="extension for yourself"):
        extend_assignment(session, own_assignment(session, coord), own_assignment(session, coord).due_on
                          + timedelta(days=9), "A reason of some words", actor_id=coord.id)
    with pytest.raises(Forbidden, match="exemption for yourself"):
        grant_exemption(session, coord.id, course.id, own_assignment(session, coord).due_on,
                        own_assignment(session, coord).due_on, "A reason of some words", actor_id=coord.id)


def test_nobody_uploads_their_own_completion(client, session, team):
    login(client, team["coord"].email)
    done_on = (today_for(team["coord"]) - timedelta(days=3)).isoformat()
    response = client.post("/imports/completions", content_type="multipart/form-data", data={"file": (io.BytesIO(
        f"employee_id,course_code,completed_on,score\nC-1,TEST-BASICS,{done_on},100\n".encode()), "mine.csv")})
    assert response.status_code == 422
    assert "this row is your own completion" in response.get_data(as_text=True)
    assert session.scalar(select(func.count(Completion.id))) == 0


def test_nobody_revokes_their_own_certificate(client, session, team, course):
    comp = team["comp"]
    completion = certify(session, comp, course, days_ago=5)
    login(client, comp.email)
    response = client.post(f"/completions/{completion.id}/revoke", data={"reason": "I want to take it again"})
    assert response.status_code == 422
    assert "You cannot revoke a certificate for yourself" in response.get_data(as_text=True)
    session.expire_all()
    assert session.get(Completion, completion.id).revoked_on is None
    assert refusals(session, comp) == 1


@pytest.mark.parametrize("who, days, allowed", [
    ("coord", 365, True), ("coord", 366, False), ("admin", 900, True),
])
def test_long_exemptions_need_an_administrator(client, session, team, course, who, days, allowed):
    officer = team["officer"]
    start = today_for(officer)
    login(client, team[who].email)
    client.post(f"/officers/{officer.id}/exemptions", data={
        "course": course.code, "starts_on": start.isoformat(),
        "ends_on": (start + timedelta(days=days - 1)).isoformat(), "reason": "Long-term medical leave"})
    assert (session.scalar(select(func.count(Exemption.id))) == 1) is allowed
    assert (refusals(session, officer) == 0) is allowed


def test_a_coordinator_does_not_exempt_staff(client, session, team, course):
    comp = team["comp"]
    login(client, team["coord"].email)
    response = client.post(f"/officers/{comp.id}/exemptions", follow_redirects=True, data={
        "course": course.code, "starts_on": today_for(comp).isoformat(),
        "ends_on": (today_for(comp) + timedelta(days=5)).isoformat(), "reason": "Covering a shift"})
    assert "needs an administrator" in response.get_data(as_text=True)
    assert session.scalar(select(func.count(Exemption.id))) == 0


ROSTER = "employee_id,first_name,last_name,email,agency,unit,supervisor_employee_id"


def upload_roster(client, lines: str, extra: str = ""):
    text = ROSTER + extra + "\n" + lines
    return client.post("/imports/roster", content_type="multipart/form-data",
                       data={"file": (io.BytesIO(text.encode()), "roster.csv")})


def test_a_supervisor_belongs_to_the_officer_s_agency(client, session, team):
    login(client, team["admin"].email)
    response = upload_roster(client, "N-1,Nia,New,nia@agency.test,AGY,AGY-U1,F-1\n")
    assert response.status_code == 422
    assert "belongs to agency OTH, not AGY" in response.get_data(as_text=True)
    both = upload_roster(client, "N-1,Nia,New,nia@agency.test,AGY,AGY-U1,N-2\nN-2,Ned,New,ned@other.test,OTH,OTH-U1,\n")
    assert "is in agency OTH in this file, not AGY" in both.get_data(as_text=True)


def open_sessions(session, user) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(UserSession).where(UserSession.user_id == user.id,
                                                                   UserSession.ended_at.is_(None)))


def confirm(client, preview):
    token = preview.get_data(as_text=True).split('name="token" value="')[1].split('"')[0]
    return client.post("/imports/roster/confirm", data={"token": token, "filename": "roster.csv"})


def test_an_administrator_s_roster_with_roles_works_and_ends_the_changed_accounts_sessions(app, client, session, team):
    officer, peer = team["officer"], team["peer"]
    officer_browser, peer_browser = app.test_client(), app.test_client()
    login(officer_browser, officer.email)
    login(peer_browser, peer.email)
    assert open_sessions(session, officer) == 1 and open_sessions(session, peer) == 1
    login(client, team["admin"].email)
    preview = upload_roster(client, "O-1,Pat,Doe,officer@agency.test,AGY,AGY-U1,,coordinator\n"
                                    "C-2,Pat,Doe,peer@agency.test,OTH,OTH-U1,,\n", extra=",role")
    assert preview.status_code == 200, preview.get_data(as_text=True)
    assert confirm(client, preview).status_code == 302
    session.expire_all()
    assert session.get(User, officer.id).role == "coordinator"
    assert session.get(User, peer.id).agency.code == "OTH"
    assert open_sessions(session, officer) == 0 and open_sessions(session, peer) == 0
    assert officer_browser.get("/").status_code == 302      # signed out: the new role signs in afresh


def test_a_coordinator_may_not_give_roles_or_change_their_own_account(client, session, team):
    login(client, team["coord"].email)
    roles = upload_roster(client, "O-1,Pat,Doe,officer@agency.test,AGY,AGY-U1,,coordinator\n", extra=",role")
    assert "only an administrator can give the role" in roles.get_data(as_text=True)
    own = upload_roster(client, "C-1,Pat,Renamed,coord@agency.test,AGY,AGY-U1,\n")
    assert "this row is your own account" in own.get_data(as_text=True)


def test_a_change_of_scope_in_the_site_ends_the_sessions(app, client, session, team):
    comp = team["comp"]
    browser = app.test_client()
    login(browser, comp.email)
    assert open_sessions(session, comp) == 1
    login(client, team["admin"].email)
    unit = add_unit(session, session.get(User, comp.id).agency, "AGY-SUB", session.get(User, comp.id).unit)
    session.commit()
    response = client.post(f"/admin/users/{comp.id}", data={
        "email": comp.email, "first_name": "Pat", "last_name": "Doe", "employee_id": "K-1", "role": "compliance",
        "agency": "AGY", "unit": "AGY-U1", "scope_unit": unit.code, "active": "y", "password": ""})
    assert response.status_code == 302
    assert open_sessions(session, comp) == 0


def test_users_create_takes_the_scope_of_a_coordinator(runner, session, team):
    result = runner.invoke(args=["users", "create", "--email", "unit.lead@agency.test", "--first-name", "Uma",
                                 "--last-name", "Lead", "--role", "coordinator", "--agency", "AGY", "--unit", "AGY-U1",
                                 "--password", "a-sufficiently-long-one"])
    assert result.exit_code == 0, result.output
    assert "sees and acts within unit AGY-U1 and the units below it" in result.output
    lead = session.scalar(select(User).where(User.email == "unit.lead@agency.test"))
    assert (lead.agency.code, lead.scope_unit_id, lead.unit_id) == ("AGY", lead.unit.id, lead.unit.id)
    refused = runner.invoke(args=["users", "create", "--email", "x@agency.test", "--first-name", "X",
                                  "--last-name", "Y", "--role", "compliance", "--unit", "AGY-U1",
                                  "--password", "a-sufficiently-long-one"])
    assert refused.exit_code != 0 and "not part of the chosen agency" in refused.output
