"""Single sign-on with OpenID Connect, against a real provider: oidc-provider under Node on loopback
(tests/support/oidc_provider.mjs). The app talks to it over HTTP as it would to Entra ID or Login.gov; the
provider's sign-in pages are walked with a real HTTP client, and its answer is handed to the app's callback."""
from __future__ import annotations

import logging
from urllib.parse import parse_qs, urlencode, urlsplit

import pyotp
import pytest
from sqlalchemy import select

from tests.support.factories import PASSWORD, make_org, make_user, set_authenticator
from tests.support.net import free_port
from tests.support.oidc import openid_provider, sign_in_at_provider
from training.audit.models import AuditEvent
from training.auth.oidc import SettingsError, asserts_multi_factor, load_providers, make_provider

# The app's public address as the provider knows it: the browser is sent back there; the tests hand the
# answer to the app's test client instead.
APP_BASE_URL = f"http://127.0.0.1:{free_port()}"
SECRET = pyotp.random_base32()


@pytest.fixture(scope="module")
def provider(tmp_path_factory):
    with openid_provider(APP_BASE_URL, tmp_path_factory.mktemp("oidc")) as running:
        yield running


@pytest.fixture
def sso(app, provider):
    """The app with the test provider as its environment-configured one (named `sso`)."""
    app.config.update(provider.settings(), BASE_URL=APP_BASE_URL)
    yield provider
    provider.tamper(None)


def start(client, name="sso", next_page=None):
    response = client.post(f"/login/oidc/start/{name}" + (f"?next={next_page}" if next_page else ""))
    assert response.status_code == 302, response.get_data(as_text=True)
    return response.headers["Location"]


def answer(client, back: str):
    parts = urlsplit(back)
    return client.get(f"{parts.path}?{parts.query}")


def sign_in(client, account: str, **kwargs):
    """The whole journey: the provider's button, its sign-in page as `account`, and back to the app."""
    return answer(client, sign_in_at_provider(start(client, **kwargs), account))


def events(session, action: str) -> list[AuditEvent]:
    session.expire_all()
    return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def signed_in(client) -> bool:
    return client.get("/").status_code == 200


def staff(session, org, secret=SECRET):
    agency, unit = org
    user = make_user(session, "coordinator@agency.test", role="coordinator", agency=agency, unit=unit,
                     demo_account=False, employee_id="E-200")
    set_authenticator(user, secret)
    session.commit()
    return user


def test_the_sign_in_page_offers_the_provider_and_the_password_form(client, sso):
    page = client.get("/login").get_data(as_text=True)
    assert "Sign in with Test ID" in page and 'action="/login/oidc/start/sso"' in page
    assert 'name="password"' in page
    # The button's form is redirected on to the provider: the page's policy lets it go there.
    policy = client.get("/login").headers["Content-Security-Policy"]
    assert f"form-action 'self' {sso.issuer}" in policy


def test_an_officer_signs_in_through_the_provider(client, session, sso, officer, course):
    authorize = start(client, next_page="/history")
    query = parse_qs(urlsplit(authorize).query)
    # The authorization code flow, with PKCE (S256), state and nonce.
    assert query["response_type"] == ["code"] and query["code_challenge_method"] == ["S256"]
    assert query["code_challenge"] and query["state"] and query["nonce"]
    assert query["redirect_uri"] == [f"{APP_BASE_URL}/login/oidc/callback"]
    assert query["scope"] == ["openid email profile"]
    response = answer(client, sign_in_at_provider(authorize, "officer"))
    assert response.status_code == 302 and response.headers["Location"] == "/history"
    assert signed_in(client)
    [event] = events(session, "auth.signed_in")
    assert event.subject_id == officer.id and event.details["provider"] == "sso"
    assert event.details["factor"] == "provider"


def test_staff_whose_provider_asserts_multi_factor_skip_the_code(client, session, sso, org, course):
    user = staff(session, org)
    response = sign_in(client, "staff_mfa")
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert signed_in(client)
    [event] = events(session, "auth.signed_in")
    assert event.subject_id == user.id and event.details["factor"] == "provider multi-factor"


def test_staff_without_multi_factor_at_the_provider_give_their_code(client, session, sso, org, course):
    user = staff(session, org)
    response = sign_in(client, "staff_pwd")
    assert response.status_code == 302 and response.headers["Location"] == "/login/code"
    assert client.get("/units").status_code == 302   # not signed in yet
    response = client.post("/login/code", data={"code": pyotp.TOTP(SECRET).now()})
    assert response.status_code == 302
    assert signed_in(client)
    [event] = events(session, "auth.signed_in")
    assert event.subject_id == user.id and event.details == {"ip": "127.0.0.1", "factor": "code", "provider": "sso",
                                                             "x_request_id": response.headers["X-Request-ID"]}


def test_staff_without_an_authenticator_set_one_up_after_the_provider(client, session, sso, org):
    staff(session, org, secret=None)
    response = sign_in(client, "staff_pwd")
    assert response.headers["Location"] == "/login/enrol"


def test_an_acr_configured_as_multi_factor_counts(client, session, app, sso, org, course):
    app.config.update(OIDC_MFA_ACR="urn:test:loa:high")
    staff(session, org)
    response = sign_in(client, "staff_acr")
    assert response.headers["Location"] == "/"
    assert events(session, "auth.signed_in")[0].details["factor"] == "provider multi-factor"


def test_an_employee_id_claim_links_the_account(client, session, app, sso, org, course):
    app.config.update(OIDC_EMPLOYEE_ID_CLAIM="employee_id")
    agency, unit = org
    user = make_user(session, "dana.cruz@agency.test", agency=agency, unit=unit, employee_id="E-100")
    session.commit()
    assert sign_in(client, "by_employee_id").status_code == 302
    assert events(session, "auth.signed_in")[0].subject_id == user.id


def test_a_forged_state_is_refused(client, session, sso, officer):
    back = sign_in_at_provider(start(client), "officer")
    parts = urlsplit(back)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()} | {"state": "forged-state"}
    response = client.get(f"{parts.path}?{urlencode(query)}")
    assert response.status_code == 400
    assert "does not belong to a sign-in started in this browser" in response.get_data(as_text=True)
    assert not signed_in(client)
    assert events(session, "auth.sso_failed")[0].details["reason"] == "state"


def test_a_replayed_answer_is_refused(client, session, sso, officer, course):
    back = sign_in_at_provider(start(client), "officer")
    assert answer(client, back).status_code == 302
    client.post("/logout")
    # The same answer again, after a new sign-in started in this browser, and with none started.
    start(client)
    response = answer(client, back)
    assert response.status_code == 400 and "used already" in response.get_data(as_text=True)
    response = answer(client, back)
    assert response.status_code == 400 and "did not start in this browser" in response.get_data(as_text=True)
    assert not signed_in(client)


def test_an_answer_started_in_another_browser_is_refused(app, sso, officer):
    back = sign_in_at_provider(start(app.test_client()), "officer")
    other = app.test_client()
    response = answer(other, back)
    assert response.status_code == 400
    assert not signed_in(other)


@pytest.mark.parametrize("tampering", ["nonce", "expired", "foreign-key"])
def test_an_id_token_that_does_not_verify_is_refused(client, session, sso, officer, tampering, caplog):
    sso.tamper(tampering)
    with caplog.at_level(logging.WARNING, logger="training.auth.oidc"):
        response = sign_in(client, "officer")
    assert response.status_code == 400
    assert "could not be verified, so nobody was signed in" in response.get_data(as_text=True)
    assert not signed_in(client)
    [event] = events(session, "auth.sso_failed")
    assert event.details["reason"] == "id_token"
    assert "ID token refused" in caplog.text


@pytest.mark.parametrize(("account", "reason", "words"), [
    ("unverified", "unverified", "has not verified your email address"),
    ("stranger", "unknown", "Ask your training coordinator to add you to the roster"),
])
def test_unverified_and_unknown_sign_ins_are_refused(client, session, sso, officer, account, reason, words):
    response = sign_in(client, account)
    assert response.status_code == 403 and words in response.get_data(as_text=True)
    assert not signed_in(client)
    [event] = events(session, "auth.sso_refused")
    assert event.details["reason"] == reason
    assert event.subject_id == (officer.id if account == "unverified" else None)


def test_a_deactivated_account_is_refused(client, session, sso, officer):
    officer.active = False
    session.commit()
    response = sign_in(client, "officer")
    assert response.status_code == 403 and "Your Rollcall account is deactivated" in response.get_data(as_text=True)
    [event] = events(session, "auth.sso_refused")
    assert event.details["reason"] == "deactivated" and event.subject_id == officer.id


def test_a_provider_signs_in_only_the_agencies_it_serves(client, session, app, sso, officer):
    make_org(session, "OTH")
    session.commit()
    app.config.update(OIDC_AGENCIES="OTH")
    response = sign_in(client, "officer")
    assert response.status_code == 403
    assert "does not sign in people of your agency" in response.get_data(as_text=True)
    [event] = events(session, "auth.sso_refused")
    assert event.details["reason"] == "wrong_agency" and event.subject_id == officer.id


def test_a_provider_that_is_down_leaves_password_sign_in_working(client, app, officer, caplog):
    app.config.update(OIDC_ISSUER=f"http://127.0.0.1:{free_port()}", OIDC_CLIENT_ID="x", OIDC_CLIENT_SECRET="y",
                      OIDC_LABEL="Sign in with Test ID")
    with caplog.at_level(logging.ERROR, logger="training.auth.oidc"):
        response = client.post("/login/oidc/start/sso")
    page = response.get_data(as_text=True)
    assert response.status_code == 503 and "Sign in with Test ID cannot be reached just now" in page
    assert "sign in with your email and password meanwhile" in page
    assert "single sign-on provider sso is unavailable" in caplog.text and "could not be fetched" in caplog.text
    assert client.post("/login", data={"email": officer.email, "password": PASSWORD}).status_code == 302


def test_a_wrong_issuer_is_a_clear_error(client, app, sso, caplog):
    app.config.update(OIDC_ISSUER=sso.issuer + "/")
    with caplog.at_level(logging.ERROR, logger="training.auth.oidc"):
        response = client.post("/login/oidc/start/sso")
    assert response.status_code == 503
    assert f"names the issuer '{sso.issuer}', not the configured '{sso.issuer}/'" in caplog.text


def test_signing_out_offers_the_providers_own_sign_out(client, sso, officer, course):
    sign_in(client, "officer")
    response = client.post("/logout")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "You have signed out of Rollcall" in page
    assert f"{sso.issuer}/session/end?" in page and "client_id=rollcall-test" in page
    assert not signed_in(client)


def test_password_sign_in_off_hides_and_refuses_the_form(client, session, app, sso, officer):
    app.config.update(PASSWORD_SIGN_IN="off")
    page = client.get("/login").get_data(as_text=True)
    assert 'name="password"' not in page and "Sign in with Test ID" in page
    response = client.post("/login", data={"email": officer.email, "password": PASSWORD})
    assert response.status_code == 403
    assert "Password sign-in is turned off on this site" in response.get_data(as_text=True)
    assert not signed_in(client)
    [event] = events(session, "auth.password_sign_in_refused")
    assert event.subject_id == officer.id and event.details["mode"] == "off"


def test_password_sign_in_for_staff_only(client, session, app, sso, org, officer):
    app.config.update(PASSWORD_SIGN_IN="staff")
    agency, unit = org
    make_user(session, "lead@agency.test", role="coordinator", agency=agency, unit=unit)
    session.commit()
    response = client.post("/login", data={"email": officer.email, "password": PASSWORD})
    assert response.status_code == 403
    assert "Officers sign in with their agency&#39;s sign-in button" in response.get_data(as_text=True)
    [event] = events(session, "auth.password_sign_in_refused")
    assert event.subject_id == officer.id and event.details["mode"] == "staff"
    # A wrong password is answered as always, saying nothing of the account's role.
    assert client.post("/login", data={"email": officer.email, "password": "wrong"}).status_code == 401
    assert client.post("/login", data={"email": "lead@agency.test", "password": PASSWORD}).status_code == 302


def test_providers_from_the_settings_file(client, app, sso, tmp_path):
    path = tmp_path / "oidc.yaml"
    path.write_text(f"""providers:
  - name: agency-a
    label: Sign in with Agency A
    issuer: {sso.issuer}
    client_id: rollcall-test
    client_secret: rollcall-test-secret-0123456789
    agencies: [AGY]
  - name: agency-b
    label: Sign in with Agency B
    issuer: https://login.example.gov
    client_id: b
    client_secret_env: ROLLCALL_TEST_UNSET_SECRET_B
""")
    app.config.update(OIDC_ISSUER=None, OIDC_PROVIDERS_FILE=str(path))
    with pytest.raises(SettingsError, match="ROLLCALL_TEST_UNSET_SECRET_B named by client_secret_env is not set"):
        load_providers(app.config)
    path.write_text(path.read_text().replace("client_secret_env: ROLLCALL_TEST_UNSET_SECRET_B",
                                             "client_secret: b-secret"))
    page = client.get("/login").get_data(as_text=True)
    assert "Sign in with Agency A" in page and "Sign in with Agency B" in page
    assert start(client, name="agency-a").startswith(f"{sso.issuer}/auth?")


def test_settings_mistakes_leave_password_sign_in_working(client, app, officer, tmp_path, caplog):
    path = tmp_path / "oidc.yaml"
    path.write_text("providers:\n  - name: Bad Name\n    issuer: http://idp.example.gov\n")
    app.config.update(OIDC_PROVIDERS_FILE=str(path))
    with caplog.at_level(logging.ERROR):
        page = client.get("/login").get_data(as_text=True)
    assert 'name="password"' in page and "/login/oidc/start/" not in page
    assert "single sign-on is off" in caplog.text and "name must be 1 to 40 lower-case letters" in caplog.text
    assert client.post("/login", data={"email": officer.email, "password": PASSWORD}).status_code == 302


@pytest.mark.parametrize(("entry", "problem"), [
    ({"name": "a", "issuer": "http://idp.example.gov", "client_id": "c", "client_secret": "s"}, "https://"),
    ({"name": "a", "issuer": "https://idp.example.gov", "client_id": "c"}, "either a client secret"),
    ({"name": "a", "issuer": "https://idp.example.gov", "client_id": "c", "client_secret": "s",
      "private_key_file": "/nonexistent.pem"}, "not both"),
    ({"name": "a", "issuer": "https://idp.example.gov", "client_id": "c", "client_secret": "s", "scopes": "email"},
     "must include openid"),
    ({"name": "a", "issuer": "https://idp.example.gov", "client_id": "c", "client_secret": "s", "colour": "red"},
     "unknown setting colour"),
])
def test_provider_settings_are_checked(entry, problem):
    with pytest.raises(SettingsError, match=problem):
        make_provider(entry, "test")


@pytest.mark.parametrize(("claims", "mfa"), [
    ({"amr": ["pwd"]}, False), ({"amr": ["pwd", "mfa"]}, True), ({"amr": ["hwk"]}, True), ({"amr": "mfa"}, False),
    ({}, False), ({"acr": "urn:x:high"}, True), ({"acr": "urn:x:low"}, False),
])
def test_what_counts_as_multi_factor(claims, mfa):
    provider = make_provider({"name": "a", "issuer": "https://idp.example.gov", "client_id": "c",
                              "client_secret": "s", "mfa_acr": "urn:x:high"}, "test")
    assert asserts_multi_factor(provider, claims) is mfa


def test_claims_only_at_userinfo_are_fetched_from_it(app, client, session, org, course, tmp_path):
    """Like Login.gov: the ID token says who and how (sub, amr, acr); the email comes from userinfo."""
    staff(session, org)
    with openid_provider(APP_BASE_URL, tmp_path, claims_in_userinfo_only=True) as provider:
        app.config.update(provider.settings(), BASE_URL=APP_BASE_URL)
        response = sign_in(client, "staff_mfa")
    assert response.headers["Location"] == "/"
    assert events(session, "auth.signed_in")[0].details["factor"] == "provider multi-factor"
