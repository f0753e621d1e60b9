"""The API's answers as JSON, each shaped as training/api/openapi.json describes it: days in ISO 8601, instants
in UTC with a Z."""
from __future__ import annotations

from datetime import UTC, date, datetime

from training.api.service import Change, Person
from training.assignments.service import AssignResult
from training.records.status import CourseState

OUTCOMES = ("assigned", "already_certified", "already_assigned", "exempt")


def day(value: date | None) -> str | None:
    return value.isoformat() if value else None


def instant(value: datetime) -> str:
    return value.replace(tzinfo=UTC).isoformat().replace("+00:00", "Z")


def module(state: CourseState) -> dict:
    return {"course_code": state.course_code, "course_title": state.course_title, "status": state.status,
            "due_on": day(state.due_on), "completed_on": day(state.completed_on),
            "expires_on": day(state.expires_on), "course_version": state.course_version, "score": state.score,
            "exempt_until": day(state.exempt_until)}


def officer(person: Person, states: list[CourseState]) -> dict:
    return {"employee_id": person.employee_id, "first_name": person.first_name, "last_name": person.last_name,
            "email": person.email, "agency": person.agency, "unit": person.unit,
            "supervisor_employee_id": person.supervisor_employee_id,
            "modules": [module(state) for state in states]}


def completion(change: Change) -> dict:
    return {"id": change.id, "employee_id": change.employee_id, "course_code": change.course_code,
            "course_version": change.course_version, "completed_on": change.completed_on.isoformat(),
            "expires_on": change.expires_on.isoformat(), "score": change.score, "source": change.source,
            "revoked_on": day(change.revoked_on), "status": change.status, "changed_at": instant(change.changed_at)}


def assignment(course_code: str, due_on: date, result: AssignResult, employee_ids: dict[int, str | None]) -> dict:
    """What assigning did, officer by officer: their employee ids under each outcome, sorted."""
    return {"course_code": course_code, "due_on": due_on.isoformat(),
            **{name: sorted(employee_ids[i] or "" for i in getattr(result, name)) for name in OUTCOMES}}
