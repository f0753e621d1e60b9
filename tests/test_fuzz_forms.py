"""Arbitrary input at every form and page: never a server error, nothing written on a refusal, a reason shown."""
from __future__ import annotations

from datetime import date, timedelta
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from wtforms.fields.core import UnboundField

from tests.support.factories import make_user, set_authenticator
from tests.support.fuzz import FUZZ, TEXT, build_world, form_data, query_string, rolled_back, row_counts
from tests.support.pages import login
from tests.support.views import TOKEN, VIEW_ROLES
from training.admin.forms import AccountForm, AgencyForm, ApiTokenForm, UnitForm
from training.assignments.forms import AssignForm, BulkForm, ExemptForm, ExtendForm, RuleForm, WithdrawForm
from training.auth import second_factor
from training.auth.forms import CodeForm, PasswordForm
from training.auth.token_forms import ForgotPasswordForm, NewPasswordForm
from training.documents.forms import PublishForm, SignForm
from training.evidence.forms import EvidenceForm
from training.learn.forms import AcknowledgeForm
from training.records.forms import RevokeForm

FORMS = {"admin.account": AccountForm, "admin.agency": AgencyForm, "admin.unit": UnitForm,
         "admin.api_tokens": ApiTokenForm,
         "assignments.assign": AssignForm, "assignments.rules": RuleForm, "assignments.extend": ExtendForm,
        "assignments.exempt": ExemptForm, "assignments.set_due": ExtendForm, "assignments.withdraw": WithdrawForm,
        "assignments.bulk": BulkForm, "learn.result": AcknowledgeForm, "records.revoke": RevokeForm,
        "auth.password": PasswordForm, "auth.code": CodeForm, "auth.enrol": CodeForm, "auth.setup": CodeForm,
        "auth.forgot_password": ForgotPasswordForm, "auth.reset_password": NewPasswordForm,
        "auth.accept_invitation": NewPasswordForm, "documents.publish_new": PublishForm,
        "documents.publish_version": PublishForm, "documents.read": SignForm, "evidence.packet": EvidenceForm}
# Fields of the views that read the request without a form class.
FIELDS = {"imports.upload": ["full", "invite"], "imports.confirm": ["token", "filename", "full", "invite"],
          "auth.invite_unit": ["sub", "resend"],
          "assignments.remind": ["officer", "next"], "auth.login": ["email", "password"],
          "assignments.request_more_time": ["asked_due_on", "reason"],
          "assignments.decide": ["decision", "due_on", "note", "confirm_far"],
          "auth.new_recovery_codes": ["code"], "auth.turn_off": ["code"], "auth.oidc_start": []}
# Forms that only sign in or out; the sign-in form and single sign-on's buttons are fuzzed without an account.
NOT_SIGNED_IN = {"auth.login", "auth.forgot_password", "auth.reset_password", "auth.accept_invitation",
                 "auth.oidc_start"}
# The second sign-in step, fuzzed after a right password: does the account have an authenticator yet?
SECOND_STEP = {"auth.code": True, "auth.enrol": False}
# The JSON API takes JSON or CSV with a token, not forms: tests/test_api_fuzz.py throws arbitrary input at it.
SKIPPED = {"auth.logout"} | TOKEN


def valid_filling(endpoint: str, world) -> dict[str, str]:
    """Values each form accepts, so that one spoilt value gets as far as the database."""
    soon, later = (date.today() + timedelta(days=n) for n in (30, 60))
    return {
        "admin.account": {"email": "new@agency.test", "first_name": "Ann", "last_name": "Lee", "employee_id": "E-77",
                          "role": "officer", "agency": "AGY", "unit": "AGY-U1", "scope_unit": "", "active": "y",
                          "password": "a-long-enough-password"},
        "admin.agency": {"code": "NEW", "name": "New agency", "time_zone": "UTC"},
        "admin.unit": {"agency": "AGY", "code": "AGY-NEW", "name": "New unit", "parent": "AGY-U1"},
        "admin.api_tokens": {"name": "HR sync", "agency": "AGY", "unit": "AGY-U1", "write": "y",
                             "expires": later.isoformat()},
        "assignments.assign": {"courses": "TEST-BASICS", "target": "unit", "unit": "AGY-U1", "due_on": soon.isoformat()},
        "assignments.rules": {"unit": "AGY-U1", "course": "TEST-BASICS", "days": "30"},
        "assignments.extend": {"due_on": later.isoformat(), "reason": "Out on medical leave"},
        "assignments.exempt": {"course": "TEST-BASICS", "starts_on": soon.isoformat(), "ends_on": later.isoformat(),
                          "reason": "Out on medical leave"},
        "assignments.remind": {"officer": str(world.officer.id), "next": "/units"},
        "assignments.set_due": {"due_on": later.isoformat(), "reason": "Typed the wrong year"},
        "assignments.withdraw": {"reason": "Left the unit"},
        "assignments.bulk": {"action": "extend", "course": "TEST-BASICS", "officer": str(world.officer.id),
                             "due_on": later.isoformat(), "reason": "Range closed", "next": "/units"},
        "assignments.request_more_time": {"asked_due_on": later.isoformat(), "reason": "Court all week"},
        "assignments.decide": {"decision": "approve", "due_on": later.isoformat(), "note": "Fine by me"},
        "learn.attempt": {f"q{item['question_id']}": "0" for item in world.attempt.items},
        "learn.save_answers": {f"q{item['question_id']}": "0" for item in world.attempt.items[:3]},
        "learn.result": {"full_name": "Dana Cruz"},
        "documents.publish_new": {"code": "DOC-2", "title": "Pursuits", "version": "A", "summary": "First issue.",
                                  "text": "Stop when told."},
        "documents.publish_version": {"title": "Radio discipline", "version": "B", "summary": "Shorter.",
                                      "text": "Keep it shorter."},
        "documents.read": {"full_name": "Dana Cruz", "sha256": world.document.versions[0].content_hash},
        "records.revoke": {"reason": "Recorded in error"},
        "imports.confirm": {"token": "x" * 32, "filename": "roster.csv"},
        "auth.login": {"email": "officer@agency.test", "password": "correct-horse-battery"},
    }.get(endpoint, {})


def fields_of(endpoint: str, world) -> list[str]:
    if endpoint in ("learn.attempt", "learn.save_answers"):
        return [f"q{item['question_id']}" for item in world.attempt.items]
    form = FORMS.get(endpoint)
    if form is None:
        return FIELDS.get(endpoint, [])
    return [name for name in dir(form) if isinstance(getattr(form, name), UnboundField)]


def role_for(endpoint: str) -> str:
    allowed = VIEW_ROLES[endpoint]
    return next(r for r in ("officer", "coordinator", "compliance", "admin") if r in allowed)


def path_for(rule, world) -> str:
    values = {"user_id": world.officer.id, "assignment_id": world.assignment.id, "rule_id": world.rule.id,
              "attempt_id": world.attempt.id, "completion_id": world.completion.id, "message_id": world.message.id,
              "name": "roster", "slug": world.lesson_slug, "request_id": world.assignment.id,
              "token": "an-unknown-token", "number": 1, "token_id": 1,
              "employee_id": world.officer.employee_id or "E1"}
    if rule.endpoint.startswith("documents."):
        values["code"] = world.document.code
    elif "code" in rule.arguments:
        values["code"] = {"admin": world.agency.code if "agencies" in rule.rule else world.unit.code,
                          "people": world.unit.code, "auth": world.unit.code}.get(rule.endpoint.split(".")[0], world.course.code)
    return rule.build(values, append_unknown=False)[1]


def post_endpoints(app) -> list[str]:
    return sorted({r.endpoint for r in app.url_map.iter_rules() if "POST" in r.methods} - SKIPPED)


def check_answer(response, before, after) -> None:
    """The properties every answer to arbitrary input has."""
    assert response.status_code < 500
    if response.status_code in (400, 413, 422):
        assert before == after, "a refused form wrote something"
        page = response.get_data(as_text=True)
        assert 'role="alert"' in page or "contains a NUL character" in page or response.status_code == 413, \
            "a refusal without a reason"


# Every view that takes a POST, each fuzzed below.
POSTED = sorted(set(FORMS) | set(FIELDS) | {"learn.attempt", "learn.save_answers", "learn.start_quiz",
                                            "updates.start_quiz", "assignments.delete_rule", "reminders.retry",
                                            "admin.reset_two_step", "audit.verify_chain", "feeds.new_address",
                                            "admin.revoke_api_token"})


def awaiting_code(client, session, org, enrolled: bool) -> None:
    """A browser that gave a staff account's right password and now owes its code."""
    agency, unit = org
    user = make_user(session, "second-step@agency.test", role="coordinator", agency=agency, unit=unit,
                     demo_account=False)
    set_authenticator(user, second_factor.new_secret() if enrolled else None)
    session.commit()
    assert login(client, user.email).location == ("/login/code" if enrolled else "/login/enrol")


def test_every_form_is_fuzzed(app):
    assert set(post_endpoints(app)) <= set(POSTED), "say which fields the new form has (FORMS or FIELDS)"


@pytest.mark.parametrize("endpoint", POSTED)
def test_arbitrary_form_input(app, client, session, connection, org, course, endpoint):
    world = build_world(session, org, course)
    if endpoint in SECOND_STEP:
        awaiting_code(client, session, org, enrolled=SECOND_STEP[endpoint])
    elif endpoint not in NOT_SIGNED_IN:
        login(client, f"{role_for(endpoint)}@agency.test")
    rules = [r for r in app.url_map.iter_rules() if r.endpoint == endpoint and "POST" in r.methods]
    fields = fields_of(endpoint, world)

    @FUZZ
    @given(rule=st.sampled_from(rules), data=form_data(fields, valid_filling(endpoint, world)))
    def post(rule, data):
        with rolled_back(connection):
            before = row_counts(connection)
            response = client.post(path_for(rule, world), data=data)
            check_answer(response, before, row_counts(connection))

    post()


def test_arbitrary_query_strings_and_path_values(app, client, session, connection, org, course):
    world = build_world(session, org, course)
    rules = [r for r in app.url_map.iter_rules() if "GET" in r.methods and r.endpoint != "static"]
    roles = ["officer", "coordinator", "compliance", "admin"]
    path_value = st.one_of(TEXT.filter(lambda s: "/" not in s and s not in (".", "..")),
                           st.integers(min_value=0).map(str), st.just("9" * 30))

    @settings(FUZZ, max_examples=60)
    @given(rule=st.sampled_from(rules), role=st.sampled_from(roles), args=query_string(), arbitrary_path=st.booleans(),
           value=path_value)
    def get(rule, role, args, arbitrary_path, value):
        client.post("/logout")
        login(client, f"{role}@agency.test")
        path = path_for(rule, world)
        if arbitrary_path and rule.arguments:
            path = rule.rule
            for name in rule.arguments:
                number = value if value.isdigit() else str(len(value))
                path = path.replace(f"<int:{name}>", number).replace(f"<{name}>", quote(value, safe=""))
        with rolled_back(connection):
            response = client.get(path, query_string=args)
            assert response.status_code < 500
            if response.status_code in (400, 422):
                assert 'role="alert"' in response.text or "contains a NUL character" in response.text
            response.close()

    get()


@pytest.mark.parametrize("path", ["/admin/users?page=" + "9" * 30, "/admin/outbox?page=" + "9" * 30,
                                  "/audit?page=" + "9" * 30, "/units/AGY-U1?page=" + "9" * 30,
                                  "/units/AGY-U1?supervisor=" + "9" * 30, "/officers/" + "9" * 30,
                                  "/audit?date_from=9999-12-31&date_to=0001-01-01", "/verify/%00",
                                  "/admin/users?q=%00", "/units/%00", "/courses/%00", "/admin/org/units/%00"])
def test_pages_given_numbers_and_characters_no_database_holds(client, session, org, course, path):
    build_world(session, org, course)
    login(client, "admin@agency.test")
    assert client.get(path).status_code < 500


def test_a_nul_character_is_refused_naming_the_field(client, session, connection, org, course):
    build_world(session, org, course)
    login(client, "admin@agency.test")
    before = row_counts(connection)
    response = client.post("/admin/org/agencies/new", data={"code": "NEW", "name": "A\x00B", "time_zone": "UTC"})
    assert response.status_code == 400 and "The field &#39;name&#39; contains a NUL character" in response.text
    assert row_counts(connection) == before


def test_ids_no_database_holds_are_ignored(client, session, org, course):
    world = build_world(session, org, course)
    login(client, "coordinator@agency.test")
    response = client.post("/remind", data={"officer": ["9" * 30, "²", str(world.officer.id)]},
                           follow_redirects=True)
    assert response.status_code == 200 and "Reminder sent to" in response.text


def test_a_superscript_digit_is_not_an_answer(client, session, org, course):
    world = build_world(session, org, course)
    login(client, "officer@agency.test")
    answers = {f"q{item['question_id']}": "²" for item in world.attempt.items}
    response = client.post(f"/attempts/{world.attempt.id}", data=answers)
    assert response.status_code == 422 and "does not match your quiz" in response.text


@pytest.mark.parametrize("role, endpoint, path, data, said", [
    ("admin", "admin.account", "/admin/users/new", {"agency": "\u202e"}, "Not a valid choice"),
    ("coordinator", "assignments.rules", "/rules", {"course": ""}, "This field is required."),
    ("coordinator", "assignments.assign", "/assign", {"target": ""}, "This field is required."),
])
def test_a_refused_choice_says_why(client, session, org, course, role, endpoint, path, data, said):
    world = build_world(session, org, course)
    login(client, f"{role}@agency.test")
    response = client.post(path, data={**valid_filling(endpoint, world), **data})
    assert response.status_code == 422 and said in response.text and 'role="alert"' in response.text


def test_an_agency_keeps_its_code_whatever_the_form_says(client, session, org, course):
    build_world(session, org, course)
    login(client, "admin@agency.test")
    response = client.post("/admin/org/agencies/AGY", data={"code": "", "name": "Renamed", "time_zone": "UTC"})
    assert response.status_code == 302
    assert "Renamed (AGY)" in client.get("/admin/org").text
