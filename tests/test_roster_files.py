"""Roster files: `flask export roster` with filters, and the XLSX workbook read back with openpyxl."""
import csv
import io
from datetime import datetime, timedelta

import openpyxl
import pytest
from sqlalchemy import select

from tests.support.pages import login
from tests.support.roster_world import build_world
from training.audit.models import AuditEvent
from training.reports.service import ROSTER_COLUMNS


@pytest.fixture
def world(session, course):
    return build_world(session, course)


def read_csv_file(path) -> dict[tuple[str, str], dict]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw
    return {(r["employee_id"], r["course_code"]): r for r in csv.DictReader(io.StringIO(raw.decode("utf-8-sig")))}


def export(runner, out, *args):
    return runner.invoke(args=["export", "roster", "--out", str(out), *args])


def test_cli_filters_and_as_of(runner, session, world, tmp_path):
    out = tmp_path / "roster.csv"
    result = export(runner, out, "--unit", "AAA-U1", "--as-of", world.past.isoformat())
    assert result.exit_code == 0, result.output
    rows = read_csv_file(out)
    assert set(rows) == {("A-1", "TEST-BASICS"), ("A-1", "FIRST-AID"), ("A-2", "TEST-BASICS"), ("A-5", "TEST-BASICS")}
    assert rows["A-5", "TEST-BASICS"]["status"] == "overdue" and rows["A-2", "TEST-BASICS"]["status"] == "current"
    assert rows["A-1", "TEST-BASICS"]["last_name"] == "'=Cmd"
    assert "Wrote 4 rows" in result.output
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "export.roster"))
    assert event.details["filters"] == {"unit": "AAA-U1", "as_of": world.past.isoformat()}
    assert (event.details["rows"], event.details["via"], event.details["as_of"]) == (4, "cli", world.past.isoformat())

    assert export(runner, out, "--status", "expiring", "--agency", "AAA").exit_code == 0
    assert set(read_csv_file(out)) == {("A-2", "TEST-BASICS")}
    assert export(runner, out, "--course", "TEST-BASICS", "--agency", "BBB").exit_code == 0
    assert set(read_csv_file(out)) == {("B-1", "TEST-BASICS")}
    today = world.today
    result = export(runner, out, "--completed-from", (today - timedelta(days=160)).isoformat(),
                    "--expiring-before", (today + timedelta(days=300)).isoformat())
    assert result.exit_code == 0
    assert set(read_csv_file(out)) == {("A-1", "TEST-BASICS"), ("A-5", "TEST-BASICS")}


@pytest.mark.parametrize("args, code, message", [
    (["--unit", "NOPE"], 1, "--unit: no unit with the code 'NOPE'"),
    (["--agency", "ZZZ"], 1, "--agency: no agency with the code 'ZZZ'"),
    (["--course", "NOPE"], 1, "--course: no active course"),
    (["--completed-from", "2026-02-01", "--completed-to", "2026-01-01"], 1, "before the 'completed from' date"),
    (["--status", "asleep"], 2, "Invalid value for '--status'"),
    (["--expiring-before", "soon"], 2, "not a date"),
    (["--as-of", "2999-01-01"], 1, "in the future"),
])
def test_cli_refuses_bad_filters_and_writes_nothing(runner, session, world, tmp_path, args, code, message):
    out = tmp_path / "roster.csv"
    result = export(runner, out, *args)
    assert result.exit_code == code and message in result.output, result.output
    assert not out.exists() and not out.with_name("roster.csv.part").exists()
    assert session.scalar(select(AuditEvent).where(AuditEvent.action == "export.roster")) is None


def check_workbook(path_or_bytes, world, rows_expected: int, who: str) -> dict:
    book = openpyxl.load_workbook(path_or_bytes if not isinstance(path_or_bytes, bytes) else io.BytesIO(path_or_bytes))
    assert book.sheetnames == ["Roster", "Filters"]
    sheet = book["Roster"]
    assert sheet.freeze_panes == "A2"
    values = list(sheet.iter_rows(values_only=True))
    assert values[0] == ROSTER_COLUMNS and len(values) == rows_expected + 1
    cells = {(row[0].value, row[5].value): row for row in sheet.iter_rows(min_row=2)}
    ada = cells["A-1", "TEST-BASICS"]
    name = ada[ROSTER_COLUMNS.index("last_name")]
    assert (name.value, name.data_type) == ("=Cmd", "s")   # text, never a formula
    completed = ada[ROSTER_COLUMNS.index("completed_on")]
    assert completed.is_date and completed.value == datetime.combine(world.today - timedelta(days=100),
                                                                     datetime.min.time())
    assert completed.number_format == "yyyy-mm-dd"
    assert ada[ROSTER_COLUMNS.index("score")].value == 95
    assert ada[ROSTER_COLUMNS.index("due_on")].value is None
    if ("A-2", "TEST-BASICS") in cells:
        bo = cells["A-2", "TEST-BASICS"][ROSTER_COLUMNS.index("last_name")]
        assert (bo.value, bo.data_type) == ("@Bee", "s")
    notes = dict(book["Filters"].iter_rows(min_row=2, values_only=True))
    assert notes["rows"] == str(rows_expected) and notes["exported_by"].startswith(who)
    assert notes["exported_at"].endswith("Z")
    return notes


def test_cli_xlsx(runner, world, tmp_path):
    out = tmp_path / "roster.xlsx"
    result = export(runner, out, "--format", "xlsx", "--agency", "AAA", "--status", "current")
    assert result.exit_code == 0, result.output
    notes = check_workbook(out, world, 2, "")
    assert (notes["agency"], notes["status"], notes["as_of"]) == ("AAA", "current", world.today.isoformat())
    assert "(command line)" in notes["exported_by"]


def test_web_xlsx(client, session, world):
    login(client, "compliance@a.test")
    response = client.get("/reports/roster/download", query_string={"format": "xlsx", "unit": "AAA-U1"})
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert f"roster-AAA-AAA-U1-{world.today.isoformat()}.xlsx" in response.headers["Content-Disposition"]
    notes = check_workbook(response.get_data(), world, 5, "compliance@a.test")
    assert notes["unit"] == "AAA-U1" and "agency" not in notes
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "export.roster"))
    assert (event.details["format"], event.details["rows"], event.actor_id) == (
        "xlsx", 5, world.users["compliance_a"].id)


def test_xlsx_without_filters_says_so(client, world):
    login(client, "compliance@a.test")
    response = client.get("/reports/roster/download", query_string={"format": "xlsx"})
    notes = check_workbook(response.get_data(), world, 6, "compliance@a.test")
    assert notes["filters"] == "none"
