"""/healthz, /readyz and /metrics: no sign-in, no session, no cookie; the site's security hooks skip them."""
from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, jsonify, request

from training.db import sessionmaker_for, utcnow
from training.ops import health, metrics

bp = Blueprint("ops", __name__)


def _uncached(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/healthz")
def healthz():
    """The process answers: nothing else is checked."""
    return _uncached(jsonify(status="ok"))


@bp.route("/readyz")
def readyz():
    """200 when every check passes, else 503, with each check's status."""
    found = health.readiness(sessionmaker_for(current_app), utcnow(), current_app.config)
    return _uncached(jsonify(found.as_json())), 200 if found.ready else 503


@bp.route("/metrics", endpoint="metrics")
def scrape():
    if not metrics.may_scrape(request.remote_addr, request.headers.get("Authorization"), current_app.config):
        abort(403)
    body = metrics.exposition(sessionmaker_for(current_app))
    return _uncached(Response(body, content_type=metrics.CONTENT_TYPE))
