"""The officer's policy update: what changed since the version they signed, its short quiz, the signature."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from training.catalog.service import course_by_code
from training.db import db
from training.forms import EmptyForm
from training.updates import service

bp = Blueprint("updates", __name__)


def _pending_or_redirect(code: str):
    course = course_by_code(db(), code)
    if course is None or course.kind != "course":
        abort(404, f"No module has the code {code}. Pick a module from My training.")
    update = service.pending_update(db(), current_user, course)
    if update is None:
        flash(f"You have no policy update to take in {course.title}: you have signed its current version, "
              "or you take it in full.", "info")
    return course, update


@bp.route("/courses/<code>/update")
@login_required
def update(code: str):
    course, update = _pending_or_redirect(code)
    if update is None:
        return redirect(url_for("learn.course", code=code))
    service.read_update(db(), current_user, update)
    return render_template("updates/update.html", update=update, form=EmptyForm(),
                           questions=len(service.update_questions(db(), update)))


@bp.route("/courses/<code>/update/quiz", methods=["POST"])
@login_required
def start_quiz(code: str):
    if not EmptyForm().validate_on_submit():
        abort(400)
    course, update = _pending_or_redirect(code)
    if update is None:
        return redirect(url_for("learn.course", code=code))
    try:
        attempt = service.start_update_attempt(db(), current_user, update)
    except service.UpdateError as exc:
        flash(str(exc), "error")
        return redirect(url_for(".update", code=code))
    return redirect(url_for("learn.attempt", attempt_id=attempt.id))
