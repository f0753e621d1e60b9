"""The JSON API: /api/v1/. Every request but the description itself carries `Authorization: Bearer <token>`;
no cookie, no session and no CSRF token is read. Errors are problem details (training/api/problems.py)."""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from flask import Blueprint, Response, current_app, g, jsonify, request

from training import clock
from training.access import may_see_officer, stand_in
from training.api import params, requests, serialise, service, tokens
from training.api.problems import Problem, answer
from training.assignments.manage import Refused
from training.assignments.service import apply_standing_rules, assign_course
from training.audit.service import Concern
from training.auth import throttle
from training.db import db, unit_of_work
from training.extensions import csrf
from training.imports import apply_roster_plan, parse_roster_csv
from training.people.models import User
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
    return clock.stored_instant()


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


# The description ----------------------------------------------------------------------------------------------

@bp.route("/openapi.json")
def description():
    """The OpenAPI 3.1 document describing every endpoint, as kept in training/api/openapi.json."""
    return Response(DESCRIPTION.read_bytes(), mimetype="application/json")


# Officers -----------------------------------------------------------------------------------------------------

@bp.route("/officers")
def officers():
    session, viewer = db(), _viewer()
    query = requests.officers_query(session, viewer)
    on = _today()
    people, states, next_after = service.officers_page(session, viewer, on, after=query.after, limit=query.limit,
                                                       unit_ids=query.unit_ids, course_id=query.course_id,
                                                       status=query.status)
    return jsonify({"on": on.isoformat(), "officers": [serialise.officer(p, states.get(p.id, [])) for p in people],
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
    return jsonify({**serialise.officer(person, states), "on": on.isoformat(), "deployable": not reasons,
                    "reasons": reasons})


# Completions --------------------------------------------------------------------------------------------------

@bp.route("/completions")
def completions():
    session, viewer = db(), _viewer()
    since, limit = requests.completions_query()
    horizon = _now() - timedelta(minutes=current_app.config["API_SYNC_SETTLE_MINUTES"])
    changes, position, more = service.completion_changes(session, viewer, _today(), since=since, horizon=horizon,
                                                         limit=limit)
    cursor = {"completion": position.completion_id, "revocation": position.revocation_event_id}
    return jsonify({"completions": [serialise.completion(c) for c in changes], "more": more,
                    "next_cursor": params.cursors("completions").dumps(cursor),
                    "settled_before": serialise.instant(horizon)})


# Writes -------------------------------------------------------------------------------------------------------

@bp.route("/assignments", methods=["POST"])
def assignments():
    """Assign a module to an officer, a unit (with its sub-units) or the whole agency, as the site's Assign page
    does, through the same service; the event on the audit trail names the token."""
    session, viewer, today = db(), _viewer(acting=True), _today()
    asked = requests.assignment(session, viewer, today)
    target = asked.target
    try:
        result = assign_course(session, asked.course, target.officers, asked.due_on, today, reason=target.reason,
                               actor_id=None, about=target.about, allow_far=asked.allow_far,
                               details={"api_token": _caller().named()})
    except Refused as exc:
        raise params.body_problem([requests.refused_due(exc)]) from None
    employee_ids = service.employee_ids(session, target.officers)
    return jsonify(serialise.assignment(asked.course.code, asked.due_on, result, employee_ids)), 201


@bp.route("/roster", methods=["POST"])
def roster():
    """A roster file (text/csv, the header of the site's roster import), checked whole with the same rules: any
    problem, and nothing is written. `full=true` deactivates the officers of its agencies missing from it;
    `dry_run=true` checks and counts without writing."""
    session, viewer = db(), _viewer(acting=True)
    data, full, dry_run = requests.roster()
    plan = parse_roster_csv(session, data, full=full, viewer=viewer)
    if plan.problems:
        session.rollback()
        listed = [{"line": line, "message": message} for line, message in plan.problems]
        more = plan.problems.total - len(listed)
        raise Problem(422, f"The roster has {plural(plan.problems.total, 'problem')}; nothing was written. Correct "
                           f"the lines listed and send the whole file again.",
                      kind="invalid-body", errors=listed, more_problems=more)
    counts = dict(plan.counts())
    if dry_run:
        session.rollback()
        return jsonify({"dry_run": True, **counts, "assigned_by_standing_rules": 0})
    caller = _caller()
    apply_roster_plan(session, plan, source="api", about=Concern(None, caller.agency_id, caller.unit_id),
                      details={"api_token": caller.named()})
    created = apply_standing_rules(session, _today())
    return jsonify({"dry_run": False, **counts, "assigned_by_standing_rules": sum(created.values())})

