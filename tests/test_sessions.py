"""Server-side sessions: sign-out, password changes and deactivation end them; time-outs; a fresh one at sign-in;
the server-side session is the only way in (no remember cookie, no key anyone can read)."""
import os
import re
import subprocess
import sys
from datetime import date, timedelta

import pytest
from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from flask_login.utils import encode_cookie
from sqlalchemy import select

import config
from tests.support.factories import PASSWORD, make_user, set_authenticator
from tests.support.pages import login
from tests.support.paths import ROOT
from training import create_app
from training.audit.models import AuditEvent
from training.auth.keys import KeySettingError
from training.auth.models import SignInFailure, ThrottleRefusal, UserSession
from training.auth.service import load_user
from training.auth.sessions import vouch_for
from training.db import utcnow
from training.jobs import run_daily

NEW_PASSWORD = "a-brand-new-passphrase"
# config.py's SECRET_KEY default before every installation made its own: published with the code.
OLD_DEFAULT_KEY = "dev-only-secret-key-change-me"


def _copy_cookie(app, client):
    """A second browser holding the same cookie, as a thief would."""
    other = app.test_client()
    cookie = client.get_cookie("session")
    other.set_cookie("session", cookie.value)
    return other


def _signed_in(client) -> bool:
    return client.get("/").status_code == 200


def _at(monkeypatch, minutes: float) -> None:
    moment = utcnow() + timedelta(minutes=minutes)
    monkeypatch.setattr("training.security.utcnow", lambda: moment)


def test_sign_out_ends_the_session_on_the_server(app, client, officer):
    login(client, officer.email)
    thief = _copy_cookie(app, client)
    assert _signed_in(thief)
    client.post("/logout")
    assert not _signed_in(client)
    response = thief.get("/")
    assert response.status_code == 302 and response.location.startswith("/login")


def test_sign_in_starts_a_new_session(app, client, officer):
    with client.session_transaction() as planted:
        planted["sid"] = "chosen-by-an-attacker"
    before = client.get_cookie("session").value
    login(client, officer.email)
    assert client.get_cookie("session").value != before
    with client.session_transaction() as current:
        assert current["sid"] != "chosen-by-an-attacker"
    stale = app.test_client()
    stale.set_cookie("session", before)
    assert not _signed_in(stale)


def test_changing_the_password_signs_out_every_other_session(app, client, session, officer):
    login(client, officer.email)
    other_browser = app.test_client()
    login(other_browser, officer.email)
    old_cookie = _copy_cookie(app, client)
    response = client.post("/account/password", data={
        "current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 302
    assert "Your password was changed" in client.get("/").get_data(as_text=True)
    assert not _signed_in(other_browser) and not _signed_in(old_cookie)
    client.post("/logout")
    assert login(client, officer.email).status_code == 401
    assert login(client, officer.email, NEW_PASSWORD).status_code == 302
    assert session.scalar(select(AuditEvent).where(AuditEvent.action == "user.password_changed")) is not None


@pytest.mark.parametrize("fields, message, status", [
    # A wrong current password is a failed check (it counts in the sign-in throttle); the others are bad input.
    ({"current_password": "not-my-password"}, "The current password is not right.", 401),
    ({"new_password": "password12345", "confirm": "password12345"}, "one of the most used", 422),
    ({"new_password": "short-one", "confirm": "short-one"}, "must be 12 to 128 characters", 422),
    ({"confirm": "something-else-entirely"}, "are not the same", 422),
])
def test_password_change_is_refused_with_the_reason(client, officer, fields, message, status):
    login(client, officer.email)
    data = {"current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD, **fields}
    response = client.post("/account/password", data=data)
    assert response.status_code == status and message in response.get_data(as_text=True)
    client.post("/logout")
    assert login(client, officer.email).status_code == 302


def test_deactivation_ends_every_session_even_after_reactivation(app, client, session, org, officer):
    agency, unit = org
    admin = make_user(session, "admin@agency.test", role="admin", agency=agency, unit=unit)
    session.commit()
    officer_browser = app.test_client()
    login(officer_browser, officer.email)
    login(client, admin.email)
    fields = {"email": officer.email, "first_name": "Dana", "last_name": "Cruz", "employee_id": officer.employee_id,
              "role": "officer", "agency": "AGY", "unit": "AGY-U1", "scope_unit": "", "password": ""}
    assert client.post(f"/admin/users/{officer.id}", data=fields).status_code == 302   # "active" unticked
    assert client.post(f"/admin/users/{officer.id}", data={**fields, "active": "y"}).status_code == 302
    assert not _signed_in(officer_browser)
    assert login(officer_browser, officer.email).status_code == 302


def test_idle_time_out_counts_from_the_last_request(client, officer, monkeypatch):
    login(client, officer.email)
    _at(monkeypatch, 20)
    assert _signed_in(client)
    _at(monkeypatch, 45)
    assert _signed_in(client)
    _at(monkeypatch, 76)
    response = client.get("/", follow_redirects=True)
    assert "signed out after 30 minutes without activity" in response.get_data(as_text=True)
    _at(monkeypatch, 77)
    assert not _signed_in(client)


def test_absolute_time_out_ends_even_a_busy_session(client, officer, monkeypatch):
    login(client, officer.email)
    for minutes in range(20, 12 * 60, 20):
        _at(monkeypatch, minutes)
        assert _signed_in(client), minutes
    _at(monkeypatch, 12 * 60 + 1)
    response = client.get("/", follow_redirects=True)
    assert "signed out 12 hours after signing in" in response.get_data(as_text=True)


def test_a_scripted_sign_in_with_the_form_token_still_works(app, client, officer):
    """The contract others script against: GET /login, then POST email, password and csrf_token."""
    app.config["WTF_CSRF_ENABLED"] = True
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post("/login", data={"email": officer.email, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302 and _signed_in(client)
    assert client.post("/account/password", data={
        "current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD}).status_code == 400


def test_production_cookies_are_secure(monkeypatch, database_url):
    monkeypatch.setenv("SECRET_KEY", "a-production-secret")
    monkeypatch.setenv("ENCRYPTION_KEYS", config.TestConfig.ENCRYPTION_KEYS)
    app = create_app(config.ProductionConfig(), DATABASE_URL=database_url)
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["SESSION_COOKIE_HTTPONLY"]
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    response = app.test_client().get("/login", base_url="https://rollcall.test")
    assert "Strict-Transport-Security" in response.headers
    assert "Secure" in response.headers["Set-Cookie"] and "HttpOnly" in response.headers["Set-Cookie"]
    app.extensions["db_engine"].dispose()


def test_the_daily_job_forgets_sessions_and_counts_long_over(app, client, session, officer):
    login(client, officer.email)
    login(app.test_client(), officer.email, "wrong-password-guess")
    old = utcnow() - timedelta(days=3)
    session.add_all([UserSession(token_hash="0" * 64, user_id=officer.id, created_at=old, last_seen_at=old,
                                 ended_at=old),
                     UserSession(token_hash="1" * 64, user_id=officer.id, created_at=old, last_seen_at=old),
                     SignInFailure(key="account:old@agency.test", window_start=old, count=3)])
    session.commit()
    run_daily(app, date.today())
    session.expire_all()
    assert len(session.scalars(select(UserSession)).all()) == 1 and _signed_in(client)
    assert {f.key for f in session.scalars(select(SignInFailure))} == {
        f"account:{officer.email}", "address:127.0.0.1"}


def _remember_cookie(app, user_id: int, key: str | None = None) -> str:
    """Flask-Login's remember cookie for the account, signed with `key` (the app's own by default)."""
    with app.app_context():
        return encode_cookie(str(user_id), key=key)


def _session_cookie(payload: dict, key: str) -> str:
    """A session cookie holding `payload`, signed with `key` as Flask signs its own."""
    signer = Flask("forger")
    signer.secret_key = key
    return SecureCookieSessionInterface().get_signing_serializer(signer).dumps(payload)


def test_a_remember_cookie_signed_with_the_sites_own_key_opens_nothing(app, client, session, officer):
    """Rollcall never issues one: whoever made it holds the key, and it is refused and recorded about the account."""
    for _ in range(3):
        client.set_cookie("remember_token", _remember_cookie(app, officer.id))
        response = client.get("/account/password")
        assert response.status_code == 302 and response.location.startswith("/login")
        assert "remember_token=;" in response.headers.get("Set-Cookie", ""), "the browser is told to drop it"
    events = session.scalars(select(AuditEvent).where(AuditEvent.action == "auth.remember_cookie_refused")).all()
    assert [(e.subject_id, e.agency_id) for e in events] == [(officer.id, officer.agency_id)], "one per window"
    assert session.scalar(select(ThrottleRefusal.count).where(ThrottleRefusal.event_id == events[0].id)) == 3


def test_a_remember_cookie_gets_past_neither_sign_out_nor_the_second_factor(app, client, session, org, officer):
    """With the cookie of a session that ended, or without any (a thief drops what gives them away)."""
    login(client, officer.email)
    ended = _copy_cookie(app, client)
    client.post("/logout")
    for browser in (ended, app.test_client()):
        browser.set_cookie("remember_token", _remember_cookie(app, officer.id))
        assert not _signed_in(browser)
    # A staff account that owes its code after the password: the cookie does not stand in for the code.
    agency, unit = org
    lead = make_user(session, "lead@agency.test", role="coordinator", agency=agency, unit=unit, demo_account=False)
    set_authenticator(lead, "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
    session.commit()
    owing = app.test_client()
    assert login(owing, lead.email).location == "/login/code"
    for browser in (owing, app.test_client()):
        browser.set_cookie("remember_token", _remember_cookie(app, lead.id))
        assert browser.get("/units").location.startswith("/login")
        browser.set_cookie("remember_token", _remember_cookie(app, lead.id))
        assert browser.get("/account/two-step").location.startswith("/login")


@pytest.mark.parametrize("name", ["remember_token", "session"])
def test_cookies_signed_with_the_published_development_key_open_nothing(app, client, officer, name):
    login(client, officer.email)
    with client.session_transaction() as live:
        sid = live["sid"]   # even a live session's id, under the old key, is worth nothing
    forger = app.test_client()
    if name == "remember_token":
        forger.set_cookie(name, _remember_cookie(app, officer.id, key=OLD_DEFAULT_KEY))
    else:
        forger.set_cookie(name, _session_cookie({"_user_id": str(officer.id), "_fresh": True, "sid": sid},
                                                OLD_DEFAULT_KEY))
    assert not _signed_in(forger)


def test_the_published_development_key_is_refused_and_never_a_default(database_url):
    with pytest.raises(KeySettingError, match="published"):
        create_app(config.TestConfig, DATABASE_URL=database_url, SECRET_KEY=OLD_DEFAULT_KEY)
    code = "import config; print(config.Config.SECRET_KEY, config.Config.ENCRYPTION_KEYS)"
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "ENCRYPTION_KEYS")}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    assert done.stdout.split() == ["None", "None"], done.stderr


def test_the_user_loader_opens_nothing_without_a_live_session_behind_the_request(app, officer):
    """The second lock on the same door: whatever id Flask-Login hands it (from a cookie of any kind), the loader
    gives an account only to a request whose server-side session was found live."""
    with app.test_request_context("/"):
        assert load_user(str(officer.id)) is None
        vouch_for(officer)
        assert load_user(str(officer.id)).id == officer.id and load_user(str(officer.id + 1)) is None
