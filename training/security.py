"""What every request and response goes through: the server-side session check and the security headers."""
from __future__ import annotations

from datetime import timedelta

from flask import Flask, current_app, flash, request, session
from flask_login import logout_user
from flask_login.config import COOKIE_NAME
from flask_login.utils import decode_cookie

from training.auth import throttle
from training.auth.sessions import check_session, vouch_for
from training.db import db, utcnow
from training.params import row_ids
from training.people.models import User

CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                           "font-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; "
                           "form-action 'self'; object-src 'none'")
ENDED = {"idle": "You were signed out after {idle} minutes without activity. Sign in again to continue.",
         "absolute": "You were signed out {hours} hours after signing in. Sign in again to continue."}


def enforce_session() -> None:
    """The server-side session is the only way in.

    A cookie whose server-side session ended (signed out, timed out, password changed) signs nobody in. A
    request is signed in only when this check vouches for its session (`load_user` asks); Flask-Login's remember
    cookie, which Rollcall never issues, is refused here and the browser is told to drop it.
    """
    # The API reads a token, never a session; the health checks and metrics are read by machines, without one.
    if request.endpoint == "static" or request.blueprint in ("api", "ops"):
        return
    user_id = session.get("_user_id")
    if user_id is not None:
        config = current_app.config
        idle, hours = config["SESSION_IDLE_MINUTES"], config["SESSION_MAX_HOURS"]
        number = int(user_id) if str(user_id).isdigit() else -1
        reason, account = check_session(db(), session.get("sid"), number, utcnow(), timedelta(minutes=idle),
                                        timedelta(hours=hours))
        if reason is None:
            vouch_for(account)
        else:
            logout_user()
            session.clear()
            if reason in ENDED:
                flash(ENDED[reason].format(idle=idle, hours=hours), "info")
    refuse_remember_cookie()


def refuse_remember_cookie() -> None:
    """A remember cookie opens nothing: Flask-Login skips it once the session says "clear", and deletes it.

    One whose signature holds under this installation's SECRET_KEY was made with the key (Rollcall never issues
    them): that is recorded about the account it names, for whoever reads the audit trail to act on.
    """
    name = current_app.config.get("REMEMBER_COOKIE_NAME", COOKIE_NAME)
    cookie = request.cookies.get(name)
    if cookie is None:
        return
    session["_remember"] = "clear"
    try:
        named = row_ids([str(decode_cookie(cookie) or "")])
    except TypeError:   # hmac.compare_digest refuses text that is not ASCII: not a cookie anyone signed
        named = []
    user = db().get(User, named[0]) if named else None
    if user is not None:
        throttle.record_refusal(db(), f"remember:{user.id}", utcnow(), current_app.config["SIGN_IN_WINDOW_MINUTES"],
                                "auth.remember_cookie_refused", target=f"user:{user.id}", about=user,
                                ip=client_address())
        db().commit()   # kept whatever the request does next: a forged cookie must be on record


def client_address() -> str:
    """The client's address as the throttle and the audit trail record it, at most 64 characters (an IPv6
    address is at most 45): behind a misconfigured proxy a client could choose it."""
    return (request.remote_addr or "unknown")[:64]


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
