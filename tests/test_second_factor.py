"""Two-step sign-in: staff need an authenticator code after their password; recovery codes stand in once each."""
from __future__ import annotations

import hashlib
import re
import threading
from datetime import date, timedelta

import pyotp
import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

import config
from tests.support.databases import committed_database
from tests.support.factories import KEYS, PASSWORD, make_user, set_authenticator
from tests.support.pages import login
from tests.support.paths import ROOT
from training import create_app, migrate
from training.audit.models import AuditEvent
from training.auth import second_factor
from training.auth.models import RecoveryCode, SecondFactorSetup
from training.auth.service import create_user
from training.catalog.service import sync_courses
from training.db import unit_of_work, utcnow
from training.demo.service import DEMO_PASSWORD, seed_demo
from training.people.models import User

pytestmark = pytest.mark.usefixtures("one_sign_in_window")

STAFF_PAGE = "/units"


def staff(session, org, email="lead@agency.test", role="coordinator", secret=None) -> User:
    """A staff account that must use a second factor; with `secret`, one that has set it up."""
    agency, unit = org
    user = make_user(session, email, role=role, agency=agency, unit=unit, demo_account=False)
    set_authenticator(user, secret)
    session.commit()
    return user


def code_now(secret: str, steps_ahead: int = 0) -> str:
    return pyotp.TOTP(secret).at(utcnow_epoch() + 30 * steps_ahead)


def utcnow_epoch() -> int:
    return second_factor.time_step(utcnow()) * 30


def events(session, action: str) -> int:
    return session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action))


def shown_key(page: str) -> str:
    """The authenticator key as the set-up page shows it for typing in, without its spaces."""
    return re.search(r'<code class="rc-secret">([A-Z2-7 ]+)</code>', page).group(1).replace(" ", "")


def shown_codes(response) -> list[str]:
    """The recovery codes a page lists."""
    return re.findall(r"<li><code>([0-9a-f]{6}-[0-9a-f]{6})</code></li>", response.get_data(as_text=True))


def enrol_at_sign_in(client, email: str) -> tuple[str, list[str]]:
    """Password, then the set-up page: scan (read the key), confirm with a code; returns the key and recovery codes."""
    assert login(client, email).location == "/login/enrol"
    page = client.get("/login/enrol").get_data(as_text=True)
    secret = shown_key(page)
    response = client.post("/login/enrol", data={"code": code_now(secret)})
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    return secret, shown_codes(response)


def test_a_coordinator_without_a_second_factor_sets_one_up_before_reaching_any_page(client, session, org):
    user = staff(session, org)
    response = login(client, user.email)
    assert response.status_code == 302 and response.location == "/login/enrol"
    # The password alone opened no session: every page still sends to sign-in.
    assert client.get(STAFF_PAGE).location.startswith("/login")
    page = client.get("/login/enrol").get_data(as_text=True)
    assert "Set up two-step sign-in" in page and 'src="data:image/svg+xml' in page
    assert client.post("/login/enrol", data={"code": "000000"}).status_code == 401
    key = shown_key(page)
    response = client.post("/login/enrol", data={"code": code_now(key)})
    codes = shown_codes(response)
    assert response.status_code == 200 and len(set(codes)) == 10
    assert client.get(STAFF_PAGE).status_code == 200
    session.expire_all()
    stored = session.get(User, user.id).totp_secret_encrypted
    assert key not in stored and KEYS.decrypt(stored) == key, "the secret is kept encrypted"
    assert session.scalar(select(func.count()).select_from(RecoveryCode)
                          .where(RecoveryCode.user_id == user.id)) == 10
    stored = session.scalars(select(RecoveryCode.code_hash).where(RecoveryCode.user_id == user.id)).all()
    assert not set(codes) & set(stored), "recovery codes are kept only as hashes"
    assert events(session, "user.second_factor_enrolled") == 1


@pytest.mark.parametrize("role", ["coordinator", "compliance", "admin"])
def test_every_staff_role_needs_the_code_after_the_password(client, session, org, role):
    secret = pyotp.random_base32()
    user = staff(session, org, email=f"{role}-2fa@agency.test", role=role, secret=secret)
    assert login(client, user.email).location == "/login/code"
    assert client.get(STAFF_PAGE).location.startswith("/login")
    wrong = client.post("/login/code", data={"code": "123456" if code_now(secret) != "123456" else "654321"})
    assert wrong.status_code == 401 and "not right" in wrong.get_data(as_text=True)
    assert client.get(STAFF_PAGE).location.startswith("/login")
    response = client.post("/login/code", data={"code": code_now(secret)})
    assert response.status_code == 302 and client.get(STAFF_PAGE).status_code == 200
    assert events(session, "auth.second_factor_failed") == 1
    signed_in = session.scalar(select(AuditEvent).where(AuditEvent.action == "auth.signed_in"))
    assert signed_in.details["factor"] == "code"


def test_an_officer_signs_in_with_a_password_alone_unless_they_chose_a_second_factor(client, session, officer):
    assert login(client, officer.email).location == "/"
    client.post("/logout")
    set_authenticator(officer, pyotp.random_base32())
    session.commit()
    assert login(client, officer.email).location == "/login/code"


def test_a_code_works_once(client, session, org):
    secret = pyotp.random_base32()
    user = staff(session, org, secret=secret)
    code = code_now(secret)
    login(client, user.email)
    assert client.post("/login/code", data={"code": code}).status_code == 302
    client.post("/logout")
    login(client, user.email)
    assert client.post("/login/code", data={"code": code}).status_code == 401
    # The next step's code is still good: a phone a little ahead of the server is allowed for.
    assert client.post("/login/code", data={"code": code_now(secret, 1)}).status_code == 302


def test_a_code_from_a_stale_step_is_refused():
    secret = pyotp.random_base32()
    now = utcnow()
    old = pyotp.TOTP(secret).at(second_factor.time_step(now) * 30 - 90)
    assert second_factor.matching_step(secret, old, now, None) is None
    assert second_factor.matching_step(secret, "12345", now, None) is None
    assert second_factor.matching_step(secret, "abcdef", now, None) is None


def test_a_recovery_code_signs_in_once_and_says_how_many_are_left(client, session, org):
    user = staff(session, org)
    _, codes = enrol_at_sign_in(client, user.email)
    client.post("/logout")
    login(client, user.email)
    response = client.post("/login/code", data={"code": codes[3].upper().replace("-", " ")}, follow_redirects=True)
    assert "9 left" in response.get_data(as_text=True)
    client.post("/logout")
    login(client, user.email)
    assert client.post("/login/code", data={"code": codes[3]}).status_code == 401
    signed_in = session.scalars(select(AuditEvent).where(AuditEvent.action == "auth.signed_in")
                                .order_by(AuditEvent.id)).all()
    assert [e.details["factor"] for e in signed_in] == ["code", "recovery code"]


def test_wrong_codes_count_against_the_account_and_a_right_password_does_not_clear_them(client, session, org):
    secret = pyotp.random_base32()
    user = staff(session, org, secret=secret)
    for _ in range(5):
        login(client, user.email)   # the password is right each time
        assert client.post("/login/code", data={"code": "999999" if code_now(secret) != "999999" else "111111"}
                           ).status_code == 401
    login(client, user.email)
    refused = client.post("/login/code", data={"code": code_now(secret)})
    assert refused.status_code == 429 and "Too many attempts" in refused.get_data(as_text=True)
    assert client.get(STAFF_PAGE).location.startswith("/login")


def test_the_code_must_follow_the_password_within_minutes(app, client, session, org):
    secret = pyotp.random_base32()
    user = staff(session, org, secret=secret)
    login(client, user.email)
    with client.session_transaction() as cookie:
        pending = cookie["pending_sign_in"]
        pending["since"] -= app.config["SECOND_FACTOR_MINUTES"] * 60 + 1
        cookie["pending_sign_in"] = pending
    response = client.post("/login/code", data={"code": code_now(secret)}, follow_redirects=True)
    assert "Sign in again" in response.get_data(as_text=True)
    assert client.get(STAFF_PAGE).location.startswith("/login")


def test_the_page_asked_for_before_sign_in_is_reached_after_the_code(client, session, org):
    secret = pyotp.random_base32()
    user = staff(session, org, secret=secret)
    client.post("/login?next=/units", data={"email": user.email, "password": PASSWORD})
    assert client.post("/login/code", data={"code": code_now(secret)}).location == "/units"


def test_racing_requests_cannot_both_use_one_recovery_code(tmp_path):
    with committed_database(tmp_path, "recovery_race") as url:
        app = create_app(config.TestConfig, DATABASE_URL=url)
        migrate.upgrade(app)
        with unit_of_work(app) as session:
            user = create_user(session, email="racer@agency.test", password=PASSWORD, first_name="R",
                               last_name="Acer", role="coordinator")
            set_authenticator(user, pyotp.random_base32())
            codes = second_factor.new_recovery_codes(session, user, KEYS)
        results, barrier = [], threading.Barrier(4)

        def use():
            try:
                with unit_of_work(app) as own:
                    target = own.get(User, user.id)
                    barrier.wait()
                    results.append(second_factor.check(own, target, codes[0], utcnow(), KEYS))
            except OperationalError:   # SQLite refuses a second writer outright: that request fails, unused
                results.append("refused")

        threads = [threading.Thread(target=use) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        app.extensions["db_engine"].dispose()
    assert len(results) == 4 and results.count("recovery code") == 1


def test_an_officer_turns_it_on_and_off_from_the_account_page(client, session, officer):
    login(client, officer.email)
    assert "is <strong>off</strong>" in client.get("/account/two-step").get_data(as_text=True)
    page = client.get("/account/two-step/setup").get_data(as_text=True)
    secret = shown_key(page)
    done = client.post("/account/two-step/setup", data={"code": code_now(secret)})
    assert done.status_code == 200 and "Your recovery codes" in done.get_data(as_text=True)
    assert "10 unused recovery codes left" in client.get("/account/two-step").get_data(as_text=True)
    refused = client.post("/account/two-step/off", data={"code": "not-a-code"}, follow_redirects=True)
    assert "not right" in refused.get_data(as_text=True)
    off = client.post("/account/two-step/off", data={"code": code_now(secret, 1)}, follow_redirects=True)
    assert "is <strong>off</strong>" in off.get_data(as_text=True)
    session.expire_all()
    assert session.get(User, officer.id).totp_secret_encrypted is None
    assert session.scalar(select(func.count()).select_from(RecoveryCode)) == 0


def test_staff_cannot_turn_it_off_and_new_recovery_codes_replace_the_old(client, session, org):
    user = staff(session, org)
    secret, old = enrol_at_sign_in(client, user.email)
    response = client.post("/account/two-step/off", data={"code": code_now(secret, 1)}, follow_redirects=True)
    assert "cannot be turned off" in response.get_data(as_text=True)
    assert "Turn off" not in client.get("/account/two-step").get_data(as_text=True)
    renewed = client.post("/account/two-step/recovery-codes", data={"code": code_now(secret, 1)})
    new = shown_codes(renewed)
    assert len(new) == 10 and not set(new) & set(old)
    client.post("/logout")
    login(client, user.email)
    assert client.post("/login/code", data={"code": old[0]}).status_code == 401
    assert client.post("/login/code", data={"code": new[0]}).status_code == 302


@pytest.fixture
def admin(session, org):
    user = make_user(session, "root@agency.test", role="admin", agency=org[0], employee_id="ROOT")
    session.commit()
    return user


def test_an_administrator_resets_a_lost_phone_and_the_account_is_signed_out(app, client, session, org, admin):
    secret = pyotp.random_base32()
    user = staff(session, org, secret=secret)
    second_factor.new_recovery_codes(session, user, KEYS)
    session.commit()
    theirs = app.test_client()
    login(theirs, user.email)
    theirs.post("/login/code", data={"code": code_now(secret)})
    assert theirs.get(STAFF_PAGE).status_code == 200
    login(client, admin.email)
    page = client.get(f"/admin/users/{user.id}").get_data(as_text=True)
    assert "Reset two-step sign-in" in page
    response = client.post(f"/admin/users/{user.id}/two-step", follow_redirects=True)
    assert "was reset" in response.get_data(as_text=True)
    assert theirs.get(STAFF_PAGE).location.startswith("/login")
    session.expire_all()
    assert session.get(User, user.id).totp_secret_encrypted is None
    assert session.scalar(select(func.count()).select_from(RecoveryCode)) == 0
    assert events(session, "user.second_factor_reset") == 1
    assert login(theirs, user.email).location == "/login/enrol"


def test_a_new_role_signs_the_account_out_so_the_next_sign_in_asks_for_the_second_factor(client, session, org, admin):
    agency, unit = org
    user = make_user(session, "promoted@agency.test", agency=agency, unit=unit)
    session.commit()
    theirs = client.application.test_client()
    login(theirs, user.email)
    assert theirs.get("/").status_code == 200
    login(client, admin.email)
    client.post(f"/admin/users/{user.id}", data={
        "email": user.email, "first_name": "Pat", "last_name": "Doe", "employee_id": user.employee_id,
        "role": "coordinator", "agency": agency.code, "unit": unit.code, "scope_unit": "", "active": "y"})
    assert session.scalar(select(User.role).where(User.id == user.id)) == "coordinator"
    assert theirs.get("/").location.startswith("/login")
    assert login(theirs, user.email).location == "/login/enrol"


def test_demo_sign_ins_skip_the_second_factor_except_in_production(tmp_path, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "production-test-secret")
    monkeypatch.setenv("ENCRYPTION_KEYS", config.TestConfig.ENCRYPTION_KEYS)
    with committed_database(tmp_path, "demo_second_factor") as url:
        for settings, landing in ((config.Config, "/"), (config.ProductionConfig(), "/login/enrol")):
            app = create_app(settings, DATABASE_URL=url, WTF_CSRF_ENABLED=False, SESSION_COOKIE_SECURE=False,
                             SECRET_KEY="demo-test-secret", ENCRYPTION_KEYS=config.TestConfig.ENCRYPTION_KEYS)
            if landing == "/":
                migrate.upgrade(app)
                with unit_of_work(app) as session:
                    sync_courses(session, ROOT / "courses", ROOT / "quizzes")
                    seed_demo(session, date.today(), officers=2)
            for email in ("coordinator@demo.test", "compliance@demo.test", "admin@demo.test"):
                response = app.test_client().post("/login", data={"email": email, "password": DEMO_PASSWORD})
                assert response.location == landing, (settings, email)
            app.extensions["db_engine"].dispose()


def test_wrong_codes_on_the_account_page_are_held_too(client, session, org):
    user = staff(session, org)
    secret, _ = enrol_at_sign_in(client, user.email)
    wrong = "999999" if code_now(secret, 1) != "999999" else "111111"
    for _ in range(5):
        page = client.post("/account/two-step/recovery-codes", data={"code": wrong}, follow_redirects=True)
        assert "not right" in page.get_data(as_text=True)
    held = client.post("/account/two-step/recovery-codes", data={"code": code_now(secret, 1)}, follow_redirects=True)
    assert "Too many wrong codes" in held.get_data(as_text=True)
    assert "Your recovery codes" not in held.get_data(as_text=True)


def _cookie_values(client) -> str:
    """Everything the browser's session cookie holds, as text."""
    with client.session_transaction() as cookie:
        return repr(dict(cookie))


@pytest.mark.parametrize("where", ["sign-in", "account page"])
def test_the_key_being_set_up_waits_on_the_server_never_in_the_cookie(client, session, org, officer, where):
    if where == "sign-in":
        user, path = staff(session, org), "/login/enrol"
        login(client, user.email)
    else:
        user, path = officer, "/account/two-step/setup"
        login(client, user.email)
    secret = shown_key(client.get(path).get_data(as_text=True))
    assert shown_key(client.get(path).get_data(as_text=True)) == secret, "a reload offers the same key"
    assert secret not in _cookie_values(client) and secret not in client.get_cookie("session").value
    (row,) = session.scalars(select(SecondFactorSetup).where(SecondFactorSetup.user_id == user.id)).all()
    assert secret not in row.secret_encrypted and KEYS.decrypt(row.secret_encrypted) == secret
    assert client.post(path, data={"code": code_now(secret)}).status_code == 200
    session.expire_all()
    assert session.scalars(select(SecondFactorSetup)).all() == [], "confirmed, the waiting key is gone"
    assert KEYS.decrypt(session.get(User, user.id).totp_secret_encrypted) == secret


def test_a_key_not_confirmed_in_time_no_longer_works(app, client, session, officer, monkeypatch):
    login(client, officer.email)
    old = shown_key(client.get("/account/two-step/setup").get_data(as_text=True))
    later = utcnow() + timedelta(minutes=app.config["SECOND_FACTOR_SETUP_MINUTES"])
    monkeypatch.setattr("training.auth.views.utcnow", lambda: later)
    response = client.post("/account/two-step/setup", data={"code": pyotp.TOTP(old).at(later)})
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "not confirmed in time" in page
    assert shown_key(page) != old
    session.expire_all()
    assert session.get(User, officer.id).totp_secret_encrypted is None


def test_a_set_up_token_works_only_for_the_account_it_was_offered_to(app, client, session, org, officer):
    login(client, officer.email)
    shown_key(client.get("/account/two-step/setup").get_data(as_text=True))
    with client.session_transaction() as cookie:
        token = cookie["second_factor_setup"]
    other = app.test_client()
    user = staff(session, org, email="other@agency.test")
    login(other, user.email)
    with other.session_transaction() as cookie:
        cookie["second_factor_setup"] = token
    assert second_factor.setup_secret(session, token, user, utcnow(), 10, KEYS) is None
    assert shown_key(other.get("/login/enrol").get_data(as_text=True)) != shown_key(
        client.get("/account/two-step/setup").get_data(as_text=True))


def test_recovery_codes_are_kept_as_encrypted_hashes(client, session, org):
    user = staff(session, org)
    _, codes = enrol_at_sign_in(client, user.email)
    stored = session.scalars(select(RecoveryCode.code_hash).where(RecoveryCode.user_id == user.id)).all()
    bare = {hashlib.sha256(code.replace("-", "").encode()).hexdigest() for code in codes}
    assert not bare & set(stored), "not the bare SHA-256 of earlier releases"
    assert {KEYS.decrypt(value) for value in stored} == bare
