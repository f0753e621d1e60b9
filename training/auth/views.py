"""Sign-in, sign-out, changing one's password and the second factor.

Every check of a password or a code here counts in the sign-in throttle and is audited about the account
it concerns; a held account or address is refused before anything is checked (training/auth/throttle.py).
"""
from __future__ import annotations

import time
from datetime import timedelta
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select

from training import telemetry
from training.access import MANAGERS, STAFF, may_change_account, may_see_unit
from training.audit.service import record
from training.auth import second_factor, throttle, tokens
from training.auth.forms import CodeForm, LoginForm, PasswordForm
from training.auth.guards import roles_required
from training.auth.keys import keyring
from training.auth.oidc import (
    UNAVAILABLE,
    ProviderUnavailable,
    Refusal,
    SignInFailed,
    account_for,
    asserts_multi_factor,
    callback_url,
    finish,
    password_sign_in,
    registry,
)
from training.auth.passwords import password_problem
from training.auth.service import (
    AccountError,
    WrongPassword,
    change_password,
    find_by_email,
    hash_password,
    normalise_email,
    password_opens,
)
from training.auth.sessions import end_all_sessions, end_session, open_session
from training.auth.token_forms import ForgotPasswordForm, NewPasswordForm
from training.auth.tokens import INVITATION, RESET
from training.db import db, utcnow
from training.forms import EmptyForm, has_errors
from training.people.models import Unit, User
from training.people.service import subtree_ids
from training.reminders.delivery import deliver
from training.reminders.invitations import invite, queue_link
from training.security import CONTENT_SECURITY_POLICY, client_address
from training.words import plural

bp = Blueprint("auth", __name__)
# Session keys: a sign-in waiting for its second factor, and the token naming the authenticator key offered to
# this browser (the key itself waits on the server). Cookies of earlier releases carried the key: it is dropped.
PENDING, SETUP, OLD_CANDIDATE = "pending_sign_in", "second_factor_setup", "totp_candidate"
NOT_CONFIRMED = ("That code does not match. Check the authenticator holds the key shown here, that the phone's "
                 "clock is right, and enter the newest code.")
SETUP_EXPIRED = ("The key offered before was not confirmed in time, so it no longer works. Add this new key to "
                 "your authenticator, then enter the code it shows.")
WRONG_CODE = "That code is not right. Use the newest code your authenticator shows, or a recovery code."
# The longest page address kept to return to after sign-in: it travels in the session cookie.
MAX_NEXT = 2000


def safe_next(target: str | None) -> str:
    """Only same-site relative paths; anything else goes to the home page."""
    if target and len(target) <= MAX_NEXT:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") and not target.startswith("//") \
                and "\\" not in target:
            return target
    return url_for("home.index")


def _start_session(user) -> None:
    """A fresh cookie and a new server-side session: nothing from before sign-in carries over."""
    session.clear()
    login_user(user)
    session["sid"] = open_session(db(), user.id, utcnow())


def _window() -> int:
    return current_app.config["SIGN_IN_WINDOW_MINUTES"]


def _limits(email: str) -> dict[str, int]:
    """The throttle keys for this account and this client address, with their limits (the account's first)."""
    config = current_app.config
    account_key, address_key = throttle.keys_for(normalise_email(email), client_address())
    return {account_key: config["SIGN_IN_ACCOUNT_LIMIT"], address_key: config["SIGN_IN_ADDRESS_LIMIT"]}


def _holding(limits: dict[str, int], email: str, account: User | None, form_name: str) -> bool:
    """Whether this account or address is held. A refusal is recorded, once per held key and window, about
    the account when it exists; the account's key is named when it is held, so a sprayer's refusals for many
    accounts from one address make one event."""
    session_db, now = db(), utcnow()
    held = throttle.store().held(session_db, limits, now, _window())
    if not held:
        return False
    account_key = next(iter(limits))
    key = account_key if account_key in held else held[0]
    throttle.record_refusal(session_db, key, now, _window(), "auth.sign_in_throttled", target=throttle.clip(email),
                            about=account, ip=client_address(), form=form_name,
                            held="account" if key == account_key else "address")
    session_db.commit()   # kept whatever happens while answering: a refusal must be on record
    return True


def _throttled(limits: dict[str, int], email: str, account: User | None, form_name: str, template: str,
               **context):
    """The refusal page when this account or address has failed too often in the window, else None."""
    if not _holding(limits, email, account, form_name):
        return None
    flash(_held("Too many attempts"), "error")
    return render_template(template, **context), 429


def _held(what: str) -> str:
    wait = throttle.minutes_left(utcnow(), _window())
    return f"{what}; try again in {plural(wait, 'minute')}."


def _failed(limits: dict[str, int], action: str, email: str, account: User | None, actor_id: int | None = None,
            **details) -> None:
    """A wrong password or code: counted against the account and the address, and recorded about the account."""
    session_db = db()
    throttle.store().count_failure(session_db, tuple(limits), utcnow(), _window())
    telemetry.SIGN_IN_FAILURES.labels(action).inc()
    record(session_db, action, actor_id=actor_id, target=throttle.clip(email), about=account, ip=client_address(),
           **details)
    session_db.commit()   # the failure counts even if answering fails: the throttle must not be outrun


def _signed_in(user, **details) -> None:
    """The account is through every check: forget its failures and open its session. A sign-in through a
    single sign-on provider (named in `details`, or in the pending step) is remembered for signing out."""
    pending = session.get(PENDING)
    provider = details.get("provider") or (pending.get("provider") if isinstance(pending, dict) else None)
    throttle.store().forget(db(), throttle.keys_for(normalise_email(user.email), None)[0], utcnow(), _window())
    _start_session(user)
    if provider:
        session[SIGNED_IN_WITH] = details["provider"] = provider
    record(db(), "auth.signed_in", actor_id=user.id, target=f"user:{user.id}", ip=client_address(), **details)


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = LoginForm()
    if form.validate_on_submit():
        email = normalise_email(form.email.data)
        limits = _limits(email)
        account = find_by_email(db(), email)
        refusal = _throttled(limits, email, account, "sign_in", "auth/login.html", form=form)
        if refusal:
            return refusal
        if password_sign_in(current_app.config) == "off":
            return _password_refused(email, account)
        if not password_opens(account, form.password.data):
            _failed(limits, "auth.sign_in_failed", email, account)
            flash("The email or password is not right.", "error")
            return render_template("auth/login.html", form=form), 401
        if password_sign_in(current_app.config) == "staff" and account.role not in STAFF:
            return _password_refused(email, account)
        user, target = account, safe_next(request.args.get("next"))
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
        refusal = _throttled(limits, user.email, user, "code", "auth/code.html", form=form)
        if refusal:
            return refusal
        used = second_factor.check(db(), user, form.code.data, utcnow(), keyring())
        if used is None:
            _failed(limits, "auth.second_factor_failed", user.email, user, actor_id=user.id, form="code")
            flash(WRONG_CODE, "error")
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
        return _confirm_setup(user, form, "enrol", signed_in=False)
    status = 400 if form.errors else 200
    return render_template("auth/enrol.html", form=form, **enrolment_page(user)), status


def _confirm_setup(user, form: CodeForm, form_name: str, *, signed_in: bool):
    """A code from the authenticator confirms the key offered to this browser: the second factor is on."""
    secret = offered_secret(user, create=False)
    if secret is None:
        return render_template("auth/enrol.html", form=form, error=SETUP_EXPIRED, **enrolment_page(user)), 422
    limits = _limits(user.email)
    if _holding(limits, user.email, user, form_name):
        return render_template("auth/enrol.html", form=form, error=_held("Too many wrong codes"),
                               **enrolment_page(user)), 429
    codes = second_factor.enrol(db(), user, secret, form.code.data, utcnow(), keyring())
    if codes is None:
        _failed(limits, "auth.second_factor_failed", user.email, user, actor_id=user.id, form=form_name)
        return render_template("auth/enrol.html", form=form, error=NOT_CONFIRMED, **enrolment_page(user)), 401
    record(db(), "user.second_factor_enrolled", actor_id=user.id, target=f"user:{user.id}")
    if signed_in:
        # Turning the second factor on signs the account out of every other browser.
        end_all_sessions(db(), user.id, utcnow())
        _start_session(user)
        return recovery_codes_page(codes, url_for(".two_step"))
    target = session[PENDING]["next"]
    _signed_in(user, factor="code")
    return recovery_codes_page(codes, target)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    provider = session.get(SIGNED_IN_WITH)
    end_session(db(), session.get("sid"), utcnow())
    record(db(), "auth.signed_out", actor_id=current_user.id, target=f"user:{current_user.id}")
    logout_user()
    session.clear()
    if provider:
        offer = _provider_sign_out(provider)
        if offer:
            return offer
    flash("You have signed out.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def password():
    form = PasswordForm()
    error, status = None, 200
    if form.validate_on_submit():
        user = current_user._get_current_object()
        limits = _limits(user.email)
        if _holding(limits, user.email, user, "password"):
            error, status = _held("Too many attempts"), 429
        else:
            try:
                change_password(db(), user, form.current_password.data, form.new_password.data)
            except WrongPassword as exc:
                _failed(limits, "auth.password_check_failed", user.email, user, actor_id=user.id, form="password")
                form.current_password.errors.append(str(exc))
                # Every problem at once: the new password's too.
                if problem := password_problem(form.new_password.data, user.email):
                    form.new_password.errors.append(problem)
                status = 401
            except AccountError as exc:
                form.new_password.errors.append(str(exc))
                status = 422
            else:
                end_all_sessions(db(), user.id, utcnow())
                _start_session(user)
                record(db(), "user.password_changed", actor_id=user.id, target=f"user:{user.id}")
                flash("Your password was changed. Every other session of your account was signed out.", "success")
                return redirect(url_for("home.index"))
    elif form.errors:
        status = 422
    return render_template("auth/password.html", form=form, error=error), status


# Invitations and password resets: links with a single-use token (training/auth/tokens.py), mailed through the
# outbox (training/reminders/invitations.py).
LINK_ACTIONS = {INVITATION: ("invitation.accepted", "invitation.refused"),
                RESET: ("password.reset", "password.reset_refused")}


def _no_store(response):
    response = make_response(response)
    response.headers["Cache-Control"] = "no-store"
    return response


def _deliver_after_response(response, ids: list[int]):
    """The queued messages go out once the answer has left: the time it takes never shows in the answer."""
    app = current_app._get_current_object()

    def send() -> None:
        if ids:
            deliver(app, force=True, ids=ids)
    response.call_on_close(send)
    return response


@bp.route("/password/forgot", methods=["GET", "POST"])
def forgot_password():
    """The same answer, by the same path, whether or not the address has an account."""
    if password_sign_in(current_app.config) == "off":
        abort(404, "Password sign-in is turned off on this site; use your agency's sign-in button.")
    form = ForgotPasswordForm()
    if not form.validate_on_submit():
        return render_template("auth/forgot.html", form=form), 400 if form.errors else 200
    config, session_db, now = current_app.config, db(), utcnow()
    email = normalise_email(form.email.data)
    account_key, address_key = throttle.keys_for(email, client_address())
    limits = {f"reset-{account_key}"[:300]: config["PASSWORD_RESET_ACCOUNT_LIMIT"],
              f"reset-{address_key}"[:300]: config["PASSWORD_RESET_ADDRESS_LIMIT"]}
    account = find_by_email(session_db, email)
    held = throttle.store().held(session_db, limits, now, _window())
    if held:
        key = held[0]
        throttle.record_refusal(session_db, key, now, _window(), "password.reset_throttled",
                                target=throttle.clip(email), about=account, ip=client_address(),
                                held="account" if key == next(iter(limits)) else "address")
        session_db.commit()   # kept whatever happens while answering: a refusal must be on record
        flash(_held("Too many requests"), "error")
        return render_template("auth/forgot.html", form=form), 429
    throttle.store().count_failure(session_db, tuple(limits), now, _window())
    queued: list[int] = []
    if account is not None and account.active:
        link = tokens.issue(session_db, account, RESET, now, timedelta(minutes=config["PASSWORD_RESET_MINUTES"]))
        queued = [row for row in [queue_link(session_db, link, None, now)] if row is not None]
    record(session_db, "password.reset_requested", target=throttle.clip(email), about=account,
           ip=client_address(), mailed=bool(queued))
    session_db.commit()   # the link is written before the answer: if answering fails, the delivery job still sends it
    response = make_response(render_template("auth/forgot_sent.html", email=email,
                                              minutes=config["PASSWORD_RESET_MINUTES"]))
    return _deliver_after_response(response, queued)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    return _use_link(token, RESET)


@bp.route("/invitation/<token>", methods=["GET", "POST"])
def accept_invitation(token: str):
    return _use_link(token, INVITATION)


def _use_link(raw: str, purpose: str):
    """Choose a password through a link: an invitation then signs the account in, a reset sends it to sign in."""
    session_db, now = db(), utcnow()
    accepted, refused = LINK_ACTIONS[purpose]
    try:
        link, user = tokens.check(session_db, raw, purpose, now)
    except tokens.TokenRefused as exc:
        if exc.token is not None:
            record(session_db, refused, target=f"user:{exc.token.user_id}", reason=exc.reason,
                   ip=client_address())
        else:
            throttle.record_refusal(session_db, f"link-address:{client_address() or 'unknown'}", now, _window(),
                                    refused, ip=client_address(), reason="unknown")
        session_db.commit()   # kept whatever happens while answering: a refusal must be on record
        return _no_store(render_template("auth/link_refused.html", purpose=purpose)), 404
    form = NewPasswordForm()
    error, status = None, 200
    if form.is_submitted():
        form.validate()
        # The rules' check of the new password, beside the form's own problems (the two passwords differ...).
        if not form.new_password.errors and (problem := password_problem(form.new_password.data, user.email)):
            form.new_password.errors.append(problem)
        if has_errors(form):
            status = 422
        else:
            user.password_hash = hash_password(form.new_password.data)
            tokens.use(session_db, link, now)
            end_all_sessions(session_db, user.id, now)
            end_session(session_db, session.get("sid"), now)
            throttle.store().forget(session_db, throttle.keys_for(normalise_email(user.email), None)[0], now,
                                    _window())
            record(session_db, accepted, actor_id=user.id, target=f"user:{user.id}", ip=client_address())
            session.clear()
            if purpose == RESET:
                flash("Your password was changed and your account was signed out everywhere. "
                      "Sign in with your new password.", "success")
                return redirect(url_for(".login"))
            return _first_sign_in(user)
    return _no_store(render_template("auth/new_password.html", form=form, purpose=purpose, error=error,
                                     email=user.email)), status


def _first_sign_in(user: User):
    """After accepting an invitation: signed in and on to their training, staff once they give their code."""
    target = url_for("home.index")
    if second_factor.enrolled(user) or second_factor.required(user, current_app.config):
        session[PENDING] = {"user": user.id, "since": time.time(), "next": target}
        return redirect(url_for(".code" if second_factor.enrolled(user) else ".enrol"))
    _signed_in(user, via="invitation")
    flash("Your password is set. Welcome to Rollcall.", "success")
    return redirect(target)


@bp.route("/units/<code>/invitations", methods=["POST"])
@roles_required(*MANAGERS)
def invite_unit(code: str):
    """Invite the unit's (or a sub-unit's) people who cannot sign in yet."""
    session_db = db()
    unit = session_db.scalar(select(Unit).where(Unit.code == code))
    if unit is None or not may_see_unit(session_db, current_user, unit):
        abort(404)
    if not EmptyForm().validate_on_submit():
        abort(400)
    sub = session_db.scalar(select(Unit).where(Unit.code == request.form.get("sub", code)))
    if sub is None or not sub.path.startswith(unit.path):
        sub = unit
    viewer = current_user._get_current_object()
    done = invite(session_db, [User.unit_id.in_(subtree_ids(session_db, sub))], utcnow(),
                  current_app.config["INVITATION_DAYS"], viewer.id, resend=request.form.get("resend") == "y",
                  allowed=lambda person: may_change_account(session_db, viewer, person))
    session_db.commit()   # delivery reads the queued messages from the database
    report = deliver(current_app._get_current_object(), force=True, ids=done.queued)
    waiting = len(done.queued) - report.counts["sent"] - report.counts["cancelled"]
    message = f"Invitation sent to {plural(report.counts['sent'], 'person')}."
    if waiting:
        message += f" {waiting} could not be sent now and will be retried."
    if done.already:
        message += f" {done.already} already had an invitation that still works (send again to replace it)."
    flash(message, "success" if not waiting else "info")
    return redirect(url_for("people.unit", code=unit.code, sub=sub.code if sub.id != unit.id else None))


def offered_secret(user, *, create: bool = True) -> str | None:
    """The key offered to this browser's authenticator until a code confirms it (a new one when none is, or
    with `create=False`, None). It waits on the server, encrypted, for SECOND_FACTOR_SETUP_MINUTES; the cookie
    holds only a random token naming it."""
    session.pop(OLD_CANDIDATE, None)
    now, minutes, keys = utcnow(), current_app.config["SECOND_FACTOR_SETUP_MINUTES"], keyring()
    secret = second_factor.setup_secret(db(), session.get(SETUP), user, now, minutes, keys)
    if secret is None and create:
        session[SETUP], secret = second_factor.start_setup(db(), user, now, keys)
    return secret


def enrolment_page(user) -> dict:
    secret = offered_secret(user)
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
        return _confirm_setup(user, form, "setup", signed_in=True)
    return render_template("auth/enrol.html", form=form, **enrolment_page(user)), 400 if form.errors else 200


def _confirmed(form: CodeForm, user, form_name: str) -> str | None:
    """Changes to the second factor need a current code (or a recovery code); the refusal, else None."""
    if not form.validate_on_submit():
        return "Enter a code from your authenticator."
    limits = _limits(user.email)
    if _holding(limits, user.email, user, form_name):
        return _held("Too many wrong codes")
    if second_factor.check(db(), user, form.code.data, utcnow(), keyring()) is None:
        _failed(limits, "auth.second_factor_failed", user.email, user, actor_id=user.id, form=form_name)
        return WRONG_CODE
    return None


@bp.route("/account/two-step/recovery-codes", methods=["POST"])
@login_required
def new_recovery_codes():
    user = current_user._get_current_object()
    refusal = _confirmed(CodeForm(), user, "recovery_codes") if second_factor.enrolled(user) \
        else "Set up two-step sign-in first."
    if refusal:
        flash(refusal, "error")
        return redirect(url_for(".two_step"))
    codes = second_factor.new_recovery_codes(db(), user, keyring())
    record(db(), "user.recovery_codes_renewed", actor_id=user.id, target=f"user:{user.id}")
    return recovery_codes_page(codes, url_for(".two_step"))


@bp.route("/account/two-step/off", methods=["POST"])
@login_required
def turn_off():
    user = current_user._get_current_object()
    if second_factor.required(user, current_app.config):
        flash("Your role requires two-step sign-in; it cannot be turned off.", "error")
        return redirect(url_for(".two_step"))
    refusal = _confirmed(CodeForm(), user, "turn_off") if second_factor.enrolled(user) \
        else "Two-step sign-in is already off."
    if refusal:
        flash(refusal, "error")
        return redirect(url_for(".two_step"))
    second_factor.remove(db(), user)
    record(db(), "user.second_factor_removed", actor_id=user.id, target=f"user:{user.id}")
    flash("Two-step sign-in is off. Your password alone now signs you in.", "success")
    return redirect(url_for(".two_step"))


# Single sign-on (OpenID Connect, training/auth/oidc.py). The provider a sign-in went through is kept in the
# session, to offer its own sign-out; a sign-in under way keeps the provider's name, where to go after, and
# when it started (Authlib keeps its state, nonce and PKCE verifier beside them).
SIGNED_IN_WITH, SSO_STARTED = "signed_in_with", "sso_started"
# Minutes a sign-in started here may take at the provider.
SSO_MINUTES = 10
PASSWORD_REFUSED = {
    "off": "Password sign-in is turned off on this site. Use your agency's sign-in button instead.",
    "staff": "Officers sign in with their agency's sign-in button, not a password. Use the button above, or ask "
             "your training coordinator which one is yours.",
}


@bp.after_request
def allow_provider_forms(response):
    """The sign-in page's provider buttons post here and are redirected on to the provider: its origin must be an
    allowed form target (Content-Security-Policy form-action), or the browser stops at the redirect."""
    origins = registry(current_app).form_origins() if request.endpoint == "auth.login" else []
    if origins and "Content-Security-Policy" not in response.headers:
        response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY.replace(
            "form-action 'self'", "form-action 'self' " + " ".join(origins))
    return response


@bp.context_processor
def sign_in_options() -> dict:
    """What the sign-in page offers: each provider's button, and whether the password form is shown."""
    return {"sso_providers": registry(current_app).providers, "password_sign_in": password_sign_in(current_app.config)}


def _password_refused(email: str, account: User | None):
    """PASSWORD_SIGN_IN keeps this account (or everyone) from signing in with a password: refused and audited,
    once per client address and window while nothing was checked."""
    mode = password_sign_in(current_app.config)
    if mode == "off":
        throttle.record_refusal(db(), f"password-off:{client_address()}", utcnow(), _window(),
                                "auth.password_sign_in_refused", target=throttle.clip(email), about=account,
                                ip=client_address(), mode=mode)
    else:
        record(db(), "auth.password_sign_in_refused", target=throttle.clip(email), about=account,
               ip=client_address(), mode=mode)
    db().commit()   # kept whatever happens while answering: a refusal must be on record
    flash(PASSWORD_REFUSED[mode], "error")
    return render_template("auth/login.html", form=LoginForm(formdata=None)), 403


def _sso_failed(target: str, reason: str, **details) -> None:
    """An answer that signs nobody in, recorded once per reason, client address and window: anyone can send
    the callback address, and a flood of them must not flood the audit trail."""
    throttle.record_refusal(db(), f"sso-failed:{reason}:{client_address()}", utcnow(), _window(), "auth.sso_failed",
                            target=target, ip=client_address(), reason=reason, **details)
    db().commit()   # kept whatever happens while answering: a refusal must be on record


def _sso_page(title: str, message: str, status: int):
    return render_template("auth/sso_problem.html", title=title, message=message, status=status), status


@bp.route("/login/oidc/start/<name>", methods=["POST"])
def oidc_start(name: str):
    """The provider's button: off to its sign-in page, with a fresh state, nonce and PKCE challenge."""
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    providers = registry(current_app)
    provider = providers.get(name)
    if provider is None:
        return _sso_page("No such sign-in", "No sign-in provider of this site has that name. Go back to the sign-in "
                         "page and use one of its buttons.", 404)
    try:
        response = providers.client(provider).authorize_redirect(callback_url(current_app.config))
    except ProviderUnavailable:
        return _sso_page("Single sign-on is not working", _unavailable(provider.label), 503)
    session[SSO_STARTED] = {"provider": name, "next": safe_next(request.args.get("next")), "since": time.time()}
    return response


def _unavailable(label: str) -> str:
    also = " You can sign in with your email and password meanwhile." \
        if password_sign_in(current_app.config) != "off" else ""
    return UNAVAILABLE.format(label=label) + also


@bp.route("/login/oidc/callback")
def oidc_callback():
    """Where each provider sends the browser back: the answer is verified, then matched to an account."""
    started = session.pop(SSO_STARTED, None)
    providers = registry(current_app)
    provider = providers.get(started.get("provider")) if isinstance(started, dict) else None
    if provider is None or time.time() - started.get("since", 0) > SSO_MINUTES * 60:
        _sso_failed("oidc", reason="not_started")
        return _sso_page("Sign in again", "This sign-in did not start in this browser, or took longer than "
                         f"{SSO_MINUTES} minutes. Start again from the sign-in page.", 400)
    try:
        claims = finish(providers.client(provider), provider, request.args)
    except ProviderUnavailable:
        return _sso_page("Single sign-on is not working", _unavailable(provider.label), 503)
    except SignInFailed as failure:
        _sso_failed(f"oidc:{provider.name}", provider=provider.name, reason=failure.reason, detail=failure.detail)
        if failure.status == 503:
            return _sso_page("Single sign-on is not working", _unavailable(provider.label), 503)
        return _sso_page("Not signed in", failure.message, failure.status)
    found = account_for(db(), provider, claims)
    if isinstance(found, Refusal):
        record(db(), "auth.sso_refused", target=throttle.clip(str(claims.get("email") or claims.get("sub"))),
               about=found.account, ip=client_address(), provider=provider.name, reason=found.reason)
        return _sso_page("Not signed in", found.message, 403)
    user, multi_factor = found, asserts_multi_factor(provider, claims)
    if not multi_factor and (second_factor.enrolled(user) or second_factor.required(user, current_app.config)):
        # The provider vouched for a password alone: Rollcall's own second factor follows, as after a password.
        session.clear()
        session[PENDING] = {"user": user.id, "since": time.time(), "next": started["next"], "provider": provider.name}
        return redirect(url_for(".code" if second_factor.enrolled(user) else ".enrol"))
    _signed_in(user, provider=provider.name, factor="provider multi-factor" if multi_factor else "provider")
    return redirect(started["next"])


def _provider_sign_out(name: str):
    """After signing out of Rollcall, the page offering to sign out of the provider too, where it can; else None."""
    providers = registry(current_app)
    provider = providers.get(name)
    if provider is None:
        return None
    try:
        client = providers.client(provider)
    except ProviderUnavailable:
        return None
    if not client.server_metadata.get("end_session_endpoint"):
        return None
    back = str(current_app.config["BASE_URL"]).rstrip("/") + url_for(".login")
    url = client.create_logout_url(post_logout_redirect_uri=back, client_id=provider.client_id)["url"]
    return render_template("auth/signed_out.html", provider=provider, end_session_url=url)
