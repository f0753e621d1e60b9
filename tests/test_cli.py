"""The `flask --app app` commands."""
import csv
from datetime import date, timedelta

from sqlalchemy import func, select

from training.assignments.service import create_renewal_assignments
from training.people.models import User
from training.records.models import Assignment, Completion


def test_courses_sync_refuses_bad_content_with_file_and_line(runner, app):
    bank = app.config["QUIZZES_DIR"] / "TEST-BASICS.yaml"
    bank.write_text(bank.read_text().replace("    answer: b\n", "    answer: q\n", 1))
    result = runner.invoke(args=["courses", "sync"])
    assert result.exit_code == 1
    assert "TEST-BASICS.yaml:" in result.output and "answer 'q'" in result.output
    assert "nothing was loaded" in result.output


def test_courses_sync_twice_creates_one_version(runner):
    first = runner.invoke(args=["courses", "sync"])
    assert first.exit_code == 0 and "new version: TEST-BASICS v1" in first.output
    second = runner.invoke(args=["courses", "sync"])
    assert second.exit_code == 0 and "0 course versions created, 1 unchanged" in second.output


def test_users_create_and_refusals(runner, session):
    args = ["users", "create", "--email", "Boss@Agency.test", "--first-name", "Lee", "--last-name", "Park",
            "--password", "a-long-enough-password"]
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    assert session.scalar(select(User).where(User.email == "boss@agency.test")).role == "admin"
    again = runner.invoke(args=args)
    assert again.exit_code == 1 and "already exists" in again.output
    short = runner.invoke(args=args[:-1] + ["short"])
    assert short.exit_code == 1 and "at least 12 characters" in short.output


def test_demo_seed_once_then_skips(runner, session):
    assert runner.invoke(args=["demo", "seed"]).exit_code == 1  # no courses yet
    runner.invoke(args=["courses", "sync"])
    result = runner.invoke(args=["demo", "seed", "--officers", "12"])
    assert result.exit_code == 0, result.output
    assert "officer@demo.test" in result.output and "demo-password-1" in result.output
    officer = session.scalar(select(User).where(User.email == "officer@demo.test"))
    assert session.scalar(select(func.count()).select_from(Assignment).where(Assignment.user_id == officer.id)) == 1
    assert {u.email for u in session.scalars(select(User).where(User.role != "officer"))} == {
        "coordinator@demo.test", "compliance@demo.test", "admin@demo.test"}
    refused = runner.invoke(args=["demo", "seed"])
    assert refused.exit_code == 1 and "already has accounts" in refused.output
    skipped = runner.invoke(args=["demo", "seed", "--if-empty"])
    assert skipped.exit_code == 0 and "skipped" in skipped.output and "admin@demo.test" in skipped.output


def test_export_roster_writes_the_file(runner, tmp_path):
    runner.invoke(args=["courses", "sync"])
    runner.invoke(args=["demo", "seed", "--officers", "5"])
    out = tmp_path / "roster.csv"
    result = runner.invoke(args=["export", "roster", "--format", "csv", "--out", str(out)])
    assert result.exit_code == 0, result.output
    with out.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0][0] == "employee_id" and len(rows[0]) == 13
    assert f"Wrote {len(rows) - 1} rows" in result.output
    assert not out.with_name("roster.csv.part").exists()
    bad = runner.invoke(args=["export", "roster", "--out", str(out), "--as-of", "30/09/2025"])
    assert bad.exit_code == 2 and "not a date" in bad.output


def test_renewal_assignment_appears_when_the_window_opens(session, course, officer):
    expires = date(2026, 6, 30)
    session.add(Completion(user_id=officer.id, course_id=course.id, completed_on=date(2025, 6, 30),
                           expires_on=expires, score=100, source="import"))
    session.flush()
    window_opens = expires - timedelta(days=course.renewal_window_days)
    assert create_renewal_assignments(session, window_opens - timedelta(days=1)) == {}
    assert create_renewal_assignments(session, window_opens) == {"TEST-BASICS": 1}
    assert create_renewal_assignments(session, window_opens + timedelta(days=1)) == {}
    assignment = session.scalar(select(Assignment))
    assert (assignment.due_on, assignment.reason) == (expires, "annual_renewal")
