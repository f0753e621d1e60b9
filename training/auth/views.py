"""Sign-in, sign-out and changing one's password."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from training.audit.service import record
from training.auth import throttle
from training.auth.forms import LoginForm, PasswordForm
from training.auth.service import AccountError, authenticate, change_password, normalise_email
from training.auth.sessions import end_all_sessions, end_session, open_session
from training.db import db, utcnow

bp = Blueprint("auth", __name__)


def safe_next(target: str | None) -> str:
    """Only same-site relative paths; anything else goes to the dashboard."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") and not target.startswith("//") \
                and "\\" not in target:
            return target
    return url_for("learn.dashboard")


def _start_session(user) -> None:
    """A fresh cookie and a new server-side session: nothing from before sign-in carries over."""
    session.clear()
    login_user(user)
    session["sid"] = open_session(db(), user.id, utcnow())


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("learn.dashboard"))
    form = LoginForm()
    if form.validate_on_submit():
        session_db, now, config = db(), utcnow(), current_app.config
        email, address = normalise_email(form.email.data), request.remote_addr
        window = config["SIGN_IN_WINDOW_MINUTES"]
        account_key, address_key = throttle.keys_for(email, address)
        failures = throttle.store()
        limits = {account_key: config["SIGN_IN_ACCOUNT_LIMIT"], address_key: config["SIGN_IN_ADDRESS_LIMIT"]}
        if failures.over_limit(session_db, limits, now, window):
            record(session_db, "auth.sign_in_throttled", target=email[:200], ip=address)
            session_db.commit()
            wait = throttle.minutes_left(now, window)
            flash(f"Too many attempts; try again in {wait} minute{'' if wait == 1 else 's'}.", "error")
            return render_template("auth/login.html", form=form), 429
        user = authenticate(session_db, form.email.data, form.password.data)
        if user is None:
            failures.count_failure(session_db, (account_key, address_key), now, window)
            record(session_db, "auth.sign_in_failed", target=email[:200], ip=address)
            session_db.commit()
            flash("The email or password is not right.", "error")
            return render_template("auth/login.html", form=form), 401
        failures.forget(session_db, account_key, now, window)
        _start_session(user)
        record(session_db, "auth.signed_in", actor_id=user.id, target=f"user:{user.id}", ip=address)
        session_db.commit()
        return redirect(safe_next(request.args.get("next")))
    return render_template("auth/login.html", form=form), 400 if form.errors else 200


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    end_session(db(), session.get("sid"), utcnow())
    record(db(), "auth.signed_out", actor_id=current_user.id, target=f"user:{current_user.id}")
    db().commit()
    logout_user()
    session.clear()
    flash("You have signed out.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def password():
    form = PasswordForm()
    error = None
    if form.validate_on_submit():
        user = current_user._get_current_object()
        try:
            change_password(db(), user, form.current_password.data, form.new_password.data)
        except AccountError as exc:
            error = str(exc)
        else:
            end_all_sessions(db(), user.id, utcnow())
            _start_session(user)
            record(db(), "user.password_changed", actor_id=user.id, target=f"user:{user.id}")
            db().commit()
            flash("Your password was changed. Every other session of your account was signed out.", "success")
            return redirect(url_for("learn.dashboard"))
    status = 422 if (error or form.errors) else 200
    return render_template("auth/password.html", form=form, error=error), status
