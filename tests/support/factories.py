"""Records the tests build: course content on disk, agencies, units, accounts, completions."""
from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path

import config
from training.auth.keys import Keyring
from training.auth.service import create_user
from training.catalog.service import current_version
from training.clock import server_today, today_for
from training.people.models import Agency, Unit, User
from training.people.service import unit_path
from training.records.models import Completion
from training.records.service import record_completion

PASSWORD = "correct-horse-battery"
# The suite's ENCRYPTION_KEYS (config.TestConfig), as the apps the tests build hold them.
KEYS = Keyring.from_setting(config.TestConfig.ENCRYPTION_KEYS)


# Words the test stems are made of: each stem draws its own, so no two look alike to the duplicate check.
STEM_WORDS = ("harbor", "lantern", "violin", "meadow", "copper", "ladder", "orchard", "compass", "glacier", "pepper",
              "saddle", "thunder", "basket", "marble", "falcon", "ribbon", "quarry", "velvet", "anchor", "biscuit",
              "canyon", "dolphin", "ember", "fossil", "garnet", "hammock", "igloo", "jasmine", "kettle", "lagoon",
              "mosaic", "nectar", "oyster", "parsley", "quiver", "raven", "sapphire", "tundra", "umbrella", "walnut",
              "yarrow", "zephyr")


def question_stem(code: str, n: int) -> str:
    """The stem write_course gives question n of the course `code`."""
    words = random.Random(f"{code}-{n}").sample(STEM_WORDS, 5)
    return f"Question number {n} asks about {' '.join(words)}?"


def write_course(root: Path, code: str = "TEST-BASICS", lessons: int = 3, questions: int = 24,
                 per_attempt: int = 10, lesson_text: str = "Body text.",
                 reviewed_on: date | None = None) -> tuple[Path, Path]:
    """A valid course folder and bank under `root`, reviewed on `reviewed_on` (a month before the real today
    without it); returns (courses_dir, quizzes_dir)."""
    courses, quizzes = root / "courses", root / "quizzes"
    folder = courses / code.lower()
    (folder / "lessons").mkdir(parents=True, exist_ok=True)
    quizzes.mkdir(parents=True, exist_ok=True)
    reviewed_on = reviewed_on or server_today() - timedelta(days=30)
    (folder / "course.yaml").write_text(
        f"code: {code}\ntitle: Test {code}\nsummary: A course for tests.\n"
        f"policy_version: Test policy 2024\nreviewed_on: {reviewed_on.isoformat()}\n"
        f"recurrence_months: 12\npass_mark: 80\nquestions_per_attempt: {per_attempt}\n", encoding="utf-8")
    for n in range(1, lessons + 1):
        (folder / "lessons" / f"{n:02d}-topic-{n}.md").write_text(
            f"# Topic {n}\n\n{lesson_text}\n", encoding="utf-8")
    items = []
    for n in range(1, questions + 1):
        items.append(
            f"  - id: T-{n:02d}\n    lesson: {((n - 1) % lessons) + 1:02d}-topic-{((n - 1) % lessons) + 1}\n"
            f"    stem: {question_stem(code, n)}\n    choices:\n      a: Wrong {n} a\n      b: Right {n}\n"
            f"      c: Wrong {n} c\n      d: Wrong {n} d\n    answer: b\n"
            f"    explanation: Because of reason {n}.\n"
            f"    wrong:\n      a: Choice a of question {n} misreads the rule.\n"
            f"      c: Choice c of question {n} applies the wrong test.\n"
            f"      d: Choice d of question {n} ignores the facts given.\n"
            f"    source: Test source, p. {n}\n")
    (quizzes / f"{code}.yaml").write_text(f"course: {code}\nquestions:\n" + "".join(items), encoding="utf-8")
    return courses, quizzes


def log_change(courses: Path, code: str = "TEST-BASICS", kind: str = "editorial", on: date | str = "2026-11-20",
               summary: str = "Wording made clearer.") -> int:
    """Add an entry at the end of the course's change log (course.yaml's `changes:`); the line it starts on."""
    course_file = courses / code.lower() / "course.yaml"
    text = course_file.read_text(encoding="utf-8")
    if "\nchanges:\n" not in text:
        text += "changes:\n"
    line = text.count("\n") + 1
    text += f"  - date: {on}\n    kind: {kind}\n    summary: {summary}\n"
    course_file.write_text(text, encoding="utf-8")
    return line


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


def add_unit(session, agency: Agency, code: str, parent: Unit | None = None) -> Unit:
    unit = Unit(agency_id=agency.id, code=code, name=code, parent_id=parent.id if parent else None)
    session.add(unit)
    session.flush()
    unit.path = unit_path(parent, unit.id)
    return unit


def make_user(session, email: str, role: str = "officer", agency: Agency | None = None,
              unit: Unit | None = None, first: str = "Pat", last: str = "Doe", **fields) -> User:
    """Staff made here sign in with a password alone, as the demo sign-ins do (outside production);
    tests/test_second_factor.py covers the accounts that may not."""
    fields.setdefault("demo_account", role != "officer")
    return create_user(session, email=email, password=PASSWORD, first_name=first, last_name=last, role=role,
                       agency_id=agency.id if agency else None, unit_id=unit.id if unit else None,
                       employee_id=fields.pop("employee_id", email.split("@")[0].upper()), **fields)


def set_authenticator(user: User, secret: str | None) -> User:
    """The account's TOTP secret as the app stores it (encrypted with the suite's keys), or none."""
    user.totp_secret_encrypted = None if secret is None else KEYS.encrypt(secret)
    return user


def certify(session, officer, course, days_ago: int, score: int = 90, source: str = "quiz") -> Completion:
    """A completion `days_ago` days before the officer's today, as the quiz would record it."""
    version = current_version(session, course)
    completion = record_completion(session, officer, course, today_for(officer) - timedelta(days=days_ago),
                                   version_id=version.id if source == "quiz" else None, score=score,
                                   source=source)
    session.commit()
    return completion
