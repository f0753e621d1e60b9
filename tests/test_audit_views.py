"""The audit trail page and its CSV export, for compliance staff and administrators."""
import csv
import hashlib
import io
from datetime import datetime

import pytest
from sqlalchemy import func, select

from tests.support.factories import make_org, make_user
from tests.support.pages import login
from training.audit import service as audit_service
from training.audit.chain import walk
from training.audit.models import AuditEvent
from training.audit.service import record

MARCH = {"date_from": "2026-03-01", "date_to": "2026-03-31"}


@pytest.fixture
def trail(session, org, officer, course, monkeypatch):
    """Events by and about officers of two agencies, on known days."""
    agency, unit = org
    other_agency, other_unit = make_org(session, "OTH")
    outsider = make_user(session, "outsider@oth.test", agency=other_agency, unit=other_unit, first="Olga", last="Out")
    compliance = make_user(session, "compliance@agency.test", role="compliance", agency=agency, first="Jordan",
                           last="Reyes")
    make_user(session, "admin@agency.test", role="admin", first="Ada", last="Admin")
    session.commit()

    def at(day: str, action: str, actor, **details):
        monkeypatch.setattr(audit_service, "utcnow", lambda: datetime.fromisoformat(day + "T10:00:00"))
        return record(session, action, actor_id=actor.id if actor else None,
                      target=details.pop("target", f"user:{actor.id}" if actor else None), **details)

    at("2026-03-01", "auth.signed_in", officer)
    at("2026-03-05", "completion.recorded", officer, course="TEST-BASICS", completed_on="2026-03-05")
    at("2026-03-09", "auth.signed_in", outsider)
    at("2026-03-10", "assignment.extended", compliance, target=f"user:{officer.id}", reason="=HYPERLINK(\"x\")")
    at("2026-03-12", "assignment.extended", None, target=f"user:{outsider.id}", course="TEST-BASICS",
       due_on="2026-04-30", reason="Leave")
    session.commit()
    monkeypatch.undo()
    return {"officer": officer, "outsider": outsider, "compliance": compliance}


def table_rows(page: str) -> list[str]:
    if "<tbody>" not in page:
        return []
    return page.split("<tbody>", 1)[1].split("</tbody>", 1)[0].split("<tr>")[1:]


def test_compliance_sees_their_agency_and_filters(client, session, trail):
    login(client, "compliance@agency.test")
    page = client.get("/audit", query_string=MARCH).get_data(as_text=True)
    rows = table_rows(page)
    assert len(rows) == 3   # nothing done by or to the other agency's officer
    assert "Olga Out" not in page and "Leave" not in page
    by_action = table_rows(client.get("/audit", query_string={"action": "auth.signed_in"}).get_data(as_text=True))
    assert by_action and all("signed in." in r for r in by_action) and any("Dana Cruz signed in." in r for r in by_action)
    for words in ("COMPLIANCE@", "jordan rey"):
        by_actor = table_rows(client.get("/audit", query_string={"actor": words, **MARCH}).get_data(as_text=True))
        assert len(by_actor) == 1 and "Jordan Reyes extended" in by_actor[0]
    by_dates = table_rows(client.get("/audit", query_string={"date_from": "2026-03-05", "date_to": "2026-03-05"})
                          .get_data(as_text=True))
    assert len(by_dates) == 1 and "Dana Cruz completed Test TEST-BASICS on 2026-03-05." in by_dates[0]
    assert "<dt>Module code</dt><dd>TEST-BASICS</dd>" in by_dates[0]
    assert client.get("/audit", query_string={"date_from": "March"}).status_code == 400


def test_admin_sees_every_agency(client, trail):
    login(client, "admin@agency.test")
    page = client.get("/audit", query_string=MARCH).get_data(as_text=True)
    assert len(table_rows(page)) == 5 and "Olga Out signed in." in page
    assert "System extended Test TEST-BASICS for Olga Out to 2026-04-30: Leave." in page


@pytest.mark.parametrize("role", ["officer", "coordinator"])
def test_others_are_refused(client, session, org, role):
    make_user(session, "someone@agency.test", role=role, agency=org[0])
    session.commit()
    login(client, "someone@agency.test")
    assert client.get("/audit").status_code == 403
    assert client.get("/audit/export.csv").status_code == 403


def test_pages_of_fifty(client, session, trail):
    for n in range(60):
        record(session, "test.paged", actor_id=trail["officer"].id, target=f"user:{trail['officer'].id}", n=n)
    session.commit()
    login(client, "compliance@agency.test")
    first = client.get("/audit", query_string={"action": "test.paged"}).get_data(as_text=True)
    assert len(table_rows(first)) == 50 and "Older events" in first and "<dt>N</dt><dd>59</dd>" in first
    assert "Dana Cruz: test paged, concerning Dana Cruz." in first   # an action this version does not know
    second = client.get("/audit", query_string={"action": "test.paged", "page": 2}).get_data(as_text=True)
    assert len(table_rows(second)) == 10 and "Newer events" in second and "Older events" not in second
    assert "<dt>N</dt><dd>0</dd>" in second


def test_export_is_filtered_neutralised_and_itself_audited(client, session, trail):
    login(client, "compliance@agency.test")
    response = client.get("/audit/export.csv", query_string={"action": "assignment.extended"})
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert 'filename="audit-' in response.headers["Content-Disposition"]
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff") and "\r\n" in text
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0] == ["id", "at_utc", "actor_email", "action", "target", "details", "details_sha256", "prev_hash",
                       "hash"]
    assert len(rows) == 2   # the other agency's extension is out of scope
    row = dict(zip(rows[0], rows[1]))
    assert row["actor_email"] == "compliance@agency.test" and row["at_utc"] == "2026-03-10T10:00:00.000000"
    assert row["details"] == '{"reason":"=HYPERLINK(\\"x\\")"}' and row["target"] == f"user:{trail['officer'].id}"
    event = session.get(AuditEvent, int(row["id"]))
    assert (row["prev_hash"], row["hash"]) == (event.prev_hash, event.hash)
    assert row["details_sha256"] == event.details_sha256 == hashlib.sha256(row["details"].encode()).hexdigest()
    exported = session.scalar(select(AuditEvent).where(AuditEvent.action == "export.audit"))
    assert exported.actor_id == trail["compliance"].id
    assert exported.details["filters"] == {"action": "assignment.extended"} and exported.details["rows"] == 1
    assert walk(session).broken is None


def test_a_formula_in_a_cell_is_neutralised(client, session, trail):
    record(session, "test.formula", actor_id=trail["officer"].id, target="=cmd|' /C calc'!A0")
    session.commit()
    login(client, "admin@agency.test")
    text = client.get("/audit/export.csv", query_string={"action": "test.formula"}).get_data(as_text=True)
    row = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))[1]
    assert row[4] == "'=cmd|' /C calc'!A0"


def test_events_about_an_assignment_link_to_its_history_where_the_officer_may_be_seen(client, session, org, officer,
                                                                                      course):
    from datetime import date

    from training.assignments.manage import manage_assignments
    from training.people.models import User
    from training.records.models import Assignment
    agency, unit = org
    other_agency, other_unit = make_org(session, "OTH")
    mover = make_user(session, "mover@agency.test", agency=agency, unit=unit, first="Max", last="Mover")
    make_user(session, "compliance@agency.test", role="compliance", agency=agency)
    ids = {}
    for person in (officer, mover):
        assignment = Assignment(user_id=person.id, course_id=course.id, due_on=date(2999, 12, 31), reason="unit")
        session.add(assignment)
        session.flush()
        ids[person.id] = assignment.id
    manage_assignments(session, "withdraw", course, select(User.id).where(User.id.in_(list(ids))),
                       reason="Assigned to the wrong unit", today=None)
    # The mover has since left for another agency: the event stays in the trail, without a link to them.
    mover.agency_id, mover.unit_id = other_agency.id, other_unit.id
    session.commit()
    login(client, "compliance@agency.test")
    html = client.get("/audit", query_string={"action": "assignment.withdrawn"}).get_data(as_text=True)
    assert html.count("withdrew Test TEST-BASICS from") == 2 and "Assigned to the wrong unit" in html
    href = f'href="/officers/{officer.id}#history-{ids[officer.id]}"'
    assert href in html and f">History of assignment {ids[officer.id]}</a>" in html
    assert f"#history-{ids[mover.id]}" not in html
    # The link leads to the officer's page, to that assignment's history.
    page = client.get(f"/officers/{officer.id}").get_data(as_text=True)
    assert f'id="history-{ids[officer.id]}"' in page and "Assigned to the wrong unit" in page


def test_sign_ins_and_account_security_are_filtered_apart_from_the_rest(client, trail):
    login(client, "admin@agency.test")
    page = client.get("/audit", query_string=MARCH).get_data(as_text=True)
    assert "flask --app" not in page   # no shell command on the page
    assert '<option value="auth.signed_in">Signed in</option>' in page
    assert '<option value="assignment.extended">Extended</option>' in page
    security = table_rows(client.get("/audit", query_string={"kind": "security", **MARCH}).get_data(as_text=True))
    assert len(security) == 2 and all(" signed in." in r for r in security)
    records = table_rows(client.get("/audit", query_string={"kind": "records", **MARCH}).get_data(as_text=True))
    assert len(records) == 3 and not any(" signed in." in r for r in records)
    assert any("Dana Cruz completed" in r for r in records)
    assert client.get("/audit", query_string={"kind": "everything"}).status_code == 400


def test_times_are_in_the_readers_time_zone(client, trail):
    login(client, "compliance@agency.test")
    page = client.get("/audit", query_string={"date_from": "2026-03-05", "date_to": "2026-03-05"}).get_data(as_text=True)
    # Recorded at 10:00 UTC: 05:00 in New York, the agency's time zone.
    assert "When (America/New_York)" in page and "2026-03-05 05:00:00" in page


def verification(page: str) -> str:
    return page.split('id="verification"', 1)[1].split('id="events-heading"', 1)[0]


def test_an_administrator_verifies_an_intact_chain_from_the_page(client, session, trail):
    login(client, "admin@agency.test")
    assert "has not been verified" in verification(client.get("/audit").get_data(as_text=True))
    response = client.post("/audit/verify", follow_redirects=True)
    html = response.get_data(as_text=True)
    total = len(session.scalars(select(AuditEvent.id).where(AuditEvent.action != "audit.verified")).all())
    status = verification(html)
    assert "Intact." in status and f"Ada Admin verified the audit chain: {total} events, intact." in status
    assert "Verify now" in status and f"The audit chain is intact: {total} events checked." in html
    run = session.scalar(select(AuditEvent).where(AuditEvent.action == "audit.verified"))
    assert run.actor_id is not None and run.details["checked"] == total and run.details["broken_event_id"] is None


def test_a_tampered_event_is_reported_by_its_description_and_time(client, session, trail):
    from sqlalchemy import update
    changed = session.scalar(select(AuditEvent).where(AuditEvent.action == "completion.recorded"))
    session.execute(update(AuditEvent).where(AuditEvent.id == changed.id)
                    .values(details={"course": "TEST-BASICS", "completed_on": "2026-02-01"})
                    .execution_options(synchronize_session=False))
    session.commit()
    login(client, "admin@agency.test")
    html = client.post("/audit/verify", follow_redirects=True).get_data(as_text=True)
    status = verification(html)
    assert "Broken." in status and f"found it broken at event {changed.id}" in status
    assert (f"Event {changed.id}, 2026-03-05 10:00:00: Dana Cruz completed Test TEST-BASICS on 2026-02-01."
            in status)
    assert "Its details do not match their digest: the event was changed after it was written." in status
    # Compliance staff read the same status, without the button.
    client.post("/logout")
    login(client, "compliance@agency.test")
    status = verification(client.get("/audit").get_data(as_text=True))
    assert "Broken." in status and f"Event {changed.id}, 2026-03-05 05:00:00" in status
    assert "Verify now" not in status


@pytest.mark.parametrize("email", ["compliance@agency.test", "officer@agency.test"])
def test_only_administrators_may_verify(client, session, trail, email):
    login(client, email)
    assert client.post("/audit/verify").status_code == 403
    assert session.scalar(select(AuditEvent).where(AuditEvent.action == "audit.verified")) is None


def test_date_filters_are_days_on_the_readers_clocks(client, session, trail, monkeypatch):
    # 03:00 UTC on 6 March is still 5 March in New York, the compliance reader's agency; the administrator,
    # of no agency, reads UTC.
    monkeypatch.setattr(audit_service, "utcnow", lambda: datetime(2026, 3, 6, 3, 0))
    record(session, "auth.signed_out", actor_id=trail["officer"].id, target=f"user:{trail['officer'].id}")
    session.commit()
    monkeypatch.undo()
    day = {"action": "auth.signed_out", "date_from": "2026-03-05", "date_to": "2026-03-05"}
    login(client, "compliance@agency.test")
    rows = table_rows(client.get("/audit", query_string=day).get_data(as_text=True))
    assert len(rows) == 1 and "2026-03-05 22:00:00" in rows[0] and "Dana Cruz signed out." in rows[0]
    client.post("/logout")
    login(client, "admin@agency.test")
    assert table_rows(client.get("/audit", query_string=day).get_data(as_text=True)) == []
    rows = table_rows(client.get("/audit", query_string={**day, "date_from": "2026-03-06", "date_to": "2026-03-06"})
                      .get_data(as_text=True))
    assert len(rows) == 1 and "2026-03-06 03:00:00" in rows[0]


def test_a_broken_event_outside_the_readers_scope_is_not_described_to_them(client, session, trail):
    from sqlalchemy import update
    changed = session.scalar(select(AuditEvent).where(AuditEvent.subject_id == trail["outsider"].id,
                                                      AuditEvent.action == "assignment.extended"))
    session.execute(update(AuditEvent).where(AuditEvent.id == changed.id).values(target="user:0")
                    .execution_options(synchronize_session=False))
    session.commit()
    login(client, "admin@agency.test")
    assert "Olga Out" in verification(client.post("/audit/verify", follow_redirects=True).get_data(as_text=True))
    client.post("/logout")
    login(client, "compliance@agency.test")
    status = verification(client.get("/audit").get_data(as_text=True))
    assert "Broken." in status and f"Event {changed.id}, which is not on the part of the trail you may read." in status
    assert "Olga" not in status and "Leave" not in status


def test_an_export_with_a_filter_not_understood_shows_the_trail_with_what_is_wrong(client, session, trail):
    login(client, "compliance@agency.test")
    before = session.scalar(select(func.count()).select_from(AuditEvent))
    response = client.get("/audit/export.csv", query_string={"action": "\u202e", "date_from": "someday"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and response.mimetype == "text/html"
    assert 'role="alert"' in page and "<h1>Audit trail</h1>" in page
    assert session.scalar(select(func.count()).select_from(AuditEvent)) == before   # no export was recorded
