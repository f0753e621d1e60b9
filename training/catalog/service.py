"""Loading validated content into the database, and reading courses back."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session
from wtforms.fields.choices import SelectChoice

from training.audit.service import record
from training.catalog.content import ContentError, CourseContent, read_content
from training.catalog.models import Course, CourseVersion, Lesson, Question
from training.clock import server_today
from training.words import plural


class ContentInvalid(Exception):
    def __init__(self, errors: list[ContentError], warnings: list[ContentError] | None = None):
        super().__init__(f"{plural(len(errors), 'problem')} in course content")
        self.errors = errors
        self.warnings = warnings or []


@dataclass
class SyncResult:
    created: list[str]      # "CODE v2"
    unchanged: list[str]
    warnings: list[ContentError] = field(default_factory=list)
    versions: list[CourseVersion] = field(default_factory=list)     # the versions created


def sync_courses(session: Session, courses_dir: Path, quizzes_dir: Path,
                 actor_id: int | None = None, today: date | None = None) -> SyncResult:
    """Validate all content, then add a version for every course whose content changed.

    Review dates are checked against `today`, the server's day unless given.
    """
    report = read_content(courses_dir, quizzes_dir, today or server_today())
    if report.errors:
        raise ContentInvalid(report.errors, report.warnings)
    result = SyncResult([], [], report.warnings)
    for content in report.courses:
        version = sync_course(session, content)
        if version is None:
            result.unchanged.append(content.code)
        else:
            result.created.append(f"{content.code} v{version.number}")
            result.versions.append(version)
    record(session, "content.sync", actor_id=actor_id, target="courses",
           created=result.created, unchanged=result.unchanged)
    session.flush()
    return result


def sync_course(session: Session, content: CourseContent) -> CourseVersion | None:
    """Load one validated course; a new version only when its content changed."""
    course = session.scalar(select(Course).where(Course.code == content.code))
    if course is None:
        course = Course(code=content.code, title=content.title, current_version=0)
        session.add(course)
    course.title = content.title
    course.summary = content.summary
    course.recurrence_months = content.recurrence_months
    course.renewal_window_days = content.renewal_window_days
    course.renew_from_expiry = content.renew_from_expiry
    course.reviewed_on = content.reviewed_on
    course.cycle = content.cycle
    course.active = True
    session.flush()
    digest = content.content_hash()
    latest = current_version(session, course)
    if latest is not None and latest.content_hash == digest:
        return None
    version = CourseVersion(
        course_id=course.id, number=course.current_version + 1, content_hash=digest,
        title=content.title, summary=content.summary, policy_version=content.policy_version,
        pass_mark=content.pass_mark, questions_per_attempt=content.questions_per_attempt, cycle=content.cycle,
    )
    session.add(version)
    session.flush()
    session.add_all(Lesson(version_id=version.id, position=i, slug=lesson.slug, title=lesson.title,
                                   body_md=lesson.body_md)
                    for i, lesson in enumerate(content.lessons, start=1))
    session.add_all(Question(version_id=version.id, key=q.key, lesson_slug=q.lesson, stem=q.stem,
                             choices=q.choices, answer_index=q.answer_index,
                             explanation=q.explanation, wrong_explanations=q.wrong, source=q.source)
                    for q in content.questions)
    course.current_version = version.number
    session.flush()
    return version


def current_version(session: Session, course: Course) -> CourseVersion | None:
    return session.scalar(select(CourseVersion).where(
        CourseVersion.course_id == course.id, CourseVersion.number == course.current_version))


def course_by_code(session: Session, code: str) -> Course | None:
    return session.scalar(select(Course).where(Course.code == code, Course.active.is_(True)))


def course_choices(session: Session) -> list[SelectChoice]:
    """Active courses as form choices, by title."""
    return [SelectChoice(code, title) for code, title in session.execute(
        select(Course.code, Course.title).where(Course.active.is_(True)).order_by(Course.title))]
