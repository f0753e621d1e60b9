"""The public verification page, and revocation by compliance staff."""
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.support.dates import today
from tests.support.factories import certify, make_org, make_user
from tests.support.pages import login
from training.audit.models import AuditEvent
from training.people.models import User
from training.records.codes import display, normalise
from training.records.models import Assignment, Completion
from training.records.rules import add_months
from training.records.status import course_states


def verify_page(client, completion) -> tuple[int, str]:
    response = client.get(f"/verify/{display(completion.verification_code)}")
    assert response.headers["Cache-Control"] == "no-store"
    return response.status_code, response.get_data(as_text=True)


@pytest.mark.parametrize("days_ago, state, phrase", [
    (10, "valid", "Valid: this certificate is in force."),
    (350, "expiring", "expiring soon"),
    (400, "expired", "Expired: this certificate was in force until"),
])
def test_states_by_date(client, session, officer, course, days_ago, state, phrase):
    completion = certify(session, officer, course, days_ago=days_ago)
    status, page = verify_page(client, completion)
    assert status == 200
    assert f"rc-cert--{state}" in page and phrase in page
    assert "Dana Cruz" in page and "Test TEST-BASICS (TEST-BASICS)" in page
    assert completion.completed_on.isoformat() in page and completion.expires_on.isoformat() in page
    # Only what a third party needs: no employee id, no score, no agency.
    assert "OFFICER" not in page and "90%" not in page and "Agency AGY" not in page


def test_an_older_cycle_is_superseded(client, session, officer, course):
    old = certify(session, officer, course, days_ago=400)
    new = certify(session, officer, course, days_ago=5)
    assert "rc-cert--superseded" in verify_page(client, old)[1]
    assert "rc-cert--valid" in verify_page(client, new)[1]


def test_unknown_and_malformed_codes_reveal_nothing(client, session, officer, course):
    completion = certify(session, officer, course, days_ago=10)
    real = completion.verification_code
    unknown = ("A" if real[0] != "A" else "B") + real[1:]
    pages = [client.get(f"/verify/{code}") for code in (display(unknown), "not-a-code", "x" * 200, "%27%20OR%201=1")]
    assert {p.status_code for p in pages} == {404}
    assert len({p.get_data(as_text=True) for p in pages}) == 1
    assert "Dana" not in pages[0].get_data(as_text=True)


def test_typed_codes_are_forgiving_about_case_spaces_and_lookalikes(client, session, officer, course):
    completion = certify(session, officer, course, days_ago=10)
    typed = " " + display(completion.verification_code).lower().replace("o", "0") + " "
    response = client.get("/verify", query_string={"code": typed}, follow_redirects=True)
    assert response.status_code == 200 and "Dana Cruz" in response.get_data(as_text=True)
    assert client.get("/verify").status_code == 200


def test_codes_are_80_random_bits_and_unique(session, officer, course):
    codes = [certify(session, officer, course, days_ago=d).verification_code for d in (30, 20, 10)]
    assert len(set(codes)) == 3
    assert all(normalise(c) == c and len(c) == 16 for c in codes)


def revoke(client, completion, reason="Exam irregularity found on review"):
    return client.post(f"/completions/{completion.id}/revoke", data={"reason": reason})


def statuses(session, officer) -> dict[str, str]:
    return {s.course_code: s.status for s in course_states(session, today(officer), User.id == officer.id)}


def test_compliance_revokes_and_the_state_flows_everywhere(client, session, officer, course):
    completion = certify(session, officer, course, days_ago=10)
    assert statuses(session, officer) == {"TEST-BASICS": "current"}
    compliance = make_user(session, "compliance@agency.test", role="compliance", agency=officer.agency)
    session.commit()
    login(client, compliance.email)
    assert client.get(f"/completions/{completion.id}/revoke").status_code == 200
    response = revoke(client, completion)
    assert response.status_code == 302
    status, page = verify_page(client, completion)
    assert status == 200 and "rc-cert--revoked" in page and f"Revoked on {today(officer).isoformat()}" in page
    assert "irregularity" not in page   # the reason stays internal
    # The revoked completion no longer certifies: the module is due again, today.
    assert statuses(session, officer) == {"TEST-BASICS": "assigned"}
    assignment = session.scalar(select(Assignment).where(Assignment.user_id == officer.id,
                                                         Assignment.closed_at.is_(None)))
    assert assignment.due_on == today(officer)
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "completion.revoked"))
    assert event.actor_id == compliance.id and event.details["reason"] == "Exam irregularity found on review"
    # The roster export agrees.
    roster = client.get("/reports/roster.csv").get_data(as_text=True)
    assert ",assigned," in roster and completion.completed_on.isoformat() not in roster
    # No certificate is issued for it any more, and it cannot be revoked twice.
    assert client.get(f"/completions/{completion.id}/certificate.pdf").status_code == 410
    assert revoke(client, completion).status_code == 422


def test_revoking_a_renewal_falls_back_to_the_previous_cycle_and_reopens_its_assignment(
        client, session, officer, course):
    certify(session, officer, course, days_ago=340)          # expires in about 25 days
    session.add(Assignment(user_id=officer.id, course_id=course.id, due_on=today(officer) + timedelta(days=25),
                           reason="annual_renewal"))
    session.commit()
    renewal = certify(session, officer, course, days_ago=1)   # closes the renewal assignment
    assert statuses(session, officer) == {"TEST-BASICS": "current"}
    make_user(session, "admin@agency.test", role="admin")
    session.commit()
    login(client, "admin@agency.test")
    assert revoke(client, renewal).status_code == 302
    assert statuses(session, officer) == {"TEST-BASICS": "expiring"}
    reopened = session.scalar(select(Assignment).where(Assignment.user_id == officer.id,
                                                       Assignment.closed_at.is_(None)))
    assert reopened.reason == "annual_renewal" and reopened.completion_id is None


def test_a_revocation_leaves_past_statuses_as_they_were(session, officer, course):
    from training.records.proof import revoke as revoke_completion
    completion = certify(session, officer, course, days_ago=10)
    admin = make_user(session, "admin@agency.test", role="admin")
    revoke_completion(session, completion, admin, "Entered for the wrong officer")
    session.commit()
    yesterday = today(officer) - timedelta(days=1)
    past = {s.course_code: s.status for s in course_states(session, yesterday, User.id == officer.id)}
    assert past == {"TEST-BASICS": "current"}


@pytest.mark.parametrize("role, agency_code, expected", [
    ("compliance", "OTH", 404), ("coordinator", "AGY", 403), ("officer", "AGY", 403),
])
def test_revocation_refused_outside_scope_or_role(client, session, officer, course, role, agency_code, expected):
    completion = certify(session, officer, course, days_ago=10)
    agency = officer.agency if agency_code == "AGY" else make_org(session, agency_code)[0]
    make_user(session, "someone@elsewhere.test", role=role, agency=agency, employee_id="X-1")
    session.commit()
    login(client, "someone@elsewhere.test")
    assert client.get(f"/completions/{completion.id}/revoke").status_code == expected
    assert revoke(client, completion).status_code == expected
    session.expire_all()
    assert session.get(Completion, completion.id).revoked_on is None
    assert session.scalar(select(func.count()).select_from(AuditEvent)
                          .where(AuditEvent.action == "completion.revoked")) == 0
    assert "rc-cert--valid" in verify_page(client, completion)[1]


def test_a_reason_is_required(client, session, officer, course):
    completion = certify(session, officer, course, days_ago=10)
    make_user(session, "compliance@agency.test", role="compliance", agency=officer.agency)
    session.commit()
    login(client, "compliance@agency.test")
    response = revoke(client, completion, reason="  ")
    assert response.status_code == 422 and "usa-error-message" in response.get_data(as_text=True)
    session.expire_all()
    assert session.get(Completion, completion.id).revoked_on is None


def test_an_import_does_not_renew_from_a_revoked_completion(session, officer, course):
    from training.imports.completions import apply_completions_plan, parse_completions_csv
    from training.records.proof import revoke as revoke_completion
    revoked = certify(session, officer, course, days_ago=380)          # expired 15 days ago
    revoke_completion(session, revoked, make_user(session, "admin@agency.test", role="admin"), "Wrong officer")
    earlier = today(officer) - timedelta(days=20)
    data = f"employee_id,course_code,completed_on,score\r\nOFFICER,TEST-BASICS,{earlier.isoformat()},90\r\n".encode()
    plan = parse_completions_csv(session, data, today(officer))
    # Inside the revoked one's renewal window, but it counts from its own date, not from the revoked expiry.
    assert plan.ok and plan.records[0].expires_on == add_months(earlier, 12)
    apply_completions_plan(session, plan, "late.csv")
    assert statuses(session, officer) == {"TEST-BASICS": "current"}
