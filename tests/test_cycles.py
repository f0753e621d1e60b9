"""Fixed renewal cycles: the rules without a database, `cycle` in course.yaml, and the completion paths."""
import pytest
from sqlalchemy import select

from tests.support.dates import d
from tests.support.factories import log_change, write_course
from tests.support.pages import answer_form, latest_attempt, login, open_all_lessons
from tests.test_content import replace_in
from training.catalog.content import CYCLES, load_content
from training.catalog.models import CourseVersion
from training.catalog.service import sync_courses
from training.clock import today_for
from training.imports.completions import apply_completions_plan, parse_completions_csv
from training.records.models import Assignment, Completion
from training.records.rules import cycle_end, cycle_expiry_date, cycle_start, expiry_date

OCTOBER, JANUARY, MARCH = CYCLES["fiscal-year"], CYCLES["calendar-year"], CYCLES["march"]


@pytest.mark.parametrize("on, month, start, end", [
    ("2025-10-01", OCTOBER, "2025-10-01", "2026-09-30"),    # the first day of a fiscal year
    ("2025-09-30", OCTOBER, "2024-10-01", "2025-09-30"),    # its last day
    ("2026-02-14", OCTOBER, "2025-10-01", "2026-09-30"),
    ("2025-01-01", JANUARY, "2025-01-01", "2025-12-31"),
    ("2025-12-31", JANUARY, "2025-01-01", "2025-12-31"),
    ("2024-02-29", MARCH, "2023-03-01", "2024-02-29"),      # a March cycle ends on the leap day
    ("2024-03-01", MARCH, "2024-03-01", "2025-02-28"),      # and on the 28th in a common year
    ("2023-06-30", CYCLES["july"], "2022-07-01", "2023-06-30"),
])
def test_a_cycle_runs_from_the_first_of_its_month_to_the_day_before_the_next(on, month, start, end):
    assert (cycle_start(d(on), month), cycle_end(d(on), month)) == (d(start), d(end))


@pytest.mark.parametrize("completed, month, window, expected", [
    ("2026-02-14", OCTOBER, 60, "2026-09-30"),    # mid-cycle: valid to the end of this cycle
    ("2025-10-01", OCTOBER, 60, "2026-09-30"),    # the cycle's first day
    ("2026-07-31", OCTOBER, 60, "2026-09-30"),    # the day before the window opens
    ("2026-08-01", OCTOBER, 60, "2027-09-30"),    # the window's first day (60 days before the end): next cycle
    ("2026-09-30", OCTOBER, 60, "2027-09-30"),    # the cycle's last day
    ("2026-09-30", OCTOBER, 0, "2027-09-30"),     # with no window, only the last day itself
    ("2026-09-29", OCTOBER, 0, "2026-09-30"),
    ("2024-02-29", MARCH, 60, "2025-02-28"),      # leap day, in the window: through next February's end
    ("2023-12-30", MARCH, 60, "2024-02-29"),      # before the window: through the leap day
    ("2025-12-31", JANUARY, 30, "2026-12-31"),    # calendar year, on the boundary
    ("2026-01-01", JANUARY, 30, "2026-12-31"),
])
def test_a_fixed_cycle_certification_expires_at_the_end_of_its_cycle(completed, month, window, expected):
    assert cycle_expiry_date(d(completed), month, renewal_window_days=window) == d(expected)
    # expiry_date follows the cycle and ignores the anniversary settings.
    assert expiry_date(d(completed), 12, previous_expires_on=d("2026-12-25"), renewal_window_days=window,
                       cycle_start_month=month) == d(expected)


def test_without_a_cycle_the_anniversary_rule_stands():
    assert expiry_date(d("2026-02-14"), 12, cycle_start_month=None) == d("2027-02-14")


def _load(tmp_path, *lines):
    courses, quizzes = write_course(tmp_path)
    with (courses / "test-basics" / "course.yaml").open("a", encoding="utf-8") as out:
        out.writelines(f"{line}\n" for line in lines)
    return load_content(courses, quizzes)


@pytest.mark.parametrize("value, cycle", [("fiscal-year", "fiscal-year"), ("calendar-year", "calendar-year"),
                                          ("July", "july"), ("anniversary", "anniversary")])
def test_course_yaml_names_its_cycle(tmp_path, value, cycle):
    loaded, errors = _load(tmp_path, f"cycle: {value}")
    assert errors == [] and loaded[0].cycle == cycle


@pytest.mark.parametrize("lines, message", [
    (["cycle: quarterly"], "'cycle' must be anniversary, fiscal-year, calendar-year or a month"),
    (["cycle: 7"], "'cycle' must be anniversary"),
    (["cycle:"], "'cycle' must be anniversary"),
])
def test_a_bad_cycle_is_reported_with_file_and_line(tmp_path, lines, message):
    _, errors = _load(tmp_path, *lines)
    (error,) = errors
    assert error.path.endswith("course.yaml") and error.line == _line_of(tmp_path, "cycle:") \
        and message in error.message, str(error)


def _line_of(root, start: str) -> int:
    """The line of course.yaml that begins with `start`, counted from 1."""
    text = (root / "courses" / "test-basics" / "course.yaml").read_text(encoding="utf-8")
    return next(n for n, line in enumerate(text.splitlines(), start=1) if line.startswith(start))


def test_a_fixed_cycle_is_a_year(tmp_path):
    courses, quizzes = write_course(tmp_path)
    replace_in(courses / "test-basics" / "course.yaml", "recurrence_months: 12", "recurrence_months: 24\ncycle: june")
    (error,) = load_content(courses, quizzes)[1]
    # Reported at the cycle, which is what asks for a year.
    assert error.line == _line_of(tmp_path, "cycle:") and "'recurrence_months' must be 12" in error.message


def test_the_cycle_is_content_a_new_version_records(tmp_path, session):
    courses, quizzes = write_course(tmp_path)
    yaml_file = courses / "test-basics" / "course.yaml"
    assert sync_courses(session, courses, quizzes).created == ["TEST-BASICS v1"]
    # Naming the default changes nothing: hashes from before cycles existed stay as they were.
    yaml_file.write_text(yaml_file.read_text() + "cycle: anniversary\n")
    assert sync_courses(session, courses, quizzes).created == []
    replace_in(yaml_file, "cycle: anniversary", "cycle: fiscal-year")
    log_change(courses, summary="Certifications renew with the fiscal year.")
    assert sync_courses(session, courses, quizzes).created == ["TEST-BASICS v2"]
    versions = session.scalars(select(CourseVersion).order_by(CourseVersion.number)).all()
    assert [v.cycle for v in versions] == ["anniversary", "fiscal-year"]
    assert versions[1].course.cycle == "fiscal-year" and versions[1].course.cycle_start_month == 10


def test_the_quiz_certifies_to_the_end_of_the_cycle(client, session, officer, course):
    course.cycle = "calendar-year"
    session.commit()
    today = today_for(officer)
    login(client, officer.email)
    open_all_lessons(client, course.code)
    client.post(f"/courses/{course.code}/quiz")
    attempt = latest_attempt(session, officer)
    client.post(f"/attempts/{attempt.id}", data=answer_form(session, attempt, correct=10))
    client.post(f"/attempts/{attempt.id}/result", data={"full_name": "Dana Cruz"})
    completion = session.scalar(select(Completion))
    assert completion.expires_on == cycle_expiry_date(today, JANUARY, renewal_window_days=60)
    assert completion.expires_on.month == 12 and completion.expires_on.day == 31


def test_imported_completions_and_their_renewals_follow_the_cycle(session, officer, course):
    from training.assignments.service import create_renewal_assignments
    course.cycle = "fiscal-year"
    session.commit()
    rows = ["2024-11-15", "2025-08-20"]     # mid-cycle, then inside the renewal window of FY2025
    data = "employee_id,course_code,completed_on,score\r\n" + "".join(
        f"{officer.employee_id},{course.code},{day},90\r\n" for day in rows)
    plan = parse_completions_csv(session, data.encode(), d("2026-07-01"))
    assert plan.ok, plan.problems
    apply_completions_plan(session, plan, "test.csv")
    expiries = [c.expires_on for c in session.scalars(select(Completion).order_by(Completion.completed_on))]
    assert expiries == [d("2025-09-30"), d("2026-09-30")]
    # The renewal assignment opens with the window and is due on the cycle's last day.
    assert create_renewal_assignments(session, d("2026-07-31")) == {}
    assert create_renewal_assignments(session, d("2026-08-01")) == {course.code: 1}
    assert session.scalar(select(Assignment.due_on).where(Assignment.closed_at.is_(None))) == d("2026-09-30")
