"""Sign-in, sign-out and changing one's password."""
from __future__ import annotations

import time
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, make_response, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from training.audit.service import record
from training.auth import second_factor, throttle
from training.auth.forms import CodeForm, LoginForm, PasswordForm
from training.auth.service import AccountError, authenticate, change_password, normalise_email
from training.auth.sessions import end_all_sessions, end_session, open_session
from training.db import db, utcnow
from training.people.models import User

bp = Blueprint("auth", __name__)
# Session keys: a sign-in waiting for its second factor, and a TOTP secret waiting to be confirmed.
PENDING, CANDIDATE = "pending_sign_in", "totp_candidate"
NOT_CONFIRMED = ("That code does not match. Check the authenticator holds the key shown here, that the phone's "
                 "clock is right, and enter the newest code.")


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


def _limits(email: str) -> dict[str, int]:
    """The throttle keys for this account and this client address, with their limits."""
    config = current_app.config
    account_key, address_key = throttle.keys_for(email, request.remote_addr)
    return {account_key: config["SIGN_IN_ACCOUNT_LIMIT"], address_key: config["SIGN_IN_ADDRESS_LIMIT"]}


def _throttled(limits: dict[str, int], email: str, template: str, **context):
    """The refusal page when this account or address has failed too often in the window, else None."""
    session_db, now, window = db(), utcnow(), current_app.config["SIGN_IN_WINDOW_MINUTES"]
    if not throttle.store().over_limit(session_db, limits, now, window):
        return None
    record(session_db, "auth.sign_in_throttled", target=email[:200], ip=request.remote_addr)
    session_db.commit()   # kept whatever happens while answering: a refusal must be on record
    flash(_held("Too many attempts", now, window), "error")
    return render_template(template, **context), 429


def _held(what: str, now, window: int) -> str:
    wait = throttle.minutes_left(now, window)
    return f"{what}; try again in {wait} minute{'' if wait == 1 else 's'}."


def _failed(limits: dict[str, int], action: str, email: str, actor_id: int | None = None) -> None:
    session_db = db()
    throttle.store().count_failure(session_db, tuple(limits), utcnow(), current_app.config["SIGN_IN_WINDOW_MINUTES"])
    record(session_db, action, actor_id=actor_id, target=email[:200], ip=request.remote_addr)
    session_db.commit()   # the failure counts even if answering fails: the throttle must not be outrun


def _signed_in(user, **details) -> None:
    """The account is through every check: forget its failures and open its session."""
    throttle.store().forget(db(), throttle.keys_for(normalise_email(user.email), None)[0], utcnow(),
                            current_app.config["SIGN_IN_WINDOW_MINUTES"])
    _start_session(user)
    record(db(), "auth.signed_in", actor_id=user.id, target=f"user:{user.id}", ip=request.remote_addr, **details)


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("learn.dashboard"))
    form = LoginForm()
    if form.validate_on_submit():
        email = normalise_email(form.email.data)
        limits = _limits(email)
        refusal = _throttled(limits, email, "auth/login.html", form=form)
        if refusal:
            return refusal
        user = authenticate(db(), form.email.data, form.password.data)
        if user is None:
            _failed(limits, "auth.sign_in_failed", email)
            flash("The email or password is not right.", "error")
            return render_template("auth/login.html", form=form), 401
        target = safe_next(request.args.get("next"))
        if second_factor.enrolled(user) or second_factor.required(user, current_app.config):
            # The password alone opens nothing: the account's failures stay counted until the code is right.
            session.clear()
            session[PENDING] = {"user": user.id, "since": time.time(), "next": target}
            return redirect(url_for(".code" if second_factor.enrolled(user) else ".enrol"))
        _signed_in(user)
        return redirect(target)
    return render_template("auth/login.html", form=form), 400 if form.errors else 200


def _pending_user():
    """The account whose password was just given in this browser, while its code is awaited; else None."""
    pending = session.get(PENDING)
    if not isinstance(pending, dict) or \
            time.time() - pending.get("since", 0) > current_app.config["SECOND_FACTOR_MINUTES"] * 60:
        return None
    user = db().get(User, pending.get("user"))
    return user if user is not None and user.active else None


def _sign_in_again():
    session.pop(PENDING, None)
    flash("Sign in again: the code must follow the password within "
          f"{current_app.config['SECOND_FACTOR_MINUTES']} minutes.", "info")
    return redirect(url_for(".login"))


@bp.route("/login/code", methods=["GET", "POST"])
def code():
    user = _pending_user()
    if user is None:
        return _sign_in_again()
    if not second_factor.enrolled(user):
        return redirect(url_for(".enrol"))
    form = CodeForm()
    if form.validate_on_submit():
        limits = _limits(user.email)
        refusal = _throttled(limits, user.email, "auth/code.html", form=form)
        if refusal:
            return refusal
        used = second_factor.check(db(), user, form.code.data, utcnow())
        if used is None:
            _failed(limits, "auth.second_factor_failed", user.email, actor_id=user.id)
            flash("That code is not right. Use the newest code your authenticator shows, or a recovery code.",
                  "error")
            return render_template("auth/code.html", form=form), 401
        target = session[PENDING]["next"]
        _signed_in(user, factor=used)
        if used == "recovery code":
            left = second_factor.recovery_codes_left(db(), user)
            flash(f"You used a recovery code; {left} left. Make new ones from Two-step sign-in.",
                  "warning" if left > 2 else "error")
        return redirect(target)
    return render_template("auth/code.html", form=form), 400 if form.errors else 200


@bp.route("/login/enrol", methods=["GET", "POST"])
def enrol():
    """A staff account without a second factor sets one up before its first session opens."""
    user = _pending_user()
    if user is None:
        return _sign_in_again()
    if second_factor.enrolled(user):
        return redirect(url_for(".code"))
    form = CodeForm()
    if form.validate_on_submit():
        limits = _limits(user.email)
        refusal = _throttled(limits, user.email, "auth/enrol.html", form=form, **enrolment_page(user))
        if refusal:
            return refusal
        codes = second_factor.enrol(db(), user, candidate_secret(), form.code.data, utcnow())
        if codes is None:
            _failed(limits, "auth.second_factor_failed", user.email, actor_id=user.id)
            return render_template("auth/enrol.html", form=form, error=NOT_CONFIRMED, **enrolment_page(user)), 401
        target = session[PENDING]["next"]
        record(db(), "user.second_factor_enrolled", actor_id=user.id, target=f"user:{user.id}")
        _signed_in(user, factor="code")
        return recovery_codes_page(codes, target)
    status = 400 if form.errors else 200
    return render_template("auth/enrol.html", form=form, **enrolment_page(user)), status


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    end_session(db(), session.get("sid"), utcnow())
    record(db(), "auth.signed_out", actor_id=current_user.id, target=f"user:{current_user.id}")
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
            flash("Your password was changed. Every other session of your account was signed out.", "success")
            return redirect(url_for("learn.dashboard"))
    status = 422 if (error or form.errors) else 200
    return render_template("auth/password.html", form=form, error=error), status


def candidate_secret() -> str:
    """The secret offered to this browser's authenticator until a code confirms it."""
    if CANDIDATE not in session:
        session[CANDIDATE] = second_factor.new_secret()
    return session[CANDIDATE]


def enrolment_page(user) -> dict:
    secret = candidate_secret()
    uri = second_factor.provisioning_uri(secret, user.email)
    return {"secret": second_factor.grouped(secret), "qr": second_factor.qr_data_uri(uri)}


def recovery_codes_page(codes: list[str], continue_to: str):
    """Shown once, never stored in the clear and never cached."""
    response = make_response(render_template("auth/recovery_codes.html", codes=codes, continue_to=continue_to))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/account/two-step")
@login_required
def two_step():
    user = current_user._get_current_object()
    return render_template("auth/two_step.html", enrolled=second_factor.enrolled(user),
                           required=second_factor.required(user, current_app.config),
                           left=second_factor.recovery_codes_left(db(), user))


@bp.route("/account/two-step/setup", methods=["GET", "POST"])
@login_required
def setup():
    user = current_user._get_current_object()
    if second_factor.enrolled(user):
        return redirect(url_for(".two_step"))
    form = CodeForm()
    if form.validate_on_submit():
        codes = second_factor.enrol(db(), user, candidate_secret(), form.code.data, utcnow())
        if codes is not None:
            # Turning the second factor on signs the account out of every other browser.
            end_all_sessions(db(), user.id, utcnow())
            _start_session(user)
            record(db(), "user.second_factor_enrolled", actor_id=user.id, target=f"user:{user.id}")
            return recovery_codes_page(codes, url_for(".two_step"))
        return render_template("auth/enrol.html", form=form, error=NOT_CONFIRMED, **enrolment_page(user)), 422
    return render_template("auth/enrol.html", form=form, **enrolment_page(user)), 400 if form.errors else 200


def _confirmed(form: CodeForm, user) -> str | None:
    """Changes to the second factor need a current code (or a recovery code); the refusal, else None."""
    if not form.validate_on_submit():
        return "Enter a code from your authenticator."
    limits, window = _limits(user.email), current_app.config["SIGN_IN_WINDOW_MINUTES"]
    if throttle.store().over_limit(db(), limits, utcnow(), window):
        return _held("Too many wrong codes", utcnow(), window)
    if second_factor.check(db(), user, form.code.data, utcnow()) is None:
        _failed(limits, "auth.second_factor_failed", user.email, actor_id=user.id)
        return "That code is not right. Use the newest code your authenticator shows, or a recovery code."
    return None


@bp.route("/account/two-step/recovery-codes", methods=["POST"])
@login_required
def new_recovery_codes():
    user = current_user._get_current_object()
    refusal = _confirmed(CodeForm(), user) if second_factor.enrolled(user) else "Set up two-step sign-in first."
    if refusal:
        flash(refusal, "error")
        return redirect(url_for(".two_step"))
    codes = second_factor.new_recovery_codes(db(), user)
    record(db(), "user.recovery_codes_renewed", actor_id=user.id, target=f"user:{user.id}")
    return recovery_codes_page(codes, url_for(".two_step"))


@bp.route("/account/two-step/off", methods=["POST"])
@login_required
def turn_off():
    user = current_user._get_current_object()
    if second_factor.required(user, current_app.config):
        flash("Your role requires two-step sign-in; it cannot be turned off.", "error")
        return redirect(url_for(".two_step"))
    refusal = _confirmed(CodeForm(), user) if second_factor.enrolled(user) else "Two-step sign-in is already off."
    if refusal:
        flash(refusal, "error")
        return redirect(url_for(".two_step"))
    second_factor.remove(db(), user)
    record(db(), "user.second_factor_removed", actor_id=user.id, target=f"user:{user.id}")
    flash("Two-step sign-in is off. Your password alone now signs you in.", "success")
    return redirect(url_for(".two_step"))
