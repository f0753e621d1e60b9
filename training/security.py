"""What every request goes through: the server-side session check."""
from __future__ import annotations

from datetime import timedelta

from flask import Flask, current_app, flash, request, session
from flask_login import logout_user

from training.auth.sessions import check_session
from training.db import db, utcnow

ENDED = {"idle": "You were signed out after {idle} minutes without activity. Sign in again to continue.",
         "absolute": "You were signed out {hours} hours after signing in. Sign in again to continue."}


def enforce_session() -> None:
    """A cookie whose server-side session ended (signed out, timed out, password changed) signs nobody in."""
    user_id = session.get("_user_id")
    if request.endpoint == "static" or user_id is None:
        return
    config = current_app.config
    idle, hours = config["SESSION_IDLE_MINUTES"], config["SESSION_MAX_HOURS"]
    reason = check_session(db(), session.get("sid"), int(user_id) if str(user_id).isdigit() else -1, utcnow(),
                           timedelta(minutes=idle), timedelta(hours=hours))
    if db().dirty:
        db().commit()
    if reason is not None:
        logout_user()
        session.clear()
        if reason in ENDED:
            flash(ENDED[reason].format(idle=idle, hours=hours), "info")


def init_app(app: Flask) -> None:
    app.before_request(enforce_session)
