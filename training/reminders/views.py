"""Reminders in the site: an officer's own, and the outbox for administrators."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from training.access import ADMINS, supervises
from training.auth.guards import roles_required
from training.clock import local_date, today_for, viewer_zone
from training.db import db
from training.feeds.addresses import address_made_at
from training.forms import EmptyForm
from training.params import page_number
from training.reminders.models import OutboxMessage, is_officer_reminder, reminder_applies
from training.reminders.preview import shown
from training.reminders.service import retry_failed, status_counts
from training.words import plural

bp = Blueprint("reminders", __name__)
PAGE_SIZE = 50
STATUSES = ("failed", "pending", "sent", "cancelled")


def kind_label(kind: str) -> str:
    if kind.startswith("due-in-"):
        days = int(kind.removeprefix("due-in-"))
        return f"Due in {plural(days, 'day')}"
    if kind == "overdue-1":
        return "First day overdue"
    if kind.startswith("overdue-"):
        return f"Overdue, day {kind.removeprefix('overdue-')}"
    return {"escalation-supervisor": "Overdue digest (supervisor)",
            "escalation-coordinator": "Overdue digest (coordinator)",
            "nudge": "Reminder from a coordinator", "invitation": "Invitation to choose a password",
            "password-reset": "Password reset link"}.get(kind, kind)


@bp.app_template_filter("reminder_kind")
def _kind_filter(kind: str) -> str:
    return kind_label(kind)


@bp.route("/reminders")
@login_required
def mine():
    """The officer's reminders, leaving out those about training completed, withdrawn or moved since."""
    rows = db().scalars(select(OutboxMessage).where(OutboxMessage.user_id == current_user.id,
                                                    OutboxMessage.status != "cancelled",
                                                    or_(~is_officer_reminder(),
                                                        reminder_applies(today_for(current_user))))
                        .options(selectinload(OutboxMessage.course))
                        .order_by(OutboxMessage.id.desc()).limit(100)).all()
    return render_template("reminders/mine.html", rows=rows, supervisor=supervises(db(), current_user),
                           calendar_made_on=calendar_made_on(current_user), calendar_form=EmptyForm())


def calendar_made_on(user) -> date | None:
    """The day (the person's own) their current calendar address was made; None when they have none."""
    made_at = address_made_at(db(), user)
    return local_date(made_at, viewer_zone(user)) if made_at else None


@bp.route("/admin/outbox")
@roles_required(*ADMINS)
def outbox():
    session = db()
    status = request.args.get("status", "failed")
    if status not in STATUSES:
        abort(404)
    stmt = select(OutboxMessage).where(OutboxMessage.status == status)
    total = session.scalar(select(func.count()).select_from(stmt.subquery()))
    page = page_number(request.args)
    rows = session.scalars(stmt.options(selectinload(OutboxMessage.recipient), selectinload(OutboxMessage.course))
                           .order_by(OutboxMessage.id.desc()).limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).all()
    return render_template("reminders/outbox.html", messages=shown(session, current_app, rows, current_user),
                           zone=viewer_zone(current_user), status=status, statuses=STATUSES,
                           counts=status_counts(session), total=total, page=page,
                           pages=max(1, -(-total // PAGE_SIZE)), form=EmptyForm())


@bp.route("/admin/outbox/<int:message_id>/retry", methods=["POST"])
@roles_required(*ADMINS)
def retry(message_id: int):
    session = db()
    if not EmptyForm().validate_on_submit():
        abort(400)
    row = session.get(OutboxMessage, message_id) or abort(404)
    try:
        retry_failed(session, row, current_user.id)
    except ValueError as exc:
        flash(f"Not retried: {exc}.", "error")
    else:
        flash(f"Message {row.id} to {row.recipient.email} is queued again; the next delivery sends it.", "success")
    return redirect(url_for("reminders.outbox", status="failed"))
