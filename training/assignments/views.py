"""Coordinators act: assign, standing rules, extensions, exemptions, reminders now."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from training.access import (
    MANAGERS,
    Forbidden,
    act_filter,
    may_act_on_agency,
    may_act_on_officer,
    may_act_on_unit,
    may_decide_extension,
    may_see_officer,
    units_in_scope,
)
from training.assignments import manage, requests, service
from training.assignments.forms import AssignForm, BulkForm, ExemptForm, ExtendForm, RuleForm, WithdrawForm
from training.assignments.targets import OFFICERS_LISTED, officers_listed, officers_of
from training.audit.service import record_refusal
from training.auth.guards import roles_required
from training.auth.views import safe_next
from training.catalog.models import Course
from training.catalog.service import course_by_code, course_choices
from training.clock import today_for
from training.db import db
from training.forms import EmptyForm, has_errors, not_a_day, parse_day, problems_of
from training.params import row_ids
from training.people.models import Agency, Unit, User
from training.records.models import Assignment, ExtensionRequest, StandingRule
from training.reminders.delivery import deliver
from training.reminders.service import cancel_stale, queue_extension_decision, queue_nudges
from training.words import plural, sentence

bp = Blueprint("assignments", __name__)


def _target_in_scope(target: str, code: str) -> bool:
    session = db()
    if target == "unit":
        unit = session.scalar(select(Unit).where(Unit.code == code))
        return unit is not None and may_act_on_unit(session, current_user, unit)
    if target == "officer":
        user = session.scalar(select(User).where(User.employee_id == code))
        return user is not None and may_act_on_officer(session, current_user, user)
    agency = session.scalar(select(Agency).where(Agency.code == code))
    return agency is not None and may_act_on_agency(current_user, agency.id)


TARGET_WORDS = {"unit": "a unit", "officer": "an officer", "agency": "an agency"}


def _unit_label(unit: Unit, top_depth: int) -> str:
    """A unit as an option of a list in tree order: indented by its depth below the top of the list."""
    return "\u00a0\u00a0" * (unit.path.count("/") - 2 - top_depth) + f"{unit.name} ({unit.code})"


@bp.route("/assign", methods=["GET", "POST"])
@roles_required(*MANAGERS)
def assign():
    """Assign modules to a unit, an officer or an agency, each picked from a list of those in the user's scope.
    The officers listed are those of the unit chosen; "List its officers" shows the chosen unit's, assigning
    nothing."""
    session = db()
    units = units_in_scope(session, current_user)
    agencies = [a for a in session.scalars(select(Agency).order_by(Agency.name))
                if may_act_on_agency(current_user, a.id)]
    form = AssignForm(target=request.args.get("target", "unit"), unit=request.args.get("unit", ""),
                      officer=request.args.get("officer", ""))
    form.courses.choices = course_choices(session)
    form.target.choices = [c for c in form.target.choices if c.value != "agency" or agencies]
    top_depth = min((u.path.count("/") - 2 for u in units), default=0)
    form.unit.choices = [SelectChoice("", "Choose a unit")] + [
        SelectChoice(u.code, _unit_label(u, top_depth)) for u in units]
    form.agency.choices = [SelectChoice(a.code, f"{a.name} ({a.code})") for a in agencies]
    chosen = next((u for u in units if u.code == form.unit.data), None)
    listed = officers_listed(session, chosen) if chosen else []
    form.officer.choices = [SelectChoice("", "Choose an officer")] + [
        SelectChoice(o.employee_id, f"{o.last_name}, {o.first_name} ({o.employee_id})") for o in listed]
    results = []
    listing = request.method == "POST" and request.form.get("list") == "officers"
    today = today_for(current_user)
    if not listing and form.is_submitted():
        # Every problem at once: the fields' own, the target chosen and the due date against today.
        form.validate()
        target = form.target.data if form.target.data in TARGET_WORDS else None
        field = getattr(form, target) if target else None
        code = (field.data or "").strip() if field else ""
        if field is not None and not field.errors:
            if not code:
                field.errors.append(f"Choose {TARGET_WORDS[target]}.")
            elif not _target_in_scope(target, code):
                field.errors.append(f"No {target} with code {code} is within your scope.")
        _add_rule_problems(form, due_on=lambda: manage.check_due(form.due_on.data, today,
                                                                 allow_far=form.confirm_far.data))
        if not has_errors(form):
            target = officers_of(session, **{target: code})
            try:
                for course_code in form.courses.data:
                    course = course_by_code(session, course_code)
                    results.append((course, service.assign_course(
                        session, course, target.officers, form.due_on.data, today, reason=target.reason,
                        actor_id=current_user.id, about=target.about, allow_far=form.confirm_far.data)))
            except service.Refused as exc:
                session.rollback()
                results = []
                form.due_on.errors.append(sentence(_refusal(exc)))
    status = 422 if has_errors(form) else 200
    return render_template("assignments/assign.html", form=form, results=results, chosen=chosen,
                           listed=len(listed), limit=OFFICERS_LISTED, listing=listing), status


@bp.route("/rules", methods=["GET", "POST"])
@roles_required(*MANAGERS)
def rules():
    session = db()
    units = units_in_scope(session, current_user)
    form = RuleForm()
    form.unit.choices = [SelectChoice(u.code, f"{u.name} ({u.code})") for u in units]
    form.course.choices = course_choices(db())
    if form.validate_on_submit():
        unit = next(u for u in units if u.code == form.unit.data)
        course = course_by_code(session, form.course.data)
        try:
            created = service.create_standing_rule(session, unit, course, form.days.data, today_for(current_user),
                                                   actor_id=current_user.id)
        except service.Refused as exc:
            form.unit.errors.append(sentence(exc))
        else:
            flash(f"Rule saved: everyone in {unit.code} must hold {course.code}. "
                  f"{plural(sum(created.values()), 'officer')} assigned now.", "success")
            return redirect(url_for(".rules"))
    in_scope = [u.id for u in units]
    rows = session.execute(select(StandingRule, Unit, Course).join(Unit, Unit.id == StandingRule.unit_id)
                           .join(Course, Course.id == StandingRule.course_id)
                           .where(StandingRule.unit_id.in_(in_scope)).order_by(Unit.path, Course.code)).all()
    return render_template("assignments/rules.html", form=form, rows=rows, delete_form=EmptyForm()), \
        422 if form.errors else 200


@bp.route("/rules/<int:rule_id>/delete", methods=["POST"])
@roles_required(*MANAGERS)
def delete_rule(rule_id: int):
    session = db()
    rule = session.get(StandingRule, rule_id)
    if rule is None or not EmptyForm().validate_on_submit() \
            or not may_act_on_unit(session, current_user, session.get(Unit, rule.unit_id)):
        abort(404)
    service.delete_standing_rule(session, rule, actor_id=current_user.id)
    flash("Rule removed. Assignments it made stay open.", "info")
    return redirect(url_for(".rules"))


def _acting_on(user_id: int) -> User:
    """An officer in the current user's scope (the service refuses acts on oneself, with a reason)."""
    user = db().get(User, user_id)
    if user is None or not may_see_officer(db(), current_user, user):
        abort(404)
    return user


_FAR_HINT = " Tick the box to confirm it if it is really meant."


def _refusal(exc: Exception) -> str:
    """A refusal's words ending a sentence, with how to confirm a far due date when that is what was refused."""
    text = str(exc)
    return text + ("" if text.endswith(".") else ".") + (_FAR_HINT if getattr(exc, "far", False) else "")


def _add_rule_problems(form, **checks) -> None:
    """Run the rules' checks (by field name) of the fields that passed their own, and add each refusal to its
    field, so that a form shows every problem at once."""
    checks = {name: check for name, check in checks.items()
              if not getattr(form, name).errors and getattr(form, name).data not in (None, "")}
    try:
        manage.collect(**checks)
    except manage.Refusals as exc:
        for name, message in exc.problems:
            getattr(form, name).errors.append(sentence(message) + (_FAR_HINT if exc.far and name == "due_on" else ""))


def _refused(done: str, form) -> str:
    """One message naming every problem of a form sent from a page that is shown again after it."""
    return f"{done}: " + " ".join(sentence(p) for p in problems_of(form))


def _change(user_id: int, assignment_id: int, action: str):
    """Extend, correct or withdraw one open assignment of an officer in scope, from the officer's page."""
    session = db()
    user = _acting_on(user_id)
    assignment = session.get(Assignment, assignment_id)
    if assignment is None or assignment.user_id != user.id:
        abort(404)
    form = WithdrawForm() if action == "withdraw" else ExtendForm()
    done = {"extend": "Not extended", "set_due": "Due date not changed", "withdraw": "Not withdrawn"}[action]
    if assignment.closed_at is not None:
        flash(f"{done}: this assignment is no longer open.", "error")
        return redirect(url_for("people.officer", user_id=user.id))
    form.validate_on_submit()
    today = today_for(current_user)
    _add_rule_problems(form, reason=lambda: manage.require_reason(form.reason.data),
                      **({} if action == "withdraw" else {"due_on": lambda: manage.check_due(
                          form.due_on.data, today, allow_far=form.confirm_far.data)}))
    if has_errors(form):
        flash(_refused(done, form), "error")
        return redirect(url_for("people.officer", user_id=user.id))
    due_on = None if action == "withdraw" else form.due_on.data
    try:
        result = manage.manage_assignments(
            session, action, assignment.course, select(User.id).where(User.id == user.id), reason=form.reason.data,
            today=today, due_on=due_on, actor_id=current_user.id,
            allow_far=action != "withdraw" and form.confirm_far.data)
    except manage.Refused as exc:
        flash(f"{done}: {_refusal(exc)}", "error")
    except Forbidden as exc:
        record_refusal(session, current_user.id, user, {"extend": "extension"}.get(action, action), str(exc))
        flash(f"{done}: {exc}.", "error")
    else:
        if not result.changed:
            flash(f"{done}: {next(iter(result.left_alone))}.", "error")
        else:
            cancel_stale(session, today_for(current_user), user_ids=[user.id])
            flash("Assignment withdrawn." if action == "withdraw" else f"Due date moved to {due_on.isoformat()}.",
                  "success")
    return redirect(url_for("people.officer", user_id=user.id))


@bp.route("/officers/<int:user_id>/assignments/<int:assignment_id>/extend", methods=["POST"])
@roles_required(*MANAGERS)
def extend(user_id: int, assignment_id: int):
    return _change(user_id, assignment_id, "extend")


@bp.route("/officers/<int:user_id>/assignments/<int:assignment_id>/due", methods=["POST"])
@roles_required(*MANAGERS)
def set_due(user_id: int, assignment_id: int):
    return _change(user_id, assignment_id, "set_due")


@bp.route("/officers/<int:user_id>/assignments/<int:assignment_id>/withdraw", methods=["POST"])
@roles_required(*MANAGERS)
def withdraw(user_id: int, assignment_id: int):
    return _change(user_id, assignment_id, "withdraw")


@bp.route("/assignments/bulk", methods=["POST"])
@roles_required(*MANAGERS)
def bulk():
    """One action for the officers selected on a unit's page, or for the whole unit: a fixed number of
    statements however many officers."""
    session = db()
    form = BulkForm()
    form.course.choices = course_choices(session)
    back = safe_next(request.form.get("next"))
    today = today_for(current_user)
    form.validate_on_submit()
    dated = {"exempt": lambda: manage.check_exemption_days(today, form.due_on.data),
             "extend": lambda: manage.check_due(form.due_on.data, today, allow_far=form.confirm_far.data),
             "set_due": lambda: manage.check_due(form.due_on.data, today, allow_far=form.confirm_far.data)}
    _add_rule_problems(form, reason=lambda: manage.require_reason(form.reason.data),
                      **({"due_on": dated[form.action.data]} if form.action.data in dated else {}))
    if form.action.data in dated and form.due_on.data is None and not form.due_on.errors:
        form.due_on.errors.append("Give the last day of the exemption." if form.action.data == "exempt"
                                  else "Give the new due date.")
    if has_errors(form):
        flash(_refused("Nothing was changed", form), "error")
        return redirect(back)
    if form.whole_unit.data:
        unit = session.scalar(select(Unit).where(Unit.code == (form.unit.data or "").strip()))
        if unit is None or not may_act_on_unit(session, current_user, unit):
            abort(404)
        officers = officers_of(session, unit=unit.code).officers
    else:
        ids = row_ids(request.form.getlist("officer"))
        if not ids:
            flash("Nothing was changed: select at least one officer, or choose the whole unit.", "error")
            return redirect(back)
        officers = select(User.id).where(User.id.in_(ids))
    officers = officers.where(*act_filter(session, current_user))
    course = course_by_code(session, form.course.data)
    action = form.action.data
    try:
        if action == "exempt":
            result = manage.exempt_many(session, course, officers, starts_on=today, ends_on=form.due_on.data,
                                        reason=form.reason.data, actor=current_user,
                                        max_days=current_app.config["EXEMPTION_MAX_DAYS"])
        else:
            result = manage.manage_assignments(session, action, course, officers, reason=form.reason.data,
                                               today=today, due_on=form.due_on.data, actor_id=current_user.id,
                                               allow_far=form.confirm_far.data)
    except (manage.Refused, Forbidden) as exc:
        flash(f"Nothing was changed: {_refusal(exc)}", "error")
        return redirect(back)
    if result.changed:
        cancel_stale(session, today, user_ids=[c.user_id for c in result.changed])
    flash(" ".join(result.summary()), "success" if result.changed else "info")
    return redirect(back)


@bp.route("/officers/<int:user_id>/exemptions", methods=["POST"])
@roles_required(*MANAGERS)
def exempt(user_id: int):
    user = _acting_on(user_id)
    form = ExemptForm()
    form.course.choices = course_choices(db())
    form.validate_on_submit()
    _add_rule_problems(form, reason=lambda: manage.require_reason(form.reason.data),
                      ends_on=lambda: manage.check_exemption_days(form.starts_on.data, form.ends_on.data))
    if has_errors(form):
        flash(_refused("Not exempted", form), "error")
    else:
        course = course_by_code(db(), form.course.data)
        try:
            service.grant_exemption(db(), user.id, course.id, form.starts_on.data, form.ends_on.data,
                                    form.reason.data, actor_id=current_user.id,
                                    max_days=current_app.config["EXEMPTION_MAX_DAYS"])
        except service.Refused as exc:
            flash(f"Not exempted: {exc}.", "error")
        except Forbidden as exc:
            record_refusal(db(), current_user.id, user, "exemption", str(exc))
            flash(f"Not exempted: {exc}.", "error")
        else:
            flash(f"Exempt from {course.title} until {form.ends_on.data.isoformat()}.", "success")
    return redirect(url_for("people.officer", user_id=user.id))


@bp.route("/remind", methods=["POST"])
@roles_required(*MANAGERS)
def remind():
    session = db()
    if not EmptyForm().validate_on_submit():
        abort(400)
    ids = row_ids(request.form.getlist("officer"))
    users = list(session.scalars(select(User).where(User.id.in_(ids)))) if ids else []
    allowed = [u.id for u in users if may_act_on_officer(session, current_user, u)]
    back = safe_next(request.form.get("next"))
    if not allowed:
        flash("Select at least one officer to remind.", "error")
        return redirect(back)
    today = today_for(current_user)
    queued, nothing = queue_nudges(session, allowed, today, current_user.id)
    session.commit()   # delivery reads the queued messages from the database, so they must be there first
    report = deliver(current_app._get_current_object(), on=today, force=True, ids=queued)
    sent, waiting = report.counts["sent"], len(queued) - report.counts["sent"] - report.counts["cancelled"]
    message = f"Reminder sent to {plural(sent, 'officer')}."
    if waiting:
        message += f" {waiting} could not be sent now and will be retried."
    if len(queued) < len(allowed) - nothing:
        message += f" {len(allowed) - nothing - len(queued)} had already been reminded today."
    if nothing:
        message += f" {nothing} had nothing due."
    flash(message, "success" if not waiting else "info")
    return redirect(back)


@bp.route("/my/assignments/<int:assignment_id>/more-time", methods=["POST"])
@login_required
def request_more_time(assignment_id: int):
    """An officer asks for more time on their own open assignment."""
    session = db()
    assignment = session.get(Assignment, assignment_id)
    if assignment is None or assignment.user_id != current_user.id or not EmptyForm().validate_on_submit():
        abort(404)
    asked, reason = request.form.get("asked_due_on") or None, request.form.get("reason", "")
    try:
        try:
            asked_on = _date(asked)
        except manage.Refused:
            # A date that cannot be read is reported with the reason's problem, if it has one.
            manage.collect(asked_due_on=lambda: _date(asked), reason=lambda: manage.require_reason(reason))
            raise
        requests.request_extension(session, current_user, assignment, reason, today_for(current_user), asked_on)
    except manage.Refused as exc:
        flash(f"Not sent: {exc}.", "error")
    else:
        flash("Your request was sent to your supervisor. You will be told by e-mail and here.", "success")
    return redirect(url_for("learn.dashboard"))


def _date(value: str | None):
    if not value or not value.strip():
        return None
    day = parse_day(value)
    if day is None:
        raise manage.Refused(not_a_day(value).removesuffix("."))
    return day


@bp.route("/requests", endpoint="requests")
@login_required
def requests_page():
    waiting = requests.queue(db(), current_user)
    return render_template("assignments/requests.html", waiting=waiting, form=EmptyForm(),
                           today=today_for(current_user))


@bp.route("/requests/<int:request_id>/decide", methods=["POST"])
@login_required
def decide(request_id: int):
    session = db()
    found = session.get(ExtensionRequest, request_id)
    if found is None or not EmptyForm().validate_on_submit():
        abort(404)
    officer = session.get(User, found.user_id)
    if officer.id != current_user.id and not may_decide_extension(session, current_user, officer):
        abort(404)
    approve = request.form.get("decision") == "approve"
    today = today_for(current_user)
    try:
        requests.decide_extension(session, found, current_user, approve=approve, today=today,
                                  due_on=_date(request.form.get("due_on")), note=request.form.get("note"),
                                  allow_far=bool(request.form.get("confirm_far")))
    except (manage.Refused, Forbidden) as exc:
        flash(f"Not decided: {_refusal(exc)}", "error")
    else:
        if approve:
            cancel_stale(session, today, user_ids=[officer.id])
        queue_extension_decision(session, found, today, current_user.id)
        flash(f"Request {'approved' if approve else 'refused'}; {officer.full_name} is told by e-mail.", "success")
    return redirect(url_for(".requests"))
