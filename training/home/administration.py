"""An administrator's home: the scheduled jobs' last runs, the outbox's failures, the content's versions and
the accounts that need attention."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from training.access import STAFF
from training.auth.models import ThrottleRefusal
from training.auth.second_factor import missing_where_required
from training.auth.throttle import ACCOUNT_KEY
from training.auth.tokens import never_signed_in
from training.catalog.models import Course, CourseVersion
from training.jobs import JOBS, last_runs
from training.people.models import User
from training.reminders.models import JobRun, OutboxMessage
from training.words import plural

STALE_AFTER = timedelta(days=1)     # a job not run for longer than this is flagged
REFUSED_WITHIN = timedelta(days=1)  # sign-ins refused this recently: an account someone may be guessing at
ACCOUNTS_LISTED = 5


# What each count of a job's run says (training/jobs.py, the sweep and the delivery name them).
COUNT_WORDS = {
    "overdue": ("overdue reminder", "overdue reminders"),
    "overdue-weekly": ("weekly overdue reminder", "weekly overdue reminders"),
    "escalated-supervisor": ("overdue assignment escalated to a supervisor",
                             "overdue assignments escalated to supervisors"),
    "escalated-coordinator": ("overdue assignment escalated to a coordinator",
                              "overdue assignments escalated to coordinators"),
    "escalation-supervisor": ("digest to a supervisor", "digests to supervisors"),
    "escalation-coordinator": ("digest to a coordinator", "digests to coordinators"),
    "assignments-renewals": ("renewal assigned", "renewals assigned"),
    "assignments-standing_rules": ("assignment by a standing rule", "assignments by standing rules"),
    "sent": ("message sent", "messages sent"),
    "errors": ("message not accepted, to be retried", "messages not accepted, to be retried"),
    "failed": ("message given up", "messages given up"),
    "cancelled": ("message no longer needed", "messages no longer needed"),
    "month ends counted": ("month end counted", "month ends counted"),
}


def count_words(key: str, n: int) -> str:
    """One count of a run in words: '5 reminders 14 days before the due date', '1 message sent'."""
    if key.startswith("due-in-"):
        days = key.removeprefix("due-in-")
        return f"{plural(n, 'reminder')} {plural(int(days), 'day') if days.isdigit() else days} before the due date"
    singular, many = COUNT_WORDS.get(key, (key.replace("-", " "),) * 2)
    return plural(n, singular, many)


@dataclass
class JobState:
    job: str
    label: str
    run: JobRun | None
    stale: bool

    @property
    def did(self) -> list[str]:
        """What the last run did, in words."""
        return [count_words(key, n) for key, n in sorted((self.run.counts or {}).items()) if n] if self.run else []


@dataclass
class Content:
    code: str
    title: str
    version: int
    published_at: datetime | None
    reviewed_on: date | None


@dataclass
class Accounts:
    """Accounts of one kind needing attention: how many, and the first few."""

    total: int
    listed: list[User]


@dataclass
class AdminHome:
    jobs: list[JobState]
    outbox_failed: int
    content: list[Content]
    accounts: dict[str, Accounts]   # no_second_factor, refused_sign_ins, staff_never_signed_in


def admin_home(session: Session, now: datetime, config: Mapping) -> AdminHome:
    runs = last_runs(session)
    jobs = [JobState(job, label, runs[job], runs[job] is None or runs[job].started_at < now - STALE_AFTER)
            for job, label in JOBS.items()]
    failed = session.scalar(select(func.count()).select_from(OutboxMessage)
                            .where(OutboxMessage.status == "failed")) or 0
    content = [Content(*row) for row in session.execute(
        select(Course.code, Course.title, Course.current_version, CourseVersion.created_at, Course.reviewed_on)
        .outerjoin(CourseVersion, and_(CourseVersion.course_id == Course.id,
                                       CourseVersion.number == Course.current_version))
        .where(Course.active.is_(True)).order_by(Course.code))]
    refused = select(func.substr(ThrottleRefusal.key, len(ACCOUNT_KEY) + 1)).where(
        ThrottleRefusal.key.startswith(ACCOUNT_KEY), ThrottleRefusal.last_at >= now - REFUSED_WITHIN)
    accounts = {
        "no_second_factor": _accounts(session, User.active.is_(True), *missing_where_required(config)),
        "refused_sign_ins": _accounts(session, User.email.in_(refused)),
        "staff_never_signed_in": _accounts(session, User.active.is_(True), User.role.in_(STAFF), never_signed_in()),
    }
    return AdminHome(jobs, failed, content, accounts)


def _accounts(session: Session, *conditions) -> Accounts:
    total = session.scalar(select(func.count()).select_from(User).where(*conditions)) or 0
    listed = list(session.scalars(select(User).where(*conditions).order_by(User.last_name, User.first_name, User.id)
                                  .limit(ACCOUNTS_LISTED))) if total else []
    return Accounts(total, listed)
