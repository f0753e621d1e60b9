"""Compliance reports: the roster export page and its CSV and XLSX files, the dashboard and its CSV."""
from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

from flask import Blueprint, Response, abort, render_template, request, send_file, stream_with_context
from flask_login import current_user
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from training.access import AUDITORS, STAFF, agencies_in_scope, units_in_scope
from training.auth.guards import roles_required
from training.catalog.models import Course
from training.clock import today_for
from training.db import db
from training.people.models import Agency
from training.reports.dashboard import SHOWN, Scope, dashboard, scope_of
from training.reports.export import write_roster
from training.reports.filters import FilterError, OutOfScope, Roster, build_roster
from training.reports.forms import RosterForm
from training.reports.service import (
    COMPLIANCE_COLUMNS,
    ROSTER_COLUMNS,
    Counted,
    compliance_file_name,
    compliance_place,
    compliance_rows,
    record_compliance_export,
    record_export,
    roster_rows,
)
from training.spreadsheet import csv_chunks

bp = Blueprint("reports", __name__, url_prefix="/reports")


def _agencies() -> list[Agency]:
    return agencies_in_scope(db(), current_user)


def _form() -> RosterForm:
    session = db()
    form = RosterForm(request.args)
    agencies = _agencies()
    form.agency.choices = [SelectChoice("", "All in your scope")] + [
        SelectChoice(a.code, f"{a.name} ({a.code})") for a in agencies]
    form.unit.choices = [SelectChoice("", "All units")] + [
        SelectChoice(u.code, f"{u.name} ({u.code})") for u in units_in_scope(session, current_user)]
    courses = session.scalars(select(Course).where(Course.active.is_(True)).order_by(Course.code))
    form.course.choices = [SelectChoice("", "All modules")] + [SelectChoice(c.code, c.title) for c in courses]
    return form


@bp.route("/roster")
@roles_required(*AUDITORS)
def roster_page():
    return render_template("reports/roster.html", form=_form(), refusal=None)


@bp.route("/roster/download")
@roles_required(*AUDITORS)
def roster_download():
    form = _form()
    if not form.validate():
        return render_template("reports/roster.html", form=form, refusal=None), 400
    session = db()
    try:
        roster = build_roster(session, current_user, form.filters(), today_for(current_user))
    except FilterError as exc:
        message = str(exc)
        getattr(form, exc.field).errors = [f"{message[0].upper()}{message[1:]}."]
        return render_template("reports/roster.html", form=form, refusal=None), 400
    except OutOfScope as exc:
        return render_template("reports/roster.html", form=form, refusal=f"Nothing was exported: {exc}."), 403
    if form.format.data == "xlsx":
        return _xlsx(roster)
    return _streamed_csv(roster)


@bp.route("/roster.csv")
@roles_required(*AUDITORS)
def roster_csv():
    """The CSV file straight from a link (the same filters as the page, in the query string)."""
    return roster_download()


def _streamed_csv(roster: Roster) -> Response:
    session = db()
    actor_id = current_user.id
    return _stream(ROSTER_COLUMNS, roster_rows(session, roster), roster.file_name("csv"),
                   lambda rows, complete: record_export(session, roster, "csv", rows, actor_id=actor_id, via="web",
                                                        complete=complete))


def _stream(columns: tuple[str, ...], rows: Iterable[tuple], name: str,
            audit: Callable[[int, bool], object]) -> Response:
    """A CSV download streamed from the first byte; `audit(rows, complete)` writes its event when the stream
    ends, with the row count."""
    session = db()
    counted = Counted(rows)

    def body():
        complete = False
        try:
            yield from csv_chunks(columns, counted)
            complete = True
        finally:
            session.rollback()   # end the read; the event gets a short transaction of its own
            audit(counted.count, complete)
            session.commit()   # the stream outlives the request's unit of work

    return Response(stream_with_context(body()), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _xlsx(roster: Roster) -> Response:
    session = db()
    handle, name = tempfile.mkstemp(suffix=".xlsx")
    os.close(handle)
    try:
        count = write_roster(session, roster, "xlsx", Path(name), who=current_user.email)
        record_export(session, roster, "xlsx", count, actor_id=current_user.id, via="web")
        # Closed by the response; the name goes now, the data when it is closed.
        stream = open(name, "rb")  # noqa: SIM115 - the response closes it
    finally:
        os.unlink(name)
    return send_file(stream, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                     as_attachment=True, download_name=roster.file_name("xlsx"))


def _compliance_scope(agencies: list[Agency]) -> Scope:
    """The viewer's scope for the dashboard and its CSV, narrowed to the agency chosen (`?agency=CODE`);
    `agencies` are those the viewer may see."""
    session = db()
    chosen = None
    if request.args.get("agency"):
        chosen = session.scalar(select(Agency).where(Agency.code == request.args["agency"]))
        if chosen is None:
            abort(404)
        if chosen not in agencies:
            abort(403)
    return scope_of(session, current_user, agencies, chosen)


@bp.route("/compliance")
@roles_required(*STAFF)
def compliance():
    agencies = _agencies()
    scope = _compliance_scope(agencies)
    return render_template("reports/compliance.html", d=dashboard(db(), scope), agencies=agencies,
                           agency=scope.agency, statuses=SHOWN)


@bp.route("/compliance.csv")
@roles_required(*STAFF)
def compliance_csv():
    """The dashboard's figures as CSV: one row per agency, unit, module and status."""
    session = db()
    scope = _compliance_scope(_agencies())
    name = compliance_file_name(scope)
    actor_id, about = current_user.id, compliance_place(session, scope, current_user)
    return _stream(COMPLIANCE_COLUMNS, compliance_rows(session, scope), name,
                   lambda rows, complete: record_compliance_export(session, scope, name, rows, actor_id=actor_id,
                                                                   about=about, complete=complete))
