"""`export acknowledgements`: who signed which version of each module and document, now and as of a past day."""
import csv
import re
from datetime import timedelta

import openpyxl
import pytest
from sqlalchemy import select

from tests.support.pages import login
from tests.support.version_world import build_version_world
from training.audit.models import AuditEvent

HEADER = ["employee_id", "last_name", "first_name", "agency", "unit", "document", "version", "status", "due_on",
          "acknowledged_on"]


@pytest.fixture
def world(session, app, course, org):
    return build_version_world(session, app, course, org)


def export(runner, tmp_path, *args, name="acks.csv"):
    out = tmp_path / name
    result = runner.invoke(args=["export", "acknowledgements", "--out", str(out), *args])
    return result, out


def read(path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle))


def by_officer(rows: list[list[str]]) -> dict[tuple[str, str], dict[str, str]]:
    return {(r[0], r[5]): dict(zip(HEADER, r, strict=True)) for r in rows[1:]}


def test_csv_header_and_rows_now(runner, tmp_path, world):
    result, out = export(runner, tmp_path)
    assert result.exit_code == 0, result.output
    rows = read(out)
    assert rows[0] == HEADER
    assert f"Wrote {len(rows) - 1} rows" in result.output
    got = by_officer(rows)
    update_due = (world.published + timedelta(days=3)).isoformat()
    v1_signed = (world.today - timedelta(days=50)).isoformat()
    assert got[("E-ADA", "TEST-BASICS")] == {
        "employee_id": "E-ADA", "last_name": "Adason", "first_name": "Ada", "agency": "AGY", "unit": "AGY-U1",
        "document": "TEST-BASICS", "version": "v1", "status": "overdue", "due_on": update_due,
        "acknowledged_on": v1_signed}
    bo = got[("E-BO", "TEST-BASICS")]
    assert (bo["version"], bo["status"], bo["due_on"], bo["acknowledged_on"]) == (
        "v2", "acknowledged", "", world.signed_v2.isoformat())
    cy = got[("E-CY", "TEST-BASICS")]
    assert (cy["version"], cy["status"]) == ("", "exempt")
    dee = got[("E-DEE", "TEST-BASICS")]
    assert (dee["version"], dee["status"], dee["due_on"], dee["acknowledged_on"]) == (
        "", "due", (world.today + timedelta(days=10)).isoformat(), "")
    directive = got[("E-DEE", "DIR-2026-01")]
    assert (directive["version"], directive["status"], directive["acknowledged_on"]) == (
        "Directive 2026-01", "acknowledged", (world.today - timedelta(days=5)).isoformat())
    assert len(got) == 5


def test_as_of_before_the_policy_change_nobody_is_due_for_it(runner, tmp_path, world):
    day = world.published - timedelta(days=1)
    result, out = export(runner, tmp_path, "--as-of", day.isoformat())
    assert result.exit_code == 0, result.output
    assert f"as of {day.isoformat()} (given)" in result.output
    got = by_officer(read(out))
    for who in ("E-ADA", "E-BO"):
        row = got[(who, "TEST-BASICS")]
        assert (row["version"], row["status"], row["due_on"]) == ("v1", "acknowledged", "")
    assert got[("E-CY", "TEST-BASICS")]["status"] == "exempt"
    # Dee signed the directive after this day: it does not count yet.
    directive = got[("E-DEE", "DIR-2026-01")]
    assert (directive["version"], directive["status"], directive["acknowledged_on"]) == ("", "due", "")


def test_as_of_after_the_change_an_acknowledgement_made_later_does_not_count(runner, tmp_path, world):
    day = world.signed_v2 - timedelta(days=1)
    _, out = export(runner, tmp_path, "--as-of", day.isoformat())
    got = by_officer(read(out))
    update_due = (world.published + timedelta(days=3)).isoformat()
    for who in ("E-ADA", "E-BO"):
        row = got[(who, "TEST-BASICS")]
        assert (row["version"], row["status"], row["due_on"]) == ("v1", "overdue", update_due), who
    _, out = export(runner, tmp_path, "--as-of", world.signed_v2.isoformat(), name="later.csv")
    bo = by_officer(read(out))[("E-BO", "TEST-BASICS")]
    assert (bo["version"], bo["status"], bo["acknowledged_on"]) == ("v2", "acknowledged", world.signed_v2.isoformat())


def test_as_of_the_day_the_update_was_published_it_is_due_not_overdue(runner, tmp_path, world):
    _, out = export(runner, tmp_path, "--as-of", world.published.isoformat())
    ada = by_officer(read(out))[("E-ADA", "TEST-BASICS")]
    assert (ada["version"], ada["status"]) == ("v1", "due")


def test_document_filter_takes_a_module_or_a_document_code(runner, tmp_path, world):
    _, out = export(runner, tmp_path, "--document", "TEST-BASICS")
    assert {r[5] for r in read(out)[1:]} == {"TEST-BASICS"} and len(read(out)) == 5
    _, out = export(runner, tmp_path, "--document", "DIR-2026-01", name="dir.csv")
    assert [(r[0], r[5]) for r in read(out)[1:]] == [("E-DEE", "DIR-2026-01")]
    _, out = export(runner, tmp_path, "--course", "DIR-2026-01", name="course.csv")
    assert [(r[0], r[5]) for r in read(out)[1:]] == [("E-DEE", "DIR-2026-01")]


def test_unknown_document_is_refused_and_nothing_is_written(runner, session, tmp_path, world):
    result, out = export(runner, tmp_path, "--document", "NO-SUCH-CODE")
    assert result.exit_code == 1
    assert "--document: no module or document with the code 'NO-SUCH-CODE'" in result.output
    assert not out.exists() and not out.with_name("acks.csv.part").exists()
    clash, _ = export(runner, tmp_path, "--document", "TEST-BASICS", "--course", "DIR-2026-01")
    assert clash.exit_code == 1 and "name different modules" in clash.output
    assert session.scalar(select(AuditEvent).where(AuditEvent.action == "export.acknowledgements")) is None


def test_status_and_place_filters(runner, tmp_path, world):
    _, out = export(runner, tmp_path, "--status", "overdue")
    assert [r[0] for r in read(out)[1:]] == ["E-ADA"]
    _, out = export(runner, tmp_path, "--status", "acknowledged", "--unit", "AGY-U1", name="unit.csv")
    assert sorted((r[0], r[5]) for r in read(out)[1:]) == [("E-BO", "TEST-BASICS"), ("E-DEE", "DIR-2026-01")]
    bad = runner.invoke(args=["export", "acknowledgements", "--out", str(tmp_path / "x.csv"), "--status", "current"])
    assert bad.exit_code == 2 and "acknowledged" in bad.output
    refused, _ = export(runner, tmp_path, "--agency", "NOPE", name="nope.csv")
    assert refused.exit_code == 1 and "--agency: no agency with the code 'NOPE'" in refused.output


def test_xlsx_has_the_same_rows(runner, tmp_path, world):
    _, csv_out = export(runner, tmp_path)
    result, out = export(runner, tmp_path, "--format", "xlsx", name="acks.xlsx")
    assert result.exit_code == 0, result.output
    sheet = openpyxl.load_workbook(out, read_only=True)["Acknowledgements"]
    cells = [["" if v is None else v.date().isoformat() if hasattr(v, "date") else str(v) for v in row]
             for row in sheet.iter_rows(values_only=True)]
    assert cells == read(csv_out)
    notes = dict(openpyxl.load_workbook(out, read_only=True)["Filters"].iter_rows(min_row=2, values_only=True))
    assert notes["filters"] == "none" and notes["rows"] == "5"


def test_each_export_is_audited(runner, session, tmp_path, world):
    export(runner, tmp_path, "--document", "TEST-BASICS", "--as-of", world.published.isoformat())
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "export.acknowledgements"))
    assert event.details["rows"] == 4 and event.details["via"] == "cli"
    assert event.details["filters"] == {"document": "TEST-BASICS", "as_of": world.published.isoformat()}
    assert event.target == f"acknowledgements-TEST-BASICS-{world.published.isoformat()}.csv"


def test_the_roster_export_page_offers_the_same_download(client, session, world):
    login(client, world.compliance.email)
    page = client.get("/reports/roster").get_data(as_text=True)
    assert "Who acknowledged which version" in page and 'name="ack-status"' in page
    response = client.get("/reports/acknowledgements/download", query_string={
        "ack-document": "TEST-BASICS", "ack-status": "overdue", "ack-format": "csv"})
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "acknowledgements-AGY-TEST-BASICS-overdue-" in response.headers["Content-Disposition"]
    rows = list(csv.reader(response.get_data(as_text=True).lstrip("\ufeff").splitlines()))
    assert rows[0] == HEADER and [r[0] for r in rows[1:]] == ["E-ADA"]
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "export.acknowledgements"))
    assert event.actor_id == world.compliance.id and event.details["rows"] == 1 and event.details["via"] == "web"
    xlsx = client.get("/reports/acknowledgements/download", query_string={"ack-format": "xlsx"})
    assert xlsx.status_code == 200 and xlsx.mimetype.endswith("spreadsheetml.sheet")


def test_the_page_refuses_an_unknown_document_on_its_field(client, world):
    login(client, world.compliance.email)
    response = client.get("/reports/acknowledgements/download", query_string={"ack-document": "NOPE"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "No module or document with the code &#39;NOPE&#39;." in page
    assert 'href="#ack-document"' in page


def test_the_compliance_home_offers_it_again(client, world):
    login(client, world.compliance.email)
    client.get("/reports/acknowledgements/download", query_string={"ack-status": "overdue", "ack-format": "csv"})
    page = client.get("/").get_data(as_text=True)
    again = next(h.replace("&amp;", "&") for h in re.findall(r'href="([^"]+)"', page)
                 if h.startswith("/reports/acknowledgements/download"))
    assert "ack-status=overdue" in again and "ack-format=csv" in again
    rows = client.get(again).get_data(as_text=True).lstrip("\ufeff").splitlines()
    assert [line.split(",")[0] for line in rows[1:]] == ["E-ADA"]


def test_the_export_streams_in_flat_memory(app, session, course, tmp_path):
    """Ten times the officers, about the same peak memory: rows are written as the database sends them."""
    import tracemalloc
    from datetime import date

    from tests.support.factories import PASSWORD
    from tests.test_statements import empty_database
    from training.auth.service import hash_password
    from training.clock import server_today
    from training.demo.scale import seed_scale
    from training.reports.acknowledgements import (
        ACKNOWLEDGEMENT_COLUMNS,
        AcknowledgementFilters,
        acknowledgement_rows,
        build_acknowledgements,
    )
    from training.spreadsheet import csv_chunks

    def written(officers: int) -> tuple[int, int]:
        empty_database(app, session)
        seed_scale(session, date.today(), officers, hash_password(PASSWORD), seed=5)
        session.commit()
        export = build_acknowledgements(session, None, AcknowledgementFilters(), server_today())
        lines = 0
        with (tmp_path / "acks.csv").open("w", encoding="utf-8") as handle:
            tracemalloc.start()
            for chunk in csv_chunks(ACKNOWLEDGEMENT_COLUMNS, acknowledgement_rows(session, export, batch=200),
                                    batch=200):
                handle.write(chunk)
                lines += chunk.count("\n")
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
        return lines - 1, peak

    written(100)    # the first run compiles and caches the statements
    few, few_peak = written(100)
    many, many_peak = written(1000)
    assert many > 8 * few > 0
    assert many_peak < 1.5 * few_peak, (few, few_peak, many, many_peak)


def test_a_pair_nothing_requires_any_more_is_left_out(runner, session, tmp_path, world):
    from training.assignments.manage import manage_assignments
    from training.people.models import User

    manage_assignments(session, "withdraw", world.course, select(User.id).where(User.id == world.dee.id),
                       reason="Assigned by mistake", today=world.today)
    session.commit()
    _, out = export(runner, tmp_path)
    rows = by_officer(read(out))
    assert ("E-DEE", "TEST-BASICS") not in rows and ("E-DEE", "DIR-2026-01") in rows
