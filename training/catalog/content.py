"""Reading and validating course content from `courses/` and `quizzes/`.

Nothing here touches the database: `read_content` returns plain values, the
full list of problems and the warnings, each with its file and line.
"""
from __future__ import annotations

import difflib
import hashlib
import json
import re
import unicodedata
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from dateutil.relativedelta import relativedelta

CODE_RE = re.compile(r"^[A-Z][A-Z0-9-]{1,63}$")
LESSON_FILE_RE = re.compile(r"^(\d{2})-[a-z0-9][a-z0-9-]*\.md$")
LINE_KEY = "__line__"
# Characters no database column stores: NUL, and the lone surrogates a YAML escape like "\ud800" makes.
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
UNSTORABLE_MESSAGE = "contains a character that cannot be stored (a NUL or a lone surrogate like \\ud800)"

MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
          "november", "december")
# When certifications of a course renew: on each officer's anniversary (None), or on a fixed yearly cycle
# starting on the 1st of a month (its number).
CYCLES: dict[str, int | None] = {"anniversary": None, "calendar-year": 1, "fiscal-year": 10,
                                 **{name: number for number, name in enumerate(MONTHS, start=1)}}


@dataclass(frozen=True)
class ContentError:
    path: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.message}"


@dataclass
class LessonContent:
    slug: str
    title: str
    body_md: str


@dataclass
class QuestionContent:
    key: str
    lesson: str
    stem: str
    choices: list[str]
    answer_index: int
    explanation: str
    source: str
    # Why each choice is wrong, in the order of `choices`; None at the right answer.
    wrong: list[str | None] = field(default_factory=list)


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
    lessons: list[LessonContent] = field(default_factory=list)
    questions: list[QuestionContent] = field(default_factory=list)

    def content_hash(self) -> str:
        """Hash of everything that makes a new version when it changes."""
        versioned = {k: v for k, v in asdict(self).items() if k not in UNVERSIONED}
        if versioned["cycle"] == "anniversary":
            del versioned["cycle"]      # the default leaves the hashes of courses from before cycles as they were
        blob = json.dumps(versioned, sort_keys=True, ensure_ascii=False).encode()
        return hashlib.sha256(blob).hexdigest()


# Course settings that change the course without making a new version.
UNVERSIONED = {"recurrence_months", "renewal_window_days", "renew_from_expiry", "reviewed_on"}


@dataclass
class ContentReport:
    """What reading the content found: the courses, or the problems that stop them loading; and warnings,
    which stop nothing."""

    courses: list[CourseContent]
    errors: list[ContentError]
    warnings: list[ContentError]


class _LineLoader(yaml.SafeLoader):
    """A safe loader that remembers the line of every mapping."""

    def construct_mapping(self, node, deep=False):
        mapping = super().construct_mapping(node, deep=deep)
        mapping[LINE_KEY] = node.start_mark.line + 1
        return mapping

    def construct_checked_timestamp(self, node):
        """A date like 2024-02-30 is refused with its line, as any other YAML error."""
        try:
            return self.construct_yaml_timestamp(node)
        except ValueError as exc:
            raise yaml.constructor.ConstructorError(
                None, None, f"{node.value} is not a real date ({exc})", node.start_mark) from None


_LineLoader.add_constructor("tag:yaml.org,2002:timestamp", _LineLoader.construct_checked_timestamp)


class _Problems:
    def __init__(self) -> None:
        self.items: list[ContentError] = []
        self.warnings: list[ContentError] = []

    def add(self, path: Path | str, line: int | None, message: str) -> None:
        self.items.append(ContentError(str(path), line, message))

    def warn(self, path: Path | str, line: int | None, message: str) -> None:
        self.warnings.append(ContentError(str(path), line, message))


def _read_yaml(path: Path, problems: _Problems) -> dict | None:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        problems.add(path, None, "is not UTF-8 text")
        return None
    try:
        data = yaml.load(text, Loader=_LineLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problems.add(path, mark.line + 1 if mark else None, f"invalid YAML: {exc.problem}")
        return None
    except yaml.YAMLError as exc:
        problems.add(path, None, f"invalid YAML: {exc}")
        return None
    except RecursionError:
        problems.add(path, None, "invalid YAML: values are nested too deeply")
        return None
    if not isinstance(data, dict):
        problems.add(path, 1, "must be a mapping of keys to values")
        return None
    return data


# Longest value each short field may hold (the database columns' sizes).
MAX_LENGTH = {"title": 200, "id": 64, "lesson": 120, "answer": 8}


def _text(data: dict, key: str, path: Path, problems: _Problems) -> str:
    value = data.get(key)
    line = data.get(LINE_KEY)
    if value is None or (isinstance(value, str) and not value.strip()):
        problems.add(path, line, f"'{key}' is required")
        return ""
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        problems.add(path, line, f"'{key}' must be text")
        return ""
    text = str(value).strip()
    if UNSTORABLE.search(text):
        problems.add(path, line, f"'{key}' {UNSTORABLE_MESSAGE}")
        return ""
    limit = MAX_LENGTH.get(key)
    if limit is not None and len(text) > limit:
        problems.add(path, line, f"'{key}' is {len(text)} characters long; at most {limit} are allowed")
        return ""
    return text


def _date(data: dict, key: str, path: Path, problems: _Problems) -> date | None:
    value = data.get(key)
    line = data.get(LINE_KEY)
    if value is None or (isinstance(value, str) and not value.strip()):
        problems.add(path, line, f"'{key}' is required: the day the course was last checked against its "
                                 f"sources, like {key}: 2026-11-27")
        return None
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value.strip())
        except ValueError:
            value = None
    if not isinstance(value, date) or isinstance(value, datetime):
        problems.add(path, line, f"'{key}' must be a date like 2026-11-27, without a time")
        return None
    return value


def _int(data: dict, key: str, default: int, lo: int, hi: int, path: Path, problems: _Problems) -> int:
    value = data.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
        problems.add(path, data.get(LINE_KEY), f"'{key}' must be a whole number from {lo} to {hi}")
        return default
    return value


def _key_line(path: Path, key: str, default: int | None) -> int | None:
    """The line of a top-level `key:` in a YAML file (the loader keeps only the lines of mappings)."""
    pattern = re.compile(rf"^{re.escape(key)}\s*:")
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if pattern.match(text):
            return number
    return default


def _cycle(data: dict, path: Path, problems: _Problems) -> str:
    """The course's renewal cycle: `anniversary` (the default), `fiscal-year`, `calendar-year` or a month name.
    A fixed cycle is one year long, so it goes with `recurrence_months` 12."""
    value = data.get("cycle", "anniversary")
    name = value.strip().lower() if isinstance(value, str) else None
    if name not in CYCLES:
        problems.add(path, _key_line(path, "cycle", data.get(LINE_KEY)),
                     f"'cycle' must be anniversary, fiscal-year, calendar-year or a month a yearly cycle starts "
                     f"in, like july; {value!r} is none of these")
        return "anniversary"
    if CYCLES[name] is not None and data.get("recurrence_months", 12) != 12:
        problems.add(path, _key_line(path, "cycle", data.get(LINE_KEY)),
                     f"'cycle: {name}' renews once a year, so 'recurrence_months' must be 12 (or left out)")
    return name


def _lessons(folder: Path, problems: _Problems) -> list[LessonContent]:
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


def _question(item: Any, index: int, path: Path, lesson_slugs: set[str],
              problems: _Problems) -> QuestionContent | None:
    if not isinstance(item, dict):
        problems.add(path, None, f"question {index} must be a mapping with id, stem, choices and answer")
        return None
    line = item.get(LINE_KEY)
    before = len(problems.items)
    key = _text(item, "id", path, problems)
    lesson = _text(item, "lesson", path, problems)
    stem = _text(item, "stem", path, problems)
    explanation = _text(item, "explanation", path, problems)
    source = _text(item, "source", path, problems)
    answer = _text(item, "answer", path, problems)
    label = f"question {key or index}"
    if lesson and lesson not in lesson_slugs:
        problems.add(path, line, f"{label}: lesson '{lesson}' is not a lesson of this course "
                                 f"(known: {', '.join(sorted(lesson_slugs)) or 'none'})")
    choices = item.get("choices")
    texts: list[str] = []
    letters: list[str] = []
    if not isinstance(choices, dict):
        problems.add(path, line, f"{label}: 'choices' must map letters to answers, like a: ..., b: ...")
    else:
        for letter, value in choices.items():
            if letter == LINE_KEY:
                continue
            if not isinstance(value, (str, int, float)) or not str(value).strip():
                problems.add(path, choices.get(LINE_KEY), f"{label}: choice '{letter}' is empty")
                continue
            if UNSTORABLE.search(str(value) + str(letter)):
                problems.add(path, choices.get(LINE_KEY), f"{label}: choice '{letter}' {UNSTORABLE_MESSAGE}")
                continue
            letters.append(str(letter))
            texts.append(str(value).strip())
        if not 3 <= len(texts) <= 6:
            problems.add(path, choices.get(LINE_KEY), f"{label}: needs 3 to 6 choices, has {len(texts)}")
        if len(set(texts)) != len(texts):
            problems.add(path, choices.get(LINE_KEY), f"{label}: two choices have the same text")
    if source and not SOURCE_LOCATOR.search(source):
        problems.add(path, line, f"{label}: 'source' names no section or page ({source!r}): point into the "
                                 f"document, like '§ VI.A.1', 'Part III', 'p. 4', 'JM 1-16.200' or "
                                 f"'471 U.S. 1, 11'")
    if answer and letters and answer not in letters:
        problems.add(path, line, f"{label}: answer '{answer}' is not one of the choices ({', '.join(letters)})")
    if len(problems.items) != before:
        return None
    wrong = _wrong(item.get("wrong"), letters, answer, label, line, path, problems)
    if wrong is None:
        return None
    return QuestionContent(key, lesson, stem, texts, letters.index(answer), explanation, source, wrong)


# How long the explanation of one wrong choice may be.
WRONG_LENGTH = (20, 1000)

# What makes a question's `source` point into its document rather than only name it: a section or paragraph
# sign; a numbered division (section 4, part III, ch. 2, module 2, step 3, standard 1, count 2); a named
# section or page ("Standard section", "Highlights page"); a page (p. 4, pp. 11-12, page ii); a Justice
# Manual number (1-16.200); a pin cite into a reporter (471 U.S. 1, 11; 17 F.3d 552, 557); or an outline
# number (III.C, VI.A.1).
SOURCE_LOCATOR = re.compile(r"""
    [§¶]
  | \b(?:sections?|secs?|paragraphs?|paras?|parts?|pts?|chapters?|ch|modules?|steps?|standards?|counts?|items?)
        (?:\.\s*|\s+)(?-i:\d|[IVX]+\b|[A-Z]\b)
  | (?-i:\b[A-Z][\w-]*\s+(?:[Ss]ection|page)\b)
  | \bpp?\.\s*(?:\d|[ivxl]+\b)
  | \bpages?\s+(?:\d|[ivxl]+\b)
  | \b\d+-\d+\.\d{3}\b
  | \b\d+\s+(?:U\.\s?S\.|F\.\s?(?:\d(?:d|th))?|F\.\s?Supp\.(?:\s?\dd)?|S\.\s?Ct\.)\s+\d+,\s*\d+
  | (?-i:\b[IVX]+\.[A-Z](?:\.\d+)*\b)
""", re.IGNORECASE | re.VERBOSE)


def _wrong(wrong: Any, letters: list[str], answer: str, label: str, line: int | None, path: Path,
           problems: _Problems) -> list[str | None] | None:
    """The explanation of each wrong choice, in the order of `letters`; None at the answer."""
    expected = [letter for letter in letters if letter != answer]
    if wrong is None:
        problems.add(path, line, f"{label}: 'wrong' is required: for each wrong choice ({', '.join(expected)}), "
                                 f"why it is wrong")
        return None
    if not isinstance(wrong, dict):
        problems.add(path, line, f"{label}: 'wrong' must map each wrong choice's letter to why it is wrong, "
                                 f"like {expected[0]}: ...")
        return None
    where = wrong.get(LINE_KEY, line)
    given = {str(letter): value for letter, value in wrong.items() if letter != LINE_KEY}
    before = len(problems.items)
    if answer in given:
        problems.add(path, where, f"{label}: 'wrong' explains '{answer}', the right answer; "
                                  f"that belongs in 'explanation'")
    unknown = [letter for letter in given if letter not in letters]
    if unknown:
        problems.add(path, where, f"{label}: 'wrong' names {', '.join(repr(u) for u in unknown)}, "
                                  f"which {'is' if len(unknown) == 1 else 'are'} not a choice")
    missing = [letter for letter in expected if letter not in given]
    if missing:
        problems.add(path, where, f"{label}: 'wrong' does not say why {', '.join(missing)} "
                                  f"{'is' if len(missing) == 1 else 'are'} wrong")
    lo, hi = WRONG_LENGTH
    notes: dict[str, str] = {}
    for letter in expected:
        if letter not in given:
            continue
        value = given[letter]
        if value is None or (isinstance(value, str) and not value.strip()):
            problems.add(path, where, f"{label}: 'wrong' {letter} is empty")
            continue
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            problems.add(path, where, f"{label}: 'wrong' {letter} must be text")
            continue
        text = str(value).strip()
        if UNSTORABLE.search(text):
            problems.add(path, where, f"{label}: 'wrong' {letter} {UNSTORABLE_MESSAGE}")
        elif not lo <= len(text) <= hi:
            problems.add(path, where, f"{label}: 'wrong' {letter} is {len(text)} characters long; "
                                      f"write {lo} to {hi}")
        else:
            notes[letter] = text
    if len(problems.items) != before:
        return None
    return [None if letter == answer else notes[letter] for letter in letters]


def _course(folder: Path, quizzes_dir: Path, problems: _Problems, stems: list[_Stem],
            today: date | None) -> CourseContent | None:
    course_file = folder / "course.yaml"
    if not course_file.is_file():
        problems.add(course_file, None, "missing: every course folder needs a course.yaml")
        return None
    data = _read_yaml(course_file, problems)
    if data is None:
        return None
    before = len(problems.items)
    code = _text(data, "code", course_file, problems)
    if code and not CODE_RE.match(code):
        problems.add(course_file, data.get(LINE_KEY),
                     f"code '{code}' must be capital letters, digits and hyphens, like UOF-DEADLY-FORCE")
    course = CourseContent(
        code=code,
        title=_text(data, "title", course_file, problems),
        summary=_text(data, "summary", course_file, problems),
        policy_version=_text(data, "policy_version", course_file, problems),
        recurrence_months=_int(data, "recurrence_months", 12, 1, 120, course_file, problems),
        pass_mark=_int(data, "pass_mark", 80, 1, 100, course_file, problems),
        questions_per_attempt=_int(data, "questions_per_attempt", 10, 1, 100, course_file, problems),
        renewal_window_days=_int(data, "renewal_window_days", 60, 0, 365, course_file, problems),
    )
    renew = data.get("renew_from_expiry", True)
    if not isinstance(renew, bool):
        problems.add(course_file, data.get(LINE_KEY), "'renew_from_expiry' must be true or false")
    course.renew_from_expiry = bool(renew)
    course.reviewed_on = _date(data, "reviewed_on", course_file, problems)
    if course.reviewed_on and today:
        _check_review(course.reviewed_on, today, course_file, data.get(LINE_KEY), code, problems)
    course.cycle = _cycle(data, course_file, problems)
    course.lessons = _lessons(folder, problems)
    if not code:
        return None

    quiz_file = quizzes_dir / f"{code}.yaml"
    if not quiz_file.is_file():
        problems.add(quiz_file, None, f"missing: the question bank of {code}")
        return None
    bank = _read_yaml(quiz_file, problems)
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
        question = _question(item, index, quiz_file, slugs, problems)
        if question is None:
            continue
        line = item.get(LINE_KEY)
        if question.key in seen:
            problems.add(quiz_file, line,
                         f"question id '{question.key}' is used twice (first on line {seen[question.key]})")
            continue
        seen[question.key] = line
        course.questions.append(question)
        stems.append(_Stem(str(quiz_file), line, question.key, normalise_stem(question.stem)))
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
    problems = _Problems()
    stems: list[_Stem] = []
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
    _check_stems(stems, problems)
    return ContentReport(courses, problems.items, problems.warnings)


# A course is due for review once its review date is this old.
REVIEW_MONTHS = 12


def _check_review(reviewed_on: date, today: date, path: Path, line: int | None, code: str,
                  problems: _Problems) -> None:
    # A day of grace: the writer's calendar may be a day ahead of the server's.
    if reviewed_on > today + timedelta(days=1):
        problems.add(path, line, f"'reviewed_on' is {reviewed_on.isoformat()}, after today "
                                 f"({today.isoformat()}): give the day the course was last reviewed")
    elif reviewed_on < today - relativedelta(months=REVIEW_MONTHS):
        problems.warn(path, line, f"{code or 'this course'} was last reviewed against its sources on "
                                  f"{reviewed_on.isoformat()}, more than {REVIEW_MONTHS} months before today "
                                  f"({today.isoformat()}): review it and update 'reviewed_on'")


# Two stems at least this alike (difflib's ratio of their normalised texts) are checked word by word.
STEM_SIMILARITY = 0.9
# Words whose change alone does not make a different question: articles, demonstratives and "of".
SMALL_WORDS = frozenset({"a", "an", "the", "this", "that", "these", "those", "of"})
# A word made from another with one of these prefixes says the opposite (armed, unarmed): a real difference.
NEGATING_PREFIXES = ("un", "non", "in", "im", "il", "ir", "dis")


@dataclass(frozen=True)
class _Stem:
    path: str
    line: int | None
    key: str
    text: str       # normalised


def normalise_stem(stem: str) -> str:
    """The stem as compared for duplicates: case folded, Markdown and punctuation gone, spacing collapsed."""
    text = unicodedata.normalize("NFKC", stem).casefold()
    return " ".join(re.sub(r"[\W_]+", " ", text).split())


def _variant(one: str, other: str) -> bool:
    """Whether two words are one word spelt or inflected differently: the longer is the shorter, of four
    letters or more, with one letter added after its first (officer, officers; behavior, behaviour; claimng,
    claiming). Not he and she, his and this, lawful and awful, nor shoot and shout, nor 3 and 30."""
    short, long = sorted((one, other), key=len)
    if len(short) < 4 or len(long) != len(short) + 1 or any(ch.isdigit() for ch in long):
        return False
    if any(long == prefix + short for prefix in NEGATING_PREFIXES):
        return False
    return any(long[:i] + long[i + 1:] == short for i in range(1, len(long)))


def trivial_difference(one: str, other: str) -> bool:
    """Whether two normalised stems differ only in small words (a, the, of...) and in spelling or word form."""
    a, b = one.split(), other.split()
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            continue
        if op == "replace" and i2 - i1 == j2 - j1:
            pairs = zip(a[i1:i2], b[j1:j2], strict=True)
            if all(x == y or _variant(x, y) or (x in SMALL_WORDS and y in SMALL_WORDS) for x, y in pairs):
                continue
            return False
        if not all(word in SMALL_WORDS for word in a[i1:i2] + b[j1:j2]):
            return False
    return True


def _check_stems(stems: list[_Stem], problems: _Problems) -> None:
    """Refuse a stem that repeats another, in its bank or another, up to case, punctuation, spacing, small
    words and spelling; warn about stems that are merely alike (they may be deliberate pairs)."""
    for n, later in enumerate(stems):
        matcher = difflib.SequenceMatcher(None, autojunk=False)
        matcher.set_seq2(later.text)    # the matcher keeps what it learns of its second text
        for earlier in stems[:n]:
            where = f"{earlier.path}:{earlier.line}" if earlier.line else earlier.path
            if earlier.text == later.text:
                problems.add(later.path, later.line,
                             f"question {later.key} has the same stem as question {earlier.key} ({where}), "
                             f"ignoring case, punctuation and spacing: remove one, or make it ask something else")
                continue
            matcher.set_seq1(earlier.text)
            if matcher.real_quick_ratio() < STEM_SIMILARITY or matcher.quick_ratio() < STEM_SIMILARITY:
                continue
            likeness = matcher.ratio()
            if likeness < STEM_SIMILARITY:
                continue
            if trivial_difference(earlier.text, later.text):
                problems.add(later.path, later.line,
                             f"question {later.key} has nearly the same stem as question {earlier.key} ({where}): "
                             f"they differ only in small words, spelling or punctuation; remove one, "
                             f"or make it ask something else")
            else:
                problems.warn(later.path, later.line,
                              f"question {later.key}'s stem is {int(likeness * 100)}% like question "
                              f"{earlier.key}'s ({where}); if they ask the same thing, keep one")
