"""Nothing outside a user's scope appears anywhere: a second agency's people, with names found nowhere else,
never show on a page, in a download, in an upload preview or in an error seen by staff of the first agency,
whatever the address, the filter or the file asks for."""
from __future__ import annotations

import io
import zipfile
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.support.factories import add_unit, certify, make_org, make_user
from tests.support.pages import login
from tests.support.views import URL_VALUES
from training.assignments.service import assign_course, extend_assignment, grant_exemption
from training.catalog.service import current_version
from training.clock import today_for
from training.learn.service import open_lesson, start_attempt
from training.people.models import User
from training.records.models import Assignment

# Each person of the other agency (and the administrator who works only there) by the words that identify them.
OTHER_PEOPLE = {
    "officer": ("Zebediah", "Quixotelander", "ZQX-90817", "zebediah.quixotelander@other.test"),
    "coordinator": ("Xanthippe", "Vorstmann", "XV-55120", "xanthippe.vorstmann@other.test"),
    "moved": ("Ottoline", "Brackwater", "OB-31337", "ottoline.brackwater@other.test"),
    "admin": ("Perpetua", "Overgaard", "PO-77001", "perpetua.overgaard@hq.test"),
}
SECRETS = [word for person in OTHER_PEOPLE.values() for word in person]


def person(session, key, role, agency, unit):
    first, last, employee_id, email = OTHER_PEOPLE[key]
    return make_user(session, email, role=role, agency=agency, unit=unit, first=first, last=last,
                     employee_id=employee_id)


@pytest.fixture
def world(session, course):
    home, home_unit = make_org(session, "HOME")
    sub = add_unit(session, home, "HOME-SUB", home_unit)
    other, other_unit = make_org(session, "OTHR")
    mine = make_user(session, "mine@home.test", agency=home, unit=sub, first="Hal", last="Homer", employee_id="H-1")
    coordinator = make_user(session, "coord@home.test", role="coordinator", agency=home)
    compliance = make_user(session, "comp@home.test", role="compliance", agency=home)
    sub_coordinator = make_user(session, "subcoord@home.test", role="coordinator", agency=home, unit=sub,
                                scope_unit_id=sub.id)
    officer = person(session, "officer", "officer", other, other_unit)
    other_coordinator = person(session, "coordinator", "coordinator", other, None)
    moved = person(session, "moved", "coordinator", home, None)
    admin = person(session, "admin", "admin", None, None)
    officer.supervisor_id = other_coordinator.id
    session.flush()
    today = today_for(mine)
    version = current_version(session, course)
    # The other agency's life: assignments, extensions, exemptions, a completion, a quiz attempt.
    for who, actor in ((officer, other_coordinator), (mine, moved)):
        assign_course(session, course, select(User.id).where(User.id == who.id), today + timedelta(days=20), today,
                      reason="individual", actor_id=actor.id, about=who)
    for who, actor in ((officer, admin), (mine, moved)):
        assignment = session.scalar(select(Assignment).where(Assignment.user_id == who.id))
        extend_assignment(session, assignment, today + timedelta(days=40), "Training room closed", actor_id=actor.id)
    grant_exemption(session, officer.id, course.id, today, today + timedelta(days=10), "On deployment overseas",
                    actor_id=other_coordinator.id)
    # One who acted in the other agency moves here: what they did there stays there.
    newcomer = make_user(session, "leo@other.test", role="coordinator", agency=other, first="Leo", last="Fair",
                         employee_id="LF-1")
    second = session.scalar(select(Assignment).where(Assignment.user_id == officer.id))
    extend_assignment(session, second, today + timedelta(days=50), "Flooded firing range", actor_id=newcomer.id)
    completion = certify(session, officer, course, days_ago=30)
    for lesson in version.lessons:
        open_lesson(session, officer, lesson)
    attempt = start_attempt(session, officer, version)
    # A coordinator who acted in this agency moves to the other: what they did here stays, they do not show.
    moved.agency_id = other.id
    newcomer.agency_id = home.id
    session.commit()
    return {"home": {"code": sub.code, "user_id": mine.id, "completion_id": 1, "attempt_id": 1,
                     "assignment_id": session.scalar(select(Assignment.id).where(Assignment.user_id == mine.id))},
            "other": {"code": other_unit.code, "user_id": officer.id, "completion_id": completion.id,
                      "attempt_id": attempt.id,
                      "assignment_id": session.scalar(select(Assignment.id).where(Assignment.user_id == officer.id))},
            "staff": [coordinator, compliance, sub_coordinator]}


def readable(response) -> str:
    """What a person could read in the answer: its text, or every part of a workbook."""
    body = response.get_data()
    if body[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(body)) as book:
            return " ".join(book.read(name).decode("utf-8", "replace") for name in book.namelist())
    return body.decode("utf-8", "replace")


def assert_clean(response, where: str, typed: tuple[str, ...] = ()) -> None:
    """None of the other agency's words, except what the request itself typed."""
    text = readable(response)
    said = " ".join(typed).lower()
    leaked = [word for word in SECRETS if word.lower() in text.lower() and word.lower() not in said]
    assert not leaked, f"{where} shows {leaked}"


def test_no_page_of_any_address_shows_another_agency_s_people(app, client, world):
    for staff in world["staff"]:
        client.post("/logout")
        login(client, staff.email)
        for side in ("home", "other"):
            for endpoint, method, path in _addresses(app, world[side]):
                response = client.open(path, method=method, data={})
                assert_clean(response, f"{staff.email} {method} {path} ({endpoint}, {response.status_code})")


def _addresses(app, values):
    """Every view's address, its path values taken from one agency's records."""
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.endpoint.startswith("auth."):
            continue
        path = rule.rule
        for name in rule.arguments:
            value = values.get(name, URL_VALUES[name])
            path = path.replace(f"<int:{name}>", str(value)).replace(f"<{name}>", str(value))
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule.endpoint, method, path


@pytest.mark.parametrize("query", [
    {}, {"agency": "OTHR"}, {"unit": "OTHR-U1"}, {"status": "assigned"}, {"format": "xlsx"},
    {"format": "xlsx", "agency": "OTHR"}, {"course": "TEST-BASICS", "as_of": "2020-01-01"},
])
def test_no_report_or_download_shows_another_agency_s_people(client, world, query):
    for staff in world["staff"]:
        client.post("/logout")
        login(client, staff.email)
        for path in ("/reports/roster", "/reports/roster/download", "/reports/roster.csv", "/reports/compliance",
                     "/reports/compliance.csv",
                     "/audit", "/audit/export.csv", "/units", "/team", "/"):
            assert_clean(client.get(path, query_string=query), f"{staff.email} {path} {query}")
        acks = {f"ack-{'document' if k == 'course' else k}": v for k, v in query.items() if k != "status"}
        assert_clean(client.get("/reports/acknowledgements/download", query_string=acks),
                     f"{staff.email} acknowledgements {acks}")
        for actor in ("xanth", "ottoline", "perpetua", "other.test", "admin"):
            assert_clean(client.get("/audit", query_string={"actor": actor}), f"audit actor={actor}", (actor,))


def upload(client, name: str, text: str, full: bool = False):
    data = {"file": (io.BytesIO(text.encode()), f"{name}.csv")}
    if full:
        data["full"] = "y"
    return client.post(f"/imports/{name}", data=data, content_type="multipart/form-data")


ROSTER = "employee_id,first_name,last_name,email,agency,unit,supervisor_employee_id\n"


@pytest.mark.parametrize("kind, text, typed", [
    ("roster", ROSTER + "ZQX-90817,Zed,New,zed.new@home.test,HOME,HOME-SUB,\n", ("ZQX-90817",)),
    ("roster", ROSTER + "N-1,Nell,New,zebediah.quixotelander@other.test,HOME,HOME-SUB,\n",
     ("zebediah.quixotelander@other.test",)),
    ("roster", ROSTER + "N-1,Nell,New,nell@home.test,HOME,HOME-SUB,XV-55120\n", ("XV-55120",)),
    ("roster", ROSTER + "N-1,Nell,New,nell@home.test,HOME,HOME-SUB,OB-31337\n", ("OB-31337",)),
    ("roster", ROSTER + "N-1,Nell,New,nell@home.test,OTHR,OTHR-U1,\n", ()),
    ("roster", ROSTER + "H-1,Hal,Homer,mine@home.test,HOME,HOME-SUB,\n", ()),
    ("completions", "employee_id,course_code,completed_on,score\nZQX-90817,TEST-BASICS,2026-01-05,90\n",
     ("ZQX-90817",)),
])
def test_no_upload_preview_names_a_person_outside_scope(client, world, kind, text, typed):
    coordinator = world["staff"][0]
    login(client, coordinator.email)
    for full in (False, True) if kind == "roster" else (False,):
        response = upload(client, kind, text, full=full)
        assert response.status_code in (200, 422)
        assert_clean(response, f"{kind} preview {text!r} full={full}", typed)


def test_the_refusals_about_an_outside_person_say_only_that(client, world):
    login(client, world["staff"][0].email)
    page = upload(client, "roster", ROSTER + "N-1,Nell,New,nell@home.test,HOME,HOME-SUB,XV-55120\n")
    assert page.status_code == 422
    assert "names a person outside your scope" in page.get_data(as_text=True)
    page = upload(client, "roster", ROSTER + "N-1,Nell,New,zebediah.quixotelander@other.test,HOME,HOME-SUB,\n")
    assert "is already used by a person outside your scope" in page.get_data(as_text=True)


def test_the_audit_trail_shows_events_about_the_agency_whoever_did_them(client, world):
    login(client, world["staff"][1].email)
    page = client.get("/audit").get_data(as_text=True)
    assert "Training room closed" in page               # the moved coordinator's extension of a HOME officer
    assert "coordinator outside your scope" in page     # ... by someone now outside the reader's scope
    assert "On deployment overseas" not in page         # the other agency's exemption
    assert "Flooded firing range" not in page           # done there by someone who has since moved here
    assert "assignment.extended" in page

