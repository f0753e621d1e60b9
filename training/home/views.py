"""`/`: the signed-in person's home. Officers get My training; coordinators, compliance staff and
administrators what their role needs doing; anyone with direct reports, their team as well."""
from __future__ import annotations

from flask import Blueprint, current_app, render_template
from flask_login import current_user, login_required

from training.clock import today_for
from training.db import db, sessionmaker_for, utcnow
from training.home.administration import admin_home
from training.home.compliance import (
    CHANGES,
    changes_since_last_export,
    compliance_figures,
    recent_exports,
)
from training.home.coordinator import coordinator_home
from training.home.figures import own_training, scope_of, team_of
from training.learn.views import my_training
from training.ops.health import readiness

bp = Blueprint("home", __name__)


def _coordinator(session, today, now) -> dict:
    return {"home": coordinator_home(session, current_user, today, now), "scope": scope_of(session, current_user)}


def _compliance(session, _today, _now) -> dict:
    return {"figures": compliance_figures(session, current_user),
            "changes": changes_since_last_export(session, current_user),
            "actions": {name: action for name, (_, _, action) in CHANGES.items()},
            "exports": recent_exports(session, current_user), "scope": scope_of(session, current_user)}


def _administrator(session, _today, now) -> dict:
    return {"home": admin_home(session, now, current_app.config),
            "readiness": readiness(sessionmaker_for(current_app), now, current_app.config)}


# The roles with a home of their own (templates/home/<role>.html); everyone else's home is My training.
HOMES = {"coordinator": _coordinator, "compliance": _compliance, "admin": _administrator}


@bp.route("/")
@login_required
def index():
    session = db()
    today = today_for(current_user)
    team = team_of(session, current_user, today)
    home = HOMES.get(current_user.role)
    if home is None:
        return render_template("home/officer.html", team=team, **my_training())
    return render_template(f"home/{current_user.role}.html", team=team, own=own_training(session, current_user, today),
                           today=today, **home(session, today, utcnow()))
