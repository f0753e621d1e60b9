"""/healthz and /readyz: each readiness check passing and failing on its own, 503 when one fails, no personal
data, no session or cookie, a few statements; the administrators' home shows the same checks."""
from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy import event, text

import config
from tests.support.factories import make_user
from tests.support.pages import login
from training import create_app
from training.db import utcnow
from training.ops.health import code_heads
from training.reminders.models import JobRun, OutboxMessage


def daily_run(session, hours_ago: float = 1, outcome: str = "succeeded") -> JobRun:
    started = utcnow() - timedelta(hours=hours_ago)
    run = JobRun(job="daily", via="scheduler", started_at=started, finished_at=started + timedelta(seconds=3),
                 outcome=outcome, counts={})
    session.add(run)
    session.commit()
    return run


def queue(session, user, n: int, minutes_ago: float = 0) -> None:
    for _ in range(n):
        session.add(OutboxMessage(key=f"test:{uuid.uuid4().hex}", kind="nudge", user_id=user.id,
                                  decided_on=date.today(), created_at=utcnow() - timedelta(minutes=minutes_ago)))
    session.commit()


def ready(client):
    response = client.get("/readyz")
    body = response.get_json()
    return response.status_code, body["status"], {name: c["status"] for name, c in body["checks"].items()}, body


def test_healthz_answers_without_the_database(tmp_path):
    app = create_app(config.TestConfig, DATABASE_URL=f"sqlite:///{tmp_path}/missing/folder/none.db")
    response = app.test_client().get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}
    assert "Set-Cookie" not in response.headers and response.headers["Cache-Control"] == "no-store"


def test_ready_when_every_check_passes(client, session, officer):
    daily_run(session)
    queue(session, officer, 2, minutes_ago=5)
    status, overall, checks, body = ready(client)
    assert (status, overall) == (200, "ready")
    assert checks == {"database": "ok", "migrations": "ok", "scheduler": "ok", "outbox": "ok"}
    assert body["checks"]["outbox"]["detail"] == "2 messages pending, the oldest for 5 minutes."
    assert body["checks"]["migrations"]["detail"] == f"The schema is at {code_heads()[0]}, the code's."


def test_no_daily_run_an_old_one_or_a_failed_one_is_not_ready(client, session, app):
    status, overall, checks, body = ready(client)
    assert (status, overall, checks["scheduler"]) == (503, "not ready", "failing")
    assert body["checks"]["scheduler"]["detail"] == "The daily job has never run."
    assert {name for name, s in checks.items() if s == "failing"} == {"scheduler"}

    daily_run(session, hours_ago=app.config["READY_DAILY_JOB_HOURS"] + 1)
    status, _, checks, body = ready(client)
    assert status == 503 and "more than 25 hours" in body["checks"]["scheduler"]["detail"]

    daily_run(session, hours_ago=0.5, outcome="failed")
    status, _, checks, body = ready(client)
    assert status == 503 and body["checks"]["scheduler"]["detail"] == "The daily job's last run, 30 minutes ago, failed."

    daily_run(session, hours_ago=0.1)
    assert ready(client)[0] == 200


def test_an_outbox_backing_up_is_not_ready(client, session, app, officer):
    daily_run(session)
    app.config.update(READY_OUTBOX_MAX_PENDING=3, READY_OUTBOX_MAX_AGE_MINUTES=60)
    queue(session, officer, 3)
    assert ready(client)[0] == 200
    queue(session, officer, 1)
    status, _, checks, body = ready(client)
    assert (status, checks["outbox"]) == (503, "failing")
    assert body["checks"]["outbox"]["detail"] == "4 messages pending, the oldest for 0 minutes: more than 3."
    app.config.update(READY_OUTBOX_MAX_PENDING=100)
    queue(session, officer, 1, minutes_ago=90)
    status, _, _, body = ready(client)
    assert status == 503 and body["checks"]["outbox"]["detail"].endswith("older than 60 minutes.")
    # Sent and failed messages are not waiting: only pending ones count.
    session.execute(OutboxMessage.__table__.update().values(status="sent"))
    session.commit()
    assert ready(client)[0] == 200


def test_a_schema_behind_the_code_is_not_ready(client, session):
    daily_run(session)
    session.execute(text("UPDATE alembic_version SET version_num = 'a0a0a0a0a0a0'"))
    session.commit()
    status, _, checks, body = ready(client)
    assert (status, checks) == (503, {"database": "ok", "migrations": "failing", "scheduler": "ok", "outbox": "ok"})
    assert body["checks"]["migrations"]["detail"] == (f"The schema is at a0a0a0a0a0a0; the code needs {code_heads()[0]}:"
                                                      " run `flask --app app db upgrade`.")


def test_a_database_that_does_not_answer_is_not_ready(tmp_path):
    app = create_app(config.TestConfig, DATABASE_URL=f"sqlite:///{tmp_path}/missing/folder/none.db")
    response = app.test_client().get("/readyz")
    body = response.get_json()
    assert response.status_code == 503 and body["status"] == "not ready"
    assert body["checks"]["database"] == {"status": "failing",
                                          "detail": "The database does not answer (OperationalError)."}
    assert {c["detail"] for name, c in body["checks"].items() if name != "database"} == {
        "Not checked: the database does not answer."}


def test_readiness_holds_no_personal_data_sets_no_cookie_and_costs_a_few_statements(client, session, connection,
                                                                                   officer):
    daily_run(session)
    queue(session, officer, 1, minutes_ago=500)
    login(client, officer.email)   # a browser with a session cookie polling it changes nothing
    statements = []

    def counted(_conn, _cursor, statement, *_args):
        if not statement.startswith(("SAVEPOINT", "RELEASE", "ROLLBACK", "BEGIN")):   # the test's transaction
            statements.append(statement)

    event.listen(connection, "before_cursor_execute", counted)
    try:
        response = client.get("/readyz")
    finally:
        event.remove(connection, "before_cursor_execute", counted)
    assert response.status_code == 503
    text_ = response.get_data(as_text=True)
    for personal in (officer.email, officer.first_name, officer.last_name, str(officer.employee_id)):
        assert personal not in text_
    assert "Set-Cookie" not in response.headers
    # SELECT 1, the revision, the last daily run, and the pending messages' count and oldest.
    assert len(statements) == 4, statements


def test_the_administrators_home_shows_the_same_checks(client, session, org):
    agency, unit = org
    make_user(session, "root@agency.test", role="admin", agency=agency, unit=unit)
    session.commit()
    login(client, "root@agency.test")
    page = client.get("/").get_data(as_text=True)
    assert "Readiness" in page and "<strong>not ready</strong>" in page
    assert "The daily job has never run." in page and "The database answers." in page
    daily_run(session)
    page = client.get("/").get_data(as_text=True)
    assert "<strong>ready</strong>" in page and "The daily job last started 60 minutes ago (succeeded)." in page


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_the_checks_need_no_sign_in(client, path):
    assert client.get(path).status_code in (200, 503)
