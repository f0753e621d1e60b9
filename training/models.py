"""Imports every model so the metadata is complete (for Alembic and tests)."""
from training.records.models import Assignment, Exemption, StandingRule  # noqa: F401
from training.audit.models import AuditEvent  # noqa: F401
from training.auth.models import SignInFailure, UserSession  # noqa: F401
from training.catalog.models import Course, CourseVersion, Lesson, Question  # noqa: F401
from training.records.models import Attempt, Completion, LessonView  # noqa: F401
from training.people.models import Agency, Unit, User  # noqa: F401
from training.reminders.models import Escalation, JobLease, OutboxMessage  # noqa: F401
from training.reports.models import ComplianceSnapshot  # noqa: F401
