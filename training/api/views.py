"""The JSON API: /api/v1/. Every request but the description itself carries `Authorization: Bearer <token>`;
no cookie, no session and no CSRF token is read. Errors are problem details (training/api/problems.py)."""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from flask import Blueprint, Response, current_app, g, jsonify, request
from sqlalchemy import select

from training import clock
from training.access import (
    may_act_on_agency,
    may_act_on_officer,
    may_act_on_unit,
    may_see_officer,
    may_see_unit,
    stand_in,
)
from training.api import params, service, tokens
from training.api.problems import Problem, answer
from training.assignments.manage import Refused, check_due
from training.assignments.service import apply_standing_rules, assign_course
from training.assignments.targets import UnknownTarget, officers_of
from training.audit.service import Concern
from training.auth import throttle
from training.catalog.models import Course
from training.db import db, unit_of_work
from training.extensions import csrf
from training.imports import apply_roster_plan, parse_roster_csv
from training.people.models import Agency, Unit, User
from training.people.service import subtree_ids
from training.records.rules import STATUSES
from training.words import plural

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)   # no cookie signs a request in here, so no other site can send one in a user's name

DESCRIPTION = Path(__file__).with_name("openapi.json")
REALM = 'Bearer realm="Rollcall API"'
# The rate limit counts in windows of this many minutes (API_RATE_LIMIT is per minute).
WINDOW_MINUTES = 1
LAST_USED_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class Caller:
    """The token a request came with, as the views need it."""
    id: int
    name: str
    agency_id: int
    unit_id: int | None
    can_write: bool
    time_zone: str      # the agency's: its day is the day statuses are for

    def named(self) -> dict:
        return {"id": self.id, "name": self.name}


def _now() -> datetime:
    return clock.current_instant().astimezone(UTC).replace(tzinfo=None)


def _unauthorized(detail: str, error: str | None = None) -> Problem:
    challenge = REALM + (f', error="{error}", error_description="{detail}"' if error else "")
    return Problem(401, detail, kind="unauthorized", headers={"WWW-Authenticate": challenge})


@bp.before_request
def authenticate() -> None:
    """Check the token, count the request against its limit and note its use, in a short transaction of their
    own: counts and the time last used are kept whatever the request then does, and no row lock is held while
    it runs."""
    if request.endpoint == "api.description":
        return
    scheme, _, raw = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not raw.strip():
        raise _unauthorized("Send an API token in the Authorization header: Authorization: Bearer <token>.")
    now, limit = _now(), current_app.config["API_RATE_LIMIT"]
    with unit_of_work() as session:
        token, agency, refusal = tokens.check(session, raw.strip(), now)
        if refusal is not None:
            raise _unauthorized(refusal.detail, "invalid_token")
        key = f"api-token:{token.id}"
        store = throttle.store()
        store.count_failure(session, (key,), now, WINDOW_MINUTES)
        over = bool(store.held(session, {key: limit + 1}, now, WINDOW_MINUTES))
        if not over and (token.last_used_at is None or now - token.last_used_at >= LAST_USED_EVERY):
            token.last_used_at = now
        g.api_caller = Caller(token.id, token.name, token.agency_id, token.unit_id, token.can_write,
                              agency.time_zone)
    if over:
        wait = throttle.window_start(now, WINDOW_MINUTES) + timedelta(minutes=WINDOW_MINUTES) - now
        raise Problem(429, f"This token may make {limit} requests a minute; wait for the next minute.",
                      kind="rate-limited", headers={"Retry-After": str(max(1, math.ceil(wait.total_seconds())))})


@bp.after_request
def not_cached(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.errorhandler(Problem)
def problem(error: Problem):
    db().rollback()
    return answer(error)


def _caller() -> Caller:
    return g.api_caller


def _viewer(acting: bool = False) -> User:
    """Whom the token stands in for: compliance staff of its scope; acting (a write), a coordinator of it."""
    caller = _caller()
    if acting and not caller.can_write:
        raise Problem(403, "This token is read-only: it cannot assign modules or upload rosters. Ask an "
                           "administrator for a token made with --write.")
    return stand_in("coordinator" if acting else "compliance", caller.agency_id, caller.unit_id)


def _today() -> date:
    return clock.zone_today(_caller().time_zone, _now())


def _day(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _instant(value: datetime) -> str:
    return value.replace(tzinfo=UTC).isoformat().replace("+00:00", "Z")


# The description ----------------------------------------------------------------------------------------------

@bp.route("/openapi.json")
def description():
    """The OpenAPI 3.1 document describing every endpoint, as kept in training/api/openapi.json."""
    return Response(DESCRIPTION.read_bytes(), mimetype="application/json")


# Officers -----------------------------------------------------------------------------------------------------

def _module(state) -> dict:
    return {"course_code": state.course_code, "course_title": state.course_title, "status": state.status,
            "due_on": _day(state.due_on), "completed_on": _day(state.completed_on),
            "expires_on": _day(state.expires_on), "course_version": state.course_version, "score": state.score,
            "exempt_until": _day(state.exempt_until)}


def _officer(person: service.Person, states) -> dict:
    return {"employee_id": person.employee_id, "first_name": person.first_name, "last_name": person.last_name,
            "email": person.email, "agency": person.agency, "unit": person.unit,
            "supervisor_employee_id": person.supervisor_employee_id,
            "modules": [_module(s) for s in states]}


@bp.route("/officers")
def officers():
    session, viewer = db(), _viewer()
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
    on = _today()
    people, states, next_after = service.officers_page(session, viewer, on, after=after, limit=limit,
                                                       unit_ids=unit_ids, course_id=course_id, status=status)
    return jsonify({"on": on.isoformat(), "officers": [_officer(p, states.get(p.id, [])) for p in people],
                    "next_cursor": params.cursors("officers").dumps({"after": next_after}) if next_after else None})


@bp.route("/officers/<employee_id>")
def officer(employee_id: str):
    session, viewer = db(), _viewer()
    params.refuse_parameters(params.args(())[1])
    user = service.officer(session, employee_id)
    if user is None or not may_see_officer(session, viewer, user):
        raise Problem(404, f"No officer with employee id {employee_id} is within the token's scope.")
    on = _today()
    person, states = service.officer_states(session, user, on)
    reasons = service.reasons_not_deployable(states)
    return jsonify({**_officer(person, states), "on": on.isoformat(), "deployable": not reasons,
                    "reasons": reasons})


# Completions --------------------------------------------------------------------------------------------------

def _completion(change: service.Change) -> dict:
    return {"id": change.id, "employee_id": change.employee_id, "course_code": change.course_code,
            "course_version": change.course_version, "completed_on": change.completed_on.isoformat(),
            "expires_on": change.expires_on.isoformat(), "score": change.score, "source": change.source,
            "revoked_on": _day(change.revoked_on), "status": change.status, "changed_at": _instant(change.changed_at)}


@bp.route("/completions")
def completions():
    session, viewer = db(), _viewer()
    args, errors = params.args(("since", "limit"))
    limit = params.limit(args, errors)
    cursor = params.read_cursor("completions", "since", args.get("since"), errors)
    since = service.Position()
    if cursor is not None:
        try:
            since = service.Position(int(cursor["completion"]), int(cursor["revocation"]))
        except (TypeError, KeyError, ValueError):
            errors.append({"field": "since", "message": params.NOT_A_CURSOR})
    params.refuse_parameters(errors)
    horizon = _now() - timedelta(minutes=current_app.config["API_SYNC_SETTLE_MINUTES"])
    changes, position, more = service.completion_changes(session, viewer, _today(), since=since, horizon=horizon,
                                                         limit=limit)
    cursor = {"completion": position.completion_id, "revocation": position.revocation_event_id}
    return jsonify({"completions": [_completion(c) for c in changes], "more": more,
                    "next_cursor": params.cursors("completions").dumps(cursor), "settled_before": _instant(horizon)})


# Writes -------------------------------------------------------------------------------------------------------

ASSIGNMENT_FIELDS = ("course_code", "due_on", "employee_id", "unit", "agency", "allow_far")
TARGETS = ("employee_id", "unit", "agency")


@bp.route("/assignments", methods=["POST"])
def assignments():
    """Assign a module to an officer, a unit (with its sub-units) or the whole agency, as the site's Assign page
    does, through the same service; the event on the audit trail names the token."""
    session, viewer = db(), _viewer(acting=True)
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
    today = _today()
    if due_on is not None:
        try:
            check_due(due_on, today, allow_far=allow_far)
        except Refused as exc:
            errors.append(_refused_due(exc))
    if errors:
        raise params.body_problem(errors)
    try:
        result = assign_course(session, course, target.officers, due_on, today, reason=target.reason,
                               actor_id=None, about=target.about, allow_far=allow_far,
                               details={"api_token": _caller().named()})
    except Refused as exc:
        raise params.body_problem([_refused_due(exc)]) from None
    ids = dict(session.execute(select(User.id, User.employee_id).where(User.id.in_(target.officers))).all())
    return jsonify({"course_code": course.code, "due_on": due_on.isoformat(),
                    **{name: sorted(ids[i] or "" for i in getattr(result, name))
                       for name in ("assigned", "already_certified", "already_assigned", "exempt")}}), 201


def _refused_due(exc: Refused) -> dict:
    hint = " (send allow_far: true)" if exc.far else ""
    return {"field": "due_on", "message": f"{exc}{hint}"}


def _target(session, viewer: User, name: str, code: str, errors: list[dict]):
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


@bp.route("/roster", methods=["POST"])
def roster():
    """A roster file (text/csv, the header of the site's roster import), checked whole with the same rules: any
    problem, and nothing is written. `full=true` deactivates the officers of its agencies missing from it;
    `dry_run=true` checks and counts without writing."""
    session, viewer = db(), _viewer(acting=True)
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
    data = request.get_data(cache=False)
    plan = parse_roster_csv(session, data, full=flags["full"], viewer=viewer)
    if plan.problems:
        session.rollback()
        listed = [{"line": line, "message": message} for line, message in plan.problems]
        more = plan.problems.total - len(listed)
        raise Problem(422, f"The roster has {plural(plan.problems.total, 'problem')}; nothing was written. Correct "
                           f"the lines listed and send the whole file again.",
                      kind="invalid-body", errors=listed, more_problems=more)
    counts = dict(plan.counts())
    if flags["dry_run"]:
        session.rollback()
        return jsonify({"dry_run": True, **counts, "assigned_by_standing_rules": 0})
    caller = _caller()
    apply_roster_plan(session, plan, source="api", about=Concern(None, caller.agency_id, caller.unit_id),
                      details={"api_token": caller.named()})
    created = apply_standing_rules(session, _today())
    return jsonify({"dry_run": False, **counts, "assigned_by_standing_rules": sum(created.values())})

