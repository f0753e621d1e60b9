"""Builders shared by the tests."""
from __future__ import annotations

import re
from datetime import date
from pathlib import Path

from sqlalchemy import select

from training.auth.service import create_user
from training.records.models import Attempt
from training.people.models import Agency, Unit, User
from training.people.service import unit_path

PASSWORD = "correct-horse-battery"


def write_course(root: Path, code: str = "TEST-BASICS", lessons: int = 3, questions: int = 24,
                 per_attempt: int = 10, lesson_text: str = "Body text.") -> tuple[Path, Path]:
    """A valid course folder and bank under `root`; returns (courses_dir, quizzes_dir)."""
    courses, quizzes = root / "courses", root / "quizzes"
    folder = courses / code.lower()
    (folder / "lessons").mkdir(parents=True, exist_ok=True)
    quizzes.mkdir(parents=True, exist_ok=True)
    (folder / "course.yaml").write_text(
        f"code: {code}\ntitle: Test {code}\nsummary: A course for tests.\n"
        f"policy_version: Test policy 2024\nrecurrence_months: 12\npass_mark: 80\n"
        f"questions_per_attempt: {per_attempt}\n", encoding="utf-8")
    for n in range(1, lessons + 1):
        (folder / "lessons" / f"{n:02d}-topic-{n}.md").write_text(
            f"# Topic {n}\n\n{lesson_text}\n", encoding="utf-8")
    items = []
    for n in range(1, questions + 1):
        items.append(
            f"  - id: T-{n:02d}\n    lesson: {((n - 1) % lessons) + 1:02d}-topic-{((n - 1) % lessons) + 1}\n"
            f"    stem: Question number {n}?\n    choices:\n      a: Wrong {n} a\n      b: Right {n}\n"
            f"      c: Wrong {n} c\n      d: Wrong {n} d\n    answer: b\n"
            f"    explanation: Because of reason {n}.\n    source: Test source\n")
    (quizzes / f"{code}.yaml").write_text(f"course: {code}\nquestions:\n" + "".join(items), encoding="utf-8")
    return courses, quizzes


def make_org(session, code: str = "AGY", tz: str = "America/New_York") -> tuple[Agency, Unit]:
    agency = Agency(code=code, name=f"Agency {code}", time_zone=tz)
    session.add(agency)
    session.flush()
    unit = Unit(agency_id=agency.id, code=f"{code}-U1", name="Unit one")
    session.add(unit)
    session.flush()
    unit.path = unit_path(None, unit.id)
    session.flush()
    return agency, unit


def make_user(session, email: str, role: str = "officer", agency: Agency | None = None,
              unit: Unit | None = None, first: str = "Pat", last: str = "Doe", **fields) -> User:
    """Staff made here sign in with a password alone, as the demo sign-ins do (outside production);
    tests/test_second_factor.py covers the accounts that may not."""
    fields.setdefault("demo_account", role != "officer")
    return create_user(session, email=email, password=PASSWORD, first_name=first, last_name=last, role=role,
                       agency_id=agency.id if agency else None, unit_id=unit.id if unit else None,
                       employee_id=fields.pop("employee_id", email.split("@")[0].upper()), **fields)


def login(client, email: str, password: str = PASSWORD):
    return client.post("/login", data={"email": email, "password": password})


def answer_form(session, attempt: Attempt, correct: int) -> dict[str, str]:
    """A filled answer sheet with the first `correct` answers right and the rest wrong."""
    from training.catalog.models import Question

    form = {}
    for n, item in enumerate(attempt.items):
        question = session.get(Question, item["question_id"])
        right = item["order"].index(question.answer_index)
        form[f"q{question.id}"] = str(right if n < correct else (right + 1) % len(item["order"]))
    return form


def latest_attempt(session, user: User) -> Attempt:
    return session.scalar(select(Attempt).where(Attempt.user_id == user.id).order_by(Attempt.id.desc()).limit(1))


def open_all_lessons(client, code: str) -> None:
    page = client.get(f"/courses/{code}").get_data(as_text=True)
    for href in re.findall(rf'href="(/courses/{code}/lessons/[^"]+)"', page):
        assert client.get(href).status_code == 200


def d(text: str) -> date:
    return date.fromisoformat(text)
