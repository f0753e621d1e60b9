"""Calendar feeds: each person's private /calendar/<token>.ics, as a calendar application reads it (parsed with the
icalendar package), the page where the address is made, and the ways an address stops working."""
from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from icalendar import Calendar
from sqlalchemy import select

from tests.support.factories import make_user, write_course
from tests.support.pages import login
from tests.support.policy_change import publish_policy_change
from tests.support.statements import count_statements
from training.admin.service import save_account
from training.assignments.manage import manage_assignments
from training.assignments.service import extend_assignment, grant_exemption
from training.audit.describe import describe_all
from training.audit.models import AuditEvent
from training.catalog.service import course_by_code, sync_courses
from training.clock import server_today, today_for
from training.documents import service as documents
from training.feeds.addresses import make_address
from training.people.models import User
from training.records.models import Assignment
from training.records.service import record_completion

BASE = "https://rollcall.example.gov"
HOST = "rollcall.example.gov"
ADDRESS = re.compile(r'id="calendar-address">(https://rollcall\.example\.gov/calendar/[A-Za-z0-9_-]{43}\.ics)<')


@pytest.fixture(autouse=True)
def public_address(app):
    app.config["BASE_URL"] = BASE


@pytest.fixture
def second(app, session, course):
    """A second module beside TEST-BASICS, synced."""
    write_course(Path(app.config["COURSES_DIR"]).parent, "TEST-SECOND")
    sync_courses(session, app.config["COURSES_DIR"], app.config["QUIZZES_DIR"])
    session.commit()
    return course_by_code(session, "TEST-SECOND")


@pytest.fixture
def coordinator(session, org):
    user = make_user(session, "coord@agency.test", role="coordinator", agency=org[0], employee_id="C1")
    session.commit()
    return user


def assign(session, user, course, days: int) -> Assignment:
    assignment = Assignment(user_id=user.id, course_id=course.id, due_on=today_for(user) + timedelta(days=days),
                            reason="individual")
    session.add(assignment)
    session.commit()
    return assignment


def certify(session, user, course, days_ago: int):
    """A signed completion of the module's current version, as the quiz records it."""
    completion = record_completion(session, user, course, today_for(user) - timedelta(days=days_ago),
                                   version_id=course.versions[-1].id, score=90, source="quiz",
                                   acknowledged_name=user.full_name)
    session.commit()
    return completion


def address_of(session, user) -> str:
    token = make_address(session, user)
    session.commit()
    return f"/calendar/{token}.ics"


def events(client, path: str) -> dict[str, dict]:
    """The feed's events by UID, each as {"on", "end", "summary", "url", "description"}."""
    response = client.get(path)
    assert response.status_code == 200, response.status_code
    feed = Calendar.from_ical(response.data)
    found = {}
    for event in feed.walk("VEVENT"):
        start, end = event.decoded("DTSTART"), event.decoded("DTEND")
        assert type(start) is date and type(end) is date and end == start + timedelta(days=1)   # all-day events
        found[str(event["UID"])] = {"on": start, "summary": str(event["SUMMARY"]), "url": str(event["URL"]),
                                    "description": str(event["DESCRIPTION"])}
    return found


def test_the_feed_lists_due_dates_and_certification_end_dates_as_all_day_events(app, client, session, course,
                                                                                 second, officer):
    completion = certify(session, officer, course, days_ago=20)
    publish_policy_change(session, app.config["COURSES_DIR"], app.config["QUIZZES_DIR"], "test-basics",
                          "02-topic-2.md", on=server_today(), new="Warn twice.", summary="Two warnings.")
    session.commit()
    update = session.scalar(select(Assignment).where(Assignment.user_id == officer.id,
                                                     Assignment.version_id.is_not(None)))
    module = assign(session, officer, second, days=10)
    path = address_of(session, officer)

    response = client.get(path)
    assert response.mimetype == "text/calendar" and response.mimetype_params == {"charset": "utf-8"}
    assert "private" in response.headers["Cache-Control"]
    assert "Set-Cookie" not in response.headers
    feed = Calendar.from_ical(response.data)
    assert str(feed["X-WR-TIMEZONE"]) == "America/New_York"
    assert [str(zone["TZID"]) for zone in feed.walk("VTIMEZONE")] == ["America/New_York"]
    assert str(feed["X-WR-CALNAME"]) == "Rollcall training: Dana Cruz"
    assert feed.refresh_interval == timedelta(hours=4)
    assert b"\r\nREFRESH-INTERVAL;VALUE=DURATION:PT4H\r\n" in response.data
    assert b"\r\nX-PUBLISHED-TTL:PT4H\r\n" in response.data

    assert events(client, path) == {
        f"assignment-{module.id}@{HOST}": {
            "on": module.due_on, "summary": "Due: Test TEST-SECOND", "url": f"{BASE}/courses/TEST-SECOND",
            "description": "Your due date for Test TEST-SECOND. Complete it in Rollcall by the end of this day."},
        f"assignment-{update.id}@{HOST}": {
            "on": update.due_on, "summary": "Due: policy update of Test TEST-BASICS",
            "url": f"{BASE}/courses/TEST-BASICS/update",
            "description": "Your due date for policy update of Test TEST-BASICS. Complete it in Rollcall by the end "
                           "of this day."},
        f"certification-{completion.id}@{HOST}": {
            "on": completion.expires_on, "summary": "Certification ends: Test TEST-BASICS",
            "url": f"{BASE}/courses/TEST-BASICS",
            "description": "Your certification in Test TEST-BASICS is valid through this day. Complete the module "
                           "again before then to stay certified."},
    }


def test_a_moved_due_date_moves_the_same_event(client, session, course, officer, coordinator):
    assignment = assign(session, officer, course, days=10)
    path = address_of(session, officer)
    uid = f"assignment-{assignment.id}@{HOST}"
    assert events(client, path)[uid]["on"] == today_for(officer) + timedelta(days=10)

    extend_assignment(session, assignment, today_for(officer) + timedelta(days=40), "Out on medical leave",
                      actor_id=coordinator.id, today=today_for(coordinator))
    session.commit()
    after_extension = events(client, path)
    assert list(after_extension) == [uid] and after_extension[uid]["on"] == today_for(officer) + timedelta(days=40)

    manage_assignments(session, "set_due", course, select(User.id).where(User.id == officer.id),
                       reason="Date typed wrongly", today=today_for(coordinator),
                       due_on=today_for(officer) + timedelta(days=5), actor_id=coordinator.id)
    session.commit()
    after_correction = events(client, path)
    assert list(after_correction) == [uid] and after_correction[uid]["on"] == today_for(officer) + timedelta(days=5)


def test_withdrawn_completed_and_exempted_due_dates_leave_the_feed(client, session, course, second, officer,
                                                                    coordinator):
    withdrawn = assign(session, officer, second, days=10)
    completed = assign(session, officer, course, days=12)
    path = address_of(session, officer)
    assert set(events(client, path)) == {f"assignment-{withdrawn.id}@{HOST}", f"assignment-{completed.id}@{HOST}"}

    manage_assignments(session, "withdraw", second, select(User.id).where(User.id == officer.id),
                       reason="Moved to desk duty", today=today_for(coordinator), actor_id=coordinator.id)
    session.commit()
    completion = certify(session, officer, course, days_ago=0)
    assert events(client, path) == {f"certification-{completion.id}@{HOST}": {
        "on": completion.expires_on, "summary": "Certification ends: Test TEST-BASICS",
        "url": f"{BASE}/courses/TEST-BASICS",
        "description": "Your certification in Test TEST-BASICS is valid through this day. Complete the module "
                       "again before then to stay certified."}}

    again = assign(session, officer, second, days=20)
    assert f"assignment-{again.id}@{HOST}" in events(client, path)
    grant_exemption(session, officer.id, second.id, today_for(officer), today_for(officer) + timedelta(days=60),
                    "Long-term leave", actor_id=coordinator.id, max_days=365)
    session.commit()
    assert f"assignment-{again.id}@{HOST}" not in events(client, path)


def test_a_document_to_sign_is_due_until_signed_and_never_ends(client, session, course, officer, coordinator):
    published = documents.publish(session, documents.Draft("SOP-12", "Radio discipline", "A", "First issue.",
                                                           text="Keep it short."), today_for(coordinator),
                                  actor_id=coordinator.id)
    document = published.version.course
    assignment = assign(session, officer, document, days=7)
    path = address_of(session, officer)
    assert events(client, path) == {f"assignment-{assignment.id}@{HOST}": {
        "on": assignment.due_on, "summary": "Due: read and sign Radio discipline", "url": f"{BASE}/documents/SOP-12",
        "description": "Your due date for read and sign Radio discipline. Complete it in Rollcall by the end of "
                       "this day."}}
    documents.sign(session, officer, document, published.version.content_hash, officer.full_name,
                   today_for(officer))
    session.commit()
    assert events(client, path) == {}     # a signature does not expire: no end date to show


def test_the_feed_costs_the_same_few_statements_however_many_reports_and_dates(client, session, connection, org,
                                                                               course, second):
    agency, unit = org
    sergeant = make_user(session, "sgt@agency.test", agency=agency, unit=unit, first="Pat", last="Sergeant")
    session.commit()
    path = address_of(session, sergeant)

    def add_report(n: int) -> None:
        report = make_user(session, f"r{n}@agency.test", agency=agency, unit=unit, first=f"R{n}", last="Report",
                           supervisor_id=sergeant.id)
        session.commit()
        assign(session, report, course, days=n + 1)
        assign(session, report, second, days=n + 2)

    add_report(0)
    certify(session, sergeant, course, days_ago=10)
    one = count_statements(connection, lambda: client.get(path))
    for n in range(1, 8):
        add_report(n)
    assign(session, sergeant, second, days=3)
    many = count_statements(connection, lambda: client.get(path))
    assert len(events(client, path)) == 2 * 8 + 2
    assert many == one, (one, many)


def test_a_renewed_certification_shows_only_its_new_end(client, session, course, officer):
    old = certify(session, officer, course, days_ago=400)
    path = address_of(session, officer)
    assert events(client, path)[f"certification-{old.id}@{HOST}"]["on"] == old.expires_on
    new = certify(session, officer, course, days_ago=0)
    assert list(events(client, path)) == [f"certification-{new.id}@{HOST}"]


def test_a_supervisors_feed_adds_their_reports_due_dates_by_name(client, session, org, course, second, officer):
    agency, unit = org
    sergeant = make_user(session, "sgt@agency.test", agency=agency, unit=unit, first="Pat", last="Sergeant")
    officer.supervisor_id = sergeant.id
    gone = make_user(session, "gone@agency.test", agency=agency, unit=unit, first="Lee", last="Gone",
                     supervisor_id=sergeant.id, active=False)
    session.commit()
    own = assign(session, sergeant, second, days=8)
    reports = assign(session, officer, course, days=15)
    assign(session, gone, course, days=15)
    certified = certify(session, officer, second, days_ago=30)

    feed = events(client, address_of(session, sergeant))
    assert feed == {
        f"assignment-{own.id}@{HOST}": {
            "on": own.due_on, "summary": "Due: Test TEST-SECOND", "url": f"{BASE}/courses/TEST-SECOND",
            "description": "Your due date for Test TEST-SECOND. Complete it in Rollcall by the end of this day."},
        f"report-assignment-{reports.id}@{HOST}": {
            "on": reports.due_on, "summary": "Due for Dana Cruz: Test TEST-BASICS",
            "url": f"{BASE}/officers/{officer.id}",
            "description": "Dana Cruz, who reports to you, is due to complete Test TEST-BASICS by the end of this "
                           "day."},
    }
    # Commas, semicolons and quotes in a name come back as they were written.
    odd = make_user(session, "odd@agency.test", agency=agency, unit=unit, first='Mary "Ace"',
                    last="O'Neil, Jr.; \\ <b>", supervisor_id=sergeant.id)
    session.commit()
    odds = assign(session, odd, course, days=3)
    assert events(client, address_of(session, sergeant))[f"report-assignment-{odds.id}@{HOST}"]["summary"] == \
        """Due for Mary "Ace" O'Neil, Jr.; \\ <b>: Test TEST-BASICS"""

    # The report's own feed holds their own dates, none of their supervisor's.
    assert set(events(client, address_of(session, officer))) == {f"assignment-{reports.id}@{HOST}",
                                                                   f"certification-{certified.id}@{HOST}"}


def test_a_replaced_address_and_unknown_ones_answer_not_found_alike(client, session, course, officer):
    assign(session, officer, course, days=10)
    first = address_of(session, officer)
    assert client.get(first).status_code == 200
    second = address_of(session, officer)
    assert client.get(second).status_code == 200
    replaced, unknown, too_long = (client.get(first), client.get("/calendar/" + "x" * 43 + ".ics"),
                                   client.get("/calendar/" + "y" * 500 + ".ics"))
    assert replaced.status_code == unknown.status_code == too_long.status_code == 404
    assert replaced.data == unknown.data == too_long.data
    assert "Set-Cookie" not in replaced.headers


def test_deactivating_an_account_ends_its_address_for_good(client, session, course, officer, coordinator):
    assign(session, officer, course, days=10)
    path = address_of(session, officer)
    fields = {k: getattr(officer, k) for k in ("email", "first_name", "last_name", "employee_id", "role",
                                               "agency_id", "unit_id", "scope_unit_id")}
    save_account(session, officer, {**fields, "active": False}, None, actor_id=coordinator.id)
    session.commit()
    assert client.get(path).status_code == 404
    save_account(session, officer, {**fields, "active": True}, None, actor_id=coordinator.id)
    session.commit()
    assert client.get(path).status_code == 404      # re-activation does not bring the old address back
    session.refresh(officer)
    assert officer.calendar_token_hash is None


def test_a_full_roster_import_that_deactivates_an_officer_ends_their_address(runner, client, session, course,
                                                                             officer, tmp_path):
    path = address_of(session, officer)
    roster = tmp_path / "roster.csv"
    roster.write_text("employee_id,first_name,last_name,email,agency,unit,supervisor_employee_id\n"
                      "K1,Kim,Keep,kim@agency.test,AGY,AGY-U1,\n", encoding="utf-8")
    result = runner.invoke(args=["roster", "import", str(roster), "--full"])
    assert result.exit_code == 0 and "1 deactivated" in result.output, result.output
    assert client.get(path).status_code == 404
    session.expire_all()
    assert session.get(User, officer.id).calendar_token_hash is None


def test_the_reminders_page_makes_and_replaces_the_address(client, session, course, officer):
    assign(session, officer, course, days=10)
    login(client, officer.email)
    page = client.get("/reminders").get_data(as_text=True)
    assert "You have no calendar address yet." in page and "Make my calendar address" in page
    assert "do not share it" in page

    made = client.post("/reminders/calendar")
    assert made.status_code == 200 and made.headers["Cache-Control"] == "no-store"
    text = made.get_data(as_text=True)
    first = ADDRESS.search(text).group(1)
    assert "This is the only time this address is shown." in text
    assert f'href="webcal://{first.removeprefix("https://")}"' in text
    assert client.get(first.removeprefix(BASE)).status_code == 200

    page = client.get("/reminders").get_data(as_text=True)
    assert f"You made your calendar address on {today_for(officer).isoformat()}." in page
    assert first not in page and "Make a new calendar address" in page

    second = ADDRESS.search(client.post("/reminders/calendar").get_data(as_text=True)).group(1)
    assert second != first
    assert client.get(first.removeprefix(BASE)).status_code == 404
    assert client.get(second.removeprefix(BASE)).status_code == 200

    trail = list(session.scalars(select(AuditEvent).where(AuditEvent.action.like("calendar.%"))
                                 .order_by(AuditEvent.id)))
    assert [(e.action, e.actor_id, e.subject_id) for e in trail] == [
        ("calendar.address_made", officer.id, officer.id), ("calendar.address_replaced", officer.id, officer.id)]
    assert [d.sentence for d in describe_all(session, officer, trail)] == [
        "Dana Cruz made a private calendar address for their due dates.",
        "Dana Cruz made a new private calendar address for their due dates; the one before stopped working."]


def test_the_button_needs_a_signed_in_person_and_a_live_form(app, client, session, officer):
    signed_out = client.post("/reminders/calendar")
    assert signed_out.status_code == 302 and signed_out.location.startswith("/login")
    login(client, officer.email)
    app.config["WTF_CSRF_ENABLED"] = True
    stale = client.post("/reminders/calendar", data={"csrf_token": "stale-token"})
    assert stale.status_code == 400 and "Form expired" in stale.get_data(as_text=True)
    session.refresh(officer)
    assert officer.calendar_token_hash is None
    assert session.scalar(select(AuditEvent.id).where(AuditEvent.action.like("calendar.%"))) is None
