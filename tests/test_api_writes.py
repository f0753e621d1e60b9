"""Writing through the API: assignments and roster uploads, by --write tokens only, through the site's own
services and checks, each an audit event naming the token; nothing written on any problem."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.support.api import Api, make_token
from tests.support.dates import today
from tests.support.factories import add_unit, certify, make_org, make_user
from training.api.models import ApiToken
from training.audit.models import AuditEvent
from training.people.models import User
from training.records.models import Assignment

HEADER = "employee_id,first_name,last_name,email,agency,unit,supervisor_employee_id\n"


@pytest.fixture
def world(app, session, course):
    agency, u1 = make_org(session, "AGY")
    sub = add_unit(session, agency, "AGY-SUB", u1)
    u2 = add_unit(session, agency, "AGY-U2")
    other, other_unit = make_org(session, "OTH")
    people = [make_user(session, "a@agy.test", agency=agency, unit=u1, employee_id="E1"),
              make_user(session, "b@agy.test", agency=agency, unit=sub, employee_id="E2"),
              make_user(session, "c@agy.test", agency=agency, unit=u2, employee_id="E3"),
              make_user(session, "d@oth.test", agency=other, unit=other_unit, employee_id="E4")]
    session.commit()
    return {"agency": agency, "u1": u1, "people": people, "course": course,
            "read": make_token(session, agency, name="Reports")[1],
            "write": make_token(session, agency, write=True, name="HR sync"),
            "unit_write": make_token(session, agency, u1, write=True, name="Unit scheduler")[1]}


@pytest.fixture
def api(client):
    return Api(client)


def _due(world, days=30) -> str:
    return (today(world["people"][0]) + timedelta(days=days)).isoformat()


def _open(session, employee_id):
    return session.scalar(select(func.count()).select_from(Assignment).join(User, User.id == Assignment.user_id)
                          .where(User.employee_id == employee_id, Assignment.closed_at.is_(None)))


def test_a_write_token_assigns_to_a_unit_subtree_through_the_sites_service(api, session, world):
    certify(session, world["people"][1], world["course"], days_ago=5)
    response = api.post("/assignments", token=world["write"][1],
                        json={"course_code": "TEST-BASICS", "unit": "AGY-U1", "due_on": _due(world)})
    assert response.status_code == 201
    assert response.get_json() == {"course_code": "TEST-BASICS", "due_on": _due(world), "assigned": ["E1"],
                                   "already_certified": ["E2"], "already_assigned": [], "exempt": []}
    assert _open(session, "E1") == 1 and _open(session, "E3") == 0
    again = api.post("/assignments", token=world["write"][1],
                     json={"course_code": "TEST-BASICS", "employee_id": "E1", "due_on": _due(world)})
    assert again.status_code == 201 and again.get_json()["already_assigned"] == ["E1"]
    events = session.scalars(select(AuditEvent).where(AuditEvent.action == "assignment.created")
                             .order_by(AuditEvent.id)).all()
    token_id = world["write"][0]
    assert [e.details["api_token"] for e in events] == [{"id": token_id, "name": "HR sync"}] * 2
    assert events[0].details["assigned"] == 1 and events[0].unit_id == world["u1"].id


def test_a_read_only_token_posting_gets_403_and_nothing_is_written(api, session, world):
    response = api.post("/assignments", token=world["read"],
                        json={"course_code": "TEST-BASICS", "employee_id": "E1", "due_on": _due(world)})
    assert response.status_code == 403 and "read-only" in response.get_json()["detail"]
    roster = api.post("/roster", token=world["read"], data=HEADER, content_type="text/csv")
    assert roster.status_code == 403
    assert _open(session, "E1") == 0


@pytest.mark.parametrize("body, fields", [
    ({"course_code": "NOPE", "employee_id": "E1", "due_on": "DUE"}, ["course_code"]),
    ({"course_code": "TEST-BASICS", "employee_id": "E1"}, ["due_on"]),
    ({"course_code": "TEST-BASICS", "employee_id": "E1", "due_on": "31/12/2026"}, ["due_on"]),
    ({"course_code": "TEST-BASICS", "employee_id": "E1", "due_on": "2001-01-01"}, ["due_on"]),
    ({"course_code": "TEST-BASICS", "due_on": "DUE"}, [None]),
    ({"course_code": "TEST-BASICS", "employee_id": "E1", "unit": "AGY-U1", "due_on": "DUE"}, [None]),
    ({"course_code": "TEST-BASICS", "employee_id": "E4", "due_on": "DUE"}, ["employee_id"]),
    ({"course_code": "TEST-BASICS", "employee_id": "E9", "due_on": "DUE"}, ["employee_id"]),
    ({"course_code": "TEST-BASICS", "agency": "OTH", "due_on": "DUE"}, ["agency"]),
    ({"course_code": "TEST-BASICS", "employee_id": "E1", "due_on": "DUE", "why": "x"}, ["why"]),
    ({"course_code": "TEST-BASICS", "employee_id": "E1\x00", "due_on": "DUE"}, ["employee_id"]),
])
def test_assignment_problems_are_422_naming_each_field(api, session, world, body, fields):
    body = {name: _due(world) if value == "DUE" else value for name, value in body.items()}
    response = api.post("/assignments", token=world["write"][1], json=body)
    assert response.status_code == 422, response.get_json()
    problem = response.get_json()
    assert problem["type"] == "urn:rollcall:api:invalid-body"
    assert [e["field"] for e in problem["errors"]] == fields
    assert session.scalar(select(func.count()).select_from(Assignment)) == 0


def test_a_far_due_date_needs_allow_far(api, world):
    far = (today(world["people"][0]) + timedelta(days=3 * 365)).isoformat()
    refused = api.post("/assignments", token=world["write"][1],
                       json={"course_code": "TEST-BASICS", "employee_id": "E1", "due_on": far})
    assert refused.status_code == 422 and "allow_far" in refused.get_json()["errors"][0]["message"]
    done = api.post("/assignments", token=world["write"][1],
                    json={"course_code": "TEST-BASICS", "employee_id": "E1", "due_on": far, "allow_far": True})
    assert done.status_code == 201 and done.get_json()["assigned"] == ["E1"]


def test_a_unit_token_may_not_act_outside_its_unit_nor_on_the_whole_agency(api, world):
    for body in ({"employee_id": "E3"}, {"unit": "AGY-U2"}, {"agency": "AGY"}):
        response = api.post("/assignments", token=world["unit_write"],
                            json={"course_code": "TEST-BASICS", "due_on": _due(world), **body})
        assert response.status_code == 422 and "within the token's scope" in response.get_json()["detail"]


def test_bodies_that_are_not_json_objects(api, world):
    token = world["write"][1]
    assert api.post("/assignments", token=token, data="course=x",
                    content_type="application/x-www-form-urlencoded").status_code == 415
    broken = api.post("/assignments", token=token, data="{not json", content_type="application/json")
    assert broken.status_code == 400 and "not valid JSON" in broken.get_json()["detail"]
    assert api.post("/assignments", token=token, json=["a"]).status_code == 422


def test_a_roster_upload_adds_and_changes_people_and_names_the_token(api, session, world):
    csv = HEADER + "E1,Ann,Able-Smith,a@agy.test,AGY,AGY-U1,\nN1,New,Person,new@agy.test,AGY,AGY-SUB,E1\n"
    dry = api.post("/roster", token=world["write"][1], data=csv, content_type="text/csv",
                   query_string={"dry_run": "true"})
    assert dry.status_code == 200 and dry.get_json()["dry_run"] is True and dry.get_json()["added"] == 1
    assert session.scalar(select(User.id).where(User.employee_id == "N1")) is None
    response = api.post("/roster", token=world["write"][1], data=csv, content_type="text/csv")
    assert response.status_code == 200
    assert response.get_json() == {"dry_run": False, "added": 1, "changed": 1, "deactivated": 0, "unchanged": 0,
                                   "assigned_by_standing_rules": 0}
    new = session.scalar(select(User).where(User.employee_id == "N1"))
    assert new.supervisor_id == world["people"][0].id
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "roster.imported")).one()
    assert event.details["api_token"] == {"id": world["write"][0], "name": "HR sync"}
    assert event.details["source"] == "api" and event.agency_id == world["agency"].id


def test_roster_problems_come_back_with_their_lines_and_nothing_is_written(api, session, world):
    csv = (HEADER + "N1,New,Person,new@agy.test,AGY,AGY-U1,\n"
           "N2,Bad,Email,not-an-email,AGY,AGY-U1,\n"
           "N3,Other,Agency,n3@oth.test,OTH,OTH-U1,\n"
           "N1,Twice,Over,twice@agy.test,AGY,AGY-U1,\n")
    response = api.post("/roster", token=world["write"][1], data=csv, content_type="text/csv")
    assert response.status_code == 422
    problem = response.get_json()
    lines = [e["line"] for e in problem["errors"]]
    assert lines == sorted(lines) and {3, 4, 5} <= set(lines) and 2 not in lines
    by_line = {e["line"]: e["message"] for e in problem["errors"]}
    assert "outside your scope" in by_line[4] and "already appears on line 2" in by_line[5]
    assert "nothing was written" in problem["detail"] and problem["more_problems"] == 0
    assert session.scalar(select(User.id).where(User.employee_id == "N1")) is None
    assert session.scalar(select(AuditEvent.id).where(AuditEvent.action == "roster.imported")) is None


def test_a_unit_token_cannot_place_people_outside_its_unit(api, session, world):
    csv = HEADER + "N5,New,Person,n5@agy.test,AGY,AGY-U2,\n"
    response = api.post("/roster", token=world["unit_write"], data=csv, content_type="text/csv")
    assert response.status_code == 422 and response.get_json()["errors"][0]["line"] == 2


def test_roster_uploads_must_be_csv_of_allowed_size(app, api, world):
    assert api.post("/roster", token=world["write"][1], json={"a": 1}).status_code == 415
    app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024
    response = api.post("/roster", token=world["write"][1], data=HEADER * 20_000, content_type="text/csv")
    assert response.status_code == 413 and "larger than the 1 MB allowed" in response.get_json()["detail"]
    bad_flag = api.post("/roster", token=world["write"][1], data=HEADER, content_type="text/csv",
                        query_string={"full": "yes"})
    assert bad_flag.status_code == 400 and bad_flag.get_json()["errors"][0]["field"] == "full"


def test_writes_need_no_csrf_token(database_url, connection, tmp_path, session, world):
    """The API blueprint is exempt from CSRF (no cookie signs a request in there), even where forms need it."""
    from sqlalchemy.orm import sessionmaker

    import config
    from training import create_app

    app = create_app(config.TestConfig, DATABASE_URL=database_url, WTF_CSRF_ENABLED=True)
    app.extensions["db_sessionmaker"] = sessionmaker(bind=connection, join_transaction_mode="create_savepoint",
                                                     expire_on_commit=False)
    response = Api(app.test_client()).post("/assignments", token=world["write"][1], json={
        "course_code": "TEST-BASICS", "employee_id": "E1", "due_on": _due(world)})
    assert response.status_code == 201
    assert session.scalar(select(ApiToken.last_used_at).where(ApiToken.id == world["write"][0])) is not None
