"""`flask --app app assign ...` and `flask --app app assignments withdraw | extend | set-due ...`."""
from __future__ import annotations

from datetime import date

import click
from flask.cli import AppGroup, with_appcontext

from training.clock import server_today
from training.commands import fail, parse_date
from training.db import unit_of_work
from training.words import agree, plural

SHOWN = 20    # officers listed by name in a command's output; the rest are counted


@click.command("assign")
@click.option("--course", "course_code", required=True, help="Course code, e.g. UOF-DEADLY-FORCE.")
@click.option("--officer", help="Employee id of one officer.")
@click.option("--unit", help="Unit code: the unit and every unit below it.")
@click.option("--agency", help="Agency code: every officer of the agency.")
@click.option("--due", callback=parse_date, required=True, help="Due date, e.g. 2026-12-31.")
@click.option("--allow-far", is_flag=True, help="Accept a due date more than two years ahead.")
@with_appcontext
def assign(course_code: str, officer: str | None, unit: str | None, agency: str | None, due: date,
           allow_far: bool) -> None:
    """Assign a course to an officer, a unit (with its sub-units) or an agency."""
    from training.assignments.service import Refused, assign_course
    from training.assignments.targets import UnknownTarget, officers_of
    from training.catalog.service import course_by_code

    today = server_today()
    with unit_of_work() as session:
        course = course_by_code(session, course_code)
        if course is None:
            fail(f"no course has code {course_code}")
        try:
            target = officers_of(session, officer=officer, unit=unit, agency=agency)
        except UnknownTarget as exc:
            fail(str(exc))
        try:
            result = assign_course(session, course, target.officers, due, today, reason=target.reason,
                                   about=target.about, allow_far=allow_far)
        except Refused as exc:
            fail(f"{_far_hint(exc)} (today is {today.isoformat()}, the server's day)")
    click.echo(f"Assigned {course_code} to {plural(len(result.assigned), 'officer')}, due {due.isoformat()}; "
               f"certifications checked as of {today.isoformat()} (the server's day).")
    if certified := len(result.already_certified):
        click.echo(f"{plural(certified, 'officer')} already {agree(certified, 'holds', 'hold')} a valid "
                   f"certification: not assigned.")
    if assigned := len(result.already_assigned):
        click.echo(f"{plural(assigned, 'officer')} already {agree(assigned, 'has', 'have')} an open assignment: "
                   f"not assigned again.")
    if exempt := len(result.exempt):
        click.echo(f"{plural(exempt, 'officer')} {agree(exempt, 'is', 'are')} exempt from it today: not assigned.")


def _far_hint(exc: Exception) -> str:
    return f"{exc}; add --allow-far to accept it" if getattr(exc, "far", False) else str(exc)


assignments = AppGroup("assignments", help="Withdraw, extend or correct the due date of open assignments.")


def _target_options(command):
    for decorator in reversed([
        click.option("--course", "course_code", required=True, help="Course code, e.g. UOF-DEADLY-FORCE."),
        click.option("--officer", help="Employee id of one officer."),
        click.option("--unit", help="Unit code: the unit and every unit below it."),
        click.option("--reason", required=True, help="Why: kept with the change and in the audit trail."),
        click.option("--dry-run", is_flag=True, help="Show what would change; change nothing."),
    ]):
        command = decorator(command)
    return command


def _manage(action: str, course_code: str, officer: str | None, unit: str | None, reason: str,
            dry_run: bool, due: date | None = None, allow_far: bool = False) -> None:
    from training.access import Forbidden
    from training.assignments.manage import Refused, manage_assignments
    from training.assignments.targets import UnknownTarget, officers_of
    from training.catalog.service import course_by_code
    from training.reminders.service import cancel_stale

    if (officer is None) == (unit is None):
        fail("name exactly one of --officer or --unit")
    today = server_today()
    with unit_of_work() as session:
        course = course_by_code(session, course_code)
        if course is None:
            fail(f"no course has code {course_code}")
        try:
            target = officers_of(session, officer=officer, unit=unit)
            result = manage_assignments(session, action, course, target.officers, reason=reason, today=today,
                                        due_on=due, allow_far=allow_far, dry_run=dry_run)
        except (UnknownTarget, Forbidden) as exc:
            fail(str(exc))
        except Refused as exc:
            fail(f"{_far_hint(exc)} (today is {today.isoformat()}, the server's day); nothing was changed")
        cancelled = 0 if dry_run else cancel_stale(session, today, user_ids=[c.user_id for c in result.changed])
    for line in result.summary():
        click.echo(line)
    for row in result.changed[:SHOWN]:
        after = "withdrawn" if action == "withdraw" else f"due {row.due_after.isoformat()}"
        click.echo(f"  {row.employee_id or '-'}  {row.name}: due {row.due_before.isoformat()} -> {after}")
    if len(result.changed) > SHOWN:
        click.echo(f"  ... and {len(result.changed) - SHOWN} more")
    for why, rows in result.left_alone.items():
        shown = ", ".join(r.employee_id or r.name for r in rows[:SHOWN])
        more = f" and {len(rows) - SHOWN} more" if len(rows) > SHOWN else ""
        click.echo(f"  left alone ({why}): {shown}{more}")
    if cancelled:
        click.echo(f"{plural(cancelled, 'pending reminder')} cancelled.")
    if dry_run:
        click.echo("Dry run: nothing was changed.")


@assignments.command("withdraw")
@_target_options
@with_appcontext
def withdraw(course_code: str, officer: str | None, unit: str | None, reason: str, dry_run: bool) -> None:
    """Withdraw open assignments: they stop counting and their pending reminders are cancelled. Standing rules
    do not assign them again while each officer stays in their unit."""
    _manage("withdraw", course_code, officer, unit, reason, dry_run)


@assignments.command("extend")
@_target_options
@click.option("--due", callback=parse_date, required=True, help="The new, later due date, e.g. 2026-12-31.")
@click.option("--allow-far", is_flag=True, help="Accept a due date more than two years ahead.")
@with_appcontext
def extend(course_code: str, officer: str | None, unit: str | None, reason: str, dry_run: bool, due: date,
           allow_far: bool) -> None:
    """Give more time: move open assignments' due date later (never earlier)."""
    _manage("extend", course_code, officer, unit, reason, dry_run, due, allow_far)


@assignments.command("set-due")
@_target_options
@click.option("--due", callback=parse_date, required=True, help="The correct due date, e.g. 2026-12-31.")
@click.option("--allow-far", is_flag=True, help="Accept a due date more than two years ahead.")
@with_appcontext
def set_due(course_code: str, officer: str | None, unit: str | None, reason: str, dry_run: bool, due: date,
            allow_far: bool) -> None:
    """Correct open assignments' due date, earlier or later (a typo, not more time granted)."""
    _manage("set_due", course_code, officer, unit, reason, dry_run, due, allow_far)


COMMANDS = (assign, assignments)
