"""The officer transcript: every completion, imported record and attempt, printable."""
import re

import pytest

from tests.support.factories import certify, make_org, make_user
from tests.support.pages import answer_form, latest_attempt, login, open_all_lessons
from tests.support.paths import ROOT
from training.assets import manifest
from training.records.codes import display


def rows(page: str, caption: str) -> list[str]:
    table = page.split(caption, 1)[1].split("</table>", 1)[0]
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip() for row in table.split("<tr>")[2:]]


def test_officer_sees_every_record_of_their_own(client, session, officer, course):
    imported = certify(session, officer, course, days_ago=700, score=None, source="import")
    login(client, officer.email)
    open_all_lessons(client, "TEST-BASICS")
    client.post("/courses/TEST-BASICS/quiz")
    failed = latest_attempt(session, officer)
    client.post(f"/attempts/{failed.id}", data=answer_form(session, failed, correct=2))
    client.post(f"/attempts/{failed.id}/result")
    client.post("/courses/TEST-BASICS/quiz")
    passed = latest_attempt(session, officer)
    client.post(f"/attempts/{passed.id}", data=answer_form(session, passed, correct=10))
    client.post(f"/attempts/{passed.id}/result", data={"full_name": "Dana Cruz"})

    page = client.get("/history").get_data(as_text=True)
    completions = rows(page, "Completions and imported records")
    assert len(completions) == 2
    newest, oldest = completions
    assert newest.startswith("Test TEST-BASICS TEST-BASICS version 1 ") and "Quiz, 100% Valid" in newest
    assert "version not recorded" in oldest and "Imported Superseded" in oldest
    assert display(imported.verification_code) in oldest
    attempts = rows(page, "Quiz attempts")
    assert len(attempts) == 2 and "Passed" in attempts[0] and "20% Not passed" in attempts[1]
    assert page.count("certificate.pdf") == 2 and "/revoke" not in page
    assert 'data-print>Print this transcript</button>' in page and re.search(r"/static/dist/app\.\w+\.js", page)


def test_print_stylesheet_hides_navigation(app):
    css = (ROOT / "static" / "dist" / manifest(app)["styles.css"]).read_text()
    media = css.split("@media print", 1)[1]
    assert all(hidden in media for hidden in (".rc-header", ".usa-footer", ".usa-identifier", ".rc-no-print"))
    assert "display:none" in media


@pytest.mark.parametrize("role, agency_code, allowed, downloads", [
    ("compliance", "AGY", True, True), ("coordinator", "AGY", True, False), ("admin", None, True, True),
    ("compliance", "OTH", False, False), ("coordinator", "OTH", False, False), ("officer", "AGY", False, False),
])
def test_staff_see_transcripts_in_their_scope_only(client, session, officer, course, role, agency_code, allowed,
                                                    downloads):
    certify(session, officer, course, days_ago=30)
    agency = officer.agency if agency_code == "AGY" else make_org(session, agency_code)[0] if agency_code else None
    make_user(session, "viewer@elsewhere.test", role=role, agency=agency, employee_id="V-1")
    session.commit()
    login(client, "viewer@elsewhere.test")
    response = client.get(f"/officers/{officer.id}/transcript")
    page = response.get_data(as_text=True)
    if not allowed:
        assert response.status_code == 404 and "Dana" not in page
        assert client.get("/officers/999999/transcript").status_code == 404
        return
    assert response.status_code == 200 and "Transcript: Dana Cruz" in page
    assert ("certificate.pdf" in page) == downloads and ("/revoke" in page) == downloads
    if role != "admin":
        officer_page = client.get(f"/officers/{officer.id}").get_data(as_text=True)
        assert f"/officers/{officer.id}/transcript" in officer_page
