"""Evidence packets from an officer's page."""
from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, render_template
from flask_login import current_user

from training.access import AUDITORS, Forbidden, forbid_own, may_see_officer
from training.audit.service import record_refusal
from training.auth.guards import roles_required
from training.db import db
from training.evidence.forms import EvidenceForm
from training.evidence.service import PacketRefused, build_packet, record_packet
from training.people.models import User
from training.people.views import render_officer
from training.words import sentence

bp = Blueprint("evidence", __name__)


@bp.route("/officers/<int:user_id>/evidence", methods=["POST"])
@roles_required(*AUDITORS)
def packet(user_id: int):
    """The officer's evidence packet as of the day asked (default: the officer's today), as a ZIP download."""
    session = db()
    officer = session.get(User, user_id)
    if officer is None or not may_see_officer(session, current_user, officer):
        abort(404)
    form = EvidenceForm()
    try:
        forbid_own(current_user.id, officer.id, "make an evidence packet")
    except Forbidden as exc:
        record_refusal(session, current_user.id, officer, "evidence", str(exc))
        return render_template("errors.html", code=403, title="No evidence packet of your own records",
                               message=sentence(exc)), 403
    if not form.validate_on_submit():
        return render_officer(officer, evidence_form=form, status=422)
    try:
        built = build_packet(session, officer, form.as_of.data, current_app.config["BASE_URL"], current_user)
        record_packet(session, built, actor_id=current_user.id, via="web")
    except PacketRefused as exc:
        form.as_of.errors = [sentence(exc)]
        return render_officer(officer, evidence_form=form, status=422)
    return Response(built.data, mimetype="application/zip", headers={
        "Content-Disposition": f'attachment; filename="{built.file_name}"', "Cache-Control": "no-store",
        "X-Content-SHA256": built.sha256})
