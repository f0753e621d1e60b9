"""Transcripts, certificates, public verification and revocation."""
from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from training.access import AUDITORS, STAFF, Forbidden, may_revoke, may_see_records
from training.audit.service import record, record_refusal
from training.auth.guards import roles_required
from training.clock import today_for
from training.db import db
from training.people.models import User
from training.records import codes, proof
from training.records.certificate import CertificateFacts, certificate_pdf, verify_url
from training.records.forms import RevokeForm
from training.records.models import Completion
from training.words import sentence

bp = Blueprint("records", __name__)


def render_transcript(officer: User):
    session = db()
    today = today_for(officer)
    lines, attempts = proof.transcript(session, officer, today)
    return render_template(
        "records/transcript.html", officer=officer, lines=lines, attempts=attempts, today=today,
        own=officer.id == current_user.id,
        can_download=may_see_records(session, current_user, officer, AUDITORS),
        can_revoke=may_revoke(session, current_user, officer))


@bp.route("/officers/<int:user_id>/transcript")
@login_required
def transcript(user_id: int):
    officer = db().get(User, user_id)
    if officer is None or not may_see_records(db(), current_user, officer, STAFF):
        abort(404)
    return render_transcript(officer)


def _completion_for(completion_id: int, roles: tuple[str, ...]) -> Completion:
    """The completion if the current user may act on it; 404 otherwise, so nothing is revealed."""
    session = db()
    completion = session.get(Completion, completion_id)
    officer = session.get(User, completion.user_id) if completion else None
    if officer is None or not may_see_records(session, current_user, officer, roles):
        abort(404)
    return completion


@bp.route("/completions/<int:completion_id>/certificate.pdf")
@login_required
def certificate(completion_id: int):
    completion = _completion_for(completion_id, AUDITORS)
    if completion.course.kind == "document":
        abort(404, "A signed document has no certificate: its signature is on the officer's transcript.")
    if completion.revoked_on is not None:
        return render_template("errors.html", code=410, title="Certificate revoked",
                               message=f"This certificate was revoked on {completion.revoked_on.isoformat()} "
                                       "and is no longer issued."), 410
    session = db()
    officer = session.get(User, completion.user_id)
    facts = CertificateFacts(
        officer.full_name, officer.employee_id, officer.agency.name if officer.agency else None,
        completion.course.title, completion.course.code,
        completion.version.number if completion.version else None, completion.completed_on,
        completion.expires_on, completion.verification_code,
        verify_url(current_app.config["BASE_URL"], completion.verification_code))
    record(session, "certificate.downloaded", actor_id=current_user.id, target=f"user:{officer.id}",
           completion_id=completion.id, course=completion.course.code)
    name = f"certificate-{completion.course.code}-{completion.completed_on.isoformat()}.pdf"
    return Response(certificate_pdf(facts), mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.route("/completions/<int:completion_id>/revoke", methods=["GET", "POST"])
@roles_required(*AUDITORS)
def revoke(completion_id: int):
    completion = _completion_for(completion_id, AUDITORS)
    session = db()
    officer = session.get(User, completion.user_id)
    form = RevokeForm()
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                proof.revoke(session, completion, current_user, form.reason.data)
            except proof.RevokeRefused as exc:
                form.reason.errors.append(str(exc))
            except Forbidden as exc:
                record_refusal(session, current_user.id, officer, "revocation", str(exc))
                form.reason.errors.append(sentence(exc))
            else:
                flash(f"Revoked the {completion.course.title} certificate of {officer.full_name} "
                      f"completed on {completion.completed_on.isoformat()}.", "success")
                return redirect(url_for(".transcript", user_id=officer.id))
        status = 422
    return render_template("records/revoke.html", completion=completion, officer=officer, form=form,
                           code=codes.display(completion.verification_code)), status


@bp.route("/verify")
def verify_form():
    typed = request.args.get("code")
    if typed is not None:
        return redirect(url_for(".verify", code=typed.strip() or "-"))
    return render_template("records/verify_form.html")


@bp.route("/verify/<code>")
def verify(code: str):
    result = proof.verify(db(), code)
    if result is None:
        response = Response(render_template("records/verify_unknown.html"), status=404)
    else:
        response = Response(render_template("records/verify.html", v=result,
                                            code=codes.display(codes.normalise(code))))
    # The state is live: never serve it from a cache.
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.app_template_filter("verification_code")
def verification_code_filter(code: str) -> str:
    return codes.display(code)
