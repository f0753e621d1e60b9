"""Compliance downloads."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, Response, stream_with_context
from flask_login import current_user

from training.audit.service import record
from training.auth.access import roles_required
from training.db import db
from training.people.service import scope_filter
from training.reports.service import csv_chunks, roster_rows

bp = Blueprint("reports", __name__, url_prefix="/reports")


@bp.route("/roster.csv")
@roles_required("compliance", "admin")
def roster_csv():
    today = date.today()
    session = db()
    where = scope_filter(session, current_user)
    record(session, "export.roster", actor_id=current_user.id, target="roster", format="csv",
           as_of=today.isoformat(), scope=current_user.agency.code if current_user.agency else "all")
    session.commit()
    # UTF-8 with a byte-order mark, so spreadsheets read accents right.
    body = stream_with_context(_with_bom(csv_chunks(roster_rows(session, today, where))))
    return Response(body, mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="roster-{today.isoformat()}.csv"'})


def _with_bom(chunks):
    yield "\ufeff"
    yield from chunks
