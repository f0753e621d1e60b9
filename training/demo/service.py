"""A small, deterministic demo organisation."""
from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from training.auth.service import hash_password
from training.catalog.models import Course, CourseVersion
from training.catalog.service import current_version
from training.demo.scale import seed_scale
from training.learn.rules import draw_questions, score_answers, shuffled_order
from training.learn.service import record_answers
from training.people.models import Agency, Unit, User
from training.people.service import unit_path
from training.records.models import Assignment, Attempt, Completion
from training.records.rules import expiry_date
from training.records.service import acknowledge_signed_completions

SMALL_DEMO = 200
Progress = Callable[[str, int], None]

DEMO_PASSWORD = "demo-password-1"
DEMO_ACCOUNTS = (
    ("officer@demo.test", "officer", "Jordan", "Reyes"),
    ("coordinator@demo.test", "coordinator", "Casey", "Whitfield"),
    ("compliance@demo.test", "compliance", "Morgan", "Okafor"),
    ("admin@demo.test", "admin", "Avery", "Lindqvist"),
)
FIRST = ["Sam", "Riley", "Taylor", "Jamie", "Drew", "Quinn", "Robin", "Devon", "Hayden", "Kendall",
         "Blake", "Parker", "Rowan", "Skyler", "Emerson", "Finley", "Harper", "Logan", "Reese", "Sage"]
LAST = ["Alvarez", "Brooks", "Chen", "Dubois", "Ellison", "Fofanah", "Garcia", "Haddad", "Ivanova",
        "Johansson", "Kowalski", "Lopez", "Mensah", "Nakamura", "O'Brien", "Patel", "Quispe", "Rossi",
        "Santos", "Tanaka"]
UNITS = (("DEMO-HQ", "Headquarters", None), ("DEMO-EAST", "Field Office East", "DEMO-HQ"),
         ("DEMO-EAST-1", "East Team 1", "DEMO-EAST"), ("DEMO-EAST-2", "East Team 2", "DEMO-EAST"),
         ("DEMO-WEST", "Field Office West", "DEMO-HQ"))


class AlreadySeeded(Exception):
    pass


@dataclass
class SeedResult:
    officers: int
    completions: int
    assignments: int


def is_empty(session: Session) -> bool:
    return session.scalar(select(func.count()).select_from(User)) == 0 \
        and session.scalar(select(func.count()).select_from(Agency)) == 0


def _seed_large(session: Session, today: date, officers: int, seed: int, builtin: list[Course],
                progress: Progress) -> SeedResult:
    counts = seed_scale(session, today, officers - 1, hash_password(DEMO_PASSWORD), seed=seed, progress=progress)
    agency = session.scalar(select(Agency).order_by(Agency.id).limit(1))
    hq, field = session.scalars(select(Unit).where(Unit.agency_id == agency.id).order_by(Unit.id).limit(2))
    password = hash_password(DEMO_PASSWORD)
    accounts = {role: User(email=email, password_hash=password, role=role, first_name=first, last_name=last,
                           agency_id=agency.id, unit_id=(field if role == "officer" else hq).id,
                           employee_id=f"DEMO-{n:04d}", demo_account=True)
                for n, (email, role, first, last) in enumerate(DEMO_ACCOUNTS, start=1)}
    session.add_all(accounts.values())
    session.flush()
    accounts["officer"].supervisor_id = accounts["coordinator"].id
    for n, course in enumerate(builtin):
        session.add(Assignment(user_id=accounts["officer"].id, course_id=course.id, reason="demo",
                               due_on=today + timedelta(days=14 + 10 * n)))
    session.flush()
    return SeedResult(counts["officers"] + 1, counts.get("completions", 0),
                      counts.get("assignments", 0) + len(builtin))


def take_quizzes(session: Session, user: User, version: CourseVersion, done: date, ability: float,
                 rng: random.Random) -> Attempt:
    """The module quizzes an officer of the given ability took up to passing on `done`, at most three: each
    question answered rightly with that chance (a question's first wrong choice the likeliest slip), failed
    attempts the day before. Returns the passing attempt; every attempt's answers are counted like any
    submitted quiz's."""
    key = {q.id: q.answer_index for q in version.questions}
    choices = {q.id: len(q.choices) for q in version.questions}

    def answer(question: int) -> int:
        if rng.random() < ability:
            return key[question]
        wrong = [i for i in range(choices[question]) if i != key[question]]
        return wrong[0] if rng.random() < 0.6 else rng.choice(wrong)

    for last in (False, False, True):
        drawn = draw_questions(list(key), version.questions_per_attempt, rng=rng)
        answers = {question: answer(question) for question in drawn}
        score = score_answers(drawn, answers, key)
        for question in drawn if last else ():   # the third try passes, with as few slips mended as it takes
            if score.passed(version.pass_mark):
                break
            answers[question] = key[question]
            score = score_answers(drawn, answers, key)
        passed = score.passed(version.pass_mark)
        at = datetime.combine(done if passed else done - timedelta(days=1), time(14))
        attempt = Attempt(user_id=user.id, course_id=version.course_id, version_id=version.id,
                          items=[{"question_id": q, "order": shuffled_order(choices[q], rng)} for q in drawn],
                          answers={str(q): c for q, c in answers.items()}, started_at=at,
                          submitted_at=at + timedelta(minutes=rng.randint(6, 25)), score=score.percent, passed=passed)
        session.add(attempt)
        session.flush()
        record_answers(session, attempt.id, answers, key)
        if passed:
            return attempt
    raise AssertionError("the third attempt passes")


def seed_demo(session: Session, today: date, officers: int = 20, seed: int = 1,
              progress: Progress = lambda label, n: None) -> SeedResult:
    """Demo data: a small agency, or the agency-scale organisation above SMALL_DEMO officers.

    Either way the demo sign-ins exist and officer@demo.test has the built-in modules assigned.
    """
    if not is_empty(session):
        raise AlreadySeeded("the database already has accounts or agencies; demo data goes only into an empty database")
    courses = list(session.scalars(select(Course).where(Course.active.is_(True)).order_by(Course.code)))
    if not courses:
        raise AlreadySeeded("no courses loaded: run 'flask --app app courses sync' first")
    if officers > SMALL_DEMO:
        return _seed_large(session, today, officers, seed, courses, progress)
    rng = random.Random(seed)
    agency = Agency(code="DEMO", name="Demo Protective Service", time_zone="America/New_York")
    session.add(agency)
    session.flush()
    units: dict[str, Unit] = {}
    for code, name, parent in UNITS:
        unit = Unit(agency_id=agency.id, code=code, name=name, parent_id=units[parent].id if parent else None)
        session.add(unit)
        session.flush()
        unit.path = unit_path(units.get(parent) if parent else None, unit.id)
        units[code] = unit
    password = hash_password(DEMO_PASSWORD)
    team_units = [units["DEMO-EAST-1"], units["DEMO-EAST-2"], units["DEMO-WEST"]]
    accounts = {}
    for email, role, first, last in DEMO_ACCOUNTS:
        user = User(email=email, password_hash=password, role=role, first_name=first, last_name=last,
                    agency_id=agency.id, unit_id=units["DEMO-EAST-1" if role == "officer" else "DEMO-HQ"].id,
                    employee_id=f"DEMO-{len(accounts) + 1:04d}", demo_account=True)
        session.add(user)
        accounts[role] = user
    session.flush()
    supervisor = accounts["coordinator"]
    accounts["officer"].supervisor_id = supervisor.id
    people = [accounts["officer"]]
    for n in range(max(officers - 1, 0)):
        first, last = FIRST[n % len(FIRST)], LAST[(n * 7) % len(LAST)]
        user = User(email=f"officer{n + 1:03d}@demo.test", password_hash=password, role="officer",
                    first_name=first, last_name=last, agency_id=agency.id,
                    unit_id=team_units[n % len(team_units)].id, supervisor_id=supervisor.id,
                    employee_id=f"DEMO-{n + 101:04d}")
        session.add(user)
        people.append(user)
    session.flush()

    versions = {c.id: current_version(session, c) for c in courses}
    abilities = {user.id: rng.uniform(0.6, 0.98) for user in people}
    completions = assignments = 0
    for index, user in enumerate(people):
        for course in courses:
            if index == 0:  # officer@demo.test: everything assigned, staggered due dates
                session.add(Assignment(user_id=user.id, course_id=course.id, reason="demo",
                                       due_on=today + timedelta(days=14 + 10 * courses.index(course))))
                assignments += 1
                continue
            kind = rng.choice(["current", "current", "expiring", "overdue", "lapsed", "assigned"])
            if kind in ("current", "expiring", "lapsed"):
                days_ago = {"current": rng.randint(20, 300), "expiring": rng.randint(340, 360),
                            "lapsed": rng.randint(380, 500)}[kind]
                done = today - timedelta(days=days_ago)
                passed = take_quizzes(session, user, versions[course.id], done, abilities[user.id], rng)
                session.add(Completion(user_id=user.id, course_id=course.id, version_id=versions[course.id].id,
                                       completed_on=done, expires_on=expiry_date(done, course.recurrence_months),
                                       score=passed.score, attempt_id=passed.id, source="demo",
                                       acknowledged_name=user.full_name,
                                       acknowledged_at=datetime.combine(done, time(15))))
                completions += 1
            if kind in ("overdue", "assigned"):
                due = today + timedelta(days=rng.randint(5, 60) if kind == "assigned" else -rng.randint(3, 40))
                session.add(Assignment(user_id=user.id, course_id=course.id, due_on=due, reason="demo"))
                assignments += 1
    session.flush()
    acknowledge_signed_completions(session)
    return SeedResult(len(people), completions, assignments)
