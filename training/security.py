"""What every request and response goes through: the server-side session check and the security headers."""
from __future__ import annotations

from datetime import timedelta

from flask import Flask, current_app, flash, request, session
from flask_login import logout_user

from training.auth.sessions import check_session
from training.db import db, utcnow

CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                           "font-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; "
                           "form-action 'self'; object-src 'none'")
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
    if reason is not None:
        logout_user()
        session.clear()
        if reason in ENDED:
            flash(ENDED[reason].format(idle=idle, hours=hours), "info")


def security_headers(response):
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    if current_app.config.get("HSTS"):
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    return response


def init_app(app: Flask) -> None:
    app.before_request(enforce_session)
    app.after_request(security_headers)
