"""Sign-in throttling: per account and per address, shared by every process through the database."""
from datetime import datetime, timedelta

from sqlalchemy import select

import config
from tests.helpers import login, make_org, make_user
from tests.scratch import scratch_database
from training import create_app, migrate
from training.audit.models import AuditEvent
from training.auth import throttle
from training.db import unit_of_work, utcnow


def _later(monkeypatch, minutes: int) -> None:
    moment = utcnow() + timedelta(minutes=minutes)
    monkeypatch.setattr("training.auth.views.utcnow", lambda: moment)
    monkeypatch.setattr("training.security.utcnow", lambda: moment)


def test_windows_and_the_minutes_left():
    assert throttle.window_start(datetime(2026, 5, 1, 9, 14, 59), 15) == datetime(2026, 5, 1, 9, 0)
    assert throttle.window_start(datetime(2026, 5, 1, 9, 15), 15) == datetime(2026, 5, 1, 9, 15)
    assert throttle.minutes_left(datetime(2026, 5, 1, 9, 1, 30), 15) == 14
    assert throttle.minutes_left(datetime(2026, 5, 1, 9, 14, 59), 15) == 1


def test_five_wrong_passwords_hold_the_account_for_the_rest_of_the_window(client, session, officer, monkeypatch):
    for _ in range(5):
        assert login(client, officer.email, "wrong-password-guess").status_code == 401
    refused = login(client, officer.email)   # even the right password waits now
    page = refused.get_data(as_text=True)
    assert refused.status_code == 429
    assert "Too many attempts; try again in" in page and "minute" in page
    assert client.get("/").status_code == 302
    throttled = session.scalars(select(AuditEvent).where(AuditEvent.action == "auth.sign_in_throttled")).all()
    assert [e.target for e in throttled] == [officer.email]

    _later(monkeypatch, 16)
    assert login(client, officer.email).status_code == 302


def test_an_unknown_account_is_throttled_the_same_way(client):
    for _ in range(5):
        login(client, "nobody@agency.test", "wrong-password-guess")
    response = login(client, "nobody@agency.test", "wrong-password-guess")
    assert response.status_code == 429 and "Too many attempts" in response.get_data(as_text=True)


def test_one_address_spraying_many_accounts_is_held_but_other_addresses_are_not(client, app, officer):
    for n in range(20):
        login(client, f"guess{n}@agency.test", "wrong-password-guess")
    assert login(client, officer.email).status_code == 429
    elsewhere = app.test_client()
    elsewhere.environ_base["REMOTE_ADDR"] = "192.0.2.7"
    assert login(elsewhere, officer.email).status_code == 302


def test_a_correct_password_clears_the_account_count(client, officer):
    for _ in range(4):
        login(client, officer.email, "wrong-password-guess")
    assert login(client, officer.email).status_code == 302
    client.post("/logout")
    for _ in range(4):
        login(client, officer.email, "wrong-password-guess")
    assert login(client, officer.email).status_code == 302


def test_two_app_instances_on_one_database_share_the_count(tmp_path):
    """Two processes (two apps, two engines) sharing one database: failures in either count for both."""
    with scratch_database(tmp_path, "throttle_shared") as url:
        first = create_app(config.TestConfig, DATABASE_URL=url)
        migrate.upgrade(first)
        second = create_app(config.TestConfig, DATABASE_URL=url)
        try:
            with unit_of_work(first) as session:
                agency, unit = make_org(session)
                make_user(session, "shared@agency.test", agency=agency, unit=unit)
            one, two = first.test_client(), second.test_client()
            for n in range(5):
                assert login(one if n % 2 else two, "shared@agency.test", "wrong-password-guess").status_code == 401
            assert login(one, "shared@agency.test").status_code == 429
            assert login(two, "shared@agency.test").status_code == 429
        finally:
            first.extensions["db_engine"].dispose()
            second.extensions["db_engine"].dispose()



def _proxied_app(database_url, connection, **settings):
    from sqlalchemy.orm import sessionmaker

    app = create_app(config.TestConfig, DATABASE_URL=database_url, **settings)
    app.extensions["db_sessionmaker"] = sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    return app


def _through_proxy(app, forwarded_for: str):
    """A client behind a reverse proxy at 10.0.0.1 that appends the address it saw to X-Forwarded-For."""
    client = app.test_client()
    client.environ_base.update(REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=forwarded_for)
    return client


def test_forwarded_addresses_are_ignored_unless_a_proxy_is_trusted(client, officer, session):
    """Directly exposed (the default), a client cannot dodge the address limit by sending X-Forwarded-For."""
    for n in range(20):
        client.environ_base["HTTP_X_FORWARDED_FOR"] = f"198.51.100.{n}"
        login(client, f"guess{n}@agency.test", "wrong-password-guess")
    assert login(client, officer.email).status_code == 429
    ips = {e.details["ip"] for e in session.scalars(select(AuditEvent).where(
        AuditEvent.action == "auth.sign_in_failed"))}
    assert ips == {"127.0.0.1"}


def test_behind_a_trusted_proxy_each_client_address_is_throttled_on_its_own(database_url, connection, officer, session):
    app = _proxied_app(database_url, connection, PROXY_FIX_X_FOR=1)
    # The sprayer puts a made-up address first; the proxy appends the real one, and only that counts.
    sprayer = _through_proxy(app, "192.0.2.1, 203.0.113.5")
    for n in range(20):
        assert login(sprayer, f"guess{n}@agency.test", "wrong-password-guess").status_code == 401
    assert login(sprayer, officer.email).status_code == 429
    assert login(_through_proxy(app, "203.0.113.5"), officer.email).status_code == 429
    # Everyone else comes through the same proxy and is not held.
    neighbour = _through_proxy(app, "198.51.100.9")
    assert login(neighbour, officer.email).status_code == 302
    events = session.scalars(select(AuditEvent).where(
        AuditEvent.action.in_(["auth.sign_in_failed", "auth.signed_in"]))).all()
    assert {e.details["ip"] for e in events if e.action == "auth.sign_in_failed"} == {"203.0.113.5"}
    assert [e.details["ip"] for e in events if e.action == "auth.signed_in"] == ["198.51.100.9"]
