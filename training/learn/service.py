"""Taking a module: lessons, quiz attempts, acknowledgement and completion."""
from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from training import telemetry
from training.audit.service import record
from training.catalog.models import CourseVersion, Lesson, Question
from training.clock import today_for
from training.db import utcnow
from training.learn import rules
from training.people.models import User
from training.records.models import Attempt, AttemptAnswer, Completion, LessonView
from training.records.service import record_completion


class QuizError(Exception):
    """A refusal to show to the officer; nothing was changed."""


@dataclass
class LessonProgress:
    lesson: Lesson
    opened: bool


def lesson_progress(session: Session, user: User, version: CourseVersion) -> list[LessonProgress]:
    opened = set(session.scalars(
        select(LessonView.lesson_id).join(Lesson, Lesson.id == LessonView.lesson_id)
        .where(LessonView.user_id == user.id, Lesson.version_id == version.id)))
    return [LessonProgress(lesson, lesson.id in opened) for lesson in version.lessons]


def open_lesson(session: Session, user: User, lesson: Lesson) -> None:
    """Record that the officer opened a lesson (once)."""
    exists = session.scalar(select(LessonView.id).where(
        LessonView.user_id == user.id, LessonView.lesson_id == lesson.id))
    if exists is None:
        try:
            with session.begin_nested():
                session.add(LessonView(user_id=user.id, lesson_id=lesson.id))
        except IntegrityError:
            pass  # opened at the same moment in another tab


def open_attempt(session: Session, user: User, version: CourseVersion) -> Attempt | None:
    """The officer's module quiz in progress (a policy update's short quiz is not one)."""
    return session.scalar(select(Attempt).where(
        Attempt.user_id == user.id, Attempt.version_id == version.id, Attempt.kind == "module",
        Attempt.submitted_at.is_(None)).order_by(Attempt.id.desc()).limit(1))


def start_attempt(session: Session, user: User, version: CourseVersion,
                  rng: random.Random | None = None) -> Attempt:
    """Draw a new quiz, or return the one already in progress."""
    if not all(p.opened for p in lesson_progress(session, user, version)):
        raise QuizError("Open every lesson of this module before taking the quiz.")
    current = open_attempt(session, user, version)
    if current is not None:
        return current
    last = session.scalar(select(Attempt).where(
        Attempt.user_id == user.id, Attempt.course_id == version.course_id,
        Attempt.submitted_at.is_not(None)).order_by(Attempt.id.desc()).limit(1))
    seen = {item["question_id"] for item in last.items} if last else set()
    bank = {q.id: len(q.choices) for q in version.questions}
    drawn = rules.draw_questions(list(bank), version.questions_per_attempt, seen=seen, rng=rng)
    attempt = Attempt(
        user_id=user.id, course_id=version.course_id, version_id=version.id,
        items=[{"question_id": q, "order": rules.shuffled_order(bank[q], rng)} for q in drawn],
    )
    session.add(attempt)
    session.flush()
    return attempt


def user_attempt(session: Session, user: User, attempt_id: int) -> Attempt | None:
    """The attempt if it belongs to this officer; another officer's is as good as missing."""
    return session.scalar(select(Attempt).where(Attempt.id == attempt_id, Attempt.user_id == user.id))


def attempt_questions(session: Session, attempt: Attempt) -> list[tuple[Question, list[int]]]:
    """The attempt's questions in drawn order, each with its shown choice order."""
    ids = [item["question_id"] for item in attempt.items]
    by_id = {q.id: q for q in session.scalars(select(Question).where(Question.id.in_(ids)))}
    return [(by_id[item["question_id"]], item["order"]) for item in attempt.items]


NOT_THIS_QUIZ = "This answer sheet does not match your quiz. Reload the quiz and answer again."


def picked_answers(attempt: Attempt, form: Mapping[str, str]) -> dict[str, str]:
    """The choices picked in a form, as the quiz shows them (field q<id> -> shown position).

    Refuses fields and values the quiz never offered; a question left unanswered is simply absent.
    """
    expected = {f"q{item['question_id']}": item for item in attempt.items}
    if any(k.startswith("q") and k[1:].isdigit() and k not in expected for k in form):
        raise QuizError(NOT_THIS_QUIZ)
    picked = {}
    for field, item in expected.items():
        raw = form.get(field)
        if raw is None or raw == "":
            continue
        if not (raw.isascii() and raw.isdigit()) or int(raw) >= len(item["order"]):
            raise QuizError(NOT_THIS_QUIZ)
        picked[field] = raw
    return picked


def answers_so_far(attempt: Attempt, form: Mapping[str, str]) -> dict[str, str]:
    """The answers saved on the server, with those of the form over them."""
    return {**(attempt.saved_answers or {}), **picked_answers(attempt, form)}


def save_answers(session: Session, attempt: Attempt, form: Mapping[str, str]) -> int:
    """Keep the answers picked so far on the open attempt; how many questions are answered."""
    picked = answers_so_far(attempt, form)
    saved = session.execute(
        update(Attempt).where(Attempt.id == attempt.id, Attempt.submitted_at.is_(None))
        .values(saved_answers=picked).execution_options(synchronize_session=False)).rowcount
    if not saved:
        raise QuizError("This quiz was already submitted; your answers stand.")
    session.refresh(attempt)
    return len(picked)


def parse_answers(attempt: Attempt, form: Mapping[str, str]) -> dict[int, int]:
    """Map the answers (those saved, then the form's) to original choice indexes by question id.

    Refuses a sheet with unanswered questions, or with values and fields the quiz never offered.
    """
    picked = answers_so_far(attempt, form)
    missing = [str(number) for number, item in enumerate(attempt.items, start=1)
               if f"q{item['question_id']}" not in picked]
    if missing:
        raise QuizError("Answer every question before submitting. Unanswered: " + ", ".join(missing) + ".")
    return {item["question_id"]: item["order"][int(picked[f"q{item['question_id']}"])] for item in attempt.items}


def record_answers(session: Session, attempt_id: int, answers: Mapping[int, int], key: Mapping[int, int]) -> None:
    """One row per answer of a submitted attempt (question id -> choice index picked), for question analytics."""
    session.execute(insert(AttemptAnswer), [
        {"attempt_id": attempt_id, "question_id": question, "choice": choice, "correct": key.get(question) == choice}
        for question, choice in answers.items()])


def submit_attempt(session: Session, user: User, attempt: Attempt, form: Mapping[str, str]) -> bool:
    """Score and close the attempt. False when it had already been submitted."""
    if attempt.submitted_at is not None:
        return False
    answers = parse_answers(attempt, form)
    key = {q.id: q.answer_index for q, _ in attempt_questions(session, attempt)}
    ids = [item["question_id"] for item in attempt.items]
    score = rules.score_answers(ids, answers, key)
    passed = score.passed(attempt.version.pass_mark)
    # Conditional update: of two submissions racing, exactly one closes the attempt.
    closed = session.execute(
        update(Attempt).where(Attempt.id == attempt.id, Attempt.submitted_at.is_(None))
        .values(submitted_at=utcnow(), answers={str(k): v for k, v in answers.items()},
                score=score.percent, passed=passed, saved_answers=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not closed:
        return False
    record_answers(session, attempt.id, answers, key)
    telemetry.QUIZ_SUBMISSIONS.labels("passed" if passed else "failed").inc()
    session.refresh(attempt)
    record(session, "attempt.submitted", actor_id=user.id, target=f"attempt:{attempt.id}", about=user,
           course=attempt.course.code, version=attempt.version.number,
           score=score.percent, passed=passed)
    return True


@dataclass
class MissedQuestion:
    question: Question
    picked: int | None      # the index of the choice the officer picked

    @property
    def why_wrong(self) -> str | None:
        return None if self.picked is None else self.question.why_wrong(self.picked)


def missed_questions(session: Session, attempt: Attempt) -> list[MissedQuestion]:
    """The questions the officer got wrong, each with the choice they picked."""
    answers = attempt.answers or {}
    return [MissedQuestion(q, answers.get(str(q.id))) for q, _ in attempt_questions(session, attempt)
            if answers.get(str(q.id)) != q.answer_index]


def completion_for(session: Session, attempt: Attempt) -> Completion | None:
    return session.scalar(select(Completion).where(Completion.attempt_id == attempt.id))


def acknowledge(session: Session, user: User, attempt: Attempt, typed_name: str,
                today: date | None = None) -> Completion:
    """Turn a passed attempt into a completion once the officer signs for the policy version.

    The typed name must be the account's (case, spacing and accents aside); the account's name, as written
    on the account, is kept as the acknowledgement."""
    existing = completion_for(session, attempt)
    if existing is not None:
        return existing
    if not attempt.passed or attempt.kind != "module":
        raise QuizError("Only a passed quiz can be acknowledged.")
    if not rules.names_match(typed_name, user.first_name, user.last_name):
        raise QuizError(f"Type your full name exactly as it appears on your record: {user.full_name}.")
    try:
        with session.begin_nested():
            return record_completion(
                session, user, attempt.course, today or today_for(user), version_id=attempt.version_id,
                score=attempt.score, source="quiz", attempt_id=attempt.id,
                acknowledged_name=user.full_name)
    except IntegrityError:
        # Acknowledged at the same moment in another tab: keep the first.
        existing = completion_for(session, attempt)
        if existing is None:
            raise
        return existing

