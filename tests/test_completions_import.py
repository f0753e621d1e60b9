"""`completions import`: historical and in-person completions from CSV."""
from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy import func, select

from tests.support.dates import d
from tests.support.factories import make_user
from training import clock
from training.audit.models import AuditEvent
from training.imports import completions
from training.imports.completions import apply_completions_plan, parse_completions_csv
from training.people.models import User
from training.records.models import Assignment, Completion
from training.records.service import record_completion
from training.records.status import course_states

HEADER = "employee_id,course_code,completed_on,score"
TODAY = date.today()


@pytest.fixture(autouse=True)
def server_day_is_today(monkeypatch):
    """The command reads the clock when it runs: hold it at noon on TODAY, so a run across midnight agrees."""
    noon = datetime.combine(TODAY, time(12)).astimezone()
    monkeypatch.setattr(clock, "current_instant", lambda: noon)


def csv_bytes(*rows: str, header: str = HEADER) -> bytes:
    return "".join(f"{line}\r\n" for line in (header, *rows)).encode("utf-8")


def ago(days: int) -> str:
    return (TODAY - timedelta(days=days)).isoformat()


@pytest.fixture
def import_file(app, runner, tmp_path):
    """Write the CSV to a file and run `completions import` on it; returns (result, path)."""
    def run(data: bytes, *options: str):
        path = tmp_path / "completions.csv"
        path.write_bytes(data)
        return runner.invoke(args=["completions", "import", str(path), *options]), path
    return run


def count(session, model, *where) -> int:
    return session.scalar(select(func.count()).select_from(model).where(*where))


def states(session, user: User) -> dict[str, str]:
    return {s.course_code: s.status for s in course_states(session, TODAY, User.id == user.id)}


def expiries(session, user: User) -> list[tuple[date, date]]:
    return [(c.completed_on, c.expires_on) for c in session.scalars(
        select(Completion).where(Completion.user_id == user.id).order_by(Completion.completed_on))]


@pytest.mark.parametrize("data, line, message", [
    (b"employee_id,course_code,completed_on,score\nOFFICER,TEST-BASICS,2024-01-05,90\nOFFICER,TEST-BASICS,caf\xe9,\n",
     3, "the file is not UTF-8 text"),
    (csv_bytes("OFFICER,TEST-BASICS,2024-01-05,90", header="employee,course,date,score"),
     1, "the first line must be the header employee_id,course_code,completed_on,score"),
    (b"", 1, "the first line must be the header"),
    (csv_bytes("OFFICER,TEST-BASICS,2024-01-05,90", 'OFFICER,"TEST-BASICS,2024-01-06,90'),
     3, "this line is not valid CSV"),
    (csv_bytes("OFFICER,TEST-BASICS,2024-01-05,90", "OFFICER,TEST-BASICS,2024-01-06"),
     3, "expected 4 values separated by commas, found 3"),
    (csv_bytes("OFFICER,TEST-BASICS,2024-01-05,90", "OFFICER,,2024-01-06,90"),
     3, "a value is missing for course_code"),
    (csv_bytes("OFFICER,TEST-BASICS,2024-01-05,90", "NOBODY,TEST-BASICS,2024-01-06,90"),
     3, "no officer has employee_id 'NOBODY'"),
    (csv_bytes("OFFICER,TEST-BASICS,2024-01-05,90", "OFFICER,UOF-NOPE,2024-01-06,90"),
     3, "no course has code 'UOF-NOPE' (known codes: TEST-BASICS)"),
    (csv_bytes("OFFICER,TEST-BASICS,2024-01-05,90", "OFFICER,TEST-BASICS,06/01/2024,90"),
     3, "completed_on '06/01/2024' is not a date like 2024-12-31"),
    (csv_bytes("OFFICER,TEST-BASICS,2024-01-05,90", "OFFICER,TEST-BASICS,2023-02-29,90"),
     3, "completed_on '2023-02-29' is not a date like 2024-12-31"),
    (csv_bytes("OFFICER,TEST-BASICS,2024-01-05,90", "OFFICER,TEST-BASICS,20240106,90"),
     3, "completed_on '20240106' is not a date"),
    (csv_bytes("OFFICER,TEST-BASICS,2024-01-05,90", f"OFFICER,TEST-BASICS,{ago(-1)},90"),
     3, f"completed_on {ago(-1)} is in the future (today is {TODAY.isoformat()})"),
    (csv_bytes("OFFICER,TEST-BASICS,2024-01-05,90", "OFFICER,TEST-BASICS,2024-01-06,101"),
     3, "score '101' is not a whole number from 0 to 100"),
    (csv_bytes("OFFICER,TEST-BASICS,2024-01-05,90", "OFFICER,TEST-BASICS,2024-01-06,87.5"),
     3, "score '87.5' is not a whole number from 0 to 100"),
    (csv_bytes("OFFICER,TEST-BASICS,2024-01-05,90", "OFFICER,TEST-BASICS,2024-01-06,-1"),
     3, "score '-1' is not a whole number from 0 to 100"),
    (csv_bytes("OFFICER,TEST-BASICS,2024-01-05,90", "OFFICER,TEST-BASICS,2024-01-06,", "OFFICER,TEST-BASICS,2024-01-05,70"),
     4, "this record (officer OFFICER, TEST-BASICS, 2024-01-05) is already on line 2"),
])
def test_a_bad_file_is_refused_with_its_line_and_nothing_is_written(
        import_file, session, course, officer, data, line, message):
    plan = parse_completions_csv(session, data, TODAY)
    assert not plan.ok and plan.records == []
    assert any(at == line and message in text for at, text in plan.problems), plan.problems

    result, path = import_file(data)
    assert result.exit_code == 1
    assert f"{path}:{line}: {message}" in result.output
    assert "nothing was imported" in result.output
    assert count(session, Completion) == 0
    assert count(session, AuditEvent, AuditEvent.action == "completion.imported") == 0


def test_every_problem_of_a_row_is_reported(session, course, officer):
    plan = parse_completions_csv(session, csv_bytes("NOBODY,UOF-NOPE,tomorrow,high"), TODAY)
    assert [line for line, _ in plan.problems] == [2, 2, 2, 2]


def test_apply_refuses_a_plan_with_problems(session, course, officer):
    plan = parse_completions_csv(session, csv_bytes("NOBODY,TEST-BASICS,2024-01-05,90"), TODAY)
    with pytest.raises(ValueError):
        apply_completions_plan(session, plan, "bad.csv")


def test_statuses_and_expiries_are_those_a_quiz_would_give(import_file, session, course, officer, org):
    agency, unit = org
    twin = make_user(session, "twin@agency.test", agency=agency, unit=unit)
    lapsed = make_user(session, "lapsed@agency.test", agency=agency, unit=unit, employee_id="L1")
    leap = make_user(session, "leap@agency.test", agency=agency, unit=unit, employee_id="LEAP")
    session.commit()
    result, _ = import_file(csv_bytes(f"OFFICER,TEST-BASICS,{ago(100)},88", f"L1,TEST-BASICS,{ago(400)},",
                                      "LEAP,TEST-BASICS,2024-02-29,95"))
    assert result.exit_code == 0, result.output
    assert "Imported 3 completions; 0 already recorded" in result.output

    assert states(session, officer) == {"TEST-BASICS": "current"}
    assert states(session, lapsed) == {"TEST-BASICS": "lapsed"}
    assert expiries(session, leap) == [(d("2024-02-29"), d("2025-02-28"))]
    assert {s.status for s in course_states(session, d("2025-02-28"), User.id == leap.id)} == {"expiring"}
    assert {s.status for s in course_states(session, d("2025-03-01"), User.id == leap.id)} == {"lapsed"}

    record_completion(session, twin, course, TODAY - timedelta(days=100), version_id=None, score=88, source="quiz")
    assert expiries(session, twin) == expiries(session, officer)
    imported = session.scalar(select(Completion).where(Completion.user_id == officer.id))
    assert (imported.source, imported.version_id, imported.score) == ("import", None, 88)
    assert session.scalar(select(Completion.score).where(Completion.user_id == lapsed.id)) is None


def test_renewal_window_carries_over_between_records_of_one_file(import_file, session, course, officer):
    # Out of date order on purpose: the second renewal falls inside the first's 60-day window.
    result, _ = import_file(csv_bytes("OFFICER,TEST-BASICS,2024-02-20,90", "OFFICER,TEST-BASICS,2023-03-15,85",
                                      "OFFICER,TEST-BASICS,2025-06-01,"))
    assert result.exit_code == 0, result.output
    assert expiries(session, officer) == [
        (d("2023-03-15"), d("2024-03-15")),
        (d("2024-02-20"), d("2025-03-15")),   # renewed 24 days early: counts from 2024-03-15
        (d("2025-06-01"), d("2026-06-01")),   # after it lapsed: counts from the day itself
    ]


def test_renewal_window_carries_over_from_a_completion_already_recorded(import_file, session, course, officer):
    record_completion(session, officer, course, d("2023-03-15"), version_id=None, score=90, source="quiz")
    session.commit()
    result, _ = import_file(csv_bytes("OFFICER,TEST-BASICS,2024-03-01,"))
    assert result.exit_code == 0, result.output
    assert expiries(session, officer)[-1] == (d("2024-03-01"), d("2025-03-15"))


def test_an_open_assignment_is_closed_by_a_newer_record_not_an_older_one(import_file, session, course, officer, org):
    agency, unit = org
    other = make_user(session, "other@agency.test", agency=agency, unit=unit, employee_id="OTHER")
    for user in (officer, other):
        session.add(Assignment(user_id=user.id, course_id=course.id, due_on=d("2024-07-01"), reason="individual",
                               created_at=datetime(2024, 6, 1, 14, 30)))
    session.commit()
    result, _ = import_file(csv_bytes("OFFICER,TEST-BASICS,2023-06-15,90", "OFFICER,TEST-BASICS,2024-06-01,",
                                      "OTHER,TEST-BASICS,2024-05-31,90"))
    assert result.exit_code == 0, result.output

    closed = session.scalar(select(Assignment).where(Assignment.user_id == officer.id))
    newest = session.scalar(select(Completion).where(Completion.user_id == officer.id,
                                                     Completion.completed_on == d("2024-06-01")))
    assert closed.closed_at is not None and closed.completion_id == newest.id
    still_open = session.scalar(select(Assignment).where(Assignment.user_id == other.id))
    assert still_open.closed_at is None and still_open.completion_id is None


def test_importing_the_same_file_again_adds_nothing(import_file, session, course, officer):
    data = csv_bytes(f"OFFICER,TEST-BASICS,{ago(500)},80", f"OFFICER,TEST-BASICS,{ago(100)},90")
    first, _ = import_file(data)
    assert first.exit_code == 0 and "Imported 2 completions; 0 already recorded" in first.output
    before = expiries(session, officer)
    again, _ = import_file(data)
    assert again.exit_code == 0, again.output
    assert "Imported 0 completions; 2 already recorded" in again.output
    assert expiries(session, officer) == before


def test_dry_run_writes_nothing(import_file, session, course, officer):
    session.add(Assignment(user_id=officer.id, course_id=course.id, due_on=TODAY, reason="individual"))
    session.commit()
    result, _ = import_file(csv_bytes(f"OFFICER,TEST-BASICS,{ago(0)},80"), "--dry-run")
    assert result.exit_code == 0, result.output
    assert "1 completion would be added, 0 already recorded. Nothing was written." in result.output
    assert count(session, Completion) == 0
    assert count(session, Assignment, Assignment.closed_at.is_(None)) == 1
    assert count(session, AuditEvent, AuditEvent.action == "completion.imported") == 0


def test_a_byte_order_mark_and_extra_columns_are_accepted(import_file, session, course, officer):
    data = b"\xef\xbb\xbf" + csv_bytes(f"OFFICER,TEST-BASICS,{ago(10)},75,Range day B",
                                       header=HEADER + ",instructor_note")
    result, _ = import_file(data)
    assert result.exit_code == 0, result.output
    assert states(session, officer) == {"TEST-BASICS": "current"}


def test_one_summary_event_per_file_and_one_event_per_record(import_file, session, course, officer):
    import_file(csv_bytes(f"OFFICER,TEST-BASICS,{ago(900)},80"))
    result, _ = import_file(csv_bytes(f"OFFICER,TEST-BASICS,{ago(900)},80", f"OFFICER,TEST-BASICS,{ago(500)},",
                                      f"OFFICER,TEST-BASICS,{ago(100)},95"))
    assert result.exit_code == 0, result.output
    events = session.scalars(select(AuditEvent).where(AuditEvent.action == "completion.imported")
                             .order_by(AuditEvent.id)).all()
    assert len(events) == 2
    assert events[-1].details["file"] == "completions.csv"
    assert (events[-1].details["added"], events[-1].details["already_recorded"]) == (2, 1)
    # Each imported record is a completion event of its own, marked with its source file.
    recorded = session.scalars(select(AuditEvent).where(AuditEvent.action == "completion.recorded")
                               .order_by(AuditEvent.id)).all()
    completions = session.scalars(select(Completion).order_by(Completion.completed_on)).all()
    assert len(recorded) == len(completions) == 3
    assert {e.details["completion_id"] for e in recorded} == {c.id for c in completions}
    assert all(e.details["source"] == "import" and e.details["file"] == "completions.csv"
               and e.target == f"user:{officer.id}" for e in recorded)
    by_id = {e.details["completion_id"]: e.details for e in recorded}
    assert [(by_id[c.id]["completed_on"], by_id[c.id]["score"], by_id[c.id]["line"]) for c in completions][1:] == [
        (ago(500), None, 3), (ago(100), 95, 4)]


def test_a_large_file_shows_progress_and_imports_every_row(import_file, runner, session, course, officer):
    rows = [f"OFFICER,TEST-BASICS,{ago(days)},{days % 101}" for days in range(1, 1202)]
    result, _ = import_file(csv_bytes(*rows))
    assert result.exit_code == 0, result.output
    assert "Importing completions" in result.output
    assert "Imported 1,201 completions" in result.output
    assert count(session, Completion, Completion.user_id == officer.id) == 1201
    # Every record's event is a link of the audit chain, which still verifies end to end.
    assert count(session, AuditEvent, AuditEvent.action == "completion.recorded") == 1201
    verified = runner.invoke(args=["audit", "verify"])
    assert verified.exit_code == 0 and "OK" in verified.output, verified.output


def test_officers_are_found_chunk_by_chunk_and_a_repeat_across_chunks_is_caught(monkeypatch, session, course,
                                                                                 officer):
    monkeypatch.setattr(completions, "CHUNK", 2)
    second = make_user(session, "second@chunks.test", employee_id="SECOND")
    rows = ("OFFICER,TEST-BASICS,2024-01-05,90", "SECOND,TEST-BASICS,2024-01-05,", "SECOND,TEST-BASICS,2025-01-06,80",
            "OFFICER,TEST-BASICS,2025-01-07,85", "SECOND,TEST-BASICS,2026-01-08,")
    plan = parse_completions_csv(session, csv_bytes(*rows), TODAY)
    assert plan.ok and [(r.line, r.user_id) for r in plan.records] == [
        (2, officer.id), (3, second.id), (4, second.id), (5, officer.id), (6, second.id)]
    plan = parse_completions_csv(session, csv_bytes(*rows[:3], "NOBODY,TEST-BASICS,2025-01-07,85",
                                                    "OFFICER,TEST-BASICS,2024-01-05,70"), TODAY)
    assert plan.problems == [(5, "no officer has employee_id 'NOBODY'"),
                             (6, "this record (officer OFFICER, TEST-BASICS, 2024-01-05) is already on line 2")]
