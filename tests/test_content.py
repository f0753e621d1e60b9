"""The content format, its validation and the shipped courses."""
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.support.factories import write_course
from tests.support.paths import ROOT
from training.catalog.content import load_content
from training.catalog.models import Course, CourseVersion, Question
from training.catalog.service import ContentInvalid, sync_courses

SHIPPED = {"UOF-DEADLY-FORCE", "UOF-DE-ESCALATION", "UOF-DUTY-TO-INTERVENE", "UOF-IMPLICIT-BIAS"}


def test_shipped_courses_validate_and_meet_the_bar():
    courses, errors = load_content(ROOT / "courses", ROOT / "quizzes")
    assert errors == []
    assert {c.code for c in courses} == SHIPPED
    for course in courses:
        assert len(course.lessons) >= 4, course.code
        assert len(course.questions) >= 24, course.code
        assert (course.questions_per_attempt, course.pass_mark, course.recurrence_months) == (10, 80, 12)
        assert course.policy_version
        slugs = {lesson.slug for lesson in course.lessons}
        for q in course.questions:
            assert q.explanation and q.source and q.lesson in slugs, q.key
            assert 3 <= len(q.choices) <= 6
            assert not any("of the above" in c.lower() for c in q.choices), q.key
        # Every lesson is examined, and the right answer is not always the same letter.
        assert {q.lesson for q in course.questions} == slugs, course.code
        assert len({q.answer_index for q in course.questions}) >= 3, course.code


def broken(tmp_path, edit):
    courses, quizzes = write_course(tmp_path)
    edit(courses / "test-basics", quizzes / "TEST-BASICS.yaml")
    return load_content(courses, quizzes)[1]


def replace_in(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.mark.parametrize("edit, where, message", [
    (lambda c, q: replace_in(q, "      b: Right 3\n", "      b: [unclosed\n"), "TEST-BASICS.yaml:", "invalid YAML"),
    (lambda c, q: replace_in(q, "    answer: b\n", "    answer: e\n"), "TEST-BASICS.yaml:", "answer 'e' is not one of the choices"),
    (lambda c, q: replace_in(q, "lesson: 02-topic-2", "lesson: 09-missing"), "TEST-BASICS.yaml:", "lesson '09-missing' is not a lesson"),
    (lambda c, q: replace_in(q, "id: T-02", "id: T-01"), "TEST-BASICS.yaml:", "used twice"),
    (lambda c, q: replace_in(q, "    explanation: Because of reason 4.\n", ""), "TEST-BASICS.yaml:", "'explanation' is required"),
    (lambda c, q: replace_in(q, "      d: Wrong 5 d\n", "      d: Wrong 5 c\n"), "TEST-BASICS.yaml:", "same text"),
    (lambda c, q: replace_in(c / "course.yaml", "pass_mark: 80", "pass_mark: 180"), "course.yaml:", "'pass_mark' must be a whole number"),
    (lambda c, q: replace_in(c / "course.yaml", "code: TEST-BASICS", "code: test basics"), "course.yaml:", "capital letters"),
    (lambda c, q: replace_in(c / "course.yaml", "title: Test TEST-BASICS", "title: " + "T" * 201), "course.yaml:", "at most 200"),
    (lambda c, q: replace_in(q, "id: T-07", "id: T-" + "7" * 70), "TEST-BASICS.yaml:", "at most 64"),
    (lambda c, q: (c / "lessons" / "01-topic-1.md").write_text("No title here\n"), "01-topic-1.md:1", "first line must be the lesson title"),
    (lambda c, q: (c / "lessons" / "Intro.md").write_text("# Intro\n\nText\n"), "Intro.md", "lesson file names"),
    (lambda c, q: (c / "lessons" / "01-topic-1.md").write_bytes(b"# T\n\n\xff\xfe"), "01-topic-1.md", "not UTF-8"),
    (lambda c, q: q.unlink(), "TEST-BASICS.yaml", "missing"),
])
def test_bad_content_is_reported_with_file_and_line(tmp_path, edit, where, message):
    errors = broken(tmp_path, edit)
    assert any(where in str(e) and message in str(e) for e in errors), [str(e) for e in errors]


def test_yaml_error_names_its_line(tmp_path):
    errors = broken(tmp_path, lambda c, q: replace_in(q, "      b: Right 3\n", "      b: [unclosed\n"))
    bank = (tmp_path / "quizzes" / "TEST-BASICS.yaml").read_text().splitlines()
    line = next(i for i, text in enumerate(bank, 1) if "[unclosed" in text)
    assert errors[0].line is not None and abs(errors[0].line - line) <= 1


def test_one_bad_course_loads_nothing(tmp_path, session):
    courses, quizzes = write_course(tmp_path, code="GOOD-ONE")
    write_course(tmp_path, code="BAD-ONE")
    replace_in(quizzes / "BAD-ONE.yaml", "    answer: b\n", "    answer: z\n")
    with pytest.raises(ContentInvalid) as caught:
        sync_courses(session, courses, quizzes)
    assert "BAD-ONE.yaml" in str(caught.value.errors[0])
    assert session.scalar(select(func.count()).select_from(Course)) == 0


def test_sync_makes_versions_only_on_change(tmp_path, session):
    courses, quizzes = write_course(tmp_path)
    assert sync_courses(session, courses, quizzes).created == ["TEST-BASICS v1"]
    assert sync_courses(session, courses, quizzes).created == []
    # Settings that do not change the content make no version.
    replace_in(courses / "test-basics" / "course.yaml", "recurrence_months: 12", "recurrence_months: 24")
    assert sync_courses(session, courses, quizzes).created == []
    assert session.scalar(select(Course)).recurrence_months == 24
    replace_in(quizzes / "TEST-BASICS.yaml", "Question number 3?", "Question number three?")
    assert sync_courses(session, courses, quizzes).created == ["TEST-BASICS v2"]
    v1, v2 = session.scalars(select(CourseVersion).order_by(CourseVersion.number))
    def stems(v):
        return {q.stem for q in session.scalars(select(Question).where(Question.version_id == v.id))}

    assert "Question number 3?" in stems(v1) and "Question number three?" in stems(v2)
