"""The audit trail for compliance staff and administrators: filtered pages and a CSV export."""
from __future__ import annotations

from flask import Blueprint, Response, abort, render_template, request, stream_with_context
from flask_login import current_user

from training.access import AUDITORS
from training.audit import trail
from training.audit.forms import AuditFilterForm
from training.audit.service import record, within_scope_of
from training.auth.guards import roles_required
from training.clock import today_for
from training.db import db
from training.params import page_number
from training.spreadsheet import csv_chunks

bp = Blueprint("audit", __name__, url_prefix="/audit")


def _filters() -> tuple[AuditFilterForm, trail.AuditFilters | None]:
    """The filter form and the filters it holds; None when a filter is not understood."""
    form = AuditFilterForm(request.args)
    form.action.choices = [("", "Any action")] + [(a, a) for a in trail.actions(db())]
    if not form.validate():
        return form, None
    return form, trail.AuditFilters(actor=form.actor.data or None, action=form.action.data or None,
                                    date_from=form.date_from.data, date_to=form.date_to.data)


@bp.route("")
@roles_required(*AUDITORS)
def events():
    form, filters = _filters()
    if filters is None:
        return render_template("audit/events.html", form=form, rows=[], page=1, more=False, args={}), 400
    number = page_number(request.args)
    rows, more = trail.page(db(), current_user, filters, number)
    links = trail.assignment_links(db(), current_user, [event for event, _ in rows])
    return render_template("audit/events.html", form=form, rows=rows, page=number, more=more, links=links,
                           args={k: v for k, v in request.args.items() if k != "page"})


@bp.route("/export.csv")
@roles_required(*AUDITORS)
def export():
    _form, filters = _filters()
    if filters is None:
        abort(400)
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
