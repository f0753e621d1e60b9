"""What each request to the API asks for, checked whole: plain values for the views to pass on, or a Problem
that names every parameter or field not right, in one answer. params.py reads the pieces."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask import request
from sqlalchemy import select
from sqlalchemy.orm import Session

from training.access import may_act_on_agency, may_act_on_officer, may_act_on_unit, may_see_unit
from training.api import params
from training.api.problems import Problem
from training.api.service import Position
from training.assignments.manage import Refused, check_due
from training.assignments.targets import Target, UnknownTarget, officers_of
from training.catalog.models import Course
from training.people.models import Agency, Unit, User
from training.people.service import subtree_ids
from training.records.rules import STATUSES

ASSIGNMENT_FIELDS = ("course_code", "due_on", "employee_id", "unit", "agency", "allow_far")
TARGETS = ("employee_id", "unit", "agency")


@dataclass(frozen=True)
class OfficersQuery:
    """One page of GET /officers: the officers after the id `after`, at most `limit`, filtered (None: any)."""
    after: int
    limit: int
    unit_ids: list[int] | None
    course_id: int | None
    status: str | None


def officers_query(session: Session, viewer: User) -> OfficersQuery:
    """The query of GET /officers: a unit is known only within the viewer's scope, a module only while active."""
    args, errors = params.args(("cursor", "limit", "unit", "module", "status"))
    limit = params.limit(args, errors)
    cursor = params.read_cursor("officers", "cursor", args.get("cursor"), errors)
    after = cursor.get("after") if isinstance(cursor, dict) else 0
    if not isinstance(after, int) or isinstance(after, bool):
        errors.append({"field": "cursor", "message": params.NOT_A_CURSOR})
    unit_ids = course_id = None
    if "unit" in args:
        unit = session.scalar(select(Unit).where(Unit.code == args["unit"]))
        if unit is None or not may_see_unit(session, viewer, unit):
            errors.append({"field": "unit", "message": f"no unit has the code {args['unit']} within the token's "
                                                       f"scope"})
        else:
            unit_ids = subtree_ids(session, unit)
    if "module" in args:
        course_id = session.scalar(select(Course.id).where(Course.code == args["module"], Course.active.is_(True)))
        if course_id is None:
            errors.append({"field": "module", "message": f"no module has the code {args['module']}"})
    status = args.get("status")
    if status is not None and status not in STATUSES:
        errors.append({"field": "status", "message": f"one of {', '.join(STATUSES)}"})
    params.refuse_parameters(errors)
    return OfficersQuery(after, limit, unit_ids, course_id, status)


def completions_query() -> tuple[Position, int]:
    """The query of GET /completions: where the sync stands (the start without `since`), and the page's size."""
    args, errors = params.args(("since", "limit"))
    limit = params.limit(args, errors)
    cursor = params.read_cursor("completions", "since", args.get("since"), errors)
    since = Position()
    if cursor is not None:
        try:
            since = Position(int(cursor["completion"]), int(cursor["revocation"]))
        except (TypeError, KeyError, ValueError):
            errors.append({"field": "since", "message": params.NOT_A_CURSOR})
    params.refuse_parameters(errors)
    return since, limit


@dataclass(frozen=True)
class AssignmentAsked:
    """A checked body of POST /assignments: the module, the due date and officers the token may act on."""
    course: Course
    due_on: date
    target: Target
    allow_far: bool


def assignment(session: Session, viewer: User, today: date) -> AssignmentAsked:
    """The body of POST /assignments (no query parameters): a target outside what the viewer may act on is
    refused as if unknown, and the due date is checked against `today` as the Assign page checks it."""
    params.refuse_parameters(params.args(())[1])
    body = params.json_body("the assignment")
    errors = [{"field": name, "message": f"unknown field; the body takes {', '.join(ASSIGNMENT_FIELDS)}"}
              for name in body if name not in ASSIGNMENT_FIELDS]
    course_code, due_text = params.text(body, "course_code", errors), params.text(body, "due_on", errors)
    allow_far = body.get("allow_far", False)
    if not isinstance(allow_far, bool):
        errors.append({"field": "allow_far", "message": "true or false"})
        allow_far = False
    course = due_on = None
    if course_code is None and not any(e["field"] == "course_code" for e in errors):
        errors.append({"field": "course_code", "message": "required"})
    elif course_code is not None:
        course = session.scalar(select(Course).where(Course.code == course_code, Course.active.is_(True)))
        if course is None:
            errors.append({"field": "course_code", "message": f"no module has the code {course_code}"})
    if due_text is None and not any(e["field"] == "due_on" for e in errors):
        errors.append({"field": "due_on", "message": "required, a date like 2026-12-31"})
    elif due_text is not None:
        try:
            due_on = date.fromisoformat(due_text)
        except ValueError:
            errors.append({"field": "due_on", "message": f"{due_text} is not a date like 2026-12-31"})
    named = [name for name in TARGETS if name in body]
    target = None
    if len(named) != 1:
        errors.append({"field": None, "message": "name exactly one of employee_id, unit or agency"})
    elif (code := params.text(body, named[0], errors)) is not None:
        target = _target(session, viewer, named[0], code, errors)
    if due_on is not None:
        try:
            check_due(due_on, today, allow_far=allow_far)
        except Refused as exc:
            errors.append(refused_due(exc))
    if errors:
        raise params.body_problem(errors)
    return AssignmentAsked(course, due_on, target, allow_far)


def refused_due(exc: Refused) -> dict:
    """A refused due date as a problem with the body's `due_on`; a date far ahead says how to confirm it."""
    hint = " (send allow_far: true)" if exc.far else ""
    return {"field": "due_on", "message": f"{exc}{hint}"}


def _target(session: Session, viewer: User, name: str, code: str, errors: list[dict]) -> Target | None:
    """The officers of the target, when it is within what the token may act on (else a problem, as if unknown)."""
    outside = {"field": name, "message": f"no {'officer with employee id' if name == 'employee_id' else name} "
                                         f"{code} within the token's scope"}
    try:
        target = officers_of(session, **{"officer" if name == "employee_id" else name: code})
    except UnknownTarget:
        errors.append(outside)
        return None
    about = target.about
    allowed = (may_act_on_officer(session, viewer, about) if isinstance(about, User) and about.active
               else may_act_on_unit(session, viewer, about) if isinstance(about, Unit)
               else isinstance(about, Agency) and may_act_on_agency(viewer, about.id))
    if not allowed:
        errors.append(outside)
        return None
    return target


def roster() -> tuple[bytes, bool, bool]:
    """POST /roster: the CSV file as sent, and the query's `full` and `dry_run`, each true or false (false when
    not given)."""
    args, errors = params.args(("full", "dry_run"))
    flags = {}
    for name in ("full", "dry_run"):
        value = args.get(name, "false")
        if value not in ("true", "false"):
            errors.append({"field": name, "message": "true or false"})
        flags[name] = value == "true"
    params.refuse_parameters(errors)
    if request.mimetype != "text/csv":
        raise Problem(415, "Send the roster as CSV, with Content-Type: text/csv.")
    return request.get_data(cache=False), flags["full"], flags["dry_run"]
