"""Publishing a policy change to a module, as a content author and `courses sync` do."""
from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import yaml

from tests.support.factories import log_change
from training.updates.service import Publication, publish_courses


def copy_content(source: Path, target: Path) -> tuple[Path, Path]:
    """A copy of a content tree's courses/ and quizzes/ under `target`, to change without touching the source."""
    shutil.copytree(source / "courses", target / "courses")
    shutil.copytree(source / "quizzes", target / "quizzes")
    return target / "courses", target / "quizzes"


def publish_policy_change(session, courses: Path, quizzes: Path, folder: str, lesson: str, *, on: date,
                          old: str | None = None, new: str, summary: str,
                          kind: str = "policy") -> Publication:
    """Rewrite a lesson of the module in `courses/folder` (replace `old` by `new`, or add `new` as a paragraph),
    log the change in its course.yaml and publish it as `courses sync` does."""
    path = courses / folder / "lessons" / lesson
    text = path.read_text(encoding="utf-8")
    if old is not None:
        assert old in text, f"{old!r} is not in {path}"
        text = text.replace(old, new, 1)
    else:
        text = text.rstrip("\n") + f"\n\n{new}\n"
    path.write_text(text, encoding="utf-8")
    code = yaml.safe_load((courses / folder / "course.yaml").read_text(encoding="utf-8"))["code"]
    log_change(courses, code, kind=kind, on=on.isoformat(), summary=summary)
    return publish_courses(session, courses, quizzes, today=on)
