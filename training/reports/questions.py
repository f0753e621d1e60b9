"""Question analytics: per module and question, how often its answers were wrong and which wrong answer was
chosen most, over the module quizzes submitted in the viewer's scope and period; and whether strong officers
miss it more than weak ones.

Counted in SQL from `attempt_answers`: one statement ranks the period's attempts of each module by score into
thirds and counts answers per question and choice, so the work grows with the bank, not with the officers.
A question is one row per module and key across the module's versions (its key is its id in the quiz file);
wrong answers are told apart by their text, so an answer kept through a new version counts as one.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta

from sqlalchemy import Select, case, func, select, text
from sqlalchemy.orm import Session

from training.access import scope_filter
from training.audit.models import AuditEvent
from training.audit.service import record
from training.catalog.models import Course, CourseVersion, Question
from training.clock import day_start, viewer_zone
from training.people.models import User
from training.records.models import Attempt, AttemptAnswer
from training.records.rules import add_months
from training.reports.filters import FilterError, file_name

QUESTION_COLUMNS = ("course_code", "question_id", "lesson", "attempts", "missed", "miss_rate", "most_chosen_wrong",
                    "source")
# A question is judged for the strong-miss flag once both the top and the bottom third of the attempts answered
# it at least this many times.
MIN_PER_THIRD = 10
PERIOD_MONTHS = 12


@dataclass(frozen=True)
class QuestionFilters:
    course: str | None = None
    start: date | None = None
    end: date | None = None

    def used(self) -> dict[str, str]:
        return {k: v.isoformat() if isinstance(v, date) else v for k, v in asdict(self).items() if v}


@dataclass
class QuestionFigures:
    """One question of a module (all its versions with that key) over the period."""

    course_code: str
    key: str
    lesson: str
    stem: str
    source: str
    versions: list[int] = field(default_factory=list)
    attempts: int = 0
    missed: int = 0
    top_attempts: int = 0
    top_missed: int = 0
    bottom_attempts: int = 0
    bottom_missed: int = 0
    wrong: Counter = field(default_factory=Counter)   # wrong answer text -> times chosen

    @property
    def miss_rate(self) -> float:
        return self.missed / self.attempts if self.attempts else 0.0

    @property
    def most_chosen_wrong(self) -> tuple[str, int] | None:
        """The wrong answer chosen most (of equal counts, the first in alphabetical order) and how often."""
        if not self.wrong:
            return None
        return min(self.wrong.items(), key=lambda item: (-item[1], item[0]))

    @property
    def rank(self) -> str:
        """How the most chosen wrong answer ranks among all the choices, against the right answer."""
        most = self.most_chosen_wrong
        if most is None:
            return ""
        right = self.attempts - self.missed
        if most[1] > right:
            return "chosen more often than the right answer"
        if most[1] == right:
            return "chosen as often as the right answer"
        return "second to the right answer"

    @property
    def top_miss_rate(self) -> float | None:
        return self.top_missed / self.top_attempts if self.top_attempts else None

    @property
    def bottom_miss_rate(self) -> float | None:
        return self.bottom_missed / self.bottom_attempts if self.bottom_attempts else None

    @property
    def judged(self) -> bool:
        return self.top_attempts >= MIN_PER_THIRD and self.bottom_attempts >= MIN_PER_THIRD

    @property
    def discrimination(self) -> float | None:
        """The upper-lower discrimination index: the share right in the top third less that in the bottom third
        (from -1 to 1; below 0 when the strong officers miss it more)."""
        if not (self.top_attempts and self.bottom_attempts):
            return None
        return self.bottom_miss_rate - self.top_miss_rate

    @property
    def strong_miss_more(self) -> bool:
        """Flagged for review: judged, and the top third missed it more often than the bottom third."""
        return self.judged and self.top_miss_rate > self.bottom_miss_rate


@dataclass
class ModuleFigures:
    code: str
    title: str
    attempts: int
    questions: list[QuestionFigures]

    @property
    def flagged(self) -> int:
        return sum(1 for q in self.questions if q.strong_miss_more)


@dataclass
class Analytics:
    filters: QuestionFilters
    start: date
    end: date
    modules: list[ModuleFigures]

    def file_name(self) -> str:
        parts = ["questions"] + ([self.filters.course] if self.filters.course else [])
        return file_name(parts + [self.start.isoformat(), self.end.isoformat()], "csv")


def period(filters: QuestionFilters, today: date) -> tuple[date, date]:
    """The days counted, both included: those given, the missing end today, the missing start 12 months
    before the end. Raises FilterError for a start after the end."""
    end = filters.end or today
    start = filters.start or add_months(end, -PERIOD_MONTHS) + timedelta(days=1)
    if start > end:
        raise FilterError("end", "the 'to' day is before the 'from' day")
    return start, end


def question_analytics(session: Session, viewer: User | None, filters: QuestionFilters,
                       today: date) -> Analytics:
    """The figures for every module (or the one chosen) whose quiz was submitted in the period by someone in
    the viewer's scope; `viewer` None is the operator at the command line, who sees everything."""
    start, end = period(filters, today)
    course_id = None
    if filters.course:
        course_id = session.scalar(select(Course.id).where(Course.code == filters.course, Course.kind == "course"))
        if course_id is None:
            raise FilterError("course", f"no module with the code '{filters.course}'")
    if session.get_bind().dialect.name == "postgresql":
        # Compiling this one-off statement (PostgreSQL's JIT) costs more than it saves it: about 0.3 s.
        session.execute(text("SET LOCAL jit = off"))
    counts = session.execute(answer_counts(session, viewer, course_id, start, end)).all()
    return Analytics(filters, start, end, _modules(session, counts))


def answer_counts(session: Session, viewer: User | None, course_id: int | None, start: date, end: date) -> Select:
    """The statement counting the answers per question id, choice and rightness, with those of the top and bottom
    thirds by score and the highest rank counted: over the module attempts (of `course_id`, or every module)
    submitted from `start` to `end` (the viewer's days) by officers in the viewer's scope.

    The attempts are found by module and submission time in `ix_attempts_module_submitted`, and their answers by
    attempt in `ix_attempt_answers_attempt_id`; on PostgreSQL both hold every column read here, so neither table
    need be read (a year of a large agency's quizzes is gigabytes of attempts beside their answers). When most of
    the table's answers are counted, PostgreSQL may still prefer a scan of them all (docs/performance.md)."""
    zone = viewer_zone(viewer)
    by_score = {"partition_by": Attempt.course_id, "order_by": (Attempt.score, Attempt.id)}
    # The rank's highest value in a module is its number of attempts (one window, one sort, for both).
    ranked = (select(Attempt.id.label("attempt_id"), func.ntile(3).over(**by_score).label("third"),
                     func.row_number().over(**by_score).label("rank"))
              .join(User, User.id == Attempt.user_id)
              .where(Attempt.kind == "module", Attempt.submitted_at.is_not(None),
                     Attempt.submitted_at >= day_start(start, zone),
                     Attempt.submitted_at < day_start(end + timedelta(days=1), zone)))
    if viewer is not None:
        ranked = ranked.where(*scope_filter(session, viewer))
    if course_id is not None:
        ranked = ranked.where(Attempt.course_id == course_id)
    ranked = ranked.cte("ranked")
    top, bottom = (func.sum(case((ranked.c.third == n, 1), else_=0)) for n in (3, 1))
    return (select(AttemptAnswer.question_id, AttemptAnswer.choice, AttemptAnswer.correct, func.count(), top, bottom,
                   func.max(ranked.c.rank))
            .join(ranked, ranked.c.attempt_id == AttemptAnswer.attempt_id)
            .group_by(AttemptAnswer.question_id, AttemptAnswer.choice, AttemptAnswer.correct))


def _modules(session: Session, counts: list) -> list[ModuleFigures]:
    """Counts per question id and choice, merged per module and question key, the latest version's words on top;
    each row also holds the highest rank of the attempts counted, the highest of a module its attempts."""
    ids = {row[0] for row in counts}
    questions = {row.id: row for row in session.execute(
        select(Question.id, Question.key, Question.lesson_slug, Question.stem, Question.choices, Question.source,
               CourseVersion.number, CourseVersion.course_id)
        .join(CourseVersion, CourseVersion.id == Question.version_id).where(Question.id.in_(ids)))} if ids else {}
    attempts: dict[int, int] = {}
    for row in counts:
        course_id = questions[row[0]].course_id
        attempts[course_id] = max(attempts.get(course_id, 0), row[6])
    courses = {c.id: c for c in session.scalars(select(Course).where(Course.id.in_(attempts)))} if attempts else {}
    figures: dict[tuple[int, str], QuestionFigures] = {}
    latest: dict[tuple[int, str], tuple[int, int]] = {}     # (version number, question id) whose words are shown
    for question_id, choice, correct, n, n_top, n_bottom, _ in counts:
        q = questions[question_id]
        key = (q.course_id, q.key)
        item = figures.get(key)
        if item is None:
            item = figures[key] = QuestionFigures(courses[q.course_id].code, q.key, q.lesson_slug, q.stem, q.source)
        if latest.get(key, (0, 0)) < (q.number, q.id):
            latest[key] = (q.number, q.id)
            item.lesson, item.stem, item.source = q.lesson_slug, q.stem, q.source
        if q.number not in item.versions:
            item.versions.append(q.number)
        item.attempts += n
        item.top_attempts += n_top or 0
        item.bottom_attempts += n_bottom or 0
        if not correct:
            item.missed += n
            item.top_missed += n_top or 0
            item.bottom_missed += n_bottom or 0
            text = q.choices[choice] if 0 <= choice < len(q.choices) else f"choice {choice + 1}"
            item.wrong[text] += n
    modules = []
    for course_id, course in sorted(courses.items(), key=lambda c: c[1].code):
        rows = sorted((f for (cid, _), f in figures.items() if cid == course_id),
                      key=lambda f: latest[(course_id, f.key)][::-1])
        for row in rows:
            row.versions.sort()
        modules.append(ModuleFigures(course.code, course.title, attempts[course_id], rows))
    return modules


def question_rows(analytics: Analytics) -> list[tuple]:
    """The figures in QUESTION_COLUMNS order: one row per module and question key."""
    rows = []
    for module in analytics.modules:
        for q in module.questions:
            most = q.most_chosen_wrong
            rows.append((module.code, q.key, q.lesson, q.attempts, q.missed, f"{q.miss_rate:.2f}",
                         most[0] if most else "", q.source))
    return rows


def record_questions_export(session: Session, analytics: Analytics, rows: int, *, actor_id: int | None,
                            complete: bool = True) -> AuditEvent:
    """The audit event of one download of the question figures: who, the filters, the period and the rows."""
    return record(session, "export.questions", actor_id=actor_id, target=analytics.file_name(), format="csv",
                  filters=analytics.filters.used(), period=[analytics.start.isoformat(), analytics.end.isoformat()],
                  rows=rows, complete=complete, via="web")
