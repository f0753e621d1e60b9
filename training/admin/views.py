"""Administrators: accounts and roles, the organisation, and the API's tokens."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, or_, select
from wtforms.fields.choices import SelectChoice

from training.access import ADMINS
from training.admin.forms import AccountForm, AgencyForm, ApiTokenForm, UnitForm
from training.admin.service import (
    AccountProblems,
    reset_second_factor,
    resolve_codes,
    save_account,
    save_org_entry,
)
from training.api import tokens
from training.api.models import ApiToken
from training.assignments.service import apply_standing_rules
from training.auth import second_factor
from training.auth.guards import roles_required
from training.clock import today_for
from training.db import db, utcnow
from training.forms import EmptyForm, has_errors
from training.imports.csvfile import ImportRefused
from training.imports.org import OrgAgency, OrgUnit
from training.params import page_number
from training.people.models import Agency, Unit, User
from training.words import sentence

bp = Blueprint("admin", __name__, url_prefix="/admin")
PAGE_SIZE = 50


@bp.route("/users")
@roles_required(*ADMINS)
def users():
    session = db()
    query = (request.args.get("q") or "").strip()
    stmt = select(User)
    if query:
        like = f"%{query.lower()}%"
        stmt = stmt.where(or_(func.lower(User.email).like(like), func.lower(User.last_name).like(like),
                              func.lower(User.first_name).like(like), func.lower(User.employee_id).like(like)))
    total = session.scalar(select(func.count()).select_from(stmt.subquery()))
    page = page_number(request.args)
    rows = session.scalars(stmt.order_by(User.last_name, User.first_name, User.id)
                           .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).all()
    return render_template("admin/users.html", users=rows, q=query, total=total, page=page,
                           pages=max(1, -(-total // PAGE_SIZE)))


def _form(user: User | None) -> AccountForm:
    session = db()
    form = AccountForm(data=_account_values(session, user)) if user is not None else AccountForm()
    form.agency.choices = [SelectChoice("", "None (department-wide)")] + [
        SelectChoice(a.code, f"{a.name} ({a.code})") for a in session.scalars(select(Agency).order_by(Agency.name))]
    return form


def _account_values(session, user: User) -> dict:
    """The account as the form shows it: codes, not objects (the form's `unit` is not the model's)."""
    scope = session.get(Unit, user.scope_unit_id) if user.scope_unit_id else None
    return {"email": user.email, "first_name": user.first_name, "last_name": user.last_name,
            "employee_id": user.employee_id or "", "role": user.role, "active": user.active,
            "agency": user.agency.code if user.agency else "", "unit": user.unit.code if user.unit else "",
            "scope_unit": scope.code if scope else ""}


@bp.route("/users/new", methods=["GET", "POST"])
@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@roles_required(*ADMINS)
def account(user_id: int | None = None):
    session = db()
    user = session.get(User, user_id) if user_id is not None else None
    if user_id is not None and user is None:
        abort(404)
    form = _form(user)
    if form.is_submitted():
        form.validate()
        # Every problem at once: the fields' own, then the codes named and the account rules.
        try:
            codes = resolve_codes(session, form.agency.data or None, (form.unit.data or "").strip() or None,
                                  (form.scope_unit.data or "").strip() or None)
            if not has_errors(form):
                values = {"email": form.email.data, "first_name": form.first_name.data.strip(),
                          "last_name": form.last_name.data.strip(),
                          "employee_id": (form.employee_id.data or "").strip(), "role": form.role.data,
                          "active": form.active.data, **codes}
                saved = save_account(session, user, values, form.password.data or None, actor_id=current_user.id)
        except AccountProblems as exc:
            session.rollback()
            for name, message in exc.problems:
                form[name].errors.append(sentence(message))
        if not has_errors(form):
            apply_standing_rules(session, today_for(current_user))   # a new or moved officer meets their unit's rules
            flash(f"Saved {saved.email}.", "success")
            return redirect(url_for(".account", user_id=saved.id))
    status = 422 if has_errors(form) else 200
    return render_template("admin/account.html", form=form, user=user,
                           two_step=user is not None and second_factor.enrolled(user)), status


@bp.route("/users/<int:user_id>/two-step", methods=["POST"])
@roles_required(*ADMINS)
def reset_two_step(user_id: int):
    """For a lost phone: the account sets up two-step sign-in again at its next sign-in."""
    session = db()
    user = session.get(User, user_id)
    if user is None:
        abort(404)
    reset_second_factor(session, user, actor_id=current_user.id)
    flash(f"Two-step sign-in was reset for {user.email}; every session of the account was signed out.", "success")
    return redirect(url_for(".account", user_id=user.id))


@bp.route("/org")
@roles_required(*ADMINS)
def org():
    session = db()
    agencies = session.scalars(select(Agency).order_by(Agency.code)).all()
    units = session.scalars(select(Unit).order_by(Unit.path, Unit.code)).all()
    return render_template("admin/org.html", agencies=agencies,
                           units={a.id: [u for u in units if u.agency_id == a.id] for a in agencies})


def _saved(form, agency: OrgAgency, unit: OrgUnit | None) -> str | None:
    """Save through the org-chart rules; the refusal to show, or None once committed."""
    try:
        save_org_entry(db(), agency, unit, actor_id=current_user.id)
    except ImportRefused as exc:
        db().rollback()
        said = "; ".join(message for _, message in exc.problems)
        return sentence(said)
    apply_standing_rules(db(), today_for(current_user))   # a unit moved under a rule brings its officers along
    flash(f"Saved {unit.code if unit else agency.code}.", "success")
    return None


@bp.route("/org/agencies/new", methods=["GET", "POST"])
@bp.route("/org/agencies/<code>", methods=["GET", "POST"])
@roles_required(*ADMINS)
def agency(code: str | None = None):
    existing = db().scalar(select(Agency).where(Agency.code == code)) if code else None
    if code and existing is None:
        abort(404)
    form = AgencyForm(obj=existing)
    if existing is not None:
        del form.code   # codes do not change
    error = None
    if form.validate_on_submit():
        new_code = existing.code if existing else form.code.data.strip()
        if existing is None and db().scalar(select(Agency.id).where(Agency.code == new_code)) is not None:
            error = f"An agency with code {new_code} already exists; open it from the list to change it."
        else:
            error = _saved(form, OrgAgency(0, new_code, form.name.data.strip(), form.time_zone.data.strip()), None)
        if error is None:
            return redirect(url_for(".org"))
    return render_template("admin/org_form.html", form=form, what="agency", existing=existing, error=error), \
        422 if (error or form.errors) else 200


@bp.route("/org/units/new", methods=["GET", "POST"])
@bp.route("/org/units/<code>", methods=["GET", "POST"])
@roles_required(*ADMINS)
def unit(code: str | None = None):
    session = db()
    existing = session.scalar(select(Unit).where(Unit.code == code)) if code else None
    if code and existing is None:
        abort(404)
    form = UnitForm(obj=existing)
    if existing is not None:
        del form.code   # codes do not change
    agencies = session.scalars(select(Agency).order_by(Agency.code)).all()
    form.agency.choices = [SelectChoice(a.code, f"{a.name} ({a.code})") for a in agencies]
    form.parent.choices = [SelectChoice("", "None (a top-level unit)")] + [
        SelectChoice(u.code, f"{u.name} ({u.code}, {u.agency.code})")
        for u in session.scalars(select(Unit).order_by(Unit.code)) if u is not existing]
    if existing is not None and request.method == "GET":
        form.agency.data = existing.agency.code
        parent = session.get(Unit, existing.parent_id) if existing.parent_id else None
        form.parent.data = parent.code if parent else ""
    elif request.method == "GET":
        form.agency.data = request.args.get("agency", "")
    error = None
    if form.validate_on_submit():
        chosen = next(a for a in agencies if a.code == form.agency.data)
        new_code = existing.code if existing else form.code.data.strip()
        if existing is None and session.scalar(select(Unit.id).where(Unit.code == new_code)) is not None:
            error = f"A unit with code {new_code} already exists; open it from the list to change it."
        else:
            error = _saved(form, OrgAgency(0, chosen.code, chosen.name, chosen.time_zone),
                           OrgUnit(0, chosen.code, new_code, form.name.data.strip(), form.parent.data or None))
        if error is None:
            return redirect(url_for(".org"))
    return render_template("admin/org_form.html", form=form, what="unit", existing=existing, error=error), \
        422 if (error or form.errors) else 200


def _token_form(**fields) -> ApiTokenForm:
    form = ApiTokenForm(**fields)
    form.agency.choices = [SelectChoice(a.code, f"{a.name} ({a.code})")
                           for a in db().scalars(select(Agency).order_by(Agency.name))]
    return form


@bp.route("/api-tokens", methods=["GET", "POST"])
@roles_required(*ADMINS)
def api_tokens():
    """The API's tokens: who has one, what each sees, when each was last used; make one (shown once) or revoke
    one."""
    session, form, made = db(), _token_form(), None
    if form.is_submitted():
        form.validate()
        if not has_errors(form):
            try:
                agency, unit = tokens.resolve_scope(session, form.agency.data, (form.unit.data or "").strip() or None)
                made = tokens.create_token(session, form.name.data, agency, unit, can_write=form.write.data,
                                           expires_on=form.expires.data, actor_id=current_user.id,
                                           now=utcnow(), via="site")
            except tokens.TokenError as exc:
                session.rollback()
                form[exc.field].errors.append(sentence(exc))
    now = utcnow()
    rows = [(token, agency, unit, tokens.state_of(token, agency, unit, now))
            for token, agency, unit in tokens.all_tokens(session)]
    if made is not None:
        form = _token_form(formdata=None)   # the form empties once the token is made
    return render_template("admin/api_tokens.html", form=form, rows=rows, made=made,
                           revoke_form=EmptyForm()), 422 if has_errors(form) else 200


@bp.route("/api-tokens/<int:token_id>/revoke", methods=["POST"])
@roles_required(*ADMINS)
def revoke_api_token(token_id: int):
    session = db()
    token = session.get(ApiToken, token_id)
    if token is None or not EmptyForm().validate_on_submit():
        abort(404)
    try:
        tokens.revoke_token(session, token, actor_id=current_user.id, now=utcnow(), via="site")
    except tokens.TokenError as exc:
        flash(sentence(exc), "info")
    else:
        flash(f"Token {token.name} is revoked: requests made with it are refused from now on.", "success")
    return redirect(url_for(".api_tokens"))
