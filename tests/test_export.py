"""The roster export: columns, statuses, neutralised cells and scope."""
import csv
import io
import itertools
import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.support.factories import make_org, make_user
from tests.support.pages import login
from tests.support.statements import count_statements
from training.audit.models import AuditEvent
from training.clock import today_for
from training.records.models import Assignment, Completion
from training.records.status import run_states
from training.reports import export, service
from training.reports.filters import RosterFilters, build_roster
from training.reports.service import ROSTER_COLUMNS, roster_row, roster_rows
from training.spreadsheet import neutralise

HEADER = "employee_id,last_name,first_name,agency,unit,course_code,course_title,course_version,status,due_on,completed_on,score,expires_on"


def read_csv(response):
    text = response.get_data().decode("utf-8-sig")
    return text, list(csv.DictReader(io.StringIO(text)))


def test_neutralise_formula_cells():
    for value in ["=1+2", "+1", "-1", "@SUM(A1)", "\tx", "\rx"]:
        assert neutralise(value) == "'" + value
    assert neutralise("O'Brien") == "O'Brien" and neutralise(None) == ""


def test_csv_has_the_contract_columns_and_values(client, session, course, org):
    agency, unit = org
    compliance = make_user(session, "compliance@agency.test", role="compliance", agency=agency)
    done = make_user(session, "done@agency.test", agency=agency, unit=unit, first="Ada", last="=HYPERLINK(1)",
                     employee_id="E-1")
    due = make_user(session, "due@agency.test", agency=agency, unit=unit, first="Bo", last="Zed", employee_id="@E-2")
    today = today_for(done)
    session.add(Completion(user_id=done.id, course_id=course.id, version_id=None, completed_on=today,
                           expires_on=today + timedelta(days=365), score=90, source="import"))
    session.add(Assignment(user_id=due.id, course_id=course.id, due_on=today - timedelta(days=1), reason="individual"))
    session.commit()
    login(client, compliance.email)
    response = client.get("/reports/roster.csv")
    assert response.mimetype == "text/csv" and "attachment" in response.headers["Content-Disposition"]
    text, rows = read_csv(response)
    assert text.splitlines()[0] == HEADER == ",".join(ROSTER_COLUMNS)
    assert "\r\n" in text
    first, second = rows
    assert first["last_name"] == "'=HYPERLINK(1)" and first["status"] == "current"
    assert first["completed_on"] == today.isoformat() and first["score"] == "90"
    assert first["expires_on"] == (today + timedelta(days=365)).isoformat()
    assert second["employee_id"] == "'@E-2" and second["status"] == "overdue"
    assert second["due_on"] == (today - timedelta(days=1)).isoformat() and second["completed_on"] == ""
    assert session.scalar(select(AuditEvent).where(AuditEvent.action == "export.roster")).actor_id == compliance.id


def test_compliance_sees_only_their_agency(client, session, course):
    a, a_unit = make_org(session, "AAA")
    b, b_unit = make_org(session, "BBB")
    mine = make_user(session, "mine@a.test", agency=a, unit=a_unit)
    theirs = make_user(session, "theirs@b.test", agency=b, unit=b_unit)
    make_user(session, "compliance@a.test", role="compliance", agency=a)
    today = today_for(mine)
    for user in (mine, theirs):
        session.add(Assignment(user_id=user.id, course_id=course.id, due_on=today, reason="agency"))
    session.commit()
    login(client, "compliance@a.test")
    _, rows = read_csv(client.get("/reports/roster.csv"))
    assert [r["employee_id"] for r in rows] == ["MINE"]


def test_extensions_and_exemptions_show_in_the_export(client, session, course, org):
    from training.assignments.service import extend_assignment, grant_exemption
    agency, unit = org
    make_user(session, "compliance@agency.test", role="compliance", agency=agency)
    late = make_user(session, "late@agency.test", agency=agency, unit=unit, first="Al", last="Late", employee_id="E-1")
    away = make_user(session, "away@agency.test", agency=agency, unit=unit, first="Bea", last="Away", employee_id="E-2")
    today = today_for(late)
    overdue = Assignment(user_id=late.id, course_id=course.id, due_on=today - timedelta(days=3), reason="unit")
    session.add_all([overdue, Assignment(user_id=away.id, course_id=course.id, due_on=today - timedelta(days=3),
                                         reason="unit")])
    session.flush()
    extend_assignment(session, overdue, today + timedelta(days=20), "Back from surgery next week", actor_id=None)
    grant_exemption(session, away.id, course.id, today, today + timedelta(days=90), "Deployed overseas",
                    actor_id=None)
    session.commit()
    login(client, "compliance@agency.test")
    _, rows = read_csv(client.get("/reports/roster.csv"))
    by_id = {r["employee_id"]: r for r in rows}
    assert (by_id["E-1"]["status"], by_id["E-1"]["due_on"]) == ("assigned", (today + timedelta(days=20)).isoformat())
    assert by_id["E-2"]["status"] == "exempt"


def test_the_roster_streams_a_slice_of_officers_at_a_time(client, session, course, org, connection, monkeypatch):
    """The export reads a few officers at a time in the roster's order: its first rows come after a few slices'
    statements whatever the number of officers, and the rows are those of the roster read at once, in the same
    order, also where officers of the same name straddle two slices and the last slice is full."""
    agency, unit = org
    names = [("Lee", "Sam"), ("Abe", "Zed"), ("Lee", "Sam"), ("Zu", "Al"), ("Lee", "Sam"), ("Lee", "Ann")]
    officers = [make_user(session, f"o{i}@agency.test", agency=agency, unit=unit, first=first, last=last)
                for i, (last, first) in enumerate(names)]
    make_user(session, "gone@agency.test", agency=agency, unit=unit, first="Sam", last="Lee", active=False)
    today = today_for(officers[0])
    for i, officer in enumerate(officers):
        session.add(Assignment(user_id=officer.id, course_id=course.id, due_on=today + timedelta(days=i - 3),
                               reason="individual"))
    session.commit()
    viewer = make_user(session, "compliance@agency.test", role="compliance", agency=agency)
    for filters in (RosterFilters(), RosterFilters(status="overdue")):
        roster = build_roster(session, viewer, filters, today)
        whole = [roster_row(state) for state in run_states(session, roster.statement, roster.on)]
        for size in (1, 2, 3, 7, 8):
            monkeypatch.setattr(service, "ROSTER_SLICE", size)
            assert list(roster_rows(session, roster)) == whole, (filters, size)
    # One person a slice (the seven active in the agency, the viewer among them), two statements each, and one
    # more as the last slice is full: the first rows come while at most the next three slices are read ahead.
    monkeypatch.setattr(service, "ROSTER_SLICE", 1)
    roster = build_roster(session, viewer, RosterFilters(), today)
    rows = roster_rows(session, roster)
    assert 2 <= count_statements(connection, lambda: next(rows)) <= 8
    assert [row[1:3] for row in rows][:2] == [("Lee", "Ann"), ("Lee", "Sam")]
    assert count_statements(connection, lambda: list(roster_rows(session, roster))) == 7 * 2 + 1
    login(client, viewer.email)
    _, csv_rows = read_csv(client.get("/reports/roster.csv"))
    assert [r["employee_id"] for r in csv_rows] == ["O1", "O5", "O0", "O2", "O4", "O3"]


def test_a_file_export_that_fails_part_way_stops_its_reading_first(session, course, org, monkeypatch, tmp_path):
    """An export whose file cannot be written (a full disk) stops reading ahead before the error reaches its
    caller, who then uses the session: no thread is left reading with it."""
    agency, unit = org
    for i in range(6):
        officer = make_user(session, f"o{i}@agency.test", agency=agency, unit=unit)
        session.add(Assignment(user_id=officer.id, course_id=course.id, due_on=today_for(officer),
                               reason="individual"))
    session.commit()
    monkeypatch.setattr(service, "ROSTER_SLICE", 1)

    def full_disk(path, rows, about, columns, sheet):
        next(iter(rows))
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(export, "write_xlsx", full_disk)
    roster = build_roster(session, None, RosterFilters(), today_for(officer))
    with pytest.raises(OSError) as failed:
        export.write_roster(session, roster, "xlsx", tmp_path / "roster.xlsx", who="operator")
    assert failed.value.errno == 28
    assert not [t for t in threading.enumerate() if t.name == "read-ahead"]


def test_reading_ahead_stops_with_its_reader_and_passes_on_errors():
    """The thread that reads ahead stops when the export stops early (a dropped download) and closes what it
    read from, and an error while reading reaches the export."""
    closed = []

    def blocks(fail_at=None):
        try:
            for i in itertools.count():
                if i == fail_at:
                    raise RuntimeError("the database went away")
                yield [i]
        finally:
            closed.append(True)

    ahead = service.read_ahead(blocks())
    assert next(ahead) == [0] and next(ahead) == [1]
    ahead.close()
    assert closed == [True] and not [t for t in threading.enumerate() if t.name == "read-ahead"]
    with pytest.raises(RuntimeError, match="went away"):
        list(service.read_ahead(blocks(fail_at=3)))
    assert closed == [True, True]
