"""Loading validated content into the database, and reading courses back."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session
from wtforms.fields.choices import SelectChoice

from training.audit.service import record
from training.catalog.content import ContentError, ContentReport, CourseContent, read_content
from training.catalog.models import Course, CourseVersion, Lesson, Question
from training.catalog.publishing import PublicationPlan, plan_publication
from training.catalog.reading import Problems
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
    # What each new version publishes, in the order of `created` (with `dry_run`, what it would publish).
    plans: list[PublicationPlan] = field(default_factory=list)
    dry_run: bool = False


def sync_courses(session: Session, courses_dir: Path, quizzes_dir: Path, actor_id: int | None = None,
                 today: date | None = None, *, dry_run: bool = False) -> SyncResult:
    """Validate all content and compare each course with its published version, then add a version for every
    course whose content changed, carrying the change log entry that describes the change.

    Every check, for every course, comes before the first write: any problem raises ContentInvalid and nothing
    is loaded. With `dry_run`, nothing is written either way. Review dates are checked against `today`, the
    server's day unless given.
    """
    report = read_content(courses_dir, quizzes_dir, today or server_today())
    if report.errors:
        raise ContentInvalid(report.errors, report.warnings)
    plans = plan_sync(session, report)
    result = SyncResult([], [], report.warnings, dry_run=dry_run)
    for plan in plans:
        if plan.number is None:
            result.unchanged.append(plan.content.code)
        else:
            result.created.append(f"{plan.content.code} v{plan.number}")
            result.plans.append(plan)
        if dry_run:
            continue
        version = sync_course(session, plan.content, plan)
        if version is not None:
            result.versions.append(version)
    if dry_run:
        return result
    record(session, "content.sync", actor_id=actor_id, target="courses",
           created=result.created, unchanged=result.unchanged,
           changes=[f"{plan.content.code} v{plan.number}: {plan.entry.describe()}"
                    for plan in result.plans if plan.entry is not None])
    session.flush()
    return result


def plan_sync(session: Session, report: ContentReport) -> list[PublicationPlan]:
    """What syncing each course would publish, reading the database only; ContentInvalid with every problem
    when a course's change log does not describe its change, or a course takes a document's code."""
    problems = Problems()
    plans = []
    for content in report.courses:
        course = session.scalar(select(Course).where(Course.code == content.code))
        if course is not None and course.kind != "course":
            problems.add(content.file, content.code_line,
                         f"code {content.code} belongs to a document published on the site, not to a course: "
                         f"give the course another code")
            continue
        published = list(course.versions) if course is not None else []
        current = next((v for v in published if v.number == course.current_version), None)
        plan = plan_publication(content, current, published, problems)
        if plan is not None:
            plans.append(plan)
    if problems.items:
        raise ContentInvalid(problems.items, report.warnings)
    return plans


def sync_course(session: Session, content: CourseContent, plan: PublicationPlan | None = None) -> CourseVersion | None:
    """Load one validated course: its settings, and the new version `plan` publishes. Without a plan (generated
    content), a new version whenever the content hash changed."""
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
    course.update_days = content.update_days
    course.active = True
    session.flush()
    digest = content.content_hash()
    if plan is None:
        latest = current_version(session, course)
        plan = PublicationPlan(content, None if latest is not None and latest.content_hash == digest
                               else course.current_version + 1)
    if plan.number is None:
        return None
    entry = plan.entry
    version = CourseVersion(
        course_id=course.id, number=plan.number, content_hash=digest,
        title=content.title, summary=content.summary, policy_version=content.policy_version,
        pass_mark=content.pass_mark, questions_per_attempt=content.questions_per_attempt, cycle=content.cycle,
        change_kind=entry.kind if entry else None, change_date=entry.date if entry else None,
        change_summary=entry.summary if entry else None, changes_logged=plan.changes_logged,
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
