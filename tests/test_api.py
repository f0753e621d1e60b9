"""The JSON API: tokens and scope, each endpoint, its errors as problem details, and the rate limit. Every answer
is checked against the OpenAPI document (tests/support/api.py)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from openapi_spec_validator import validate as validate_document
from sqlalchemy import select

from tests.support.api import Api, document, make_token
from tests.support.dates import today
from tests.support.factories import add_unit, certify, make_org, make_user
from tests.support.views import TOKEN, token_views
from training.api.models import ApiToken
from training.assignments.service import assign_course
from training.audit.models import AuditEvent
from training.people.models import User
from training.records.models import Assignment
from training.records.rules import STATUSES


@pytest.fixture
def world(app, session, course):
    """Agency AGY (unit AGY-U1 with sub-unit AGY-SUB, and unit AGY-U2) and agency OTH, an officer in each unit,
    and tokens: the whole of AGY, unit AGY-U1 (and below), the whole of OTH, and a writing one for AGY."""
    agency, u1 = make_org(session, "AGY")
    sub = add_unit(session, agency, "AGY-SUB", u1)
    u2 = add_unit(session, agency, "AGY-U2")
    other, other_unit = make_org(session, "OTH")
    people = {
        "in_u1": make_user(session, "a@agy.test", agency=agency, unit=u1, first="Ann", last="Able", employee_id="E1"),
        "in_sub": make_user(session, "b@agy.test", agency=agency, unit=sub, first="Ben", last="Bell",
                            employee_id="E2"),
        "in_u2": make_user(session, "c@agy.test", agency=agency, unit=u2, first="Cal", last="Cole", employee_id="E3"),
        "other": make_user(session, "d@oth.test", agency=other, unit=other_unit, first="Dee", last="Dunn",
                           employee_id="E4"),
    }
    session.commit()
    tokens = {"agency": make_token(session, agency)[1], "unit": make_token(session, agency, u1)[1],
              "other": make_token(session, other)[1], "write": make_token(session, agency, write=True)[1]}
    return {"agency": agency, "units": {"u1": u1, "sub": sub, "u2": u2}, "people": people, "tokens": tokens,
            "course": course, "other": other}


@pytest.fixture
def api(client):
    return Api(client)


def test_the_document_is_valid_openapi_3_1_and_served_as_kept(api):
    validate_document(document())
    assert document()["openapi"].startswith("3.1")
    response = api.get("/openapi.json")
    assert response.status_code == 200 and response.get_json() == document()


def test_every_token_view_is_listed_and_refuses_a_request_without_a_token(app, api):
    api_views = {rule.endpoint for rule in app.url_map.iter_rules() if rule.endpoint.startswith("api.")}
    assert api_views == TOKEN | {"api.description"}
    for endpoint, method, path in token_views(app):
        response = api.open(method, path.removeprefix("/api/v1"))
        assert response.status_code == 401, (endpoint, method)
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert "Set-Cookie" not in response.headers


def test_every_path_and_operation_of_the_document_is_an_endpoint(app):
    served = {rule.rule.replace("<employee_id>", "{employee_id}") for rule in app.url_map.iter_rules()
              if rule.endpoint.startswith("api.")}
    assert {f"/api/v1{path}" for path in document()["paths"]} == served


def _ids(officers):
    return [o["employee_id"] for o in officers]


def test_each_token_sees_its_scope_and_nothing_else(api, world):
    tokens = world["tokens"]
    assert sorted(_ids(api.every_page("/officers", token=tokens["agency"]))) == ["E1", "E2", "E3"]
    assert sorted(_ids(api.every_page("/officers", token=tokens["unit"]))) == ["E1", "E2"]
    assert sorted(_ids(api.every_page("/officers", token=tokens["other"]))) == ["E4"]
    # One officer: inside the scope, or "not found" exactly as for an employee id nobody has.
    assert api.get("/officers/E2", token=tokens["unit"]).status_code == 200
    outside, nobody = api.get("/officers/E3", token=tokens["unit"]), api.get("/officers/E99", token=tokens["unit"])
    assert outside.status_code == nobody.status_code == 404
    assert outside.get_json()["title"] == nobody.get_json()["title"] == "Not Found"
    assert outside.get_json()["detail"].replace("E3", "E99") == nobody.get_json()["detail"]
    assert api.get("/officers/E1", token=tokens["other"]).status_code == 404


def test_officers_carry_their_status_per_required_module(api, session, world):
    people, course = world["people"], world["course"]
    certify(session, people["in_u1"], course, days_ago=10)
    certify(session, people["in_sub"], course, days_ago=400)     # lapsed
    assign_course(session, course, select(User.id).where(User.id == people["in_u2"].id),
                  today(people["in_u2"]) + timedelta(days=5), today(people["in_u2"]), reason="individual")
    session.commit()
    by_id = {o["employee_id"]: o for o in api.every_page("/officers", token=world["tokens"]["agency"])}
    assert [m["status"] for m in by_id["E1"]["modules"]] == ["current"]
    assert by_id["E1"]["modules"][0]["course_code"] == "TEST-BASICS"
    assert by_id["E1"]["modules"][0]["course_version"] == 1
    assert by_id["E2"]["modules"][0]["status"] == "lapsed"
    assert by_id["E3"]["modules"][0] | {"course_title": None} == {
        "course_code": "TEST-BASICS", "course_title": None, "status": "assigned",
        "due_on": (today(people["in_u2"]) + timedelta(days=5)).isoformat(), "completed_on": None,
        "expires_on": None, "course_version": None, "score": None, "exempt_until": None}
    assert by_id["E2"]["agency"] == "AGY" and by_id["E2"]["unit"] == "AGY-SUB"


def test_deployable_is_false_with_the_reasons_when_a_certification_lapsed_or_is_overdue(api, session, world):
    people, course, token = world["people"], world["course"], world["tokens"]["agency"]
    certify(session, people["in_u1"], course, days_ago=10)
    certify(session, people["in_sub"], course, days_ago=400)
    officer = people["in_u2"]
    assign_course(session, course, select(User.id).where(User.id == officer.id), today(officer), today(officer),
                  reason="individual")
    session.execute(Assignment.__table__.update().where(Assignment.user_id == officer.id)
                    .values(due_on=today(officer) - timedelta(days=3)))
    session.commit()
    current = api.get("/officers/E1", token=token).get_json()
    assert current["deployable"] is True and current["reasons"] == []
    lapsed = api.get("/officers/E2", token=token).get_json()
    assert lapsed["deployable"] is False
    assert lapsed["reasons"] == [{"course_code": "TEST-BASICS", "status": "lapsed", "message": (
        f"Test TEST-BASICS: the certification expired on {lapsed['modules'][0]['expires_on']}.")}]
    overdue = api.get("/officers/E3", token=token).get_json()
    assert overdue["deployable"] is False and overdue["reasons"][0]["status"] == "overdue"
    assert (today(officer) - timedelta(days=3)).isoformat() in overdue["reasons"][0]["message"]


def test_paging_through_every_officer_with_the_cursor_has_no_duplicates_or_gaps(api, session, world):
    agency, unit = world["agency"], world["units"]["u2"]
    for n in range(23):
        make_user(session, f"p{n}@agy.test", agency=agency, unit=unit, employee_id=f"P{n:02d}")
    session.commit()
    seen, cursor, pages = [], None, 0
    while True:
        page = api.get("/officers", token=world["tokens"]["agency"],
                       query_string={"limit": 5, **({"cursor": cursor} if cursor else {})}).get_json()
        pages += 1
        assert len(page["officers"]) <= 5
        seen += _ids(page["officers"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    expected = sorted(["E1", "E2", "E3"] + [f"P{n:02d}" for n in range(23)])
    assert sorted(seen) == expected and len(seen) == len(set(seen)) and pages == 6
    # An officer added behind the cursor while paging is not skipped by the pages after it.
    first = api.get("/officers", token=world["tokens"]["agency"], query_string={"limit": 20}).get_json()
    make_user(session, "late@agy.test", agency=agency, unit=unit, employee_id="LATE")
    session.commit()
    rest = api.get("/officers", token=world["tokens"]["agency"],
                   query_string={"limit": 200, "cursor": first["next_cursor"]}).get_json()
    assert "LATE" in _ids(rest["officers"]) and not set(_ids(first["officers"])) & set(_ids(rest["officers"]))


def test_filters_by_unit_subtree_module_and_status(api, session, world, tmp_path):
    people, course, token = world["people"], world["course"], world["tokens"]["agency"]
    certify(session, people["in_u1"], course, days_ago=10)
    certify(session, people["in_sub"], course, days_ago=400)
    session.commit()
    assert sorted(_ids(api.every_page("/officers", token=token, query_string={"unit": "AGY-U1"}))) == ["E1", "E2"]
    assert _ids(api.every_page("/officers", token=token, query_string={"unit": "AGY-SUB"})) == ["E2"]
    assert sorted(_ids(api.every_page("/officers", token=token, query_string={"module": "TEST-BASICS"}))) == \
        ["E1", "E2"]
    lapsed = api.every_page("/officers", token=token, query_string={"status": "lapsed", "module": "TEST-BASICS"})
    assert _ids(lapsed) == ["E2"] and [m["status"] for m in lapsed[0]["modules"]] == ["lapsed"]
    assert _ids(api.every_page("/officers", token=token, query_string={"status": "current"})) == ["E1"]
    assert api.every_page("/officers", token=token, query_string={"status": "overdue"}) == []
    # Paging works through a filter too.
    page = api.get("/officers", token=token, query_string={"module": "TEST-BASICS", "limit": 1}).get_json()
    rest = api.get("/officers", token=token, query_string={"module": "TEST-BASICS", "cursor": page["next_cursor"]})
    assert _ids(page["officers"]) + _ids(rest.get_json()["officers"]) == ["E1", "E2"]


@pytest.mark.parametrize("query, field", [
    ({"limit": "0"}, "limit"), ({"limit": "201"}, "limit"), ({"limit": "ten"}, "limit"),
    ({"cursor": "forged"}, "cursor"), ({"unit": "AGY-U2"}, "unit"), ({"unit": "OTH-U1"}, "unit"),
    ({"module": "NOPE"}, "module"), ({"status": "late"}, "status"), ({"colour": "red"}, "colour"),
])
def test_bad_parameters_are_400_problems_naming_the_parameter(api, world, query, field):
    response = api.get("/officers", token=world["tokens"]["unit"], query_string=query)
    assert response.status_code == 400
    body = response.get_json()
    assert body["type"] == "urn:rollcall:api:invalid-parameters"
    assert [e["field"] for e in body["errors"]] == [field] and field in body["detail"]


def test_a_cursor_of_one_listing_is_not_taken_by_another(api, world, session):
    for n in range(3):
        make_user(session, f"q{n}@agy.test", agency=world["agency"], unit=world["units"]["u1"])
    session.commit()
    officers_cursor = api.get("/officers", token=world["tokens"]["agency"],
                              query_string={"limit": 1}).get_json()["next_cursor"]
    response = api.get("/completions", token=world["tokens"]["agency"], query_string={"since": officers_cursor})
    assert response.status_code == 400 and response.get_json()["errors"][0]["field"] == "since"


def test_unknown_addresses_and_methods_answer_problems_not_pages(api, world):
    token = world["tokens"]["agency"]
    missing = api.get("/nothing-here", token=token)
    assert missing.status_code == 404 and missing.get_json()["status"] == 404
    wrong_method = api.open("DELETE", "/officers", token=token)
    assert wrong_method.status_code == 405 and "GET" in wrong_method.headers["Allow"]
    assert wrong_method.get_json()["title"] == "Method Not Allowed"


def test_an_unexpected_failure_is_a_500_problem_that_says_nothing_of_its_cause(app, api, world, monkeypatch):
    from training.api import service

    def broken(*_args, **_kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(service, "officers_page", broken)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = api.get("/officers", token=world["tokens"]["agency"])
    assert response.status_code == 500 and "secret" not in response.get_data(as_text=True)
    assert response.get_json()["detail"].startswith("Something went wrong; nothing was saved.")


def test_statuses_of_the_document_are_the_rules_own(world):
    parameters = document()["paths"]["/officers"]["get"]["parameters"]
    assert next(p for p in parameters if p["name"] == "status")["schema"]["enum"] == list(STATUSES)


def test_tokens_are_kept_only_as_their_sha256(session, world):
    import hashlib

    raw = world["tokens"]["agency"]
    hashes = set(session.scalars(select(ApiToken.token_hash)))
    assert hashlib.sha256(raw.encode()).hexdigest() in hashes and raw not in hashes


def test_no_cookie_is_read_or_set(api, client, world):
    from tests.support.pages import login

    login(client, world["people"]["in_u1"].email)   # a signed-in browser's cookie opens nothing here
    assert client.get_cookie("session") is not None
    response = api.get("/officers")
    assert response.status_code == 401
    response = api.get("/officers", token=world["tokens"]["agency"])
    assert response.status_code == 200 and "Set-Cookie" not in response.headers
    assert response.headers["Cache-Control"] == "no-store"


def test_last_used_is_noted_at_most_once_a_minute(api, session, world, monkeypatch):
    from training import clock

    token = session.scalar(select(ApiToken).where(ApiToken.name == "Test system", ApiToken.unit_id.is_(None),
                                                  ApiToken.agency_id == world["agency"].id,
                                                  ApiToken.can_write.is_(False)))
    assert token.last_used_at is None
    api.get("/officers", token=world["tokens"]["agency"])
    session.refresh(token)
    first = token.last_used_at
    assert first is not None
    api.get("/officers", token=world["tokens"]["agency"])
    session.refresh(token)
    assert token.last_used_at == first
    later = clock.current_instant() + timedelta(minutes=2)
    monkeypatch.setattr(clock, "current_instant", lambda: later)
    api.get("/officers", token=world["tokens"]["agency"])
    session.refresh(token)
    assert token.last_used_at > first


def test_audit_events_of_token_writes_name_the_token(api, session, world):
    api.post("/assignments", token=world["tokens"]["write"],
             json={"course_code": "TEST-BASICS", "employee_id": "E1",
                   "due_on": (today(world["people"]["in_u1"]) + timedelta(days=30)).isoformat()})
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "assignment.created")).one()
    token = session.scalar(select(ApiToken).where(ApiToken.can_write.is_(True)))
    assert event.details["api_token"] == {"id": token.id, "name": token.name} and event.actor_id is None
    from training.audit.describe import describe_all

    admin = make_user(session, "admin@x.test", role="admin")
    sentence = describe_all(session, admin, [event])[0].sentence
    assert sentence.startswith(f"The API token {token.name} (number {token.id}) assigned")
