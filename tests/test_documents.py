"""Documents to read and sign: publishing them (Markdown or PDF) and new versions, refusals, signing, asking again."""
import hashlib
import io
import re
from datetime import date, datetime, timedelta

import pytest
from pypdf import PdfWriter
from sqlalchemy import func, select

from tests.support.factories import make_user
from tests.support.pages import login
from training.assignments.service import create_renewal_assignments
from training.audit.models import AuditEvent
from training.catalog.models import Course, CourseVersion, DocumentFile, Lesson
from training.clock import today_for
from training.documents import service
from training.records.models import Acknowledgement, Assignment, Completion

TEXT = "# Body-worn cameras\n\nRecord every **use of force** from start to end.\n\n- Keep the camera on.\n"


def tiny_pdf(encrypt: bool = False, pages: int = 1) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=200, height=200)
    if encrypt:
        writer.encrypt("secret")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def sha256(data: bytes | str) -> str:
    return hashlib.sha256(data.encode("utf-8") if isinstance(data, str) else data).hexdigest()


@pytest.fixture
def coordinator(session, org):
    user = make_user(session, "coord@agency.test", role="coordinator", agency=org[0], employee_id="C-1",
                     first="Cole", last="Ward")
    session.commit()
    return user


@pytest.fixture
def staff(app, coordinator):
    client = app.test_client()
    login(client, coordinator.email)
    return client


@pytest.fixture
def reader(app, officer):
    client = app.test_client()
    login(client, officer.email)
    return client


def form(**fields) -> dict:
    data = {"code": "GO-2026-04", "title": "Body-worn cameras", "version": "2026-1",
            "summary": "First issue of the order.", "text": TEXT}
    data.update(fields)
    return {k: v for k, v in data.items() if v is not None}


def published(session, code: str = "GO-2026-04") -> list[CourseVersion]:
    return list(session.scalars(select(CourseVersion).join(Course).where(Course.code == code)
                                .order_by(CourseVersion.number)))


def counts(session) -> tuple[int, int, int, int]:
    return tuple(session.scalar(select(func.count()).select_from(model))
                 for model in (Course, CourseVersion, Lesson, DocumentFile))


def sign(client, code: str, name: str, shown: str | None = None):
    page = client.get(f"/documents/{code}").get_data(as_text=True)
    fingerprint = shown or re.search(r'name="sha256" type="hidden" value="([0-9a-f]{64})"', page).group(1)
    return client.post(f"/documents/{code}", data={"full_name": name, "sha256": fingerprint})


def test_a_coordinator_publishes_a_markdown_document(app, staff, session, coordinator):
    answer = staff.post("/documents/new", data=form())
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/documents")
    (version,) = published(session)
    course = version.course
    assert (course.kind, course.title, course.current_version) == ("document", "Body-worn cameras", 1)
    assert (version.policy_version, version.change_summary, version.change_kind, version.change_date) == (
        "2026-1", "First issue of the order.", None, today_for(coordinator))
    assert version.content_hash == sha256(TEXT) and [lesson.body_md for lesson in version.lessons] == [TEXT]
    assert version.questions == []
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "document.published"))
    assert (event.actor_id, event.details["version"], event.details["sha256"]) == (coordinator.id, "2026-1",
                                                                                   sha256(TEXT))

    listing = staff.get("/documents").get_data(as_text=True)
    assert "Published GO-2026-04 version 2026-1." in listing
    assert "Body-worn cameras" in listing and "/documents/GO-2026-04/publish" in listing

    make_user(session, "auditor@agency.test", role="admin", employee_id="A-1")
    session.commit()
    auditor = app.test_client()
    login(auditor, "auditor@agency.test")
    trail = auditor.get("/audit").get_data(as_text=True)
    assert "Cole Ward published version 2026-1 of the document Body-worn cameras: First issue of the order." in trail


def test_text_sent_with_the_line_endings_of_a_browser_is_kept_with_those_of_the_text(staff, session):
    assert staff.post("/documents/new", data=form(text=TEXT.replace("\n", "\r\n"))).status_code == 302
    (version,) = published(session)
    assert version.lessons[0].body_md == TEXT and version.content_hash == sha256(TEXT)


def test_a_pdf_document_is_shown_embedded_and_served_only_to_signed_in_users(app, staff, reader, session):
    data = tiny_pdf()
    answer = staff.post("/documents/new", data=form(text="", pdf=(io.BytesIO(data), "order 4.pdf")),
                        content_type="multipart/form-data")
    assert answer.status_code == 302, answer.get_data(as_text=True)
    (version,) = published(session)
    stored = session.get(DocumentFile, version.id)
    assert (stored.data, stored.sha256, stored.filename) == (data, sha256(data), "order 4.pdf")
    assert version.content_hash == sha256(data) and version.lessons == []

    page = reader.get("/documents/GO-2026-04").get_data(as_text=True)
    assert sha256(data) in page and "2026-1" in page and "First issue of the order." in page
    assert '<iframe class="rc-document-frame" src="/documents/GO-2026-04/versions/1/file"' in page
    assert 'href="/documents/GO-2026-04/versions/1/file?download=1"' in page
    shown = reader.get("/documents/GO-2026-04/versions/1/file")
    assert shown.data == data and shown.mimetype == "application/pdf"
    assert "frame-ancestors 'self'" in shown.headers["Content-Security-Policy"]
    download = reader.get("/documents/GO-2026-04/versions/1/file?download=1")
    assert download.headers["Content-Disposition"] == 'attachment; filename="order_4.pdf"'
    assert app.test_client().get("/documents/GO-2026-04/versions/1/file").status_code == 302   # to sign-in
    assert reader.get("/documents/GO-2026-04/versions/2/file").status_code == 404


@pytest.mark.parametrize("fields, field_errors", [
    (dict(code="TEST-BASICS", title="", pdf=(io.BytesIO(b"%PDF-1.7\nnot really a PDF at all"), "broken.pdf"),
          text=""),
     ["TEST-BASICS is already the code of the module Test TEST-BASICS", "Give the document a title.",
      "broken.pdf is not a readable PDF"]),
    (dict(text="", summary=""), ["Give the document&#39;s text, or upload its PDF.",
                                 "Say what this version changes"]),
    (dict(pdf=(io.BytesIO(tiny_pdf()), "order.pdf")), ["Give the text or upload a PDF, not both."]),
    (dict(text="", pdf=(io.BytesIO(tiny_pdf(encrypt=True)), "locked.pdf")), ["locked.pdf is encrypted"]),
    (dict(text="", pdf=(io.BytesIO(b""), "empty.pdf")), ["empty.pdf is empty."]),
    (dict(text="", pdf=(io.BytesIO(tiny_pdf(pages=0)), "blank.pdf")), ["blank.pdf has no pages."]),
    (dict(text="", pdf=(io.BytesIO(b"Dear all,\nplease read."), "memo.pdf")), ["memo.pdf is not a PDF file"]),
    (dict(code="go 4"), ["go 4 is not a code"]),
])
def test_bad_publications_are_refused_with_every_problem_and_nothing_is_published(staff, session, course, fields,
                                                                                  field_errors):
    before = counts(session)
    answer = staff.post("/documents/new", data=form(**fields), content_type="multipart/form-data")
    page = answer.get_data(as_text=True)
    assert answer.status_code == 422
    for error in field_errors:
        assert error in page
    assert f"{len(field_errors)} problem" in page
    assert counts(session) == before
    assert session.scalar(select(AuditEvent).where(AuditEvent.action == "document.published")) is None


def test_a_pdf_over_the_size_limit_is_refused_with_its_size():
    big = tiny_pdf() + b" " * (3 * 1048576 // 2)
    assert service.pdf_problem("big.pdf", big, limit=1048576) == "big.pdf is 1.5 MB, more than the 1 MB allowed."
    assert service.pdf_problem("fine.pdf", tiny_pdf()) is None


def test_a_code_already_used_by_a_document_or_a_version_label_already_used_is_refused(staff, session):
    staff.post("/documents/new", data=form())
    before = counts(session)
    again = staff.post("/documents/new", data=form(title="Another"))
    assert again.status_code == 422
    assert ("GO-2026-04 is already the code of the document Body-worn cameras: choose another code (or publish a "
            "new version of that document).") in again.get_data(as_text=True)
    same_label = staff.post("/documents/GO-2026-04/publish", data=form(version="2026-1", text="Changed."))
    assert same_label.status_code == 422
    assert "GO-2026-04 already has a version 2026-1" in same_label.get_data(as_text=True)
    same_text = staff.post("/documents/GO-2026-04/publish", data=form(version="2026-2"))
    assert same_text.status_code == 422
    assert "This is exactly version 2026-1: change the document, or keep it." in same_text.get_data(as_text=True)
    assert counts(session) == before


def test_an_officer_signs_and_the_acknowledgement_proves_what_they_were_shown(reader, session, officer, staff):
    staff.post("/documents/new", data=form())
    page = reader.get("/documents/GO-2026-04").get_data(as_text=True)
    assert page.count("<h1>") == 1 and "<h1>Body-worn cameras</h1>" in page and "<h2>Body-worn cameras</h2>" in page
    assert "<strong>use of force</strong>" in page
    assert sha256(TEXT) in page and "Sign version 2026-1" in page

    wrong = sign(reader, "GO-2026-04", "Someone Else")
    assert wrong.status_code == 422
    assert "Type your full name exactly as it appears on your record: Dana Cruz." in wrong.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(Acknowledgement)) == 0

    before = datetime.utcnow()
    answer = sign(reader, "GO-2026-04", "  dana   CRUZ ")
    assert answer.status_code == 302
    (version,) = published(session)
    (ack,) = session.scalars(select(Acknowledgement)).all()
    assert (ack.user_id, ack.version_id, ack.version_number, ack.kind, ack.name, ack.acknowledged_on) == (
        officer.id, version.id, 1, "document", "Dana Cruz", today_for(officer))
    assert ack.text_sha256 == sha256(TEXT) == version.content_hash
    assert before - timedelta(seconds=1) <= ack.acknowledged_at <= datetime.utcnow()
    completion = session.get(Completion, ack.completion_id)
    assert (completion.source, completion.version_id, completion.expires_on) == ("document", version.id, date.max)

    signed_page = reader.get("/documents/GO-2026-04").get_data(as_text=True)
    assert f"You signed version 2026-1 on {today_for(officer).isoformat()} as Dana Cruz." in signed_page
    again = sign(reader, "GO-2026-04", "Dana Cruz", shown=sha256(TEXT))
    assert again.status_code == 302
    assert session.scalar(select(func.count()).select_from(Acknowledgement)) == 1
    assert session.scalar(select(func.count()).select_from(Completion)) == 1

    for path in ("/training", "/history"):
        shown = reader.get(path).get_data(as_text=True)
        assert "9999" not in shown and 'href="/documents/GO-2026-04"' in shown
    history = reader.get("/history").get_data(as_text=True)
    assert "Read and signed" in history and "does not expire" in history and "certificate.pdf" not in history
    assert reader.get(f"/completions/{completion.id}/certificate.pdf").status_code == 404


def test_a_signature_of_a_version_no_longer_shown_is_refused(reader, session, staff):
    staff.post("/documents/new", data=form())
    stale = sign(reader, "GO-2026-04", "Dana Cruz", shown=sha256("an older text"))
    assert stale.status_code == 422 and "was published while you were reading it" in stale.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(Acknowledgement)) == 0


def test_a_new_version_asks_the_signers_again_and_their_signature_closes_it(app, staff, reader, session, officer,
                                                                             org):
    other = make_user(session, "never@agency.test", agency=org[0], unit=org[1], employee_id="N-1")
    session.commit()
    staff.post("/documents/new", data=form())
    sign(reader, "GO-2026-04", "Dana Cruz")
    answer = staff.post("/documents/GO-2026-04/publish",
                        data=form(code=None, version="Rev. 2", summary="Cameras stay on in hospitals.",
                                  text=TEXT + "\nKeep recording inside hospitals.\n"))
    assert answer.status_code == 302
    flashed = staff.get("/documents").get_data(as_text=True)
    assert "1 officer who signed an earlier version is asked to sign this one." in flashed
    first, second = published(session)
    assert (second.number, second.change_kind, second.policy_version, second.change_summary) == (
        2, "policy", "Rev. 2", "Cameras stay on in hospitals.")
    (update,) = session.scalars(select(Assignment).where(Assignment.closed_at.is_(None))).all()
    assert (update.user_id, update.version_id, update.reason) == (officer.id, second.id, "policy_update")
    assert update.due_on == today_for(officer) + timedelta(days=30)
    assert session.scalar(select(Assignment).where(Assignment.user_id == other.id)) is None

    page = reader.get("/documents/GO-2026-04").get_data(as_text=True)
    assert "This version asks you to sign again." in page and sha256(TEXT + "\nKeep recording inside hospitals.\n") \
        in page and "Cameras stay on in hospitals." in page
    dashboard = reader.get("/training").get_data(as_text=True)
    assert update.due_on.isoformat() in dashboard and "Read and sign" in dashboard

    assert sign(reader, "GO-2026-04", "Dana Cruz").status_code == 302
    acks = session.scalars(select(Acknowledgement).order_by(Acknowledgement.id)).all()
    assert [(a.version_number, a.kind, a.text_sha256) for a in acks] == [
        (1, "document", first.content_hash), (2, "document", second.content_hash)]
    assert acks[1].assignment_id == update.id and acks[1].completion_id is None
    session.refresh(update)
    assert update.closed_at is not None
    assert session.scalar(select(func.count()).select_from(Completion)) == 1
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "document.published")
                            .order_by(AuditEvent.id)).all()[-1]
    assert event.details["asked_again"] == 1 and event.details["number"] == 2


def test_an_officer_cannot_publish(reader, session):
    before = counts(session)
    assert reader.get("/documents/new").status_code == 403
    assert reader.post("/documents/new", data=form()).status_code == 403
    assert reader.get("/documents").status_code == 403
    assert counts(session) == before


def test_the_assign_page_lists_and_assigns_documents(staff, session, officer, coordinator, org):
    service.publish(session, service.Draft("SOP-12", "Radio discipline", "A", "First issue.", text="Keep it short."),
                    today_for(coordinator), actor_id=coordinator.id)
    session.commit()
    assert 'value="SOP-12"' in staff.get("/assign").get_data(as_text=True)
    due = (today_for(coordinator) + timedelta(days=10)).isoformat()
    answer = staff.post("/assign", data={"courses": ["SOP-12"], "target": "unit", "unit": org[1].code, "due_on": due})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assignment = session.scalar(select(Assignment).where(Assignment.user_id == officer.id))
    assert (assignment.course.code, assignment.due_on.isoformat(), assignment.reason) == ("SOP-12", due, "unit")


def test_a_document_is_assigned_like_a_module_and_opens_on_its_own_page(runner, reader, session, officer,
                                                                         coordinator):
    service.publish(session, service.Draft("SOP-12", "Radio discipline", "A", "First issue.", text="Keep it short."),
                    today_for(coordinator), actor_id=coordinator.id)
    session.commit()
    due = (today_for(officer) + timedelta(days=14)).isoformat()
    result = runner.invoke(args=["assign", "--course", "SOP-12", "--officer", officer.employee_id, "--due", due])
    assert result.exit_code == 0, result.output
    assignment = session.scalar(select(Assignment).where(Assignment.user_id == officer.id))
    assert (assignment.due_on.isoformat(), assignment.reason, assignment.closed_at) == (due, "individual", None)

    dashboard = reader.get("/training").get_data(as_text=True)
    assert 'href="/documents/SOP-12"' in dashboard and "/courses/SOP-12" not in dashboard
    redirected = reader.get("/courses/SOP-12")
    assert redirected.status_code == 302 and redirected.headers["Location"].endswith("/documents/SOP-12")
    assert reader.post("/courses/SOP-12/quiz").status_code == 302

    assert sign(reader, "SOP-12", "Dana Cruz").status_code == 302
    session.refresh(assignment)
    assert assignment.closed_at is not None and assignment.completion_id is not None
    # Signed documents never come up for renewal, however far ahead the sweep runs.
    assert create_renewal_assignments(session, today_for(officer) + timedelta(days=365 * 50)) == {}


def test_a_reminder_of_a_document_leads_to_its_reading_page(app, runner, smtp, session, officer, coordinator):
    service.publish(session, service.Draft("SOP-12", "Radio discipline", "A", "First issue.", text="Keep it short."),
                    today_for(coordinator), actor_id=coordinator.id)
    due = today_for(officer) + timedelta(days=7)
    session.add(Assignment(user_id=officer.id, course_id=service.document_by_code(session, "SOP-12").id,
                           due_on=due, reason="individual"))
    session.commit()
    result = runner.invoke(args=["reminders", "run", "--as-of", today_for(officer).isoformat(), "--wait", "0"])
    assert result.exit_code == 0, result.output
    (message,) = smtp.messages
    text = message.get_body(("plain",)).get_content()
    assert f"Read and sign it here:\n{app.config['BASE_URL']}/documents/SOP-12\n" in text
    assert text.startswith('Dana,\n\nThe document to read and sign "Radio discipline" (SOP-12) is due in 7 days.')
    assert "quiz" not in text and "module" not in message.get_body(("html",)).get_content()
