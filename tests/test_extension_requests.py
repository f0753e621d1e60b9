"""Officers ask for more time; their supervisor, or a coordinator in scope, approves or refuses from a queue."""
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from tests.support.factories import make_org, make_user
from tests.support.pages import login
from training.clock import today_for
from training.records.models import Assignment, AssignmentChange, ExtensionRequest
from training.reminders.delivery import deliver
from training.reminders.models import OutboxMessage


@pytest.fixture
def team(session, course):
    agency, unit = make_org(session, "A")
    boss = make_user(session, "boss@a.test", agency=agency, unit=unit, first="Sam", last="Boss", employee_id="BOSS")
    officer = make_user(session, "dana@a.test", agency=agency, unit=unit, first="Dana", last="Cruz",
                        employee_id="D1", supervisor_id=boss.id)
    coord = make_user(session, "coord@a.test", role="coordinator", agency=agency, employee_id="C1")
    other_agency, other_unit = make_org(session, "B")
    outsider = make_user(session, "coord@b.test", role="coordinator", agency=other_agency, employee_id="C2")
    today = today_for(officer)
    assignment = Assignment(user_id=officer.id, course_id=course.id, due_on=today + timedelta(days=5), reason="unit")
    session.add(assignment)
    session.commit()
    return {"boss": boss, "officer": officer, "coord": coord, "outsider": outsider, "today": today,
            "assignment": assignment}


def signed_in(app, user):
    client = app.test_client()
    login(client, user.email)
    return client


def ask(client, team, reason="Court appearance all next week", asked=None):
    return client.post(f"/my/assignments/{team['assignment'].id}/more-time",
                       data={"reason": reason, "asked_due_on": asked or ""}, follow_redirects=True
                       ).get_data(as_text=True)


def test_supervisor_approves_with_a_date_and_the_officer_is_told(app, session, team, smtp):
    client = signed_in(app, team["officer"])
    asked = team["today"] + timedelta(days=20)
    assert "Your request was sent" in ask(client, team, asked=asked.isoformat())
    assert "already waiting" in ask(client, team)
    request = session.scalar(select(ExtensionRequest))
    client = signed_in(app, team["boss"])
    queue = client.get("/requests").get_data(as_text=True)
    assert "Cruz, Dana" in queue and "Court appearance" in queue
    granted = team["today"] + timedelta(days=15)
    html = client.post(f"/requests/{request.id}/decide", data={"decision": "approve", "due_on": granted.isoformat(),
                                                               "note": "Fifteen days is enough"},
                       follow_redirects=True).get_data(as_text=True)
    assert "Request approved" in html and "No requests are waiting" in html
    session.expire_all()
    assert team["assignment"].due_on == granted
    change = session.scalar(select(AssignmentChange))
    assert (change.kind, change.actor_id) == ("extended", team["boss"].id)
    assert session.scalar(select(OutboxMessage.kind)) == "extension-decided"
    deliver(app, on=team["today"], force=True)
    assert len(smtp.messages) == 1 and "more time granted" in smtp.messages[0]["Subject"]
    client = signed_in(app, team["officer"])
    page = client.get("/").get_data(as_text=True)
    assert "Approved" in page and granted.isoformat() in page and "Fifteen days is enough" in page


def test_refusal_needs_a_note(app, session, team):
    client = signed_in(app, team["officer"])
    ask(client, team)
    request = session.scalar(select(ExtensionRequest))
    client = signed_in(app, team["boss"])
    html = client.post(f"/requests/{request.id}/decide", data={"decision": "refuse", "note": ""},
                       follow_redirects=True).get_data(as_text=True)
    assert "say in a note why" in html
    client.post(f"/requests/{request.id}/decide", data={"decision": "refuse", "note": "Training is mandatory"})
    session.expire_all()
    assert (request.status, request.note) == ("refused", "Training is mandatory")
    assert team["assignment"].due_on == team["today"] + timedelta(days=5)


def test_coordinators_see_requests_nobody_answered_after_three_days(app, session, team):
    client = signed_in(app, team["officer"])
    ask(client, team)
    request = session.scalar(select(ExtensionRequest))
    client = signed_in(app, team["coord"])
    assert "Cruz, Dana" not in client.get("/requests").get_data(as_text=True)
    request.created_at = datetime.now() - timedelta(days=4)
    session.commit()
    assert "Cruz, Dana" in client.get("/requests").get_data(as_text=True)
    client = signed_in(app, team["outsider"])
    assert "Cruz, Dana" not in client.get("/requests").get_data(as_text=True)
    assert client.post(f"/requests/{request.id}/decide", data={"decision": "refuse", "note": "Not mine"}
                       ).status_code == 404
    session.expire_all()
    assert request.status == "pending"


def test_officers_cannot_decide_their_own_or_ask_for_others(app, session, team):
    client = signed_in(app, team["officer"])
    assert "give a reason" in ask(client, team, reason="")
    assert "in the past" in ask(client, team, asked=(team["today"] - timedelta(days=1)).isoformat())
    ask(client, team)
    request = session.scalar(select(ExtensionRequest))
    html = client.post(f"/requests/{request.id}/decide", data={"decision": "approve",
                                                               "due_on": (team["today"] + timedelta(days=9)).isoformat()},
                       follow_redirects=True).get_data(as_text=True)
    assert "you cannot decide a request for more time for yourself" in html
    client = signed_in(app, team["boss"])
    assert client.post(f"/my/assignments/{team['assignment'].id}/more-time",
                       data={"reason": "Not my assignment"}).status_code == 404
