"""A hostile name, unit or course title stays text: escaped in pages and mail, literal in the PDF, inert in CSV."""
from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pypdf import PdfReader
from sqlalchemy import update

from tests.support.factories import make_user
from tests.support.fuzz import FUZZ, NASTY
from tests.support.pages import login
from training.catalog.models import Course, CourseVersion
from training.catalog.service import current_version
from training.people.models import Unit
from training.records.certificate import CertificateFacts, certificate_pdf
from training.records.models import Assignment
from training.records.service import record_completion

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
DUE = date(2026, 12, 15)
# Names as a database column holds them: up to 200 characters of anything storable.
TEXT_LONG = st.one_of(NASTY.map(lambda s: s.replace("\x00", "")[:200]).filter(bool),
                      st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"),
                              min_size=1, max_size=200))


def assert_escaped(html: str, where: str) -> None:
    assert "<script>alert(1)" not in html and "<img src=x" not in html, where
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, where


@pytest.fixture
def hostile(session, org, course):
    """An officer, their unit, their supervisor's team and the course, all named to break out of HTML."""
    agency, unit = org
    session.execute(update(Unit).where(Unit.id == unit.id).values(name=f"{SCRIPT} {IMG}"))
    session.execute(update(Course).where(Course.id == course.id).values(title=f"{SCRIPT} {IMG}"))
    session.execute(update(CourseVersion).where(CourseVersion.course_id == course.id).values(title=f"{SCRIPT} {IMG}"))
    boss = make_user(session, "boss@agency.test", agency=agency, unit=unit, first=SCRIPT, last=IMG, employee_id="B1")
    officer = make_user(session, "officer@agency.test", agency=agency, unit=unit, first=SCRIPT, last=IMG,
                        employee_id="E1", supervisor_id=boss.id)
    for role in ("coordinator", "compliance", "admin"):
        make_user(session, f"{role}@agency.test", role=role, agency=agency, unit=unit)
    session.add(Assignment(user_id=officer.id, course_id=course.id, due_on=DUE, reason="individual"))
    session.flush()
    completion = record_completion(session, boss, course, date.today() - timedelta(days=5),
                                   version_id=current_version(session, course).id, score=90, source="quiz")
    session.commit()
    return {"officer": officer, "boss": boss, "completion": completion, "unit": unit}


def test_pages_escape_names_units_and_course_titles(client, hostile):
    officer, boss = hostile["officer"], hostile["boss"]
    for role, paths in [("officer", ["/", "/history", "/courses/TEST-BASICS", "/reminders"]),
                        ("boss", ["/team", f"/officers/{officer.id}"]),
                        ("coordinator", ["/units", "/units/AGY-U1", f"/officers/{officer.id}",
                                         f"/officers/{officer.id}/transcript", "/rules", "/assign"]),
                        ("admin", ["/admin/users", "/admin/org", f"/admin/users/{officer.id}", "/admin/org/units/AGY-U1",
                                   f"/completions/{hostile['completion'].id}/revoke", f"/officers/{boss.id}/transcript"])]:
        client.post("/logout")
        login(client, f"{role}@agency.test")
        for path in paths:
            response = client.get(path)
            assert response.status_code == 200, path
            assert_escaped(response.text, path)
    code = hostile["completion"].verification_code
    assert_escaped(client.get(f"/verify/{code}").text, "/verify")


def test_an_import_preview_escapes_what_the_file_says(client, hostile):
    login(client, "admin@agency.test")
    data = ("employee_id,first_name,last_name,email,agency,unit,supervisor_employee_id\n"
            f'E-9,{SCRIPT},"{IMG.replace(chr(34), chr(34) * 2)}",new@agency.test,AGY,AGY-U1,\n').encode()
    response = client.post("/imports/roster", data={"file": (io.BytesIO(data), "x.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 200
    assert_escaped(response.text, "preview")


def test_mails_escape_names_and_course_titles(client, runner, smtp, hostile):
    assert runner.invoke(args=["reminders", "run", "--as-of", (DUE - timedelta(days=1)).isoformat(),
                               "--wait", "0"]).exit_code == 0
    assert runner.invoke(args=["reminders", "run", "--as-of", (DUE + timedelta(days=7)).isoformat(),
                               "--wait", "0"]).exit_code == 0
    login(client, "coordinator@agency.test")
    client.post("/remind", data={"officer": str(hostile["officer"].id), "next": "/units/AGY-U1"})
    kinds = set()
    for message in smtp.messages:
        html = message.get_body(("html",)).get_content()
        assert_escaped(html, message["Subject"])
        text = message.get_body(("plain",)).get_content()
        assert SCRIPT in text   # plain text is shown as it is, never run
        kinds.add(message["To"])
    assert kinds == {"officer@agency.test", "boss@agency.test"}
    assert len(smtp.messages) >= 3   # the reminder, the overdue digest, the coordinator's nudge


def test_the_certificate_prints_names_and_titles_as_they_are(client, hostile):
    login(client, "compliance@agency.test")
    response = client.get(f"/completions/{hostile['completion'].id}/certificate.pdf")
    assert response.status_code == 200
    text = "".join(PdfReader(io.BytesIO(response.data)).pages[0].extract_text().split())
    for said in (SCRIPT, IMG):
        assert "".join(said.split()) in text


FORMULAS = ["=HYPERLINK(\"http://evil.test\",\"x\")", "+1+1", "-2+3", "@SUM(A1:A9)", "\tcmd", "\rcmd"]


def test_exports_neutralise_cells_a_spreadsheet_would_run(client, session, course, hostile):
    agency_unit = hostile["unit"]
    for n, formula in enumerate(FORMULAS):
        user = make_user(session, f"f{n}@agency.test", agency=agency_unit.agency, unit=agency_unit, first=formula,
                         last=formula, employee_id=formula if n < 4 else f"F{n}")
        session.add(Assignment(user_id=user.id, course_id=course.id, due_on=DUE, reason="individual"))
    session.commit()
    login(client, "compliance@agency.test")
    response = client.get("/reports/roster.csv")
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    cells = [cell for row in rows[1:] for cell in row]
    for formula in FORMULAS:
        assert formula not in cells and "'" + formula in cells, formula
    assert not [cell for cell in cells if cell[:1] in ("=", "+", "-", "@", "\t", "\r")]
    assert "'" + IMG not in cells and IMG in " ".join(cells)   # only formulas change; other text is as it is


@settings(FUZZ, max_examples=12)
@given(name=TEXT_LONG, title=TEXT_LONG, agency=st.one_of(st.none(), TEXT_LONG))
def test_a_certificate_prints_whatever_the_names_are(name, title, agency):
    facts = CertificateFacts(name, "E1", agency, title, "TEST-BASICS", 1, date(2024, 2, 29), date(2025, 2, 28),
                             "K7QM2XRP9D4BHT3W", "http://127.0.0.1:5000/verify/K7QM-2XRP-9D4B-HT3W")
    assert certificate_pdf(facts).startswith(b"%PDF")
