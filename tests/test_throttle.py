"""Sign-in throttling: per account and per address, shared by every process through the database or Redis;
every check of a password or a code counts, and refusals while held are recorded once per key and window.

Every test that signs in runs once with each store."""
import re
import threading
from datetime import datetime, timedelta

import pyotp
import pytest
from sqlalchemy import select

import config
from tests.support.databases import committed_database
from tests.support.factories import PASSWORD, make_org, make_user
from tests.support.pages import login
from tests.support.redis_space import REDIS_URL
from training import create_app, migrate
from training.audit.chain import walk
from training.audit.models import AuditEvent
from training.auth import throttle
from training.auth.models import SignInFailure, ThrottleRefusal
from training.db import unit_of_work, utcnow

pytestmark = pytest.mark.usefixtures("one_sign_in_window")

NEW_PASSWORD = "a-brand-new-passphrase"


@pytest.fixture(params=["database", "redis"])
def store_settings(request) -> dict:
    """The settings that choose the store: none for the database; Redis under a prefix of the test's own."""
    if request.param == "database":
        return {}
    return {"THROTTLE_REDIS_URL": REDIS_URL, "THROTTLE_REDIS_PREFIX": request.getfixturevalue("redis_space").prefix}


@pytest.fixture(autouse=True)
def store_never_failed(caplog):
    """A Redis store that quietly fell back to the database would pass these tests for the wrong reason."""
    yield
    assert [r.getMessage() for r in caplog.records if r.name == throttle.__name__] == []


@pytest.fixture
def app(app, store_settings):
    app.config.update(store_settings)
    throttle.init_app(app)
    yield app
    app.extensions["sign_in_throttle"].close()


def _apps_on_one_database(url: str, settings: dict, count: int) -> list:
    """`count` apps (each its own engine and Redis connections, like separate workers) on one migrated database,
    with one account in it."""
    apps = [create_app(config.TestConfig, DATABASE_URL=url, **settings) for _ in range(count)]
    migrate.upgrade(apps[0])
    with unit_of_work(apps[0]) as session:
        agency, unit = make_org(session)
        make_user(session, "shared@agency.test", agency=agency, unit=unit)
    return apps


def _close(apps: list) -> None:
    for each in apps:
        each.extensions["sign_in_throttle"].close()
        each.extensions["db_engine"].dispose()


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


def test_two_app_instances_on_one_database_share_the_count(tmp_path, store_settings):
    """Two processes (two apps, two engines) sharing one database and store: failures in either count for both."""
    with committed_database(tmp_path, "throttle_shared") as url:
        apps = _apps_on_one_database(url, store_settings, 2)
        try:
            one, two = (each.test_client() for each in apps)
            for n in range(5):
                assert login(one if n % 2 else two, "shared@agency.test", "wrong-password-guess").status_code == 401
            assert login(one, "shared@agency.test").status_code == 429
            assert login(two, "shared@agency.test").status_code == 429
        finally:
            _close(apps)


def test_workers_counting_at_once_lose_no_count(tmp_path, store_settings):
    """Four workers, each its own app (engine, Redis connections and store), count failures for one address at
    the same moment: every one counts."""
    workers, failures = 4, 25
    with committed_database(tmp_path, "throttle_parallel") as url:
        apps = _apps_on_one_database(url, store_settings, workers)
        now, window, address = utcnow(), 15, "address:192.0.2.9"
        start, errors = threading.Barrier(workers), []

        def worker(n: int) -> None:
            try:
                store = apps[n].extensions["sign_in_throttle"]
                start.wait()
                for _ in range(failures):
                    with unit_of_work(apps[n]) as session:
                        store.count_failure(session, (f"account:worker{n}@agency.test", address), now, window)
            except Exception as exc:  # reported below, in the test's thread
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(workers)]
        try:
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert errors == []
            store, total = apps[0].extensions["sign_in_throttle"], workers * failures
            with unit_of_work(apps[0]) as session:
                assert store.over_limit(session, {address: total}, now, window)
                assert not store.over_limit(session, {address: total + 1}, now, window)
                assert store.over_limit(session, {"account:worker3@agency.test": failures}, now, window)
                assert not store.over_limit(session, {"account:worker3@agency.test": failures + 1}, now, window)
        finally:
            _close(apps)



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


def _events(session, action: str) -> list[AuditEvent]:
    return session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)).all()


def _change_password(client, current: str):
    return client.post("/account/password", data={"current_password": current, "new_password": NEW_PASSWORD,
                                                  "confirm": NEW_PASSWORD})


def test_wrong_current_passwords_on_change_password_count_in_the_sign_in_throttle(app, client, session, officer):
    login(client, officer.email)
    for _ in range(5):
        wrong = _change_password(client, "wrong-password-guess")
        assert wrong.status_code == 401 and "The current password is not right." in wrong.get_data(as_text=True)
    held = _change_password(client, PASSWORD)   # the right one waits now too, unchecked
    assert held.status_code == 429 and "Too many attempts; try again in" in held.get_data(as_text=True)
    assert login(app.test_client(), officer.email).status_code == 429, "the sign-in form is held for the account"
    client.post("/logout")
    failed = _events(session, "auth.password_check_failed")
    assert len(failed) == 5 and {(e.subject_id, e.agency_id, e.actor_id) for e in failed} == {
        (officer.id, officer.agency_id, officer.id)}
    # One event for the account's window, whichever form was refused; the sign-in refusal only counts.
    refused = _events(session, "auth.sign_in_throttled")
    assert [(e.subject_id, e.details["form"]) for e in refused] == [(officer.id, "password")]
    assert session.scalar(select(ThrottleRefusal.count).where(ThrottleRefusal.event_id == refused[0].id)) == 2


def test_the_password_is_unchanged_after_a_held_change(monkeypatch, app, client, officer):
    login(client, officer.email)
    for _ in range(5):
        _change_password(client, "wrong-password-guess")
    assert _change_password(client, PASSWORD).status_code == 429
    client.post("/logout")
    _later(monkeypatch, 16)
    assert login(client, officer.email, NEW_PASSWORD).status_code == 401
    assert login(client, officer.email).status_code == 302


def test_wrong_codes_when_setting_up_or_turning_off_the_second_factor_are_held(app, client, session, officer):
    login(client, officer.email)
    page = client.get("/account/two-step/setup").get_data(as_text=True)
    secret = re.search(r'<code class="rc-secret">([A-Z2-7 ]+)</code>', page).group(1).replace(" ", "")
    totp = pyotp.TOTP(secret)
    wrong = "000000" if totp.now() != "000000" else "111111"
    for _ in range(2):
        assert client.post("/account/two-step/setup", data={"code": wrong}).status_code == 401
    assert client.post("/account/two-step/setup", data={"code": totp.now()}).status_code == 200
    for _ in range(3):
        refused = client.post("/account/two-step/off", data={"code": wrong}, follow_redirects=True)
        assert "not right" in refused.get_data(as_text=True)
    held = client.post("/account/two-step/off", data={"code": totp.at(utcnow_epoch() + 30)}, follow_redirects=True)
    assert "Too many wrong codes; try again in" in held.get_data(as_text=True)
    assert "is <strong>on</strong>" in client.get("/account/two-step").get_data(as_text=True)
    failed = _events(session, "auth.second_factor_failed")
    assert [e.details["form"] for e in failed] == ["setup"] * 2 + ["turn_off"] * 3
    assert {e.subject_id for e in failed} == {officer.id}
    assert [(e.subject_id, e.details["form"]) for e in _events(session, "auth.sign_in_throttled")] == [
        (officer.id, "turn_off")]


def utcnow_epoch() -> int:
    return int((utcnow() - datetime(1970, 1, 1)).total_seconds())


def test_refusals_while_held_make_one_event_per_key_and_window_with_their_count(app, client, session, officer,
                                                                               monkeypatch):
    for _ in range(5):
        login(client, officer.email, "wrong-password-guess")
    for _ in range(12):
        assert login(client, officer.email).status_code == 429
    (event,) = _events(session, "auth.sign_in_throttled")
    counter = session.scalars(select(ThrottleRefusal)).one()
    assert counter.event_id == event.id and counter.count == 12 and counter.key == f"account:{officer.email}"
    assert event.details["window_start"] == f"{counter.window_start:%Y-%m-%dT%H:%M}"
    assert event.details["held"] == "account" and event.subject_id == officer.id

    # The next window: held again after five more failures, a new event of its own.
    _later(monkeypatch, 16)
    for _ in range(5):
        login(client, officer.email, "wrong-password-guess")
    for _ in range(3):
        assert login(client, officer.email).status_code == 429
    assert len(_events(session, "auth.sign_in_throttled")) == 2
    assert sorted(c.count for c in session.scalars(select(ThrottleRefusal))) == [3, 12]
    assert walk(session).broken is None, "the chain is only ever appended to"


def test_a_held_address_spraying_accounts_makes_one_event(app, client, session, officer):
    for n in range(20):
        login(client, f"guess{n}@agency.test", "wrong-password-guess")
    for n in range(30):
        assert login(client, f"other{n}@agency.test", "wrong-password-guess").status_code == 429
    assert login(client, officer.email).status_code == 429
    (event,) = _events(session, "auth.sign_in_throttled")
    assert event.details["held"] == "address" and event.target == "other0@agency.test"
    assert session.scalars(select(ThrottleRefusal.count)).one() == 31


def test_sign_in_events_about_an_existing_account_concern_it(app, client, session, officer):
    login(client, officer.email, "wrong-password-guess")
    login(client, "nobody@agency.test", "wrong-password-guess")
    known, unknown = _events(session, "auth.sign_in_failed")
    assert (known.subject_id, known.agency_id, known.unit_id) == (officer.id, officer.agency_id, officer.unit_id)
    assert (unknown.subject_id, unknown.agency_id) == (None, None) and unknown.target == "nobody@agency.test"


def test_what_a_client_chose_is_recorded_within_bounds(database_url, connection, session, officer):
    """A long email (the longest the form takes) and a long forwarded address (a proxy trusted one hop too far)."""
    app = _proxied_app(database_url, connection, PROXY_FIX_X_FOR=1)
    client = _through_proxy(app, "x" * 500)
    email = "a" * 240 + "@agency.test"
    for _ in range(6):
        login(client, email, "wrong-password-guess")
    failed = _events(session, "auth.sign_in_failed")
    assert failed and all(len(e.target) <= 200 and len(e.details["ip"]) <= 64 for e in failed)
    (refused,) = _events(session, "auth.sign_in_throttled")
    assert len(refused.target) <= 200 and len(refused.details["ip"]) <= 64
    assert all(len(f.key) <= 300 for f in session.scalars(select(SignInFailure)))
