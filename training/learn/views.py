"""The officer's side: dashboard, lessons, quiz, acknowledgement and history (their transcript)."""
from __future__ import annotations

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from training.assignments.requests import requests_of
from training.catalog.models import Course, CourseVersion
from training.catalog.render import render_inline, render_markdown
from training.catalog.service import course_by_code, current_version
from training.clock import today_for
from training.db import db
from training.forms import EmptyForm
from training.learn import service
from training.learn.forms import AcknowledgeForm
from training.records.models import Attempt
from training.records.status import officer_course_states, open_assignments_of
from training.records.views import render_transcript
from training.reminders.service import cancel_stale
from training.updates.service import UpdateError, acknowledge_update, pending_update, update_acknowledgement
from training.updates.versions import version_book, version_standings
from training.words import plural

bp = Blueprint("learn", __name__)
# Course text in templates: a question's stem and explanations as blocks, its choices inline.
bp.add_app_template_filter(render_markdown, "markdown")
bp.add_app_template_filter(render_inline, "markdown_inline")


def _course_or_404(code: str) -> tuple[Course, CourseVersion]:
    course = course_by_code(db(), code)
    version = current_version(db(), course) if course else None
    if course is None or version is None:
        abort(404, f"No module has the code {code}. Pick a module from My training.")
    if course.kind == "document":
        # A document has no lessons or quiz: it is read and signed on its own page (links in reminders lead here).
        abort(redirect(url_for("documents.read", code=course.code)))
    return course, version


def _attempt_or_404(attempt_id: int) -> Attempt:
    attempt = service.user_attempt(db(), current_user, attempt_id)
    if attempt is None:
        abort(404)
    return attempt


def my_training() -> dict:
    """What My training shows the signed-in person: their modules soonest first, open assignments, requests."""
    today = today_for(current_user)
    states = officer_course_states(db(), today, current_user.id, order_by_due=True)
    book = version_book(db(), {s.course_id for s in states})
    return dict(states=states, today=today, open_assignments=open_assignments_of(db(), current_user.id),
                documents=book.documents, versions=version_standings(db(), today, states, book=book),
                my_requests=requests_of(db(), current_user.id), form=EmptyForm())


@bp.route("/training")
@login_required
def dashboard():
    return render_template("learn/dashboard.html", **my_training())


@bp.route("/courses/<code>")
@login_required
def course(code: str):
    course, version = _course_or_404(code)
    progress = service.lesson_progress(db(), current_user, version)
    return render_template("learn/course.html", course=course, version=version, progress=progress,
                           unlocked=all(p.opened for p in progress),
                           in_progress=service.open_attempt(db(), current_user, version),
                           update=pending_update(db(), current_user, course), form=EmptyForm())


@bp.route("/courses/<code>/lessons/<slug>")
@login_required
def lesson(code: str, slug: str):
    course, version = _course_or_404(code)
    lessons = version.lessons
    index = next((i for i, lesson in enumerate(lessons) if lesson.slug == slug), None)
    if index is None:
        abort(404, f"{course.title} has no lesson called {slug}.")
    service.open_lesson(db(), current_user, lessons[index])
    return render_template("learn/lesson.html", course=course, version=version, lesson=lessons[index],
                           body=render_markdown(lessons[index].body_md),
                           previous=lessons[index - 1] if index else None,
                           next=lessons[index + 1] if index + 1 < len(lessons) else None)


@bp.route("/courses/<code>/quiz", methods=["POST"])
@login_required
def start_quiz(code: str):
    _course, version = _course_or_404(code)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        attempt = service.start_attempt(db(), current_user, version)
    except service.QuizError as exc:
        flash(str(exc), "error")
        return redirect(url_for(".course", code=code))
    return redirect(url_for(".attempt", attempt_id=attempt.id))


@bp.route("/attempts/<int:attempt_id>", methods=["GET", "POST"])
@login_required
def attempt(attempt_id: int):
    attempt = _attempt_or_404(attempt_id)
    if attempt.submitted_at is not None:
        if request.method == "POST":
            flash("This quiz was already submitted; your first answers stand.", "info")
        return redirect(url_for(".result", attempt_id=attempt.id))
    form = EmptyForm()
    error = None
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        try:
            service.submit_attempt(db(), current_user, attempt, request.form)
        except service.QuizError as exc:
            error = str(exc)
        else:
            return redirect(url_for(".result", attempt_id=attempt.id))
    return render_template("learn/quiz.html", attempt=attempt, form=form, error=error,
                           questions=service.attempt_questions(db(), attempt),
                           picked=_picked(attempt)), 422 if error else 200


def _picked(attempt: Attempt) -> dict[str, str]:
    """What the quiz page shows checked: the answers saved, and those just sent where they fit the quiz."""
    try:
        return service.answers_so_far(attempt, request.form)
    except service.QuizError:
        return attempt.saved_answers or {}


@bp.route("/attempts/<int:attempt_id>/answers", methods=["POST"])
@login_required
def save_answers(attempt_id: int):
    """Keep the answers picked so far: sent by the page as each is picked, or by its "Save answers" button.
    Only the attempt's owner may; a script asking for JSON gets JSON, a browser without one the quiz page."""
    attempt = db().get(Attempt, attempt_id)
    if attempt is None:
        abort(404)
    if attempt.user_id != current_user.id:
        abort(403)
    if not EmptyForm().validate_on_submit():
        abort(400)
    wants_json = request.accept_mimetypes.best == "application/json"
    try:
        saved = service.save_answers(db(), attempt, request.form)
    except service.QuizError as exc:
        if wants_json:
            db().refresh(attempt)
            return jsonify(error=str(exc)), 409 if attempt.submitted_at is not None else 422
        flash(str(exc), "error")
        return redirect(url_for(".attempt", attempt_id=attempt.id))
    if wants_json:
        return jsonify(saved=saved, questions=len(attempt.items))
    flash(f"Your answers are saved: {saved} of {plural(len(attempt.items), 'question')} answered. "
          "Come back to this quiz at any time to finish it.", "success")
    return redirect(url_for(".attempt", attempt_id=attempt.id))


@bp.route("/attempts/<int:attempt_id>/result", methods=["GET", "POST"])
@login_required
def result(attempt_id: int):
    attempt = _attempt_or_404(attempt_id)
    if attempt.submitted_at is None:
        return redirect(url_for(".attempt", attempt_id=attempt.id))
    update = attempt.kind == "update"
    completion = service.completion_for(db(), attempt)
    signed = update_acknowledgement(db(), attempt) if update else None
    form = AcknowledgeForm()
    status = 200
    if request.method == "POST" and completion is None and signed is None:
        if form.validate_on_submit():
            try:
                if update:
                    signed = acknowledge_update(db(), current_user, attempt, form.full_name.data)
                    done = (f"You signed version {attempt.version.number} of {attempt.course.title}; "
                            "your certification stands.")
                else:
                    completion = service.acknowledge(db(), current_user, attempt, form.full_name.data)
                    done = f"Certified in {attempt.course.title} until {completion.expires_on.isoformat()}."
            except (service.QuizError, UpdateError) as exc:
                form.full_name.errors.append(str(exc))
                status = 422
            else:
                cancel_stale(db(), today_for(current_user), user_ids=[current_user.id])
                flash(done, "success")
                return redirect(url_for(".result", attempt_id=attempt.id))
        else:
            status = 422
    missed = service.missed_questions(db(), attempt)
    lessons = {lesson.slug: lesson for lesson in attempt.version.lessons}
    return render_template("learn/result.html", attempt=attempt, completion=completion, signed=signed,
                           form=form, missed=missed, lessons=lessons, retry_form=EmptyForm()), status


@bp.route("/history")
@login_required
def history():
    """The officer's own transcript."""
    return render_transcript(current_user)
