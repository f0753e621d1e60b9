"""/metrics: Prometheus' format, read with prometheus_client's own parser; open to METRICS_ALLOW's addresses or
the METRICS_TOKEN bearer token only; counts that move when a quiz is submitted, a sign-in fails or is throttled,
a completion is recorded or a message queued; the database's figures read at each scrape; several gunicorn
workers added together."""
from __future__ import annotations

import concurrent.futures
import urllib.request
from datetime import UTC, date, timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.databases import committed_database
from tests.support.pages import answer_form, latest_attempt, login, open_all_lessons
from tests.support.servers import gunicorn
from tests.test_faults import seed
from training.db import utcnow
from training.jobs import run_daily
from training.reminders.models import OutboxMessage

CODE = "TEST-BASICS"


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    """Every sample of the exposition, by name and labels; the parser refuses anything not in the format."""
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def scrape(client, **kwargs) -> dict[tuple[str, frozenset], float]:
    response = client.get("/metrics", **kwargs)
    assert response.status_code == 200, response.status_code
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    return samples(response.get_data(as_text=True))


def value(found, name: str, **labels) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


def test_loopback_may_scrape_by_default_and_other_addresses_may_not(client):
    assert client.get("/metrics").status_code == 200
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "::1"}).status_code == 200
    refused = client.get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert refused.status_code == 403 and "rollcall_" not in refused.get_data(as_text=True)


def test_metrics_allow_takes_addresses_and_blocks(app, client):
    app.config["METRICS_ALLOW"] = "10.0.0.0/8, 192.0.2.7"
    assert client.get("/metrics").status_code == 403   # loopback is no longer listed
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.20.30.40"}).status_code == 200
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "192.0.2.7"}).status_code == 200
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "192.0.2.8"}).status_code == 403


def test_a_bearer_token_opens_it_from_anywhere_and_a_wrong_one_does_not(app, client):
    app.config.update(METRICS_ALLOW="", METRICS_TOKEN="s3cret-scrape-token")
    outside = {"REMOTE_ADDR": "203.0.113.9"}
    assert client.get("/metrics", environ_base=outside).status_code == 403
    for wrong in ("Bearer s3cret-scrape-tokem", "Bearer ", "Basic s3cret-scrape-token", "s3cret-scrape-token"):
        assert client.get("/metrics", environ_base=outside, headers={"Authorization": wrong}).status_code == 403
    scrape(client, environ_base=outside, headers={"Authorization": "Bearer s3cret-scrape-token"})


def test_a_wrong_metrics_allow_stops_the_scrape_with_its_reason(app):
    from training.ops.metrics import networks

    with pytest.raises(RuntimeError, match="METRICS_ALLOW"):
        networks("10.0.0.0/33")


def test_requests_are_counted_by_route_not_path_with_their_latency(client, session, officer, course):
    before = scrape(client)
    login(client, officer.email)
    client.get(f"/courses/{CODE}/lessons/01-topic-1")
    client.get("/no/such/page")
    after = scrape(client)
    lesson = {"endpoint": "learn.lesson", "method": "GET"}
    assert value(after, "rollcall_http_requests_total", status="200", **lesson) == \
        value(before, "rollcall_http_requests_total", status="200", **lesson) + 1
    assert value(after, "rollcall_http_request_duration_seconds_count", **lesson) == \
        value(before, "rollcall_http_request_duration_seconds_count", **lesson) + 1
    assert value(after, "rollcall_http_request_duration_seconds_bucket", le="+Inf", **lesson) >= 1
    assert value(after, "rollcall_http_requests_total", endpoint="unmatched", method="GET", status="404") >= 1
    assert not any("01-topic-1" in str(labels) or "/no/such" in str(labels) for _, labels in after)


def test_a_quiz_a_completion_a_failed_and_a_throttled_sign_in_move_their_counts(app, client, session, officer,
                                                                               course):
    app.config["SIGN_IN_ACCOUNT_LIMIT"] = 2
    before = scrape(client)
    for _ in range(3):   # two wrong passwords, then the account is held
        login(client, officer.email, "not-the-password")
    login(client, "someone@agency.test", "not-the-password")
    after = scrape(client)
    failed = {"check": "auth.sign_in_failed"}
    assert value(after, "rollcall_sign_in_failures_total", **failed) == \
        value(before, "rollcall_sign_in_failures_total", **failed) + 3
    held = {"action": "auth.sign_in_throttled"}
    assert value(after, "rollcall_throttle_refusals_total", **held) == \
        value(before, "rollcall_throttle_refusals_total", **held) + 1

    app.config["SIGN_IN_ACCOUNT_LIMIT"] = 100
    login(client, officer.email)
    open_all_lessons(client, CODE)
    for correct in (5, 9):
        client.post(f"/courses/{CODE}/quiz")
        attempt = latest_attempt(session, officer)
        client.post(f"/attempts/{attempt.id}", data=answer_form(session, attempt, correct=correct))
    client.post(f"/attempts/{attempt.id}/result", data={"full_name": "Dana Cruz"})
    done = scrape(client)
    for result in ("passed", "failed"):
        assert value(done, "rollcall_quiz_submissions_total", result=result) == \
            value(before, "rollcall_quiz_submissions_total", result=result) + 1
    assert value(done, "rollcall_completions_total", source="quiz") == \
        value(before, "rollcall_completions_total", source="quiz") + 1


def test_the_outbox_and_the_daily_job_are_read_from_the_database_at_each_scrape(app, client, session, officer):
    before = scrape(client)
    assert value(before, "rollcall_outbox_messages", state="pending") == 0
    assert value(before, "rollcall_outbox_oldest_pending_age_seconds") == 0
    assert ("rollcall_daily_job_last_start_timestamp_seconds", frozenset()) not in before

    client.post("/password/forgot", data={"email": officer.email})   # queued; mailed once the answer closes
    session.add(OutboxMessage(key="test:old", kind="nudge", user_id=officer.id, decided_on=date.today(),
                              created_at=utcnow() - timedelta(minutes=30)))
    session.add(OutboxMessage(key="test:failed", kind="nudge", user_id=officer.id, decided_on=date.today(),
                              status="failed"))
    session.commit()
    queued = scrape(client)
    assert value(queued, "rollcall_outbox_messages", state="pending") == 2
    assert value(queued, "rollcall_outbox_messages", state="failed") == 1
    assert 30 * 60 <= value(queued, "rollcall_outbox_oldest_pending_age_seconds") < 31 * 60

    started = utcnow()
    run_daily(app, date.today(), via="command")
    ran = scrape(client)
    start = value(ran, "rollcall_daily_job_last_start_timestamp_seconds")
    assert abs(start - started.replace(tzinfo=UTC).timestamp()) < 5
    assert 0 <= value(ran, "rollcall_daily_job_last_duration_seconds") < 60
    assert value(ran, "rollcall_daily_job_last_result", outcome="succeeded") == 1
    assert value(ran, "rollcall_daily_job_last_result", outcome="failed") == 0
    assert value(ran, "rollcall_job_runs_total", job="daily", outcome="succeeded") == \
        value(before, "rollcall_job_runs_total", job="daily", outcome="succeeded") + 1


def _get(url: str) -> int:
    with urllib.request.urlopen(url, timeout=30) as answer:
        return answer.status


@pytest.mark.slow
def test_two_gunicorn_workers_are_added_together(tmp_path):
    """Each worker counts in its own files under PROMETHEUS_MULTIPROC_DIR; a scrape, whichever worker answers
    it, reads them all."""
    folder = tmp_path / "prometheus"
    folder.mkdir()
    with committed_database(tmp_path, "ops_metrics") as url:
        seed(url, tmp_path, [])
        with gunicorn(url, tmp_path, workers=2, env={"PROMETHEUS_MULTIPROC_DIR": str(folder)}) as server:
            sent = 0
            with concurrent.futures.ThreadPoolExecutor(8) as pool:
                # Until both workers have answered some (each writes files named after its process id).
                while sent < 400 and len({p.stem.rsplit("_", 1)[1] for p in folder.glob("counter_*.db")}) < 2:
                    assert set(pool.map(_get, [f"{server.base_url}/healthz"] * 40)) == {200}
                    sent += 40
            workers = {p.stem.rsplit("_", 1)[1] for p in folder.glob("counter_*.db")}
            assert workers == {str(pid) for pid in server.workers()}, (workers, server.workers())
            for _ in range(3):   # whichever worker answers the scrape, the same sum
                with urllib.request.urlopen(f"{server.base_url}/metrics", timeout=30) as answer:
                    found = samples(answer.read().decode())
                assert value(found, "rollcall_http_requests_total", endpoint="ops.healthz", method="GET",
                             status="200") == sent
                assert value(found, "rollcall_http_request_duration_seconds_count", endpoint="ops.healthz",
                             method="GET") == sent
