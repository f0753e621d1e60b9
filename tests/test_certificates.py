"""PDF certificates: content, QR code, and who may download them."""
import io
from datetime import timedelta

import pypdf
import pytest
import zxingcpp

from tests.support.dates import today
from tests.support.factories import certify, make_org, make_user
from tests.support.pages import login
from training.records.codes import display


def pdf_text_and_qr(data: bytes) -> tuple[str, list[str]]:
    page = pypdf.PdfReader(io.BytesIO(data)).pages[0]
    decoded = [r.text for image in page.images for r in zxingcpp.read_barcodes(image.image)]
    return page.extract_text(), decoded


def test_certificate_shows_the_facts_and_its_qr_code_opens_the_verification_page(
        app, client, session, officer, course):
    completion = certify(session, officer, course, days_ago=3)
    app.config["BASE_URL"] = "https://rollcall.example.gov"
    login(client, officer.email)
    response = client.get(f"/completions/{completion.id}/certificate.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert "attachment" in response.headers["Content-Disposition"]
    text, qr = pdf_text_and_qr(response.data)
    code = display(completion.verification_code)
    for expected in ("Dana Cruz", "Test TEST-BASICS", "TEST-BASICS, version 1",
                     f"Completed on {(today(officer) - timedelta(days=3)).isoformat()}",
                     f"Certified until {completion.expires_on.isoformat()}", code):
        assert expected in text, expected
    assert qr == [f"https://rollcall.example.gov/verify/{code}"]
    # The address in the QR code is the live verification page.
    page = client.get(f"/verify/{code}")
    assert page.status_code == 200 and "Dana Cruz" in page.get_data(as_text=True)


def test_an_unusual_name_and_an_imported_record_print(client, session, org, course):
    agency, unit = org
    officer = make_user(session, "zoe@agency.test", agency=agency, unit=unit, first="Zoë", last="Nguyễn-Ó Briain")
    completion = certify(session, officer, course, days_ago=100, source="import")
    login(client, officer.email)
    text, _ = pdf_text_and_qr(client.get(f"/completions/{completion.id}/certificate.pdf").data)
    assert "Zoë Nguyễn-Ó Briain" in text and "TEST-BASICS, imported record" in text


@pytest.mark.parametrize("role, agency_code, allowed", [
    ("compliance", "AGY", True), ("admin", None, True),
    ("compliance", "OTH", False), ("coordinator", "AGY", False), ("officer", "AGY", False),
])
def test_who_may_download_a_certificate(client, session, officer, course, role, agency_code, allowed):
    completion = certify(session, officer, course, days_ago=3)
    agency = officer.agency if agency_code == "AGY" else make_org(session, agency_code)[0] if agency_code else None
    make_user(session, f"{role}@elsewhere.test", role=role, agency=agency, employee_id=f"X-{role}")
    session.commit()
    login(client, f"{role}@elsewhere.test")
    response = client.get(f"/completions/{completion.id}/certificate.pdf")
    if allowed:
        assert response.status_code == 200 and response.data.startswith(b"%PDF")
    else:
        # Refused exactly as if there were no such completion.
        assert response.status_code == 404
        assert client.get("/completions/999999/certificate.pdf").status_code == 404
        assert b"Dana" not in response.data


def test_download_is_recorded_and_needs_a_sign_in(client, session, officer, course):
    from sqlalchemy import select

    from training.audit.models import AuditEvent
    completion = certify(session, officer, course, days_ago=3)
    assert client.get(f"/completions/{completion.id}/certificate.pdf").status_code == 302
    login(client, officer.email)
    client.get(f"/completions/{completion.id}/certificate.pdf")
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "certificate.downloaded"))
    assert event.actor_id == officer.id and event.details["completion_id"] == completion.id


class _IdleScheduler:
    def start(self):
        pass

    def shutdown(self):
        pass


@pytest.fixture
def served(monkeypatch) -> list[tuple[str, int]]:
    """`serve` runs without serving or scheduling; the list receives the host and port it would serve."""
    import werkzeug.serving

    import training.scheduler
    calls = []
    monkeypatch.setattr(werkzeug.serving, "run_simple", lambda host, port, *a, **k: calls.append((host, port)))
    monkeypatch.setattr(training.scheduler, "build_scheduler", lambda *a, **k: _IdleScheduler())
    return calls


def test_links_in_mail_and_on_certificates_follow_the_port_served_in_development(
        app, client, runner, session, officer, course, smtp, served):
    from training.records.models import Assignment

    app.config.update(BASE_URL="http://127.0.0.1:5000", BASE_URL_FOLLOWS_SERVE=True)
    result = runner.invoke(args=["serve", "--port", "8080"])
    assert result.exit_code == 0, result.output
    assert served == [("127.0.0.1", 8080)]

    session.add(Assignment(user_id=officer.id, course_id=course.id, due_on=today(officer) + timedelta(days=14),
                           reason="individual"))
    session.commit()
    assert runner.invoke(args=["reminders", "run", "--wait", "0"]).exit_code == 0
    (mail,) = smtp.messages
    assert "http://127.0.0.1:8080/courses/TEST-BASICS" in mail.get_body(("plain",)).get_content()

    completion = certify(session, officer, course, days_ago=3)
    login(client, officer.email)
    _, qr = pdf_text_and_qr(client.get(f"/completions/{completion.id}/certificate.pdf").data)
    assert qr == [f"http://127.0.0.1:8080/verify/{display(completion.verification_code)}"]


def test_a_configured_public_address_is_kept_whatever_the_port_served(app, runner, served):
    app.config.update(BASE_URL="https://rollcall.example.gov", BASE_URL_FOLLOWS_SERVE=False)
    assert runner.invoke(args=["serve", "--port", "8080"]).exit_code == 0
    assert served == [("127.0.0.1", 8080)] and app.config["BASE_URL"] == "https://rollcall.example.gov"
