"""Compliance reports: the roster export page and its CSV and XLSX files, the dashboard and its CSV, and the
question analytics and their CSV."""
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
from training.reports.acknowledgements import (
    ACKNOWLEDGEMENT_COLUMNS,
    acknowledgement_rows,
    build_acknowledgements,
    record_acknowledgements_export,
)
from training.reports.dashboard import SHOWN, Scope, dashboard, scope_of
from training.reports.export import write_acknowledgements, write_roster
from training.reports.filters import FilterError, OutOfScope, Roster, build_roster
from training.reports.forms import AcknowledgementsForm, QuestionsForm, RosterForm
from training.reports.questions import (
    MIN_PER_THIRD,
    QUESTION_COLUMNS,
    question_analytics,
    question_rows,
    record_questions_export,
)
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


def _forms() -> tuple[RosterForm, AcknowledgementsForm]:
    """The roster export page's two forms, the roster's and the acknowledgements', read from the query string,
    with the places and modules of the viewer's scope to choose from."""
    session = db()
    agencies = [SelectChoice("", "All in your scope")] + [
        SelectChoice(a.code, f"{a.name} ({a.code})") for a in _agencies()]
    units = [SelectChoice("", "All units")] + [
        SelectChoice(u.code, f"{u.name} ({u.code})") for u in units_in_scope(session, current_user)]
    courses = list(session.scalars(select(Course).where(Course.active.is_(True)).order_by(Course.code)))
    form, acks = RosterForm(request.args), AcknowledgementsForm(request.args)
    for each in (form, acks):
        each.agency.choices, each.unit.choices = agencies, units
    form.course.choices = [SelectChoice("", "All modules")] + [SelectChoice(c.code, c.title) for c in courses]
    acks.document.choices = [SelectChoice("", "All modules and documents")] + [
        SelectChoice(c.code, f"{c.title} ({c.code})") for c in courses]
    return form, acks


def _page(form: RosterForm, acks: AcknowledgementsForm, status: int = 200, refusal: str | None = None):
    return render_template("reports/roster.html", form=form, ack_form=acks, refusal=refusal), status


def _refused_filter(form, exc: FilterError) -> None:
    message = str(exc)
    getattr(form, exc.field).errors = [f"{message[0].upper()}{message[1:]}."]


@bp.route("/roster")
@roles_required(*AUDITORS)
def roster_page():
    return _page(*_forms())


@bp.route("/roster/download")
@roles_required(*AUDITORS)
def roster_download():
    form, acks = _forms()
    if not form.validate():
        return _page(form, acks, 400)
    session = db()
    try:
        roster = build_roster(session, current_user, form.filters(), today_for(current_user))
    except FilterError as exc:
        _refused_filter(form, exc)
        return _page(form, acks, 400)
    except OutOfScope as exc:
        return _page(form, acks, 403, f"Nothing was exported: {exc}.")
    if form.format.data == "xlsx":
        return _xlsx(lambda path: write_roster(session, roster, "xlsx", path, who=current_user.email),
                     lambda count: record_export(session, roster, "xlsx", count, actor_id=current_user.id,
                                                 via="web"),
                     roster.file_name("xlsx"))
    return _streamed_csv(roster)


@bp.route("/acknowledgements/download")
@roles_required(*AUDITORS)
def acknowledgements_download():
    """Who acknowledged which version: the acknowledgements export, with the filters of the page's second form."""
    form, acks = _forms()
    if not acks.validate():
        return _page(form, acks, 400)
    session = db()
    try:
        export = build_acknowledgements(session, current_user, acks.filters(), today_for(current_user))
    except FilterError as exc:
        _refused_filter(acks, exc)
        return _page(form, acks, 400)
    except OutOfScope as exc:
        return _page(form, acks, 403, f"Nothing was exported: {exc}.")
    actor_id = current_user.id
    if acks.format.data == "xlsx":
        return _xlsx(lambda path: write_acknowledgements(session, export, "xlsx", path, who=current_user.email),
                     lambda count: record_acknowledgements_export(session, export, "xlsx", count, actor_id=actor_id,
                                                                  via="web"),
                     export.file_name("xlsx"))
    return _stream(ACKNOWLEDGEMENT_COLUMNS, acknowledgement_rows(session, export), export.file_name("csv"),
                   lambda rows, complete: record_acknowledgements_export(session, export, "csv", rows,
                                                                         actor_id=actor_id, via="web",
                                                                         complete=complete))


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
            counted.close()   # a download dropped part way: its reading stops first
            session.rollback()   # end the read; the event gets a short transaction of its own
            audit(counted.count, complete)
            session.commit()   # the stream outlives the request's unit of work

    return Response(stream_with_context(body()), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _xlsx(write: Callable[[Path], int], audit: Callable[[int], object], download_name: str) -> Response:
    """A workbook written to a temporary file by `write(path)` (the row count), audited by `audit(rows)`."""
    handle, name = tempfile.mkstemp(suffix=".xlsx")
    os.close(handle)
    try:
        audit(write(Path(name)))
        # Closed by the response; the name goes now, the data when it is closed.
        stream = open(name, "rb")  # noqa: SIM115 - the response closes it
    finally:
        os.unlink(name)
    return send_file(stream, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                     as_attachment=True, download_name=download_name)


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


def _questions(page: bool):
    """The question analytics form read from the query string, and the figures (None when a filter is wrong);
    the page shows the first module until another, or all, is chosen, the CSV file all modules."""
    form = QuestionsForm(request.args)
    modules = list(db().scalars(select(Course).where(Course.kind == "course").order_by(Course.code)))
    form.course.choices = [SelectChoice("", "All modules")] + [SelectChoice(c.code, f"{c.title} ({c.code})")
                                                               for c in modules]
    if page and "course" not in request.args and modules:
        # One module at first: all of them at once is a choice, as it reads every answer of the period.
        form.course.data = modules[0].code
    if not form.validate():
        return form, None
    try:
        return form, question_analytics(db(), current_user, form.filters(), today_for(current_user))
    except FilterError as exc:
        _refused_filter(form, exc)
        return form, None


@bp.route("/questions")
@roles_required(*STAFF)
def questions():
    form, analytics = _questions(page=True)
    shown = {"course": form.course.data or "", "from": request.args.get("from"), "to": request.args.get("to")}
    return render_template("reports/questions.html", form=form, analytics=analytics, minimum=MIN_PER_THIRD,
                           csv_args={k: v for k, v in shown.items() if v is not None}), \
        200 if analytics is not None else 400


@bp.route("/questions.csv")
@roles_required(*STAFF)
def questions_csv():
    """The page's figures as CSV: one row per module and question, with the page's filters."""
    form, analytics = _questions(page=False)
    if analytics is None:
        return render_template("reports/questions.html", form=form, analytics=None, minimum=MIN_PER_THIRD), 400
    session, actor_id = db(), current_user.id
    return _stream(QUESTION_COLUMNS, question_rows(analytics), analytics.file_name(),
                   lambda rows, complete: record_questions_export(session, analytics, rows, actor_id=actor_id,
                                                                  complete=complete))
