"""API tokens: made at the command line or by administrators in the site (shown once), listed, revoked; refused
once revoked, expired (by the agency's day) or when their scope is gone; and rate-limited per token."""
from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from tests.support.api import Api, make_token
from tests.support.factories import add_unit, make_org, make_user
from tests.support.pages import login
from tests.support.redis_space import REDIS_URL
from training import clock
from training.api.models import ApiToken
from training.audit.models import AuditEvent
from training.auth import throttle
from training.auth.models import SignInFailure

TOKEN_TEXT = re.compile(r"rc_[A-Za-z0-9_-]{43}")


@pytest.fixture
def agency(app, session):
    agency, unit = make_org(session, "AGY")
    make_user(session, "a@agy.test", agency=agency, unit=unit, employee_id="E1")
    session.commit()
    return agency


@pytest.fixture
def api(client):
    return Api(client)


def _at(monkeypatch, instant: datetime) -> None:
    monkeypatch.setattr(clock, "current_instant", lambda: instant)


def _refused(response, words: str) -> None:
    assert response.status_code == 401, response.get_json()
    assert response.headers["WWW-Authenticate"].startswith('Bearer realm="Rollcall API", error="invalid_token"')
    assert words in response.get_json()["detail"]


def test_the_command_prints_a_token_once_that_works_and_lists_and_revokes_it(runner, api, session, agency):
    made = runner.invoke(args=["api-tokens", "create", "--name", "HR sync", "--agency", "AGY", "--unit", "AGY-U1"])
    assert made.exit_code == 0, made.output
    raw = TOKEN_TEXT.search(made.output).group(0)
    assert "sees unit AGY-U1 and the units below it" in made.output and "not shown again" in made.output
    token = session.scalars(select(ApiToken)).one()
    assert raw not in token.token_hash and token.unit_id is not None and token.can_write is False
    assert api.get("/officers/E1", token=raw).status_code == 200

    listed = runner.invoke(args=["api-tokens", "list"])
    assert listed.exit_code == 0 and raw not in listed.output
    assert listed.output.split("\t")[:4] == [str(token.id), "HR sync", "AGY/AGY-U1", "read"]
    assert listed.output.rstrip().endswith("working")

    revoked = runner.invoke(args=["api-tokens", "revoke", str(token.id)])
    assert revoked.exit_code == 0 and "revoked" in revoked.output
    _refused(api.get("/officers/E1", token=raw), "revoked")
    assert runner.invoke(args=["api-tokens", "list"]).output.rstrip().endswith("revoked")
    again = runner.invoke(args=["api-tokens", "revoke", str(token.id)])
    assert again.exit_code == 1 and "already revoked" in again.output

    events = session.scalars(select(AuditEvent).where(AuditEvent.action.like("api_token.%"))
                             .order_by(AuditEvent.id)).all()
    assert [(e.action, e.details["token"]["name"], e.details["via"]) for e in events] == [
        ("api_token.created", "HR sync", "cli"), ("api_token.revoked", "HR sync", "cli")]


@pytest.mark.parametrize("args, words", [
    (["--name", "X", "--agency", "NOPE"], "no agency has the code NOPE"),
    (["--name", "X", "--agency", "AGY", "--unit", "OTH-U1"], "belongs to another agency"),
    (["--name", "X", "--agency", "AGY", "--expires", "2001-01-01"], "already past"),
    (["--name", " ", "--agency", "AGY"], "give the token a name"),
    (["--name", "X", "--agency", "AGY", "--expires", "soon"], "not a date"),
])
def test_the_command_refuses_with_a_clear_message_and_makes_nothing(runner, session, agency, args, words):
    make_org(session, "OTH")
    session.commit()
    result = runner.invoke(args=["api-tokens", "create", *args])
    assert result.exit_code != 0 and words in result.output
    assert session.scalars(select(ApiToken)).all() == []
    assert runner.invoke(args=["api-tokens", "revoke", "999"]).exit_code == 1


def test_unknown_and_malformed_tokens_are_refused(api, agency):
    _refused(api.get("/officers", token="rc_" + "x" * 43), "not known")
    _refused(api.get("/officers", token="y" * 500), "not known")
    for header in ("Basic dXNlcjpwYXNz", "Bearer", "Bearer  "):
        response = api.get("/officers", headers={"Authorization": header})
        assert response.status_code == 401 and response.headers["WWW-Authenticate"] == 'Bearer realm="Rollcall API"'


def test_a_token_works_through_its_last_day_in_the_agencys_time_zone(api, session, monkeypatch):
    # Kiritimati is 14 hours ahead of UTC: its day starts while UTC's day before is still young.
    agency, _ = make_org(session, "KIR", tz="Pacific/Kiritimati")
    session.commit()
    _, raw = make_token(session, agency, expires_on=date(2030, 6, 1))
    _at(monkeypatch, datetime(2030, 6, 1, 9, 0, tzinfo=UTC))         # 23:00 on 1 June in Kiritimati
    assert api.get("/officers", token=raw).status_code == 200
    _at(monkeypatch, datetime(2030, 6, 1, 10, 30, tzinfo=UTC))       # 00:30 on 2 June there, still 1 June in UTC
    _refused(api.get("/officers", token=raw), "expired after 2030-06-01")


def test_a_token_whose_unit_left_its_agency_is_refused(api, session, agency):
    other, _ = make_org(session, "OTH")
    unit = add_unit(session, agency, "AGY-MOVING")
    session.commit()
    _, raw = make_token(session, agency, unit)
    assert api.get("/officers", token=raw).status_code == 200
    unit.agency_id = other.id
    session.commit()
    _refused(api.get("/officers", token=raw), "no longer exists")


def _start_of_a_minute(monkeypatch) -> datetime:
    """Stand 5 seconds into a minute, so that a test's requests fall in one window of the limit."""
    now = clock.current_instant().replace(second=5, microsecond=0) + timedelta(minutes=1)
    _at(monkeypatch, now)
    return now


def test_each_token_is_limited_per_minute_in_the_sign_in_throttles_store(app, api, session, agency, monkeypatch):
    app.config["API_RATE_LIMIT"] = 3
    token_id, raw = make_token(session, agency)
    _, other = make_token(session, agency, name="Other system")
    now = _start_of_a_minute(monkeypatch)
    assert [api.get("/officers", token=raw).status_code for _ in range(3)] == [200, 200, 200]
    refused = api.get("/officers", token=raw)
    assert refused.status_code == 429 and refused.get_json()["type"] == "urn:rollcall:api:rate-limited"
    assert refused.headers["Retry-After"] == "55"
    assert api.get("/officers", token=other).status_code == 200      # each token has its own count
    counted = session.scalar(select(SignInFailure.count).where(SignInFailure.key == f"api-token:{token_id}"))
    assert counted == 4
    _at(monkeypatch, now + timedelta(minutes=1))
    assert api.get("/officers", token=raw).status_code == 200


def test_the_limit_counts_in_redis_when_the_throttle_does(app, api, session, agency, monkeypatch, redis_space):
    app.config.update(THROTTLE_REDIS_URL=REDIS_URL, THROTTLE_REDIS_PREFIX=redis_space.prefix, API_RATE_LIMIT=2)
    throttle.init_app(app)
    try:
        token_id, raw = make_token(session, agency)
        now = _start_of_a_minute(monkeypatch)
        assert [api.get("/officers", token=raw).status_code for _ in range(3)] == [200, 200, 429]
        window = f"{throttle.window_start(now.replace(tzinfo=None), 1):%Y-%m-%dT%H:%M}"
        assert redis_space.counts() == {f"api-token:{token_id}:{window}": 3}
        assert session.scalars(select(SignInFailure)).all() == []
    finally:
        app.extensions["sign_in_throttle"].close()


def _admin(client, session, agency):
    make_user(session, "admin@agy.test", role="admin", agency=agency)
    session.commit()
    login(client, "admin@agy.test")


def test_administrators_make_a_token_shown_once_and_revoke_it_in_the_site(client, api, session, agency):
    _admin(client, session, agency)
    page = client.get("/admin/api-tokens")
    assert page.status_code == 200 and "No tokens yet." in page.get_data(as_text=True)
    made = client.post("/admin/api-tokens", data={"name": "Scheduling", "agency": "AGY", "unit": "",
                                                  "write": "y", "expires": ""})
    text = made.get_data(as_text=True)
    assert made.status_code == 200 and "Token Scheduling made" in text
    raw = TOKEN_TEXT.search(text).group(0)
    assert api.get("/officers/E1", token=raw).status_code == 200
    shown_again = client.get("/admin/api-tokens").get_data(as_text=True)
    assert raw not in shown_again and "Scheduling" in shown_again and "Working" in shown_again
    token = session.scalars(select(ApiToken)).one()
    assert token.can_write and token.created_by_id is not None
    revoked = client.post(f"/admin/api-tokens/{token.id}/revoke", follow_redirects=True)
    assert "is revoked" in revoked.get_data(as_text=True)
    _refused(api.get("/officers/E1", token=raw), "revoked")
    events = session.scalars(select(AuditEvent).where(AuditEvent.action.like("api_token.%"))
                             .order_by(AuditEvent.id)).all()
    assert [(e.action, e.actor_id, e.details["via"]) for e in events] == [
        ("api_token.created", token.created_by_id, "site"), ("api_token.revoked", token.created_by_id, "site")]


def test_the_page_refuses_a_unit_of_another_agency_and_an_empty_name(client, session, agency):
    make_org(session, "OTH")
    _admin(client, session, agency)
    response = client.post("/admin/api-tokens", data={"name": "X", "agency": "AGY", "unit": "OTH-U1"})
    assert response.status_code == 422 and "belongs to another agency" in response.get_data(as_text=True)
    response = client.post("/admin/api-tokens", data={"name": "", "agency": "AGY"})
    assert response.status_code == 422
    response = client.post("/admin/api-tokens", data={"name": "X", "agency": "AGY", "expires": "2001-01-01"})
    assert response.status_code == 422 and 'id="expires-error-1">The last day the token works (2001-01-01) is ' \
        'already past.' in response.get_data(as_text=True)
    assert session.scalars(select(ApiToken)).all() == []


def test_the_admin_menu_links_the_tokens_page(client, session, agency):
    _admin(client, session, agency)
    assert 'href="/admin/api-tokens"' in client.get("/admin/users").get_data(as_text=True)
