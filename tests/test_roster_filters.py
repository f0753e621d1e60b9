"""Roster export filters, the as-of roster, scope refusals and the audit event, in the site."""
import csv
import functools
import io
import threading
from datetime import timedelta

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from tests.support.pages import login
from tests.support.roster_world import build_world
from training import spreadsheet
from training.audit.models import AuditEvent
from training.reports import service, views


@pytest.fixture
def world(session, course):
    return build_world(session, course)


def rows_of(response) -> dict[tuple[str, str], dict]:
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    text = response.get_data().decode("utf-8-sig")
    return {(r["employee_id"], r["course_code"]): r for r in csv.DictReader(io.StringIO(text))}


def download(client, **filters):
    response = client.get("/reports/roster/download", query_string={"format": "csv", **filters})
    response.get_data()   # the stream ends, and the audit event is written
    return response


def day(world, offset: int) -> str:
    return (world.today + timedelta(days=offset)).isoformat()


def export_events(session):
    return list(session.scalars(select(AuditEvent).where(AuditEvent.action == "export.roster")))


def test_agency_scope_gives_every_field_of_every_row(client, world):
    login(client, "compliance@a.test")
    rows = rows_of(download(client))
    assert set(rows) == {("A-1", "TEST-BASICS"), ("A-1", "FIRST-AID"), ("A-2", "TEST-BASICS"),
                         ("A-3", "TEST-BASICS"), ("A-4", "TEST-BASICS"), ("A-5", "TEST-BASICS")}
    assert rows["A-1", "TEST-BASICS"] == {
        "employee_id": "A-1", "last_name": "'=Cmd", "first_name": "Ada", "agency": "AAA", "unit": "AAA-U1",
        "course_code": "TEST-BASICS", "course_title": "Test TEST-BASICS", "course_version": str(world.basics_version),
        "status": "current", "due_on": "", "completed_on": day(world, -100), "score": "95",
        "expires_on": day(world, 265)}
    assert rows["A-1", "FIRST-AID"] == {
        "employee_id": "A-1", "last_name": "'=Cmd", "first_name": "Ada", "agency": "AAA", "unit": "AAA-U1",
        "course_code": "FIRST-AID", "course_title": "Tactical First Aid", "course_version": str(world.aid_version),
        "status": "lapsed", "due_on": day(world, 10), "completed_on": day(world, -400), "score": "85",
        "expires_on": day(world, -35)}
    bo = rows["A-2", "TEST-BASICS"]
    assert (bo["last_name"], bo["unit"], bo["status"], bo["due_on"]) == ("'@Bee", "AAA-SUB", "expiring", day(world, 15))
    assert (rows["A-3", "TEST-BASICS"]["status"], rows["A-3", "TEST-BASICS"]["due_on"]) == ("overdue", day(world, -5))
    assert rows["A-4", "TEST-BASICS"]["status"] == "exempt"
    assert rows["A-5", "TEST-BASICS"]["status"] == "current"


def test_file_name_tells_scope_and_day(client, world):
    login(client, "compliance@a.test")
    response = download(client, unit="AAA-U1")
    assert f'filename="roster-AAA-AAA-U1-{world.today.isoformat()}.csv"' in response.headers["Content-Disposition"]
    response = download(client, as_of=world.past.isoformat(), course="TEST-BASICS")
    assert f"roster-AAA-TEST-BASICS-{world.past.isoformat()}.csv" in response.headers["Content-Disposition"]


def test_admin_sees_every_agency_and_can_narrow_to_one(client, world):
    login(client, "admin@x.test")
    assert ("B-1", "TEST-BASICS") in rows_of(download(client))
    assert {k[0] for k in rows_of(download(client, agency="BBB"))} == {"B-1"}


def test_unit_filter_includes_sub_units(client, world):
    login(client, "compliance@a.test")
    assert {k[0] for k in rows_of(download(client, unit="AAA-U1"))} == {"A-1", "A-2", "A-4", "A-5"}
    assert {k[0] for k in rows_of(download(client, unit="AAA-SUB"))} == {"A-2"}


def test_course_status_and_date_filters(client, world):
    login(client, "compliance@a.test")
    assert set(rows_of(download(client, course="FIRST-AID"))) == {("A-1", "FIRST-AID")}
    assert set(rows_of(download(client, status="overdue"))) == {("A-3", "TEST-BASICS")}
    assert set(rows_of(download(client, status="lapsed"))) == {("A-1", "FIRST-AID")}
    completed = rows_of(download(client, completed_from=day(world, -360), completed_to=day(world, -100)))
    assert set(completed) == {("A-1", "TEST-BASICS"), ("A-2", "TEST-BASICS"), ("A-5", "TEST-BASICS")}
    expiring = rows_of(download(client, expiring_before=day(world, 20)))
    assert set(expiring) == {("A-1", "FIRST-AID"), ("A-2", "TEST-BASICS")}
    assert set(rows_of(download(client, expiring_before=day(world, 15)))) == {("A-1", "FIRST-AID")}


def test_as_of_gives_the_roster_as_it_stood_then(client, world):
    login(client, "compliance@a.test")
    rows = rows_of(download(client, as_of=world.past.isoformat()))
    # Cy's assignment and Ed's exemption came later; Fay's assignment was still open and past due.
    assert set(rows) == {("A-1", "TEST-BASICS"), ("A-1", "FIRST-AID"), ("A-2", "TEST-BASICS"), ("A-5", "TEST-BASICS")}
    ada = rows["A-1", "TEST-BASICS"]
    assert (ada["status"], ada["completed_on"], ada["expires_on"], ada["score"]) == (
        "current", day(world, -465), day(world, -100), "80")
    assert (rows["A-1", "FIRST-AID"]["status"], rows["A-1", "FIRST-AID"]["due_on"]) == ("current", "")
    assert (rows["A-2", "TEST-BASICS"]["status"], rows["A-2", "TEST-BASICS"]["due_on"]) == ("current", "")
    fay = rows["A-5", "TEST-BASICS"]
    assert (fay["status"], fay["due_on"], fay["completed_on"]) == ("overdue", day(world, -250), "")
    assert set(rows_of(download(client, as_of=world.past.isoformat(), status="overdue"))) == {("A-5", "TEST-BASICS")}


def test_every_export_is_one_audit_event_with_filters_and_rows(client, session, world):
    login(client, "compliance@a.test")
    rows = rows_of(download(client, unit="AAA-U1", status="current"))
    [event] = export_events(session)
    assert event.actor_id == world.users["compliance_a"].id
    assert event.details["filters"] == {"unit": "AAA-U1", "status": "current"}
    assert (event.details["rows"], event.details["complete"], event.details["format"]) == (len(rows), True, "csv")
    assert len(rows) == 2


def test_an_abandoned_download_is_recorded_as_incomplete(client, session, world):
    login(client, "compliance@a.test")
    response = client.get("/reports/roster/download", query_string={"format": "csv"}, buffered=False)
    assert next(response.response).startswith(b"\xef\xbb\xbf")   # the first bytes come at once
    assert export_events(session) == []
    response.close()
    [event] = export_events(session)
    assert event.details["complete"] is False


def test_a_download_dropped_while_rows_are_read_ahead_stops_its_reading(client, session, world, monkeypatch):
    """Dropped after its first row, while the next officers' rows are being read ahead: the reading thread
    stops before the download's session ends its read, and the event says incomplete, with the row sent."""
    monkeypatch.setattr(service, "ROSTER_SLICE", 1)
    monkeypatch.setattr(views, "csv_chunks", functools.partial(spreadsheet.csv_chunks, batch=1))
    login(client, "compliance@a.test")
    response = client.get("/reports/roster/download", query_string={"format": "csv"}, buffered=False)
    chunks = iter(response.response)
    assert next(chunks).startswith(b"\xef\xbb\xbf") and next(chunks).count(b"\r\n") == 1   # the header, a row
    reading = []   # at each rollback of a session: whether rows were still being read

    def rollback(_session, _transaction) -> None:
        reading.append(any(t.name == "read-ahead" for t in threading.enumerate()))

    assert [t for t in threading.enumerate() if t.name == "read-ahead"]
    event.listen(Session, "after_soft_rollback", rollback)
    try:
        response.close()
    finally:
        event.remove(Session, "after_soft_rollback", rollback)
    assert reading and not any(reading)
    [recorded] = export_events(session)
    assert (recorded.details["complete"], recorded.details["rows"]) == (False, 1)


@pytest.mark.parametrize("who, filters", [
    ("compliance@b.test", {"agency": "AAA"}),
    ("compliance@b.test", {"unit": "AAA-U1"}),
    ("compliance-sub@a.test", {"unit": "AAA-U1"}),
    ("compliance-sub@a.test", {"agency": "BBB"}),
])
def test_filters_outside_the_scope_are_refused_and_nothing_is_exported(client, session, world, who, filters):
    login(client, who)
    response = download(client, **filters)
    assert response.status_code == 403
    assert response.mimetype == "text/html" and "outside your scope" in response.get_data(as_text=True)
    assert export_events(session) == []


def test_unit_scoped_staff_get_only_their_subtree(client, world):
    login(client, "compliance-sub@a.test")
    assert set(rows_of(download(client))) == {("A-2", "TEST-BASICS")}
    assert set(rows_of(download(client, agency="AAA"))) == {("A-2", "TEST-BASICS")}


@pytest.mark.parametrize("filters, message", [
    ({"unit": "NOPE"}, "No unit with the code"),
    ({"course": "NOPE"}, "No active course"),
    ({"status": "asleep"}, "Unknown status"),
    ({"completed_from": "2026-05-01", "completed_to": "2026-04-01"}, "before the"),
    ({"as_of": "31/09/2026"}, "is not a date"),
])
def test_bad_filters_are_form_errors(client, session, world, filters, message):
    login(client, "compliance@a.test")
    response = download(client, **filters)
    assert response.status_code in (400, 403) and message in response.get_data(as_text=True)
    assert export_events(session) == []


def test_unit_not_in_the_agency_is_an_error_for_an_admin(client, world):
    login(client, "admin@x.test")
    response = download(client, agency="AAA", unit="BBB-U1")
    assert response.status_code == 400 and "is not in agency AAA" in response.get_data(as_text=True)


def test_future_as_of_is_refused(client, world):
    login(client, "compliance@a.test")
    response = download(client, as_of=day(world, 3))
    assert response.status_code == 400 and "in the future" in response.get_data(as_text=True)


def test_only_compliance_and_admin_export(client, world):
    for who in ("coordinator@a.test", "ada@a.test"):
        client.post("/logout")
        login(client, who)
        assert client.get("/reports/roster").status_code == 403
        assert download(client).status_code == 403


def test_the_export_page_offers_the_filters_in_scope(client, world):
    login(client, "compliance@a.test")
    page = client.get("/reports/roster").get_data(as_text=True)
    assert '<label class="usa-label" for="unit">' in page and 'value="AAA-SUB"' in page
    assert 'value="BBB-U1"' not in page and 'value="BBB"' not in page
    assert 'type="date"' in page and 'name="format"' in page
