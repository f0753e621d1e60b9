"""Server-side sessions: sign-out, password changes and deactivation end them; time-outs; a fresh one at sign-in."""
import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select

import config
from tests.support.factories import PASSWORD, make_user
from tests.support.pages import login
from training import create_app
from training.audit.models import AuditEvent
from training.auth.models import SignInFailure, UserSession
from training.db import utcnow
from training.jobs import run_daily

NEW_PASSWORD = "a-brand-new-passphrase"


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


@pytest.mark.parametrize("fields, message", [
    ({"current_password": "not-my-password"}, "The current password is not right."),
    ({"new_password": "password12345", "confirm": "password12345"}, "one of the most used"),
    ({"new_password": "short-one", "confirm": "short-one"}, "must be 12 to 128 characters"),
    ({"confirm": "something-else-entirely"}, "are not the same"),
])
def test_password_change_is_refused_with_the_reason(client, officer, fields, message):
    login(client, officer.email)
    data = {"current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD, **fields}
    response = client.post("/account/password", data=data)
    assert response.status_code == 422 and message in response.get_data(as_text=True)
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
