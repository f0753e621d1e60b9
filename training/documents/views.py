"""Documents to read and sign: staff publish them and their new versions; everyone reads and signs them."""
from __future__ import annotations

from pathlib import PurePath

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select
from werkzeug.utils import secure_filename

from training.access import MANAGERS, STAFF
from training.auth.guards import roles_required
from training.catalog.models import CourseVersion
from training.catalog.render import render_markdown
from training.catalog.service import current_version
from training.clock import today_for
from training.db import db
from training.documents import service
from training.documents.forms import PublishForm, SignForm
from training.reminders.service import cancel_stale

bp = Blueprint("documents", __name__, url_prefix="/documents")


def _document_or_404(code: str):
    course = service.document_by_code(db(), code)
    version = current_version(db(), course) if course else None
    if course is None or version is None:
        abort(404, f"No document has the code {code}. Pick one from My training.")
    return course, version


@bp.route("")
@roles_required(*STAFF)
def index():
    return render_template("documents/index.html", rows=service.documents(db()),
                           may_publish=current_user.role in MANAGERS)


def _draft(form: PublishForm, code: str) -> service.Draft:
    upload = form.uploaded()
    fields = dict(code=code, title=(form.title.data or "").strip(), version=(form.version.data or "").strip(),
                  summary=(form.summary.data or "").strip())
    if upload is None:
        return service.Draft(**fields, text=form.text.data)
    name = PurePath(upload.filename.replace("\\", "/")).name[:200] or f"{code}.pdf"
    return service.Draft(**fields, pdf_name=name, pdf=upload.read())


def _publish(form: PublishForm, course=None):
    """Publish what the form holds; the page again, with every problem of the form and of what it holds (a code
    already used, an unreadable PDF...) at once, when anything is wrong."""
    if request.method == "POST":
        valid = form.validate_on_submit()
        draft = _draft(form, course.code if course else (form.code.data or "").strip())
        problems = service.problems_of(db(), draft, course)
        if valid and not problems:
            try:
                published = service.publish(db(), draft, today_for(current_user), course=course,
                                            actor_id=current_user.id)
            except service.DocumentRefused as exc:     # the code taken meanwhile, say
                problems = exc.problems
            else:
                flash(service.describe_published(published), "success")
                return redirect(url_for(".index"))
        fields = {"code": form.code, "version": form.version, "text": form.text, "pdf": form.pdf}
        for name, message in problems:
            fields[name].errors.append(message)
    status = 422 if request.method == "POST" else 200
    return render_template("documents/publish.html", form=form, course=course), status


@bp.route("/new", methods=["GET", "POST"])
@roles_required(*MANAGERS)
def publish_new():
    return _publish(PublishForm())


@bp.route("/<code>/publish", methods=["GET", "POST"])
@roles_required(*MANAGERS)
def publish_version(code: str):
    course, version = _document_or_404(code)
    form = PublishForm()
    form.code.data = course.code
    if request.method == "GET":
        form.title.data = course.title
    return _publish(form, course)


@bp.route("/<code>", methods=["GET", "POST"])
@login_required
def read(code: str):
    course, version = _document_or_404(code)
    session = db()
    form = SignForm()
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                signed = service.sign(session, current_user, course, form.sha256.data, form.full_name.data,
                                      today_for(current_user))
            except service.SignRefused as exc:
                form.full_name.errors.append(str(exc))
            else:
                if signed is not None:
                    cancel_stale(session, today_for(current_user), user_ids=[current_user.id])
                    flash(f"You signed {course.title}, version {version.policy_version}.", "success")
                else:
                    flash(f"You had already signed version {version.policy_version}; nothing more is needed.", "info")
                return redirect(url_for(".read", code=code))
        status = 422
    form.sha256.data = version.content_hash
    file = service.document_file(session, version)
    return render_template(
        "documents/read.html", course=course, version=version, file=file, form=form,
        body=None if file else render_markdown(version.lessons[0].body_md if version.lessons else "", below=1),
        signed=service.signed_version(session, current_user, course)), status


@bp.route("/<code>/versions/<int:number>/file")
@login_required
def file(code: str, number: int):
    """A PDF document version exactly as published: shown inside the reading page, or downloaded."""
    course = service.document_by_code(db(), code)
    version = db().scalar(select(CourseVersion).where(
        CourseVersion.course_id == course.id, CourseVersion.number == number)) if course else None
    stored = service.document_file(db(), version) if version else None
    if stored is None:
        abort(404)
    disposition = "attachment" if request.args.get("download") else "inline"
    name = secure_filename(stored.filename) or f"{course.code}.pdf"
    return Response(stored.data, mimetype="application/pdf", headers={
        "Content-Disposition": f'{disposition}; filename="{name}"',
        # Framed by the reading page of this site only; a PDF runs nothing of ours.
        "Content-Security-Policy": "default-src 'none'; frame-ancestors 'self'",
        "X-Frame-Options": "SAMEORIGIN",
        "Cache-Control": "private, no-store"})
