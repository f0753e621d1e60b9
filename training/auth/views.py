"""Sign-in and sign-out."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from training.audit.service import record
from training.auth.forms import LoginForm
from training.auth.service import authenticate, normalise_email
from training.db import db

bp = Blueprint("auth", __name__)


def safe_next(target: str | None) -> str:
    """Only same-site relative paths; anything else goes to the dashboard."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") and not target.startswith("//") \
                and "\\" not in target:
            return target
    return url_for("learn.dashboard")


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("learn.dashboard"))
    form = LoginForm()
    if form.validate_on_submit():
        session_db = db()
        user = authenticate(session_db, form.email.data, form.password.data)
        if user is None:
            record(session_db, "auth.sign_in_failed", target=normalise_email(form.email.data)[:200],
                   ip=request.remote_addr)
            session_db.commit()
            flash("The email or password is not right.", "error")
            return render_template("auth/login.html", form=form), 401
        session.clear()  # a fresh session at sign-in
        login_user(user)
        record(session_db, "auth.signed_in", actor_id=user.id, target=f"user:{user.id}", ip=request.remote_addr)
        session_db.commit()
        return redirect(safe_next(request.args.get("next")))
    return render_template("auth/login.html", form=form), 400 if form.errors else 200


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    record(db(), "auth.signed_out", actor_id=current_user.id, target=f"user:{current_user.id}")
    db().commit()
    logout_user()
    session.clear()
    flash("You have signed out.", "info")
    return redirect(url_for("auth.login"))
