"""Every model, so the metadata is complete (for Alembic and tests)."""
from training.api.models import ApiToken
from training.audit.models import AuditEvent
from training.auth.models import RecoveryCode, SecondFactorSetup, SignInFailure, ThrottleRefusal, UserSession
from training.auth.tokens import AccountToken
from training.catalog.models import Course, CourseVersion, DocumentFile, Lesson, Question
from training.imports.models import ImportRefusal
from training.people.models import Agency, Unit, User
from training.records.models import (
    Acknowledgement,
    Assignment,
    Attempt,
    AttemptAnswer,
    Completion,
    Exemption,
    LessonView,
    StandingRule,
)
from training.reminders.models import Escalation, JobLease, JobRun, OutboxMessage, SweepDay
from training.reports.models import ComplianceSnapshot

__all__ = ["AccountToken", "Acknowledgement", "Agency", "ApiToken", "Assignment", "Attempt", "AttemptAnswer",
           "AuditEvent", "Completion",
           "ComplianceSnapshot", "Course", "CourseVersion", "DocumentFile", "Escalation", "Exemption", "ImportRefusal",
           "JobLease", "JobRun", "Lesson", "LessonView", "OutboxMessage", "Question", "RecoveryCode",
           "SecondFactorSetup", "SignInFailure", "StandingRule", "SweepDay", "ThrottleRefusal", "Unit", "User",
           "UserSession"]
