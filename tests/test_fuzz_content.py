"""Arbitrary course content at `courses sync`: a clean refusal naming the file, or a course that loads."""
from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from tests.support.factories import write_course
from tests.support.fuzz import FUZZ, NASTY, TEXT, rolled_back, row_counts
from training.catalog.content import load_content
from training.clock import server_today

DEEP = "[" * 5000 + "]" * 5000
YAML_VALUE = st.one_of(
    st.sampled_from(['"\\0"', '"a\\0b"', '"\\ud800"', DEEP, "&a [1, 2]", "{a: 1}", "null", "~", "1e309", "-1",
                     "99999999999999999999999", "true", "!!binary aGVsbG8=", "!!python/object:os.system {}",
                     "'" + "x" * 300 + "'", "[]", "2024-02-30", "2999-01-01", "2026-11-27 10:00:00",
                     "*nowhere", '"<script>alert(1)</script>"']),
    NASTY.map(lambda s: '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\x00", "\\0") + '"'),
    TEXT.map(lambda s: '"' + s.encode("unicode_escape").decode("ascii").replace('"', '\\"') + '"'))
COURSE_KEYS = st.sampled_from(["code", "title", "summary", "policy_version", "recurrence_months", "pass_mark",
                               "questions_per_attempt", "renewal_window_days", "renew_from_expiry", "reviewed_on",
                               "update_days", "changes"])
QUESTION_KEYS = st.sampled_from(["id", "lesson", "stem", "explanation", "source", "answer", "a", "b", "choices",
                                 "wrong", "wrong c"])
CONTENT = st.one_of(st.binary(max_size=300), TEXT.map(str.encode), st.just(DEEP.encode()),
                    st.just(b"# Title\n\nBody with a NUL \x00 inside.\n"), st.just(b"\xef\xbb\xbf# T\r\rBody\r"))


@st.composite
def edits(draw):
    """One change to a valid course: a file replaced, a lesson added, or one value set to something odd."""
    kind = draw(st.sampled_from(["course value", "question value", "course file", "quiz file", "lesson file",
                                 "new lesson"]))
    if kind.endswith("value"):
        return kind, draw(COURSE_KEYS if kind == "course value" else QUESTION_KEYS), draw(YAML_VALUE)
    if kind == "new lesson":
        return kind, draw(st.one_of(st.just("02-" + "x" * 200 + ".md"), TEXT.filter(
            lambda s: s and "/" not in s and "\x00" not in s and s not in (".", "..") and len(s.encode()) < 200
        ).map(lambda s: s + ".md"))), draw(CONTENT)
    return kind, None, draw(CONTENT)


def apply_edit(courses: Path, quizzes: Path, edit) -> None:
    kind, key, value = edit
    folder = courses / "test-basics"
    if kind == "course value":
        text = (folder / "course.yaml").read_text()
        lines = [line for line in text.splitlines() if not line.startswith(f"{key}:")]
        (folder / "course.yaml").write_text("\n".join(lines + [f"{key}: {value}"]) + "\n")
    elif kind == "question value" and key.startswith("wrong"):
        # The wrong mapping, or the explanation of one wrong choice.
        bank = quizzes / "TEST-BASICS.yaml"
        old = "    wrong:\n" if key == "wrong" else "      c: Choice c of question 1 applies the wrong test.\n"
        new = f"    wrong: {value}\n    x_wrong:\n" if key == "wrong" else f"      c: {value}\n"
        bank.write_text(bank.read_text().replace(old, new, 1))
    elif kind == "question value":
        bank = quizzes / "TEST-BASICS.yaml"
        bank.write_text(bank.read_text().replace(f"    {key}: ", f"    {key}: {value}\n    x_{key}: ", 1)
                        if key != "a" and key != "b" else bank.read_text().replace(
                            f"      {key}: ", f"      {key}: {value}\n      x{key}: ", 1))
    elif kind == "course file":
        (folder / "course.yaml").write_bytes(value)
    elif kind == "quiz file":
        (quizzes / "TEST-BASICS.yaml").write_bytes(value)
    elif kind == "lesson file":
        (folder / "lessons" / "01-topic-1.md").write_bytes(value)
    else:
        (folder / "lessons" / key).write_bytes(value)


@pytest.mark.slow
@FUZZ
@given(edit=edits())
@example(edit=("course value", "title", '"\\0"'))
@example(edit=("question value", "stem", '"\\ud800"'))
@example(edit=("course value", "reviewed_on", "2024-02-30"))
@example(edit=("course value", "changes", "[{date: 2026-11-02, kind: policy, summary: \"\\0\"}]"))
@example(edit=("course value", "changes", "[{date: 2026-11-02, kind: editorial, summary: Typos.}]"))
@example(edit=("question value", "wrong c", '"\\0"'))
@example(edit=("quiz file", None, DEEP.encode()))
@example(edit=("new lesson", "02-" + "x" * 200 + ".md", b"# Long\n\nBody\n"))
@example(edit=("lesson file", None, b"# Title\n\nBody with a NUL \x00 inside.\n"))
def test_courses_sync_with_arbitrary_content(app, runner, connection, edit):
    with tempfile.TemporaryDirectory() as root, rolled_back(connection):
        courses, quizzes = write_course(Path(root))
        apply_edit(courses, quizzes, edit)
        app.config.update(COURSES_DIR=courses, QUIZZES_DIR=quizzes)
        _, errors = load_content(courses, quizzes, server_today())
        assert all(str(error).startswith(root) and error.message for error in errors)
        before = row_counts(connection)
        result = runner.invoke(args=["courses", "sync"])
        assert result.exception is None or isinstance(result.exception, SystemExit), result.output
        if errors:
            assert result.exit_code == 1 and "nothing was loaded" in result.output
            assert str(errors[0]) in result.output
            assert row_counts(connection) == before
        else:
            assert result.exit_code == 0, result.output
