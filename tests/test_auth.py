"""Sign-in, sign-out, roles and CSRF."""
import pytest
from sqlalchemy import select

import config
from tests.support.factories import PASSWORD, make_user
from tests.support.pages import login
from tests.support.views import EVERYONE, VIEW_ROLES, every_view
from training import create_app
from training.audit.models import AuditEvent


def test_sign_in_and_out(client, session, officer):
    response = login(client, officer.email)
    assert response.status_code == 302 and response.location == "/"
    assert "Sign out Dana Cruz" in client.get("/").get_data(as_text=True)
    assert client.post("/logout").status_code == 302
    assert client.get("/").status_code == 302  # back to sign-in
    actions = list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))
    assert actions[-2:] == ["auth.signed_in", "auth.signed_out"]


def test_email_is_case_insensitive(client, officer):
    assert login(client, "OFFICER@Agency.test").status_code == 302


def test_wrong_password_and_unknown_email_look_the_same(client, session, officer):
    wrong = login(client, officer.email, "not-the-password")
    unknown = login(client, "nobody@agency.test", PASSWORD)
    assert wrong.status_code == unknown.status_code == 401
    for response in (wrong, unknown):
        assert "The email or password is not right." in response.get_data(as_text=True)
    failures = list(session.scalars(select(AuditEvent).where(AuditEvent.action == "auth.sign_in_failed")))
    assert [e.target for e in failures] == [officer.email, "nobody@agency.test"]
    assert client.get("/").status_code == 302


def test_deactivated_account_cannot_sign_in(client, session, officer):
    officer.active = False
    session.commit()
    assert login(client, officer.email).status_code == 401


def test_next_goes_only_to_this_site(client, officer):
    for target, expected in [("/history", "/history"), ("https://evil.example/", "/"),
                             ("//evil.example/", "/"), ("/\\evil.example", "/")]:
        client.post("/logout")
        response = client.post(f"/login?next={target}", data={"email": officer.email, "password": PASSWORD})
        assert response.location == expected, target


def test_anonymous_visitors_are_sent_to_sign_in(client, course):
    for path in ["/", "/history", "/courses/TEST-BASICS", "/reports/roster.csv"]:
        response = client.get(path)
        assert response.status_code == 302 and response.location.startswith("/login"), path


@pytest.mark.parametrize("role, allowed", [("officer", False), ("coordinator", False),
                                           ("compliance", True), ("admin", True)])
def test_roster_download_is_for_compliance_and_admins(client, session, org, role, allowed):
    agency, unit = org
    make_user(session, f"{role}@agency.test", role=role, agency=agency, unit=unit)
    session.commit()
    login(client, f"{role}@agency.test")
    assert client.get("/reports/roster.csv").status_code == (200 if allowed else 403)


def test_session_cookie_is_httponly_and_samesite(client, officer):
    response = login(client, officer.email)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_forms_without_csrf_token_are_refused(database_url, connection, tmp_path):
    app = create_app(config.TestConfig, DATABASE_URL=database_url, WTF_CSRF_ENABLED=True)
    client = app.test_client()
    response = client.post("/login", data={"email": "a@b.test", "password": "whatever-long"})
    assert response.status_code == 400 and "Form expired" in response.get_data(as_text=True)
    page = client.get("/login").get_data(as_text=True)
    assert 'name="csrf_token"' in page and 'name="email"' in page and 'name="password"' in page


def test_production_refuses_to_start_without_secret_key(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        config.ProductionConfig()


def test_passwords_are_hashed_with_argon2(session, officer):
    assert officer.password_hash.startswith("$argon2id$")
    assert PASSWORD not in officer.password_hash


def test_every_view_is_classified_and_anonymous_visitors_are_sent_to_sign_in(app, client, course):
    views = list(every_view(app))
    unclassified = {endpoint for endpoint, _, _ in views} - set(VIEW_ROLES)
    assert not unclassified, f"add these views to VIEW_ROLES in tests/support/views.py: {unclassified}"
    for endpoint, method, path in views:
        response = client.open(path, method=method)
        assert response.status_code == 302 and response.location.startswith("/login"), (endpoint, method)


@pytest.mark.parametrize("role", sorted(EVERYONE))
def test_roles_are_checked_on_the_server_for_every_view(app, client, session, org, course, role):
    agency, unit = org
    make_user(session, f"{role}@agency.test", role=role, agency=agency, unit=unit)
    session.commit()
    login(client, f"{role}@agency.test")
    for endpoint, method, path in every_view(app):
        if role not in VIEW_ROLES[endpoint]:
            assert client.open(path, method=method).status_code == 403, (endpoint, method, path)
