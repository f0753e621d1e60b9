"""The audit trail for compliance staff and administrators: events in words, a CSV export, and the chain's
verification."""
from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, stream_with_context, url_for
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from training.access import ADMINS, AUDITORS, is_in
from training.audit import trail
from training.audit.describe import describe_all
from training.audit.forms import AuditFilterForm
from training.audit.service import record, within_scope_of
from training.audit.verification import last_verification, verify
from training.auth.guards import roles_required
from training.clock import today_for, viewer_zone
from training.db import db
from training.forms import EmptyForm
from training.params import page_number
from training.spreadsheet import csv_chunks

bp = Blueprint("audit", __name__, url_prefix="/audit")


def _filters() -> tuple[AuditFilterForm, trail.AuditFilters | None]:
    """The filter form and the filters it holds; None when a filter is not understood."""
    form = AuditFilterForm(request.args)
    form.action.choices = [SelectChoice("", "Any action")] + [SelectChoice(*a) for a in trail.actions(db())]
    zone = viewer_zone(current_user)
    form.date_from.label.text, form.date_to.label.text = f"From (day in {zone})", f"To (day in {zone})"
    if not form.validate():
        return form, None
    return form, trail.AuditFilters(actor=form.actor.data or None, action=form.action.data or None,
                                    date_from=form.date_from.data, date_to=form.date_to.data,
                                    kind=form.kind.data or None)


def _page(form: AuditFilterForm, filters: trail.AuditFilters | None, status: int = 200):
    session, number = db(), page_number(request.args)
    rows, more = trail.page(session, current_user, filters, number) if filters is not None else ([], False)
    events = [event for event, _ in rows]
    return render_template("audit/events.html", form=form, entries=describe_all(session, current_user, events),
                           page=number, more=more, links=trail.assignment_links(session, current_user, events),
                           zone=viewer_zone(current_user), verification=last_verification(session, current_user),
                           may_verify=is_in(current_user, ADMINS), verify_form=EmptyForm(),
                           args={k: v for k, v in request.args.items() if k != "page"}), status


@bp.route("")
@roles_required(*AUDITORS)
def events():
    form, filters = _filters()
    return _page(form, filters, 200 if filters is not None else 400)


@bp.route("/verify", methods=["POST"])
@roles_required(*ADMINS)
def verify_chain():
    if not EmptyForm().validate_on_submit():
        abort(400)
    report = verify(db(), current_user.id)
    if report.broken is None:
        flash(f"The audit chain is intact: {report.checked:,} event{'' if report.checked == 1 else 's'} checked.",
              "success")
    else:
        flash(f"The audit chain is broken at event {report.broken.event_id}; see Chain verification below.", "error")
    return redirect(url_for("audit.events", _anchor="verification"))


@bp.route("/export.csv")
@roles_required(*AUDITORS)
def export():
    form, filters = _filters()
    if filters is None:   # the trail's page, with what is wrong with the filters
        return _page(form, None, 400)
    session = db()
    # Fixed before the export's own event is written, so the count and the rows agree.
    up_to = trail.last_event_id(session)
    rows = trail.count(session, current_user, filters, up_to)
    record(session, "export.audit", actor_id=current_user.id, target="audit",
           about=within_scope_of(session, current_user.id), format="csv",
           filters=filters.as_dict(), rows=rows, up_to_event=up_to)
    body = stream_with_context(csv_chunks(trail.CSV_COLUMNS, trail.csv_rows(session, current_user, filters, up_to)))
    return Response(body, mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="audit-{today_for(current_user).isoformat()}.csv"'})
