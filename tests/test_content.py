"""The content format, its validation and the shipped courses."""
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.support.factories import log_change, question_stem, write_course
from tests.support.paths import ROOT
from training.catalog.content import SOURCE_LOCATOR, load_content, normalise_stem, read_content
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
        assert course.policy_version and course.reviewed_on
        slugs = {lesson.slug for lesson in course.lessons}
        for q in course.questions:
            assert q.explanation and q.source and q.lesson in slugs, q.key
            assert 3 <= len(q.choices) <= 6
            # Every wrong choice says why it is wrong, and in its own words.
            assert [note is None for note in q.wrong] == [i == q.answer_index for i in range(len(q.choices))]
            assert len(set(q.wrong)) == len(q.choices), q.key
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
    # Each wrong choice says why it is wrong: exactly the wrong choices' letters, 20 to 1000 characters each.
    (lambda c, q: replace_in(q, "      d: Choice d of question 2 ignores the facts given.\n", ""),
     "TEST-BASICS.yaml:", "question T-02: 'wrong' does not say why d is wrong"),
    (lambda c, q: replace_in(q, "      a: Choice a of question 2", "      b: Choice a of question 2"),
     "TEST-BASICS.yaml:", "'wrong' explains 'b', the right answer"),
    (lambda c, q: replace_in(q, "      d: Choice d of question 2", "      e: Choice d of question 2"),
     "TEST-BASICS.yaml:", "'wrong' names 'e', which is not a choice"),
    (lambda c, q: replace_in(q, "Choice c of question 2 applies the wrong test.", "Too short."),
     "TEST-BASICS.yaml:", "'wrong' c is 10 characters long; write 20 to 1000"),
    (lambda c, q: replace_in(q, "Choice c of question 2 applies the wrong test.", "x" * 1001),
     "TEST-BASICS.yaml:", "'wrong' c is 1001 characters long"),
    (lambda c, q: replace_in(q, "      c: Choice c of question 2 applies the wrong test.", "      c:"),
     "TEST-BASICS.yaml:", "'wrong' c is empty"),
    (lambda c, q: replace_in(q, "    wrong:\n      a: Choice a of question 2 misreads the rule.\n"
                                "      c: Choice c of question 2 applies the wrong test.\n"
                                "      d: Choice d of question 2 ignores the facts given.\n", ""),
     "TEST-BASICS.yaml:", "question T-02: 'wrong' is required: for each wrong choice (a, c, d)"),
    (lambda c, q: replace_in(q, "    wrong:\n      a: Choice a of question 2 misreads the rule.\n",
                             "    wrong: Every other choice misreads the rule.\n    x:\n      a: Choice a of question 2 misreads the rule.\n"),
     "TEST-BASICS.yaml:", "'wrong' must map each wrong choice's letter"),
    # reviewed_on is a required date.
    (lambda c, q: drop_line(c / "course.yaml", "reviewed_on:"), "course.yaml:", "'reviewed_on' is required"),
    (lambda c, q: set_line(c / "course.yaml", "reviewed_on: last spring"), "course.yaml:", "must be a date like"),
    (lambda c, q: set_line(c / "course.yaml", "reviewed_on: 2026-11-01 10:30:00"), "course.yaml:", "without a time"),
    (lambda c, q: set_line(c / "course.yaml", "reviewed_on: 2025-02-30"), "course.yaml:", "2025-02-30 is not a real date"),
])
def test_bad_content_is_reported_with_file_and_line(tmp_path, edit, where, message):
    errors = broken(tmp_path, edit)
    assert any(where in str(e) and message in str(e) for e in errors), [str(e) for e in errors]


def drop_line(path: Path, start: str) -> None:
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    assert any(line.startswith(start) for line in lines)
    path.write_text("".join(line for line in lines if not line.startswith(start)), encoding="utf-8")


def set_line(path: Path, line: str) -> None:
    drop_line(path, line.split(":")[0] + ":")
    path.write_text(path.read_text(encoding="utf-8") + line + "\n", encoding="utf-8")


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
    stem = question_stem("TEST-BASICS", 3)
    replace_in(quizzes / "TEST-BASICS.yaml", stem, stem.replace("number 3", "number three"))
    log_change(courses)
    assert sync_courses(session, courses, quizzes).created == ["TEST-BASICS v2"]
    v1, v2 = session.scalars(select(CourseVersion).order_by(CourseVersion.number))
    def stems(v):
        return {q.stem for q in session.scalars(select(Question).where(Question.version_id == v.id))}

    assert stem in stems(v1) and stem.replace("number 3", "number three") in stems(v2)


def test_wrong_explanations_are_stored_in_choice_order_and_make_a_new_version(tmp_path, session):
    courses, quizzes = write_course(tmp_path)
    sync_courses(session, courses, quizzes)
    question = session.scalar(select(Question).where(Question.key == "T-02"))
    assert question.wrong_explanations == ["Choice a of question 2 misreads the rule.", None,
                                           "Choice c of question 2 applies the wrong test.",
                                           "Choice d of question 2 ignores the facts given."]
    assert question.why_wrong(2) == "Choice c of question 2 applies the wrong test."
    assert question.why_wrong(1) is None and question.why_wrong(9) is None
    replace_in(quizzes / "TEST-BASICS.yaml", "question 2 applies the wrong test", "question 2 applies another test")
    log_change(courses)
    assert sync_courses(session, courses, quizzes).created == ["TEST-BASICS v2"]


def test_letters_in_any_order_and_six_choices(tmp_path):
    courses, quizzes = write_course(tmp_path)
    replace_in(quizzes / "TEST-BASICS.yaml",
               "      d: Wrong 1 d\n    answer: b\n",
               "      d: Wrong 1 d\n      e: Wrong 1 e\n      f: Wrong 1 f\n    answer: b\n")
    replace_in(quizzes / "TEST-BASICS.yaml",
               "    wrong:\n      a: Choice a of question 1 misreads the rule.\n",
               "    wrong:\n      f: Choice f of question 1 is out of date.\n"
               "      e: Choice e of question 1 is someone else's duty.\n"
               "      a: Choice a of question 1 misreads the rule.\n")
    courses_read, errors = load_content(courses, quizzes)
    assert errors == []
    first = courses_read[0].questions[0]
    assert first.wrong[4:] == ["Choice e of question 1 is someone else's duty.",
                               "Choice f of question 1 is out of date."]


def test_reviewed_on_is_kept_on_the_course_without_a_new_version(tmp_path, session):
    courses, quizzes = write_course(tmp_path, reviewed_on=date(2026, 3, 1))
    sync_courses(session, courses, quizzes, today=date(2026, 11, 27))
    set_line(courses / "test-basics" / "course.yaml", "reviewed_on: 2026-11-20")
    assert sync_courses(session, courses, quizzes, today=date(2026, 11, 27)).created == []
    assert session.scalar(select(Course)).reviewed_on == date(2026, 11, 20)


@pytest.mark.parametrize("reviewed_on, warned", [
    (date(2025, 11, 27), False),       # twelve months to the day: still current
    (date(2025, 11, 26), True),
    (date(2019, 5, 1), True),
])
def test_a_course_reviewed_over_twelve_months_ago_is_a_warning(tmp_path, session, reviewed_on, warned):
    courses, quizzes = write_course(tmp_path, reviewed_on=reviewed_on)
    result = sync_courses(session, courses, quizzes, today=date(2026, 11, 27))
    assert result.created == ["TEST-BASICS v1"]      # loaded all the same
    messages = [str(w) for w in result.warnings]
    if warned:
        assert len(messages) == 1 and "course.yaml" in messages[0], messages
        assert (f"TEST-BASICS was last reviewed against its sources on {reviewed_on.isoformat()}, "
                f"more than 12 months before today (2026-11-27)") in messages[0]
    else:
        assert messages == []


def test_a_review_date_after_today_is_refused(tmp_path, session):
    courses, quizzes = write_course(tmp_path, reviewed_on=date(2026, 12, 25))
    with pytest.raises(ContentInvalid) as caught:
        sync_courses(session, courses, quizzes, today=date(2026, 11, 27))
    assert "'reviewed_on' is 2026-12-25, after today (2026-11-27)" in str(caught.value.errors[0])
    # A day ahead is the writer's calendar, not a mistake.
    courses, quizzes = write_course(tmp_path / "ahead", reviewed_on=date(2026, 11, 28))
    assert sync_courses(session, courses, quizzes, today=date(2026, 11, 27)).created == ["TEST-BASICS v1"]


def test_courses_sync_warns_about_a_stale_review_and_still_loads(runner, app):
    course_file = app.config["COURSES_DIR"] / "test-basics" / "course.yaml"
    set_line(course_file, "reviewed_on: 2020-01-15")
    result = runner.invoke(args=["courses", "sync"])
    assert result.exit_code == 0, result.output
    assert f"warning: {course_file}:1: TEST-BASICS was last reviewed against its sources on 2020-01-15" \
        in result.output
    assert "new version: TEST-BASICS v1" in result.output


def test_courses_sync_refuses_a_question_whose_lesson_is_no_lesson(runner, app, session):
    bank = app.config["QUIZZES_DIR"] / "TEST-BASICS.yaml"
    replace_in(bank, "lesson: 02-topic-2", "lesson: 02-topic-two")
    result = runner.invoke(args=["courses", "sync"])
    assert result.exit_code == 1
    assert (f"{bank}:" in result.output and "question T-02: lesson '02-topic-two' is not a lesson of this course "
            "(known: 01-topic-1, 02-topic-2, 03-topic-3)" in result.output)
    assert "nothing was loaded" in result.output
    assert session.scalar(select(func.count()).select_from(Course)) == 0


def test_courses_sync_refuses_a_source_that_names_no_section_or_page(runner, app, session):
    bank = app.config["QUIZZES_DIR"] / "TEST-BASICS.yaml"
    replace_in(bank, "    source: Test source, p. 2\n", "    source: DOJ use-of-force policy, de-escalation provision\n")
    result = runner.invoke(args=["courses", "sync"])
    assert result.exit_code == 1
    assert (f"{bank}:{line_of(str(bank), 'T-02')}: question T-02: 'source' names no section or page "
            "('DOJ use-of-force policy, de-escalation provision')" in result.output)
    assert "nothing was loaded" in result.output
    assert session.scalar(select(func.count()).select_from(Course)) == 0


# Duplicate stems.

def set_stem(bank: Path, key: str, stem: str) -> None:
    """Give question `key` of the bank a new stem."""
    text = bank.read_text(encoding="utf-8")
    number = int(key.split("-")[1])
    code = bank.stem
    old = f"    stem: {question_stem(code, number)}\n"
    assert old in text
    bank.write_text(text.replace(old, f"    stem: >-\n      {stem}\n", 1), encoding="utf-8")


def stems_checked(tmp_path, pairs: list[tuple[str, str, str]]):
    """Two courses; each (bank code, question id, stem) set; what reading them finds."""
    courses, quizzes = write_course(tmp_path, code="TEST-BASICS")
    write_course(tmp_path, code="TEST-OTHER")
    for code, key, stem in pairs:
        set_stem(quizzes / f"{code}.yaml", key, stem)
    return read_content(courses, quizzes)


SCENE = ("A man who was hurt during an investigatory stop sues, claiming the officer used too much force. "
         "Under Graham v. Connor, which legal test will the court apply to his claim?")


@pytest.mark.parametrize("second", [
    SCENE,
    SCENE.upper(),
    SCENE.replace(", ", " , ").replace("?", " ?!").replace(" ", "\n      ", 3),
    SCENE.replace("Graham v. Connor", "*Graham v. Connor*"),
])
def test_the_same_stem_is_refused_in_one_bank_naming_both(tmp_path, second):
    report = stems_checked(tmp_path, [("TEST-BASICS", "T-04", SCENE), ("TEST-BASICS", "T-09", second)])
    bank = str(tmp_path / "quizzes" / "TEST-BASICS.yaml")
    assert [e.message for e in report.errors] == [
        f"question T-09 has the same stem as question T-04 ({bank}:{line_of(bank, 'T-04')}), ignoring case, "
        f"punctuation and spacing: remove one, or make it ask something else"]
    assert report.errors[0].path == bank and report.errors[0].line == line_of(bank, "T-09")


def line_of(bank: str, key: str) -> int:
    lines = Path(bank).read_text(encoding="utf-8").splitlines()
    return next(n for n, line in enumerate(lines, 1) if line == f"  - id: {key}")


def test_the_same_stem_in_another_bank_is_refused_naming_both_files(tmp_path, session):
    report = stems_checked(tmp_path, [("TEST-BASICS", "T-04", SCENE), ("TEST-OTHER", "T-11", SCENE)])
    assert len(report.errors) == 1
    error = str(report.errors[0])
    assert "question T-11 has the same stem as question T-04" in error
    assert "TEST-OTHER.yaml:" in error and "TEST-BASICS.yaml:" in error
    with pytest.raises(ContentInvalid):
        sync_courses(session, tmp_path / "courses", tmp_path / "quizzes")
    assert session.scalar(select(func.count()).select_from(Course)) == 0


@pytest.mark.parametrize("second", [
    SCENE.replace("an investigatory stop", "the investigatory stop"),           # an article
    SCENE.replace("used too much force", "used too much of force"),            # a small word more
    SCENE.replace("claiming", "claimng").replace("his claim", "his claims"),   # a typo, a plural
])
def test_a_stem_differing_only_in_small_words_or_spelling_is_refused(tmp_path, second):
    report = stems_checked(tmp_path, [("TEST-BASICS", "T-04", SCENE), ("TEST-OTHER", "T-11", second)])
    assert len(report.errors) == 1, report.errors
    assert "question T-11 has nearly the same stem as question T-04" in str(report.errors[0])
    assert "differ only in small words, spelling or punctuation" in str(report.errors[0])


KNIFE = "A suspect armed with a knife advances on you from 30 feet away. May you use deadly force yet?"
CAR = ("A driver accelerates toward an officer standing in the road. Under DOJ's May 2022 policy, "
       "may the officer shoot at the moving vehicle?")


@pytest.mark.parametrize("first, second", [
    (KNIFE, KNIFE.replace("knife", "baseball bat")),
    (KNIFE, KNIFE.replace("30 feet", "3 feet")),
    (KNIFE, KNIFE.replace("armed", "unarmed")),
    (KNIFE, KNIFE.replace("May you", "May you not")),
    (CAR, CAR.replace("toward", "away from")),
    (CAR, CAR.replace("shoot at", "shout at")),
    (CAR, CAR.replace("an officer", "a trooper")),
    (KNIFE.replace("you", "he"), KNIFE.replace("you", "she")),
])
def test_different_scenarios_that_read_alike_are_loaded_with_a_warning(tmp_path, first, second):
    report = stems_checked(tmp_path, [("TEST-BASICS", "T-04", first), ("TEST-BASICS", "T-09", second)])
    assert report.errors == []
    assert len(report.warnings) == 1
    assert "question T-09's stem is" in str(report.warnings[0])
    assert "like question T-04's" in str(report.warnings[0])
    assert "if they ask the same thing, keep one" in str(report.warnings[0])


def test_questions_that_share_a_preamble_pass_without_a_word(tmp_path):
    report = stems_checked(tmp_path, [
        ("TEST-BASICS", "T-04", "Under DOJ's May 2022 policy, when must you tell a subject to submit before "
                                "using deadly force?"),
        ("TEST-OTHER", "T-11", "Under DOJ's May 2022 policy, what must you reasonably believe a subject poses "
                               "before you may use deadly force against him?"),
        ("TEST-OTHER", "T-12", SCENE),
        ("TEST-BASICS", "T-05", SCENE.replace("which legal test will the court apply to his claim",
                                              "from whose point of view is the force judged")),
    ])
    assert report.errors == [] and report.warnings == []


def test_normalised_stems():
    assert normalise_stem("  *Graham v. Connor*:\n  Which TEST\u2014the “objective” one? ") \
        == "graham v connor which test the objective one"
    assert normalise_stem("Ｆｕｌｌ－width_text") == "full width text"


# A source must point into its document: a section, paragraph, part, page, Justice Manual number or pin cite.
@pytest.mark.parametrize("source", [
    "Department Policy on the Use of Force, de-escalation provision",
    "DHS Policy Statement 044-05 Rev. 01 (Feb. 6, 2023), as announced by DHS",
    "GAO-22-104470 (Dec. 15, 2021), What GAO Found",
    "Graham v. Connor, 490 U.S. 386 (1989)",
    "Barnes v. Felix, 605 U.S. ___ (2025)",
    "ABLE Project, Frequently Asked Questions",
    "DHS Policy Statement 044-05 Rev. 01, reporting provision (section number not confirmed)",
    "DHS policy update, deadly-force standards as announced",
])
def test_a_source_that_names_no_section_or_page_is_refused_with_its_line(tmp_path, source):
    courses, quizzes = write_course(tmp_path)
    bank = quizzes / "TEST-BASICS.yaml"
    replace_in(bank, "    source: Test source, p. 3\n", f'    source: "{source}"\n')
    errors = load_content(courses, quizzes)[1]
    assert [str(e) for e in errors] == [
        f"{bank}:{line_of(str(bank), 'T-03')}: question T-03: 'source' names no section or page ({source!r}): "
        f"point into the document, like '§ VI.A.1', 'Part III', 'p. 4', 'JM 1-16.200' or '471 U.S. 1, 11'"]


@pytest.mark.parametrize("source", [
    "DHS Policy Statement 044-05 Rev. 01 (Feb. 6, 2023), § VI.A.1.b",
    "DHS Policy Statement 044-05 Rev. 01 (Feb. 6, 2023), III.C (Use of Safe Tactics)",
    "DOJ Use-of-Force Policy (May 20, 2022), ¶ 3 (duty to intervene)",
    "DOJ Justice Manual 1-16.200 (warning shots)",
    "Tennessee v. Garner, 471 U.S. 1, 11–12 (1985)",
    "Anderson v. Branen, 17 F.3d 552, 557 (2d Cir. 1994)",
    "City and County of San Francisco v. Sheehan, 575 U.S. 600 (2015), Part III",
    "DAG memorandum (Sept. 13, 2021), pp. 1–2",
    "DOJ OIG, I-2009-003 (May 2009), Executive Digest, p. i",
    "GAO-22-104470 (Dec. 15, 2021), Highlights page (What GAO Found)",
    "DOJ Guidance (May 25, 2023), Standard section",
    "DOJ Guidance (December 2014), standard 2 (all other activities)",
    "PERF, ICAT training guide (2016), Module 4 (Tactical Communications)",
    "United States v. Thao (D. Minn.), indictment count 3",
    "Executive Order 14148, sec. 2",
])
def test_a_source_that_names_a_section_or_page_is_accepted(tmp_path, source):
    courses, quizzes = write_course(tmp_path)
    replace_in(quizzes / "TEST-BASICS.yaml", "    source: Test source, p. 3\n", f'    source: "{source}"\n')
    courses_read, errors = load_content(courses, quizzes)
    assert errors == []
    assert courses_read[0].questions[2].source == source


def shipped_banks():
    courses, errors = load_content(ROOT / "courses", ROOT / "quizzes")
    assert errors == []
    return courses


# At most this share of a bank may have the right answer as its longest choice, or the same answer letter.
LONGEST_RIGHT_SHARE = 0.35
ONE_LETTER_SHARE = 0.40


def right_is_longest(question) -> bool:
    right = len(question.choices[question.answer_index])
    return all(right > len(text) for i, text in enumerate(question.choices) if i != question.answer_index)


@pytest.mark.parametrize("code", sorted(SHIPPED))
def test_the_right_answer_cannot_be_guessed_from_length_or_letter(code):
    course = next(c for c in shipped_banks() if c.code == code)
    total = len(course.questions)
    longest = [q.key for q in course.questions if right_is_longest(q)]
    assert len(longest) <= LONGEST_RIGHT_SHARE * total, (len(longest), total, longest)
    letters: dict[int, int] = {}
    for q in course.questions:
        letters[q.answer_index] = letters.get(q.answer_index, 0) + 1
    assert max(letters.values()) <= ONE_LETTER_SHARE * total, letters


def test_every_shipped_source_names_a_section_or_page():
    for course in shipped_banks():
        for q in course.questions:
            assert SOURCE_LOCATOR.search(q.source), (q.key, q.source)


def test_every_shipped_lesson_ends_with_sources_that_name_sections_primary_first():
    for course in shipped_banks():
        for lesson in course.lessons:
            body, heading, listed = lesson.body_md.partition("\n## Sources\n")
            assert heading, (course.code, lesson.slug)
            items = [line[2:] for line in listed.splitlines() if line.startswith("- ")]
            primary = [item for item in items if not item.startswith("Secondary:")]
            assert primary and items[:len(primary)] == primary, (lesson.slug, items)
            for item in primary:
                assert SOURCE_LOCATOR.search(item), (lesson.slug, item)
