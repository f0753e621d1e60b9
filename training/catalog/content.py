"""Reading and validating course content from `courses/` and `quizzes/`.

Nothing here touches the database: `read_content` returns plain values, the
full list of problems and the warnings, each with its file and line. The YAML
reading is in `reading`, a question's checks in `questions`, the duplicate stem
check in `stems` and the change log in `changelog`.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path

from dateutil.relativedelta import relativedelta

from training.catalog.changelog import ChangeEntry, changes_line, read_changes
from training.catalog.questions import SOURCE_LOCATOR, QuestionContent, read_question
from training.catalog.reading import (
    LINE_KEY,
    MAX_LENGTH,
    UNSTORABLE,
    UNSTORABLE_MESSAGE,
    ContentError,
    Problems,
    date_field,
    int_field,
    key_line,
    read_yaml,
    text_field,
)
from training.catalog.stems import Stem, check_stems, normalise_stem

__all__ = ["CYCLES", "SOURCE_LOCATOR", "ChangeEntry", "ContentError", "ContentReport", "CourseContent",
           "LessonContent", "QuestionContent", "load_content", "normalise_stem", "read_content"]

CODE_RE = re.compile(r"^[A-Z][A-Z0-9-]{1,63}$")
LESSON_FILE_RE = re.compile(r"^(\d{2})-[a-z0-9][a-z0-9-]*\.md$")

MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
          "november", "december")
# When certifications of a course renew: on each officer's anniversary (None), or on a fixed yearly cycle
# starting on the 1st of a month (its number).
CYCLES: dict[str, int | None] = {"anniversary": None, "calendar-year": 1, "fiscal-year": 10,
                                 **{name: number for number, name in enumerate(MONTHS, start=1)}}


@dataclass
class LessonContent:
    slug: str
    title: str
    body_md: str


@dataclass
class CourseContent:
    code: str
    title: str
    summary: str
    policy_version: str
    recurrence_months: int = 12
    pass_mark: int = 80
    questions_per_attempt: int = 10
    renewal_window_days: int = 60
    renew_from_expiry: bool = True
    reviewed_on: date | None = None
    cycle: str = "anniversary"
    update_days: int = 30
    lessons: list[LessonContent] = field(default_factory=list)
    questions: list[QuestionContent] = field(default_factory=list)
    # The change log, oldest entry first: one entry per publication of a new version.
    changes: list[ChangeEntry] = field(default_factory=list)
    # Where it was read from, to name in refusals: course.yaml, its `code:` line and its `changes:` line.
    file: str = ""
    code_line: int | None = None
    changes_line: int | None = None

    def content_hash(self) -> str:
        """Hash of everything that makes a new version when it changes."""
        versioned = {k: v for k, v in asdict(self).items() if k not in UNVERSIONED}
        if versioned["cycle"] == "anniversary":
            del versioned["cycle"]      # the default leaves the hashes of courses from before cycles as they were
        blob = json.dumps(versioned, sort_keys=True, ensure_ascii=False).encode()
        return hashlib.sha256(blob).hexdigest()


# Course settings that change the course without making a new version.
UNVERSIONED = {"recurrence_months", "renewal_window_days", "renew_from_expiry", "reviewed_on", "update_days",
               "changes", "file", "code_line", "changes_line"}
# The versioned settings: what makes a new version besides the lessons and questions.
VERSIONED_SETTINGS = ("title", "summary", "policy_version", "pass_mark", "questions_per_attempt", "cycle")


@dataclass
class ContentReport:
    """What reading the content found: the courses, or the problems that stop them loading; and warnings,
    which stop nothing."""

    courses: list[CourseContent]
    errors: list[ContentError]
    warnings: list[ContentError]


def _cycle(data: dict, path: Path, problems: Problems) -> str:
    """The course's renewal cycle: `anniversary` (the default), `fiscal-year`, `calendar-year` or a month name.
    A fixed cycle is one year long, so it goes with `recurrence_months` 12."""
    value = data.get("cycle", "anniversary")
    name = value.strip().lower() if isinstance(value, str) else None
    if name not in CYCLES:
        problems.add(path, key_line(path, "cycle", data.get(LINE_KEY)),
                     f"'cycle' must be anniversary, fiscal-year, calendar-year or a month a yearly cycle starts "
                     f"in, like july; {value!r} is none of these")
        return "anniversary"
    if CYCLES[name] is not None and data.get("recurrence_months", 12) != 12:
        problems.add(path, key_line(path, "cycle", data.get(LINE_KEY)),
                     f"'cycle: {name}' renews once a year, so 'recurrence_months' must be 12 (or left out)")
    return name


def _lessons(folder: Path, problems: Problems) -> list[LessonContent]:
    lessons_dir = folder / "lessons"
    files = sorted(lessons_dir.glob("*.md")) if lessons_dir.is_dir() else []
    if not files:
        problems.add(lessons_dir, None, "no lessons: add files named like 01-first-topic.md")
    lessons = []
    for path in files:
        if not LESSON_FILE_RE.match(path.name):
            problems.add(path, None, "lesson file names look like 01-some-topic.md (two digits, lowercase, hyphens)")
            continue
        if len(path.stem) > MAX_LENGTH["lesson"]:
            problems.add(path, None, f"the file name is longer than {MAX_LENGTH['lesson']} characters")
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            problems.add(path, None, "is not UTF-8 text")
            continue
        if found := UNSTORABLE.search(text):
            problems.add(path, text[:found.start()].count("\n") + 1, UNSTORABLE_MESSAGE)
            continue
        first, _, body = text.partition("\n")
        if not first.startswith("# ") or not first[2:].strip():
            problems.add(path, 1, "the first line must be the lesson title, written '# Title'")
            continue
        if len(first[2:].strip()) > MAX_LENGTH["title"]:
            problems.add(path, 1, f"the title is longer than {MAX_LENGTH['title']} characters")
            continue
        if not body.strip():
            problems.add(path, 2, "the lesson has no text")
            continue
        lessons.append(LessonContent(path.stem, first[2:].strip(), body.strip() + "\n"))
    return lessons


def _course(folder: Path, quizzes_dir: Path, problems: Problems, stems: list[Stem],
            today: date | None) -> CourseContent | None:
    course_file = folder / "course.yaml"
    if not course_file.is_file():
        problems.add(course_file, None, "missing: every course folder needs a course.yaml")
        return None
    data = read_yaml(course_file, problems)
    if data is None:
        return None
    before = len(problems.items)
    code = text_field(data, "code", course_file, problems)
    if code and not CODE_RE.match(code):
        problems.add(course_file, data.get(LINE_KEY),
                     f"code '{code}' must be capital letters, digits and hyphens, like UOF-DEADLY-FORCE")
    course = CourseContent(
        code=code,
        title=text_field(data, "title", course_file, problems),
        summary=text_field(data, "summary", course_file, problems),
        policy_version=text_field(data, "policy_version", course_file, problems),
        recurrence_months=int_field(data, "recurrence_months", 12, 1, 120, course_file, problems),
        pass_mark=int_field(data, "pass_mark", 80, 1, 100, course_file, problems),
        questions_per_attempt=int_field(data, "questions_per_attempt", 10, 1, 100, course_file, problems),
        renewal_window_days=int_field(data, "renewal_window_days", 60, 0, 365, course_file, problems),
        update_days=int_field(data, "update_days", 30, 1, 365, course_file, problems),
        file=str(course_file),
        code_line=key_line(course_file, "code", data.get(LINE_KEY)),
        changes_line=changes_line(course_file, data),
    )
    renew = data.get("renew_from_expiry", True)
    if not isinstance(renew, bool):
        problems.add(course_file, data.get(LINE_KEY), "'renew_from_expiry' must be true or false")
    course.renew_from_expiry = bool(renew)
    course.reviewed_on = date_field(data, "reviewed_on", course_file, problems)
    if course.reviewed_on and today:
        _check_review(course.reviewed_on, today, course_file, data.get(LINE_KEY), code, problems)
    course.cycle = _cycle(data, course_file, problems)
    course.changes = read_changes(data, course_file, problems)
    course.lessons = _lessons(folder, problems)
    if not code:
        return None

    quiz_file = quizzes_dir / f"{code}.yaml"
    if not quiz_file.is_file():
        problems.add(quiz_file, None, f"missing: the question bank of {code}")
        return None
    bank = read_yaml(quiz_file, problems)
    if bank is None:
        return None
    if bank.get("course") != code:
        problems.add(quiz_file, bank.get(LINE_KEY), f"'course' must be {code}, the code in {course_file}")
    items = bank.get("questions")
    if not isinstance(items, list) or not items:
        problems.add(quiz_file, bank.get(LINE_KEY), "'questions' must be a list of questions")
        return None
    slugs = {lesson.slug for lesson in course.lessons}
    seen: dict[str, int] = {}
    for index, item in enumerate(items, start=1):
        question = read_question(item, index, quiz_file, slugs, problems)
        if question is None:
            continue
        line = item.get(LINE_KEY)
        if question.key in seen:
            problems.add(quiz_file, line,
                         f"question id '{question.key}' is used twice (first on line {seen[question.key]})")
            continue
        seen[question.key] = line
        course.questions.append(question)
        stems.append(Stem(str(quiz_file), line, question.key, normalise_stem(question.stem)))
    if len(items) < course.questions_per_attempt:
        problems.add(quiz_file, bank.get(LINE_KEY),
                     f"the bank has {len(items)} questions but {course.questions_per_attempt} are drawn per attempt")
    if len(problems.items) != before:
        return None
    return course


def load_content(courses_dir: Path, quizzes_dir: Path,
                 today: date | None = None) -> tuple[list[CourseContent], list[ContentError]]:
    """Read and check every course; return the courses, or every problem found."""
    report = read_content(courses_dir, quizzes_dir, today)
    return report.courses, report.errors


def read_content(courses_dir: Path, quizzes_dir: Path, today: date | None = None) -> ContentReport:
    """Read and check every course. With `today`, also check each course's review date against it."""
    problems = Problems()
    stems: list[Stem] = []
    courses: list[CourseContent] = []
    folders = sorted(p for p in Path(courses_dir).iterdir() if p.is_dir()) if Path(courses_dir).is_dir() else []
    if not folders:
        problems.add(courses_dir, None, "no course folders found")
    codes: dict[str, Path] = {}
    for folder in folders:
        course = _course(folder, Path(quizzes_dir), problems, stems, today)
        if course is None:
            continue
        if course.code in codes:
            problems.add(folder / "course.yaml", None, f"code {course.code} is also used by {codes[course.code]}")
            continue
        codes[course.code] = folder
        courses.append(course)
    check_stems(stems, problems)
    return ContentReport(courses, problems.items, problems.warnings)


# A course is due for review once its review date is this old.
REVIEW_MONTHS = 12


def _check_review(reviewed_on: date, today: date, path: Path, line: int | None, code: str,
                  problems: Problems) -> None:
    # A day of grace: the writer's calendar may be a day ahead of the server's.
    if reviewed_on > today + timedelta(days=1):
        problems.add(path, line, f"'reviewed_on' is {reviewed_on.isoformat()}, after today "
                                 f"({today.isoformat()}): give the day the course was last reviewed")
    elif reviewed_on < today - relativedelta(months=REVIEW_MONTHS):
        problems.warn(path, line, f"{code or 'this course'} was last reviewed against its sources on "
                                  f"{reviewed_on.isoformat()}, more than {REVIEW_MONTHS} months before today "
                                  f"({today.isoformat()}): review it and update 'reviewed_on'")
