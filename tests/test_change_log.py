"""A course's change log (course.yaml's `changes:`) and `courses sync`: a changed course publishes a new version only
with the one new entry that describes it; a policy change gives certified officers an update assignment."""
from __future__ import annotations

import shutil
from dataclasses import fields
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.support.factories import certify, log_change, make_user, write_course
from tests.support.paths import ROOT
from tests.test_content import replace_in
from training.catalog.content import UNVERSIONED, VERSIONED_SETTINGS, CourseContent, load_content
from training.catalog.models import Course, CourseVersion
from training.catalog.service import ContentInvalid, sync_courses
from training.clock import server_today
from training.records.models import Assignment, Exemption
from training.updates.rules import MIN_UPDATE_QUESTIONS
from training.updates.service import publish_courses


def content_dirs(app) -> tuple[Path, Path]:
    return app.config["COURSES_DIR"], app.config["QUIZZES_DIR"]


def course_file(app, code: str = "TEST-BASICS") -> Path:
    return app.config["COURSES_DIR"] / code.lower() / "course.yaml"


def rewrite_lesson(app, n: int, text: str, code: str = "TEST-BASICS") -> None:
    lesson = app.config["COURSES_DIR"] / code.lower() / "lessons" / f"{n:02d}-topic-{n}.md"
    lesson.write_text(f"# Topic {n}\n\n{text}\n", encoding="utf-8")


def add_lesson(app, n: int, text: str = "A new rule.") -> None:
    rewrite_lesson(app, n, text)


def bank(app, code: str = "TEST-BASICS") -> Path:
    return app.config["QUIZZES_DIR"] / f"{code}.yaml"


def line_of(path: Path, text: str) -> int:
    return next(n for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if text in line)


def versions(session) -> list[CourseVersion]:
    session.expire_all()
    return list(session.scalars(select(CourseVersion).order_by(CourseVersion.course_id, CourseVersion.number)))


def sync(runner, *args: str):
    return runner.invoke(args=["courses", "sync", *args])


def refused(runner, session, where: str, message: str) -> None:
    """`courses sync` refuses with the file, line and message, and loads nothing."""
    before = [(v.course_id, v.number) for v in versions(session)]
    result = sync(runner)
    assert result.exit_code == 1, result.output
    assert f"{where}: {message}" in result.output, result.output
    assert "nothing was loaded" in result.output
    assert [(v.course_id, v.number) for v in versions(session)] == before


# Reading the change log and update_days.

def read_errors(tmp_path, yaml_tail: str) -> list[str]:
    courses, quizzes = write_course(tmp_path)
    path = courses / "test-basics" / "course.yaml"
    path.write_text(path.read_text() + yaml_tail, encoding="utf-8")
    return [str(error) for error in load_content(courses, quizzes)[1]]


COURSE_LINES = 8    # write_course's course.yaml


@pytest.mark.parametrize("tail, line, message", [
    ("changes:\n  - date: 2026-11-02\n    kind: editorial\n", 10,
     "'changes' entry 1: 'summary' is required: say in a sentence what changed"),
    ("changes:\n  - kind: policy\n    summary: New rules.\n", 10,
     "'changes' entry 1: 'date' is required: the day the change is published, like date: 2026-12-01"),
    ("changes:\n  - date: next week\n    kind: policy\n    summary: New rules.\n", 10,
     "'changes' entry 1: 'date' must be a date like 2026-12-01, without a time"),
    ("changes:\n  - date: 2026-11-02 10:00:00\n    kind: policy\n    summary: New rules.\n", 10,
     "'changes' entry 1: 'date' must be a date like 2026-12-01, without a time"),
    ("changes:\n  - date: 2026-11-02\n    kind: major\n    summary: New rules.\n", 10,
     "'changes' entry 1: 'kind' must be editorial (wording or typos: nobody retrains) or policy (the rules "
     "changed: certified officers take an update); 'major' is neither"),
    ("changes:\n  - date: 2026-11-02\n    kind: policy\n    summary: New rules.\n    type: major\n", 10,
     "'changes' entry 1: 'type' is not date, kind or summary"),
    ("changes: New rules in November.\n", 9, "'changes' must be a list of entries, each with date, kind and summary"),
    ("changes:\n  - 2026-11-02 New rules.\n", 9, "'changes' entry 1 must be a mapping with date, kind and summary"),
    ("changes:\n  - date: 2026-11-02\n    kind: policy\n    summary: New rules.\n"
     "  - date: 2026-10-01\n    kind: editorial\n    summary: Typos.\n", 13,
     "the change of 2026-10-01 is listed after the change of 2026-11-02 (line 10): list changes oldest first"),
    ("changes:\n  - date: 2026-02-30\n    kind: policy\n    summary: New rules.\n", 10,
     "invalid YAML: 2026-02-30 is not a real date"),
    ("update_days: 0\n", 1, "'update_days' must be a whole number from 1 to 365"),
    ("update_days: a month\n", 1, "'update_days' must be a whole number from 1 to 365"),
])
def test_a_bad_change_log_or_update_days_is_refused_with_its_line(tmp_path, tail, line, message):
    errors = read_errors(tmp_path, tail)
    where = f"{tmp_path / 'courses' / 'test-basics' / 'course.yaml'}:{line}: "
    assert len(errors) == 1 and errors[0].startswith(where) and message in errors[0], errors


def test_a_good_change_log_is_read_oldest_first_with_its_lines(tmp_path):
    courses, quizzes = write_course(tmp_path)
    first = log_change(courses, kind="policy", on="2026-03-01", summary="Neck restraints\n      banned.")
    second = log_change(courses, kind="Editorial", on="2026-03-01", summary="Typos fixed.")
    (course,), errors = load_content(courses, quizzes)
    assert errors == [] and (first, second) == (COURSE_LINES + 2, COURSE_LINES + 6)
    assert [(c.date, c.kind, c.summary, c.line) for c in course.changes] == [
        (date(2026, 3, 1), "policy", "Neck restraints banned.", first),
        (date(2026, 3, 1), "editorial", "Typos fixed.", second)]
    assert course.update_days == 30


def test_the_change_log_and_update_days_leave_the_content_hash_alone(tmp_path):
    courses, quizzes = write_course(tmp_path)
    (plain,), _ = load_content(courses, quizzes)
    log_change(courses)
    path = courses / "test-basics" / "course.yaml"
    path.write_text(path.read_text() + "update_days: 14\n")
    (logged,), _ = load_content(courses, quizzes)
    assert logged.update_days == 14 and logged.changes
    assert logged.content_hash() == plain.content_hash()


def test_every_versioned_setting_is_compared():
    """What makes a new version is what sync compares: a setting added to the hash but not compared would
    publish silently, without the change log."""
    hashed = {f.name for f in fields(CourseContent)} - UNVERSIONED - {"code", "lessons", "questions"}
    assert hashed == set(VERSIONED_SETTINGS)
    assert all(hasattr(CourseVersion, name) for name in VERSIONED_SETTINGS)


def test_update_days_is_stored_on_the_course_without_a_new_version(app, session, course):
    assert course.update_days == 30
    path = course_file(app)
    path.write_text(path.read_text() + "update_days: 45\n")
    assert sync_courses(session, *content_dirs(app)).created == []
    session.expire_all()
    assert session.scalar(select(Course)).update_days == 45


# The first version.

def test_a_first_version_needs_no_entry_and_counts_the_log_it_was_published_with(app, session):
    courses, quizzes = content_dirs(app)
    log_change(courses, kind="policy", on="2026-01-10", summary="Earlier rules.")
    log_change(courses, kind="editorial", on="2026-02-10", summary="Typos.")
    assert sync_courses(session, courses, quizzes).created == ["TEST-BASICS v1"]
    (v1,) = versions(session)
    assert (v1.change_kind, v1.change_date, v1.change_summary, v1.changes_logged) == (None, None, None, 2)


# Refusals: with the file and line, and nothing loaded.

def test_a_change_without_an_entry_is_refused_naming_what_changed(app, runner, session, course):
    rewrite_lesson(app, 2, "New guidance.")
    replace_in(bank(app), "Because of reason 3.", "Because of reason three.")
    refused(runner, session, f"{course_file(app)}:1",
            "TEST-BASICS changed (lessons 02-topic-2, questions T-03) but changes: has no entry for it: add one "
            "with date, kind (editorial or policy) and summary")
    # With a `changes:` key, at its line.
    path = course_file(app)
    path.write_text(path.read_text() + "changes: []\n")
    refused(runner, session, f"{path}:{COURSE_LINES + 1}", "TEST-BASICS changed (lessons 02-topic-2")


def test_a_setting_change_without_an_entry_is_refused(app, runner, session, course):
    replace_in(course_file(app), "pass_mark: 80", "pass_mark: 90")
    refused(runner, session, f"{course_file(app)}:1",
            "TEST-BASICS changed (settings pass_mark) but changes: has no entry for it")


def test_an_entry_describing_no_change_is_refused_at_the_entry(app, runner, session, course):
    line = log_change(app.config["COURSES_DIR"], kind="policy", on="2026-12-01")
    refused(runner, session, f"{course_file(app)}:{line}",
            "the policy change of 2026-12-01 describes no change: the lessons, questions and settings are as "
            "published in TEST-BASICS v1; remove the entry, or make the change it describes")


def test_two_new_entries_for_one_change_are_refused_at_the_second(app, runner, session, course):
    courses = app.config["COURSES_DIR"]
    rewrite_lesson(app, 2, "New guidance.")
    log_change(courses, on="2026-11-01")
    line = log_change(courses, on="2026-11-02", summary="More wording.")
    refused(runner, session, f"{course_file(app)}:{line}",
            "'changes' has 2 new entries since TEST-BASICS v1 (editorial change of 2026-11-01, editorial change "
            "of 2026-11-02); one sync publishes one version with one entry: merge them into one")


def test_removing_a_published_entry_is_refused(app, runner, session, course):
    courses = app.config["COURSES_DIR"]
    rewrite_lesson(app, 2, "New guidance.")
    log_change(courses, on="2026-11-01")
    assert sync(runner).exit_code == 0
    path = course_file(app)
    text = path.read_text()
    path.write_text(text[:text.index("changes:")] + "changes: []\n")
    refused(runner, session, f"{path}:{line_of(path, 'changes:')}",
            "'changes' has 0 entries, but TEST-BASICS v2 was published with 1: published entries stay in the "
            "log; add new ones at the end")


def test_changing_a_published_entrys_kind_is_refused(app, runner, session, course):
    courses = app.config["COURSES_DIR"]
    rewrite_lesson(app, 2, "New guidance.")
    line = log_change(courses, on="2026-11-01")
    assert sync(runner).exit_code == 0
    replace_in(course_file(app), "kind: editorial", "kind: policy")
    refused(runner, session, f"{course_file(app)}:{line}",
            "TEST-BASICS v2 was published with this entry as the editorial change of 2026-11-01; a published "
            "entry keeps its date and kind")


def test_a_policy_change_needs_three_questions_on_the_lessons_it_rewrites(app, runner, session, course):
    courses = app.config["COURSES_DIR"]
    add_lesson(app, 4, "The new rule.")
    replace_in(bank(app), "lesson: 01-topic-1", "lesson: 04-topic-4")        # T-01 now teaches the new lesson
    line = log_change(courses, kind="policy", on="2026-11-01", summary="A new rule.")
    refused(runner, session, f"{course_file(app)}:{line}",
            f"the policy change of 2026-11-01 rewrites 1 lesson (04-topic-4) with 1 question tied to it; the "
            f"update's quiz needs at least {MIN_UPDATE_QUESTIONS}: add questions on that lesson, or make the "
            f"change editorial")
    # As an editorial change it publishes.
    replace_in(course_file(app), "kind: policy", "kind: editorial")
    assert sync(runner).exit_code == 0


def test_a_policy_change_that_rewrites_no_lesson_is_refused(app, runner, session, course):
    replace_in(bank(app), "Because of reason 3.", "Because of reason three.")
    line = log_change(app.config["COURSES_DIR"], kind="policy", on="2026-11-01")
    refused(runner, session, f"{course_file(app)}:{line}",
            "the policy change of 2026-11-01 adds or rewrites no lesson (questions T-03): a policy update shows "
            "officers the lessons that changed and quizzes them on those")


def test_a_course_folder_using_a_documents_code_is_refused(app, runner, session):
    session.add(Course(code="TEST-BASICS", kind="document", title="A directive", current_version=0))
    session.commit()
    refused(runner, session, f"{course_file(app)}:1",
            "code TEST-BASICS belongs to a document published on the site, not to a course: give the course "
            "another code")


def test_one_course_with_an_undescribed_change_loads_nothing_of_any(app, runner, session, course):
    courses, quizzes = content_dirs(app)
    write_course(courses.parent, code="TEST-OTHER")
    assert sync(runner).exit_code == 0                     # TEST-OTHER v1
    rewrite_lesson(app, 1, "Described.", code="TEST-OTHER")
    log_change(courses, code="TEST-OTHER", on="2026-11-01")
    rewrite_lesson(app, 1, "Not described.")
    other = course_file(app, "TEST-OTHER")
    line = log_change(courses, code="TEST-OTHER", on="2026-11-02", summary="Second.")
    result = sync(runner)
    assert result.exit_code == 1
    assert f"{course_file(app)}:1: TEST-BASICS changed (lessons 01-topic-1)" in result.output
    assert f"{other}:{line}: 'changes' has 2 new entries" in result.output
    assert "2 problems found; nothing was loaded." in result.output
    assert [(v.course.code, v.number) for v in versions(session)] == [("TEST-BASICS", 1), ("TEST-OTHER", 1)]


# Publishing.

def test_an_editorial_change_publishes_a_version_and_retrains_nobody(app, runner, session, course, officer):
    certify(session, officer, course, days_ago=100)
    rewrite_lesson(app, 2, "Clearer wording.")
    log_change(app.config["COURSES_DIR"], kind="editorial", on="2026-11-20", summary="Lesson 2 reworded.")
    result = sync(runner)
    assert result.exit_code == 0, result.output
    assert ("new version: TEST-BASICS v2 (editorial change of 2026-11-20: Lesson 2 reworded.)\n"
            "  lessons changed: 02-topic-2\n") in result.output
    assert "policy update" not in result.output
    v2 = versions(session)[-1]
    assert (v2.number, v2.change_kind, v2.change_date, v2.change_summary, v2.changes_logged) == (
        2, "editorial", date(2026, 11, 20), "Lesson 2 reworded.", 1)
    assert session.scalar(select(func.count()).select_from(Assignment)) == 0
    again = sync(runner)
    assert again.exit_code == 0 and "0 course versions created, 1 unchanged." in again.output


def test_a_policy_change_assigns_the_update_to_holders_of_a_valid_certification_only(app, session, course, org):
    agency, unit = org
    people = {name: make_user(session, f"{name}@agency.test", agency=agency, unit=unit)
              for name in ("valid", "lapsed", "renewing", "exempt", "uncertified")}
    session.commit()
    certify(session, people["valid"], course, days_ago=100)
    certify(session, people["lapsed"], course, days_ago=400)
    certify(session, people["renewing"], course, days_ago=340)
    certify(session, people["exempt"], course, days_ago=100)
    on = server_today()
    session.add(Assignment(user_id=people["renewing"].id, course_id=course.id, due_on=on + timedelta(days=25),
                           reason="annual_renewal"))
    session.add(Exemption(user_id=people["exempt"].id, course_id=course.id, starts_on=on - timedelta(days=5),
                          ends_on=on + timedelta(days=60), reason="Medical leave"))
    session.commit()
    path = course_file(app)
    path.write_text(path.read_text() + "update_days: 21\n")
    rewrite_lesson(app, 2, "The new rule.")
    log_change(app.config["COURSES_DIR"], kind="policy", on=on.isoformat(), summary="New rule.")

    published = publish_courses(session, *content_dirs(app), today=on)
    session.commit()
    assert published.sync.created == ["TEST-BASICS v2"] and published.updates == {"TEST-BASICS": 1}
    v2 = versions(session)[-1]
    assert (v2.change_kind, v2.change_date, v2.changes_logged) == ("policy", on, 1)
    updates = session.scalars(select(Assignment).where(Assignment.reason == "policy_update")).all()
    assert [(a.user_id, a.version_id, a.due_on) for a in updates] == [
        (people["valid"].id, v2.id, on + timedelta(days=21))]


def test_courses_sync_lists_what_changed_in_each_new_version(app, runner, session, course, officer):
    certify(session, officer, course, days_ago=100)
    courses = app.config["COURSES_DIR"]
    rewrite_lesson(app, 2, "The new rule.")
    add_lesson(app, 4, "Another new rule.")
    (courses / "test-basics" / "lessons" / "03-topic-3.md").unlink()
    text = bank(app).read_text()
    text = text.replace("lesson: 03-topic-3", "lesson: 04-topic-4").replace("Because of reason 1.", "Reason one.")
    start = text.index("  - id: T-24\n")
    bank(app).write_text(text[:start] + text[start:].replace("T-24", "T-25"), encoding="utf-8")
    replace_in(course_file(app), "pass_mark: 80", "pass_mark: 85")
    log_change(courses, kind="policy", on="2026-12-01", summary="Neck restraints banned.")
    result = sync(runner)
    assert result.exit_code == 0, result.output
    assert ("new version: TEST-BASICS v2 (policy change of 2026-12-01: Neck restraints banned.)\n"
            "  lessons changed: 02-topic-2\n"
            "  lessons added: 04-topic-4\n"
            "  lessons removed: 03-topic-3\n"
            "  questions changed: T-01, T-03, T-06, T-09, T-12, T-15, T-18, T-21\n"
            "  questions added: T-25\n"
            "  questions removed: T-24\n"
            "  settings changed: pass_mark\n"
            "policy update: TEST-BASICS: 1 certified officer assigned the update\n") in result.output


def test_a_dry_run_lists_what_would_be_published_and_writes_nothing(app, runner, session, course, officer):
    certify(session, officer, course, days_ago=100)
    rewrite_lesson(app, 2, "The new rule.")
    # A refusal in a dry run reads as any other.
    dry = sync(runner, "--dry-run")
    assert dry.exit_code == 1 and "TEST-BASICS changed (lessons 02-topic-2) but changes: has no entry" in dry.output
    log_change(app.config["COURSES_DIR"], kind="policy", on="2026-12-01", summary="New rule.")
    result = sync(runner, "--dry-run")
    assert result.exit_code == 0, result.output
    assert "new version (dry run): TEST-BASICS v2 (policy change of 2026-12-01: New rule.)\n" in result.output
    assert "  lessons changed: 02-topic-2\n" in result.output
    assert "policy update: TEST-BASICS: 1 certified officer would be assigned the update" in result.output
    assert "1 course version would be created, 0 unchanged; nothing was written (dry run)." in result.output
    assert len(versions(session)) == 1
    assert session.scalar(select(func.count()).select_from(Assignment)) == 0
    # The real run publishes what the dry run listed.
    assert "new version: TEST-BASICS v2 (policy change" in sync(runner).output
    assert len(versions(session)) == 2


def test_the_shipped_courses_have_no_entry_an_existing_database_would_refuse(tmp_path, session):
    """Databases hold the shipped courses' versions with changes_logged 0: an entry without a change is refused."""
    sync_courses(session, ROOT / "courses", ROOT / "quizzes")
    assert all(v.changes_logged == 0 and v.change_kind is None for v in versions(session))
    assert sync_courses(session, ROOT / "courses", ROOT / "quizzes").created == []
    courses = tmp_path / "courses"
    shutil.copytree(ROOT / "courses", courses)
    log_change(courses, code="UOF-DEADLY-FORCE", kind="editorial", on="2026-11-27")
    with pytest.raises(ContentInvalid) as caught:
        sync_courses(session, courses, ROOT / "quizzes")
    assert "the editorial change of 2026-11-27 describes no change" in str(caught.value.errors[0])
