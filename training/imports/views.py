"""Imports in the site: upload, preview every change and problem, then confirm."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from training.access import ADMINS, MANAGERS, may_change_account
from training.assignments.service import apply_standing_rules
from training.auth.guards import roles_required
from training.clock import today_for
from training.db import db, utcnow
from training.forms import EmptyForm
from training.imports import apply_org_plan, apply_roster_plan, check_org_plan, parse_org_csv, parse_roster_csv
from training.imports.completions import apply_completions_plan, describe_records, parse_completions_csv
from training.imports.refusals import note_refusal
from training.imports.uploads import UploadExpired, delete_expired_uploads, discard_upload, read_upload, save_upload
from training.reminders.delivery import deliver
from training.reminders.invitations import invite_employees
from training.words import plural

bp = Blueprint("imports", __name__, url_prefix="/imports")


@dataclass(frozen=True)
class Kind:
    title: str
    header: str
    roles: tuple[str, ...]
    parse: Callable[[bytes, bool], Any]            # (data, full) -> plan with .problems
    apply: Callable[[Any, str], dict]              # (plan, source) -> counts
    summary: Callable[[Any], list[tuple[str, list[str]]]]   # plan -> [(heading, lines)]


def _parse_roster(data: bytes, full: bool):
    return parse_roster_csv(db(), data, full=full, viewer=current_user)


def _parse_completions(data: bytes, _full: bool):
    return parse_completions_csv(db(), data, today_for(current_user), viewer=current_user)


def _parse_org(data: bytes, _full: bool):
    plan = parse_org_csv(data)
    if plan.ok:
        plan.problems.extend(check_org_plan(db(), plan))
    return plan


def _apply_roster(plan, source):
    counts = apply_roster_plan(db(), plan, actor_id=current_user.id, source=source)
    created = apply_standing_rules(db(), today_for(current_user))
    return {**counts, "assigned by standing rules": sum(created.values())}


def _apply_completions(plan, source):
    added = apply_completions_plan(db(), plan, source=source, actor_id=current_user.id)
    return {"added": added, "already recorded": plan.already_recorded}


def _apply_org(plan, source):
    return asdict(apply_org_plan(db(), plan, actor_id=current_user.id, source=source))


def _first(items, describe=lambda shown: [x.describe() for x in shown], limit=50):
    """The first `limit` items in words (`describe` turns a list of them into lines), then how many more."""
    lines = describe(items[:limit])
    if len(items) > limit:
        lines.append(f"and {len(items) - limit} more")
    return lines


KINDS = {
    "roster": Kind("Roster", "employee_id,first_name,last_name,email,agency,unit,supervisor_employee_id",
                   MANAGERS, _parse_roster, _apply_roster,
                   lambda p: [(f"{len(p.to_add)} to add", _first(p.to_add)),
                              (f"{len(p.to_change)} to change", _first(p.to_change)),
                              (f"{len(p.to_deactivate)} to deactivate", _first(p.to_deactivate)),
                              (f"{p.unchanged} unchanged", [])]),
    "completions": Kind("Completion records", "employee_id,course_code,completed_on,score",
                        MANAGERS, _parse_completions, _apply_completions,
                        lambda p: [(f"{len(p.records)} to add", _first(
                            p.records, lambda shown: describe_records(db(), shown))),
                                   (f"{p.already_recorded} already recorded", [])]),
    "org": Kind("Org chart", "agency_code,agency_name,time_zone,unit_code,unit_name,parent_unit_code",
                ADMINS, _parse_org, _apply_org,
                lambda p: [(f"{len(p.agencies)} agencies", []), (f"{len(p.units)} units", [])]),
}


def _kind(name: str) -> Kind:
    kind = KINDS.get(name)
    if kind is None:
        abort(404)
    if current_user.role not in kind.roles:
        abort(403)
    return kind


def _folder() -> Path:
    return Path(current_app.instance_path) / "uploads"


@bp.route("/<name>", methods=["GET", "POST"])
@roles_required(*MANAGERS)
def upload(name: str):
    kind = _kind(name)
    if request.method == "GET":
        return render_template("imports/upload.html", kind=kind, name=name, form=EmptyForm())
    if not EmptyForm().validate_on_submit():
        abort(400)
    file = request.files.get("file")
    if file is None or not file.filename:
        flash("Choose a CSV file to upload.", "error")
        return render_template("imports/upload.html", kind=kind, name=name, form=EmptyForm()), 422
    if not file.filename.lower().endswith(".csv"):
        flash("The file must be a CSV file (ending in .csv).", "error")
        return render_template("imports/upload.html", kind=kind, name=name, form=EmptyForm()), 422
    data = file.read()
    full, invite = request.form.get("full") == "y", request.form.get("invite") == "y"
    plan = kind.parse(data, full)
    token = save_upload(_folder(), current_user.id, data) if not plan.problems else None
    # Besides the daily job's sweep, for a host of the site that the scheduler does not run on.
    delete_expired_uploads(_folder(), timedelta(hours=current_app.config["UPLOAD_PREVIEW_HOURS"]))
    db().rollback()
    if plan.problems:
        note_refusal(db(), name, Path(file.filename).name, current_user.id, plan.problems)
    return render_template("imports/preview.html", kind=kind, name=name, plan=plan, token=token, full=full,
                           invite=invite, filename=Path(file.filename).name, sections=kind.summary(plan),
                           form=EmptyForm()), \
        422 if plan.problems else 200


@bp.route("/<name>/confirm", methods=["POST"])
@roles_required(*MANAGERS)
def confirm(name: str):
    kind = _kind(name)
    if not EmptyForm().validate_on_submit():
        abort(400)
    token, filename = request.form.get("token", ""), Path(request.form.get("filename", "upload.csv")).name
    hours = current_app.config["UPLOAD_PREVIEW_HOURS"]
    try:
        data = read_upload(_folder(), current_user.id, token, timedelta(hours=hours))
    except UploadExpired:
        flash(f"That preview has expired: an upload can be imported for {hours} hours after it is checked, and it "
              f"is then deleted. Nothing was imported. Upload the file again.", "error")
        return redirect(url_for(".upload", name=name))
    if data is None:
        flash("That upload has expired or was already imported. Upload the file again.", "error")
        return redirect(url_for(".upload", name=name))
    plan = kind.parse(data, request.form.get("full") == "y")
    if plan.problems:   # the database changed since the preview
        db().rollback()
        note_refusal(db(), name, filename, current_user.id, plan.problems)
        return render_template("imports/preview.html", kind=kind, name=name, plan=plan, token=None,
                               full=False, filename=filename, sections=kind.summary(plan), form=EmptyForm()), 422
    counts = kind.apply(plan, filename)
    invited = _invite(plan) if name == "roster" and request.form.get("invite") == "y" else None
    db().commit()   # the upload is deleted only once what it held is safely written
    discard_upload(_folder(), current_user.id, token)
    flash(f"{kind.title} imported from {filename}: " + ", ".join(f"{v} {k}" for k, v in counts.items()
                                                                   if isinstance(v, int)) + ".", "success")
    if invited is not None:
        report = deliver(current_app._get_current_object(), force=True, ids=invited.queued)
        waiting = len(invited.queued) - report.counts["sent"] - report.counts["cancelled"]
        flash(f"Invitations sent to {plural(report.counts['sent'], 'officer')} who cannot sign in yet"
              + (f"; {waiting} will be retried" if waiting else "")
              + (f"; {invited.already} already had one that still works" if invited.already else "") + ".",
              "success" if not waiting else "info")
    return redirect(url_for(".upload", name=name))


def _invite(plan):
    """Invite the file's officers who cannot sign in yet (those whose invitation still works are left alone)."""
    session, viewer = db(), current_user._get_current_object()
    return invite_employees(session, plan.employee_ids, utcnow(), current_app.config["INVITATION_DAYS"], viewer.id,
                            via="roster upload", allowed=lambda person: may_change_account(session, viewer, person))
