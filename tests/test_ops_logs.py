"""Logs: one line per request and per job run, JSON with LOG_FORMAT=json and readable text by default, each with
a request id that the response, the audit events and the mail it sends carry too; routes, never raw paths, so no
token, password or code reaches a log; an error's traceback once."""
from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select

import config
from tests.support.pages import login
from training import create_app, jobs, scheduler
from training.api.tokens import create_token
from training.audit.models import AuditEvent
from training.db import utcnow
from training.feeds.addresses import make_address
from training.ops import logs


@pytest.fixture
def json_logs():
    logs.configure("json")
    yield
    logs.configure("text")


def lines(captured: str) -> list[dict]:
    """Each JSON line written; anything else written would fail to parse here."""
    return [json.loads(line) for line in captured.splitlines() if line.strip()]


def requests_of(captured: str) -> list[dict]:
    return [line for line in lines(captured) if line["logger"] == "training.requests"]


def test_log_format_is_read_from_the_settings(tmp_path):
    handler_format = {}
    for name in ("json", "text"):
        create_app(config.TestConfig, DATABASE_URL=f"sqlite:///{tmp_path}/x.db", LOG_FORMAT=name)
        handler = next(h for h in logs.logging.getLogger("training").handlers if isinstance(h, logs._Stderr))
        handler_format[name] = type(handler.formatter)
    assert handler_format == {"json": logs.JsonFormatter, "text": logs.TextFormatter}


def test_one_json_line_per_request_with_its_request_id_route_status_time_and_user(client, officer, capsys,
                                                                                  json_logs):
    capsys.readouterr()
    login(client, officer.email)
    page = client.get("/courses/TEST-BASICS/lessons/01-topic-1", headers={"X-Request-ID": "lb-7f3a9c21-0001"})
    written = requests_of(capsys.readouterr().err)
    assert len(written) == 2
    sign_in, lesson = written
    assert (sign_in["endpoint"], sign_in["route"], sign_in["status"], sign_in["method"]) == \
        ("auth.login", "/login", 302, "POST")
    assert lesson["request_id"] == page.headers["X-Request-ID"] == "lb-7f3a9c21-0001"
    assert lesson["route"] == "/courses/<code>/lessons/<slug>" and lesson["endpoint"] == "learn.lesson"
    assert lesson["user_id"] == officer.id and lesson["duration_ms"] >= 0 and lesson["level"] == "INFO"
    assert sign_in["request_id"] != lesson["request_id"] and re.fullmatch(r"[0-9a-f]{32}", sign_in["request_id"])


@pytest.mark.parametrize("offered", ["short", "has space in it", "x" * 129, "semi;colon<script>", "ünïcode-id-123"])
def test_an_unsafe_incoming_request_id_is_replaced(client, offered):
    given = client.get("/healthz", headers={"X-Request-ID": offered}).headers["X-Request-ID"]
    assert given != offered and re.fullmatch(r"[0-9a-f]{32}", given)


def test_the_request_id_reaches_the_audit_event_the_mail_and_the_log_and_no_token_does(client, session, officer,
                                                                                     smtp, capsys, json_logs):
    capsys.readouterr()
    response = client.post("/password/forgot", data={"email": officer.email},
                           headers={"X-Request-ID": "req-forgot-0001"})
    response.close()   # the link is mailed once the answer has left
    assert response.headers["X-Request-ID"] == "req-forgot-0001"
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "password.reset_requested"))
    assert event.details["x_request_id"] == "req-forgot-0001"
    [mail] = smtp.messages
    assert mail["X-Request-ID"] == "req-forgot-0001" and mail["Message-ID"].startswith("<rollcall-outbox-")
    link = re.search(r"/password/reset/([A-Za-z0-9_-]+)", mail.get_body(("plain",)).get_content())
    token = link.group(1)
    reset = client.get(link.group(0))
    assert reset.status_code == 200
    written = capsys.readouterr().err
    assert token not in written and officer.email not in written
    forgot, opened = requests_of(written)
    assert forgot["request_id"] == "req-forgot-0001" and forgot["route"] == "/password/forgot"
    assert opened["route"] == "/password/reset/<token>" and opened["endpoint"] == "auth.reset_password"


def test_no_password_calendar_or_api_token_is_logged(client, session, officer, org, capsys, json_logs):
    calendar = make_address(session, officer)
    api_token = create_token(session, "HR sync", org[0], None, can_write=False, expires_on=None, actor_id=None,
                             now=utcnow(), via="test")[1]
    session.commit()
    capsys.readouterr()
    client.post("/login", data={"email": officer.email, "password": "Wrong-password-42"})
    assert client.get(f"/calendar/{calendar}.ics?token={calendar}").status_code == 200
    assert client.get("/api/v1/officers", headers={"Authorization": f"Bearer {api_token}"}).status_code == 200
    written = capsys.readouterr().err
    for secret in ("Wrong-password-42", calendar, api_token):
        assert secret not in written
    routes = [line["route"] for line in requests_of(written)]
    assert routes == ["/login", "/calendar/<token>.ics", "/api/v1/officers"]
    assert requests_of(written)[2]["api_token_id"] is not None


def test_an_error_logs_its_traceback_once_without_the_raw_path(app, client, session, officer, capsys, json_logs,
                                                                monkeypatch):
    app.config["PROPAGATE_EXCEPTIONS"] = False   # answered as production answers it: the error page
    token = make_address(session, officer)
    session.commit()

    def broken(*_args, **_kwargs):
        raise RuntimeError("the calendar could not be written")
    monkeypatch.setattr("training.feeds.views.calendar", broken)
    capsys.readouterr()
    response = client.get(f"/calendar/{token}.ics")
    assert response.status_code == 500
    captured = capsys.readouterr()
    written = captured.err + captured.out
    assert written.count("Traceback (most recent call last)") == 1 and token not in written
    [line] = requests_of(captured.err)
    assert (line["level"], line["status"], line["route"]) == ("ERROR", 500, "/calendar/<token>.ics")
    assert "RuntimeError: the calendar could not be written" in line["traceback"]
    assert line["request_id"] == response.headers["X-Request-ID"]


def test_a_job_run_writes_one_line_whose_request_id_the_mail_it_sends_carries(app, client, smtp, officer, capsys,
                                                                              json_logs):
    # Queued by a request whose answer is never closed: the delivery job sends it, under the job run's id.
    unclosed = client.post("/password/forgot", data={"email": officer.email})
    queued_by = unclosed.headers["X-Request-ID"]
    capsys.readouterr()
    jobs.run_delivery(app, via="command", force=True)
    [line] = [line for line in lines(capsys.readouterr().err) if line["logger"] == "training.jobs"]
    assert (line["job"], line["via"], line["outcome"]) == ("delivery", "command", "succeeded")
    assert line["counts"]["sent"] == 1 and line["duration_ms"] >= 0 and line["run_id"] > 0
    assert [m["X-Request-ID"] for m in smtp.messages] == [line["request_id"]] and line["request_id"] != queued_by
    unclosed.close()   # its own delivery now finds the message sent


def test_a_failed_scheduled_job_logs_its_traceback_once(app, session, capsys, json_logs, monkeypatch):
    def broken(*_args, **_kwargs):
        raise RuntimeError("the sweep broke")
    monkeypatch.setattr(jobs, "daily_sweep", broken)
    app.config["DAILY_JOB_HOUR"] = 0   # every agency's day has reached the hour, whenever the test runs
    capsys.readouterr()
    scheduler.logged_once(scheduler.daily_job, app)   # as APScheduler calls it
    captured = capsys.readouterr()
    written = captured.err + captured.out
    assert written.count("Traceback (most recent call last)") == 1
    failed = [line for line in lines(captured.err) if line.get("job") == "daily"]
    assert len(failed) == 1 and failed[0]["outcome"] == "failed" and "the sweep broke" in failed[0]["traceback"]
    # The delivery that follows in the same scheduled run shares its request id.
    ids = {line["request_id"] for line in lines(captured.err) if "job" in line}
    assert len(ids) == 1


def test_text_lines_are_readable_by_default(client, capsys):
    capsys.readouterr()
    client.get("/healthz", headers={"X-Request-ID": "text-format-01"})
    [line] = [line for line in capsys.readouterr().err.splitlines() if "training.requests" in line]
    assert re.search(r" INFO training\.requests: GET /healthz 200 request_id=text-format-01 method=GET "
                     r"endpoint=ops\.healthz route=/healthz status=200 duration_ms=[0-9.]+$", line), line
