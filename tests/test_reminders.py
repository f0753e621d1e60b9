"""Reminders against a real SMTP server on loopback: the schedule, escalations, retries and exactly-once."""
from __future__ import annotations

from datetime import date, timedelta

import icalendar
import pytest
from sqlalchemy import func, select

from tests.support.factories import add_unit, make_org, make_user
from tests.support.pages import login
from training.assignments.service import grant_exemption
from training.db import utcnow
from training.jobs import JobLock, exclusive
from training.records.models import Assignment
from training.records.service import record_completion
from training.reminders import delivery
from training.reminders.delivery import deliver
from training.reminders.models import OutboxMessage
from training.scheduler import JOB_DEFAULTS, build_scheduler, daily_job

DUE = date(2026, 12, 15)


@pytest.fixture
def team(session, course):
    """An officer in Central time with a supervisor and a unit coordinator, and the course due on DUE."""
    agency, top = make_org(session, "CEN", tz="America/Chicago")
    unit = add_unit(session, agency, "CEN-FIELD", top)
    boss = make_user(session, "boss@cen.test", agency=agency, unit=unit, first="Sam", last="Boss", employee_id="S1")
    coordinator = make_user(session, "coord@cen.test", role="coordinator", agency=agency, employee_id="C1",
                            scope_unit_id=unit.id)
    officer = make_user(session, "dana@cen.test", agency=agency, unit=unit, first="Dana", last="Cruz",
                        employee_id="E1", supervisor_id=boss.id)
    session.add(Assignment(user_id=officer.id, course_id=course.id, due_on=DUE, reason="agency"))
    session.commit()
    return {"officer": officer, "boss": boss, "coordinator": coordinator, "unit": unit, "agency": agency}


def run(runner, day: date):
    return runner.invoke(args=["reminders", "run", "--as-of", day.isoformat(), "--wait", "0"])


def received(smtp) -> list[tuple[str, str]]:
    return [(m["To"], m["Subject"]) for m in smtp.messages]


def test_default_schedule_walked_day_by_day(runner, smtp, team):
    sent_on = {}
    for offset in range(-40, 22):
        day = DUE + timedelta(days=offset)
        before = len(smtp.messages)
        result = run(runner, day)
        assert result.exit_code == 0, result.output
        for message in smtp.messages[before:]:
            sent_on.setdefault(offset, []).append((message["To"], message["Subject"]))
    assert sent_on == {
        -30: [("dana@cen.test", "Test TEST-BASICS: due in 30 days")],
        -14: [("dana@cen.test", "Test TEST-BASICS: due in 14 days")],
        -7: [("dana@cen.test", "Test TEST-BASICS: due in 7 days")],
        -1: [("dana@cen.test", "Test TEST-BASICS: due tomorrow")],
        1: [("dana@cen.test", "Overdue: Test TEST-BASICS was due on Tuesday 15 December 2026")],
        7: [("boss@cen.test", "Rollcall: 1 overdue training record in your team")],
        8: [("dana@cen.test", "Overdue: Test TEST-BASICS was due on Tuesday 15 December 2026")],
        14: [("coord@cen.test", "Rollcall: 1 overdue training record in your units")],
        15: [("dana@cen.test", "Overdue: Test TEST-BASICS was due on Tuesday 15 December 2026")],
    }


def test_officer_reminder_says_when_where_and_carries_the_due_date(runner, smtp, team, app):
    assert run(runner, DUE - timedelta(days=14)).exit_code == 0
    assert run(runner, DUE - timedelta(days=7)).exit_code == 0
    first, second = smtp.messages
    text = first.get_body(("plain",)).get_content()
    assert "Dana," in text and "due in 14 days" in text
    assert "Tuesday 15 December 2026 (2026-12-15), America/Chicago time" in text
    assert f"{app.config['BASE_URL']}/courses/TEST-BASICS" in text
    html = first.get_body(("html",)).get_content()
    assert '<a href="http://127.0.0.1:5000/courses/TEST-BASICS">' in html
    events = []
    for message in (first, second):
        ics = next(p for p in message.iter_attachments() if p.get_content_type() == "text/calendar")
        assert ics.get_filename() == "due-date.ics"
        event = icalendar.Calendar.from_ical(ics.get_content()).walk("VEVENT")[0]
        events.append(event)
        assert event.decoded("dtstart") == DUE and event.decoded("dtend") == DUE + timedelta(days=1)
        assert "TEST-BASICS" in str(event["summary"]) or "Test TEST-BASICS" in str(event["summary"])
    assert events[0]["uid"] == events[1]["uid"], "a later reminder updates the same calendar entry"
    assert first["Message-ID"] != second["Message-ID"]


def test_a_second_run_on_the_same_day_sends_nothing(runner, smtp, team, session):
    day = DUE - timedelta(days=14)
    assert run(runner, day).exit_code == 0
    again = run(runner, day)
    assert again.exit_code == 0 and "nothing new fell due" in again.output and "0 sent" in again.output
    assert len(smtp.messages) == 1
    assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 1


def test_missed_days_send_the_latest_reminder_once_not_a_pile(runner, smtp, team):
    assert run(runner, DUE - timedelta(days=31)).exit_code == 0
    assert smtp.messages == []
    # The sweep did not run from 30 days before the due date until 6 days before.
    assert run(runner, DUE - timedelta(days=6)).exit_code == 0
    assert received(smtp) == [("dana@cen.test", "Test TEST-BASICS: due in 6 days")]
    assert run(runner, DUE - timedelta(days=5)).exit_code == 0
    assert len(smtp.messages) == 1
    # Down again from the due date to ten days overdue: one overdue reminder, one supervisor digest.
    assert run(runner, DUE + timedelta(days=10)).exit_code == 0
    assert sorted(received(smtp)[1:]) == [
        ("boss@cen.test", "Rollcall: 1 overdue training record in your team"),
        ("dana@cen.test", "Overdue: Test TEST-BASICS was due on Tuesday 15 December 2026")]


def test_escalation_is_one_digest_per_recipient_listing_every_overdue_officer(runner, smtp, team, session, course):
    unit, agency, boss = team["unit"], team["agency"], team["boss"]
    second = make_user(session, "eli@cen.test", agency=agency, unit=unit, first="Eli", last="Ames",
                       employee_id="E2", supervisor_id=boss.id)
    session.add(Assignment(user_id=second.id, course_id=course.id, due_on=DUE - timedelta(days=2), reason="agency"))
    session.commit()
    assert run(runner, DUE + timedelta(days=7)).exit_code == 0
    digests = [m for m in smtp.messages if m["To"] == "boss@cen.test"]
    assert len(digests) == 1
    assert digests[0]["Subject"] == "Rollcall: 2 overdue training records in your team"
    text = digests[0].get_body(("plain",)).get_content()
    assert "Ames, Eli (E2, CEN-FIELD): Test TEST-BASICS, due 2026-12-13, 9 days overdue" in text
    assert "Cruz, Dana (E1, CEN-FIELD): Test TEST-BASICS, due 2026-12-15, 7 days overdue" in text
    assert text.index("Ames, Eli") < text.index("Cruz, Dana"), "longest overdue first"
    html = digests[0].get_body(("html",)).get_content()
    assert "<td>Ames, Eli</td>" in html and "/team" in html
    assert run(runner, DUE + timedelta(days=14)).exit_code == 0
    to_coordinator = [m for m in smtp.messages if m["To"] == "coord@cen.test"]
    assert len(to_coordinator) == 1 and "2 overdue" in to_coordinator[0]["Subject"]
    assert "/units" in to_coordinator[0].get_body(("plain",)).get_content()
    # The next day nothing new reaches the supervisor or the coordinator.
    assert run(runner, DUE + timedelta(days=15)).exit_code == 0
    assert sum(m["To"] in ("boss@cen.test", "coord@cen.test") for m in smtp.messages) == 2


def test_coordinators_outside_the_officers_units_get_no_digest(runner, smtp, team, session):
    other = add_unit(session, team["agency"], "CEN-OTHER", None)
    make_user(session, "elsewhere@cen.test", role="coordinator", agency=team["agency"], employee_id="C2",
              scope_unit_id=other.id)
    make_user(session, "agencywide@cen.test", role="coordinator", agency=team["agency"], employee_id="C3")
    session.commit()
    assert run(runner, DUE + timedelta(days=14)).exit_code == 0
    recipients = sorted(m["To"] for m in smtp.messages if "in your units" in m["Subject"])
    assert recipients == ["agencywide@cen.test", "coord@cen.test"]


def test_smtp_down_keeps_the_message_pending_until_it_is_back(runner, smtp, team, session, app, unused_port):
    real_port = app.config["SMTP_PORT"]
    app.config["SMTP_PORT"] = unused_port
    down = run(runner, DUE - timedelta(days=14))
    assert down.exit_code == 1
    assert "could not be reached" in down.output and "stays pending" in down.output
    row = session.scalar(select(OutboxMessage))
    assert (row.status, row.attempts, row.claimed_at) == ("pending", 1, None)
    assert "ConnectionRefusedError" in row.last_error and row.next_attempt_at > utcnow()
    app.config["SMTP_PORT"] = real_port
    up = run(runner, DUE - timedelta(days=13))
    assert up.exit_code == 0 and "1 sent" in up.output
    # Written when it is sent, so it counts the days from then.
    assert received(smtp) == [("dana@cen.test", "Test TEST-BASICS: due in 13 days")]
    session.refresh(row)
    assert (row.status, row.attempts, row.last_error) == ("sent", 2, None)


def test_refused_messages_back_off_then_fail_and_an_administrator_retries(app, smtp, team, session, client, runner):
    smtp.refuse = True
    app.config["REMINDER_MAX_ATTEMPTS"] = 3
    day = DUE - timedelta(days=14)
    result = run(runner, day)
    assert result.exit_code == 1 and "not accepted" in result.output
    row = session.scalar(select(OutboxMessage))
    first_retry = row.next_attempt_at
    # The scheduled delivery waits for the back-off; an operator's run does not.
    now = utcnow()
    assert deliver(app, on=day, now=now + timedelta(minutes=1)).counts["errors"] == 0
    assert deliver(app, on=day, now=first_retry + timedelta(seconds=1)).counts["errors"] == 1
    session.refresh(row)
    assert row.attempts == 2 and row.next_attempt_at - first_retry >= timedelta(minutes=9)
    report = deliver(app, on=day, force=True)
    assert report.counts["failed"] == 1
    session.refresh(row)
    assert (row.status, row.attempts) == ("failed", 3) and "451" in row.last_error
    assert deliver(app, on=day, force=True).counts == {"cancelled": 0}

    make_user(session, "root@cen.test", role="admin")
    session.commit()
    login(client, "root@cen.test")
    page = client.get("/admin/outbox").get_data(as_text=True)
    assert "Failed (1)" in page and "dana@cen.test" in page and "451" in page
    smtp.refuse = False
    retried = client.post(f"/admin/outbox/{row.id}/retry", follow_redirects=True).get_data(as_text=True)
    assert "is queued again" in retried
    session.refresh(row)
    assert (row.status, row.attempts) == ("pending", 0)
    assert deliver(app, on=day).counts["sent"] == 1
    assert received(smtp) == [("dana@cen.test", "Test TEST-BASICS: due in 14 days")]


def test_completion_before_sending_cancels_the_pending_reminder(runner, smtp, team, session, course, app,
                                                                  unused_port):
    real_port = app.config["SMTP_PORT"]
    app.config["SMTP_PORT"] = unused_port
    assert run(runner, DUE - timedelta(days=7)).exit_code == 1
    record_completion(session, team["officer"], course, DUE - timedelta(days=6), version_id=None, score=90,
                      source="import")
    session.commit()
    app.config["SMTP_PORT"] = real_port
    result = run(runner, DUE - timedelta(days=6))
    assert result.exit_code == 0 and "1 cancelled" in result.output
    assert smtp.messages == []
    assert session.scalar(select(OutboxMessage.status)) == "cancelled"


def test_exemption_and_extension_cancel_pending_reminders(runner, smtp, team, session, course, app, unused_port):
    other = make_user(session, "lou@cen.test", agency=team["agency"], unit=team["unit"], employee_id="E3")
    session.add(Assignment(user_id=other.id, course_id=course.id, due_on=DUE, reason="agency"))
    session.commit()
    real_port = app.config["SMTP_PORT"]
    app.config["SMTP_PORT"] = unused_port
    assert run(runner, DUE - timedelta(days=14)).exit_code == 1
    grant_exemption(session, team["officer"].id, course.id, DUE - timedelta(days=20), DUE + timedelta(days=90),
                    "Medical leave until March", actor_id=None)
    assignment = session.scalar(select(Assignment).where(Assignment.user_id == other.id))
    assignment.due_on = DUE + timedelta(days=30)
    session.commit()
    app.config["SMTP_PORT"] = real_port
    assert deliver(app, on=DUE - timedelta(days=13), force=True).counts["cancelled"] == 2
    assert smtp.messages == []


def test_a_sender_killed_after_the_server_accepted_sends_at_most_one_duplicate(app, smtp, team, session,
                                                                                 monkeypatch, runner):
    def killed(*_args, **_kwargs):
        raise KeyboardInterrupt("process killed before the row was marked")

    with monkeypatch.context() as patch:
        patch.setattr(delivery, "finish", killed)
        result = run(runner, DUE - timedelta(days=14))
    assert result.exit_code != 0
    assert len(smtp.messages) == 1
    row = session.scalar(select(OutboxMessage))
    assert row.status == "pending" and row.claimed_at is not None
    # Another delivery right away leaves the claimed row alone...
    assert deliver(app, on=DUE).counts.get("sent", 0) == 0
    # ...and sends it again once the claim has timed out: one duplicate, same Message-ID, then sent.
    report = deliver(app, on=DUE, now=utcnow() + timedelta(minutes=16))
    assert report.counts["sent"] == 1
    assert len(smtp.messages) == 2 and smtp.messages[0]["Message-ID"] == smtp.messages[1]["Message-ID"]
    session.refresh(row)
    assert row.status == "sent"
    assert deliver(app, on=DUE, now=utcnow() + timedelta(hours=2)).counts.get("sent", 0) == 0
    assert len(smtp.messages) == 2


def test_one_process_at_a_time_holds_the_jobs_lock(app):
    first, second = JobLock(app), JobLock(app)
    assert first.acquire()
    try:
        assert not second.acquire()
        with exclusive(app, wait=0.2, poll=0.05) as held:
            assert held is False
    finally:
        first.release()
    assert second.acquire()
    second.release()


def test_the_scheduled_job_skips_while_another_process_runs_the_jobs(app, smtp, team, session):
    other = JobLock(app)
    assert other.acquire()
    try:
        daily_job(app)
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 0
    finally:
        other.release()


def test_scheduler_jobs_are_in_code_and_catch_up_late_runs(app):
    scheduler = build_scheduler(app)
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {"daily", "delivery", "tallies", "startup_daily"}
    assert JOB_DEFAULTS["coalesce"] is True and JOB_DEFAULTS["misfire_grace_time"] >= 3600
    assert JOB_DEFAULTS["max_instances"] == 1
    # Every hour, on the hour: each agency is swept once DAILY_JOB_HOUR has come in its own time zone.
    fields = {field.name: str(field) for field in jobs["daily"].trigger.fields}
    assert (fields["hour"], fields["minute"]) == ("*", "0")
    assert jobs["delivery"].trigger.interval == timedelta(minutes=app.config["DELIVERY_INTERVAL_MINUTES"])
    assert jobs["tallies"].trigger.interval == timedelta(minutes=app.config["TALLY_INTERVAL_MINUTES"])


def test_officers_see_their_reminders_and_only_administrators_the_outbox(runner, smtp, team, client):
    assert run(runner, DUE - timedelta(days=14)).exit_code == 0
    login(client, "dana@cen.test")
    page = client.get("/reminders").get_data(as_text=True)
    assert "Due in 14 days" in page and "Test TEST-BASICS" in page and "2026-12-15" in page and "Sent" in page
    assert client.get("/admin/outbox").status_code == 403
    client.post("/logout")
    login(client, "boss@cen.test")
    assert "Due in 14 days" not in client.get("/reminders").get_data(as_text=True)



def test_a_reminder_for_training_completed_since_leaves_the_officers_list_at_once(runner, smtp, team, session,
                                                                                   course, client):
    assert run(runner, DUE - timedelta(days=14)).exit_code == 0
    login(client, "dana@cen.test")
    assert "Due in 14 days" in client.get("/reminders").get_data(as_text=True)
    record_completion(session, team["officer"], course, DUE - timedelta(days=13), version_id=None, score=90,
                      source="import")
    session.commit()
    page = client.get("/reminders").get_data(as_text=True)
    assert "Due in 14 days" not in page and "Test TEST-BASICS" not in page and "No reminders yet." in page


def test_a_reminder_is_not_sent_for_training_completed_after_the_last_check(runner, smtp, team, session, course,
                                                                            app, unused_port, monkeypatch):
    real_port = app.config["SMTP_PORT"]
    app.config["SMTP_PORT"] = unused_port
    assert run(runner, DUE - timedelta(days=7)).exit_code == 1
    app.config["SMTP_PORT"] = real_port
    record_completion(session, team["officer"], course, DUE - timedelta(days=6), version_id=None, score=90,
                      source="import")
    session.commit()
    # Completed between the delivery's sweep of stale rows and its sending: the letter is still not written.
    monkeypatch.setattr(delivery, "cancel_stale", lambda *args, **kwargs: 0)
    report = deliver(app, on=DUE - timedelta(days=6), force=True)
    assert report.counts["sent"] == 0 and report.counts["cancelled"] == 1
    assert smtp.messages == []
    assert session.scalar(select(OutboxMessage.status)) == "cancelled"
