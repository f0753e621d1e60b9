"""Seeing progress: units, a supervisor's team, one officer."""
from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask_login import current_user, login_required
from sqlalchemy import select

from training.access import (
    AUDITORS,
    MANAGERS,
    STAFF,
    is_in,
    may_act_on_officer,
    may_see_officer,
    may_see_progress,
    may_see_unit,
    place_check,
    units_in_scope,
)
from training.assignments.forms import BULK_ACTIONS, ExemptForm, ExtendForm
from training.assignments.service import grants_for, history_for
from training.auth.guards import roles_required
from training.auth.tokens import never_signed_in_states
from training.catalog.service import course_choices
from training.clock import today_for
from training.db import db, utcnow
from training.evidence.forms import EvidenceForm
from training.forms import EmptyForm
from training.params import page_number
from training.people.models import Unit, User
from training.people.service import subtree_ids
from training.records.rules import STATUSES
from training.records.status import officer_course_states, open_assignments_of
from training.reports import progress as prog
from training.updates.versions import version_standings

bp = Blueprint("people", __name__)


def _filters() -> dict:
    status = request.args.get("status") or None
    sort = request.args.get("sort", "name")
    return {"status": status if status in STATUSES else None, "sort": sort if sort in prog.SORTS else "name",
            "page": page_number(request.args)}


@bp.route("/units")
@roles_required(*STAFF)
def units():
    return render_template("people/units.html", units=units_in_scope(db(), current_user))


@bp.route("/units/<code>")
@roles_required(*STAFF)
def unit(code: str):
    session = db()
    unit = session.scalar(select(Unit).where(Unit.code == code))
    if unit is None or not may_see_unit(session, current_user, unit):
        abort(404)
    sub_units = list(session.scalars(select(Unit).where(Unit.id.in_(subtree_ids(session, unit))).order_by(Unit.path)))
    sub = next((u for u in sub_units if u.code == request.args.get("sub")), unit)
    reports = select(User.supervisor_id).where(User.unit_id.in_([u.id for u in sub_units]))
    in_scope = place_check(session, current_user)
    supervisors = [s for s in session.scalars(select(User).where(User.id.in_(reports))
                                              .order_by(User.last_name, User.first_name))
                   if in_scope(s.agency_id, s.unit_id)]
    supervisor_id = request.args.get("supervisor", type=int)
    where = [User.unit_id.in_([u.id for u in sub_units if u.path.startswith(sub.path)])]
    if supervisor_id in {s.id for s in supervisors}:
        where.append(User.supervisor_id == supervisor_id)
    else:
        supervisor_id = None
    return render_template("people/progress.html", title=f"{unit.name} ({unit.code})", unit=unit,
                           progress=prog.progress(session, today_for(current_user), *where, **_filters()),
                           sub_units=sub_units, sub=sub, supervisors=supervisors, supervisor_id=supervisor_id,
                           filters=_filters(), sorts=prog.SORTS, statuses=STATUSES, form=EmptyForm(),
                           can_act=is_in(current_user, MANAGERS), today=today_for(current_user),
                           courses=course_choices(session) if is_in(current_user, MANAGERS) else [],
                           bulk_actions=BULK_ACTIONS,
                           sign_in=never_signed_in_states(session, where, utcnow(),
                                                          limit=200 if request.args.get("sign_in") else 0),
                           show_sign_in=bool(request.args.get("sign_in")))


@bp.route("/team")
@login_required
def team():
    session = db()
    return render_template("people/progress.html", title="My team", unit=None,
                           progress=prog.progress(session, today_for(current_user),
                                                  User.supervisor_id == current_user.id, **_filters()),
                           filters=_filters(), sorts=prog.SORTS, statuses=STATUSES, form=EmptyForm(),
                           can_act=False)


def officer_or_404(user_id: int) -> User:
    """An officer the current user may see: in their scope, or one of their direct reports."""
    session = db()
    user = session.get(User, user_id)
    if user is None or not may_see_progress(session, current_user, user):
        abort(404)
    return user


@bp.route("/officers/<int:user_id>")
@login_required
def officer(user_id: int):
    return render_officer(officer_or_404(user_id))


def render_officer(user: User, evidence_form=None, status: int = 200):
    """The officer's page; `evidence_form` holds a refused evidence packet request, shown with its problems."""
    session = db()
    today = today_for(current_user)
    states = officer_course_states(session, today, user.id)
    open_assignments = open_assignments_of(session, user.id)
    in_scope = may_see_officer(session, current_user, user)
    can_act = may_act_on_officer(session, current_user, user)
    exempt_form = ExemptForm()
    exempt_form.course.choices = course_choices(session)
    can_evidence = in_scope and is_in(current_user, AUDITORS) and current_user.id != user.id
    return render_template("people/officer.html", officer=user, states=states, today=today,
                           versions=version_standings(session, today, states),
                           open_assignments=open_assignments, can_act=can_act,
                           grants=grants_for(session, user.id, current_user),
                           history=history_for(session, user.id, current_user),
                           can_see_transcript=in_scope, can_certify=is_in(current_user, AUDITORS),
                           extend_form=ExtendForm(), exempt_form=exempt_form, form=EmptyForm(),
                           can_evidence=can_evidence, evidence_form=evidence_form or EvidenceForm(formdata=None),
                           officer_today=today_for(user)), status
