"""`flask --app app assign ...`."""
from __future__ import annotations

from datetime import date

import click
from flask.cli import with_appcontext

from training.clock import server_today
from training.commands import fail, parse_date
from training.db import unit_of_work


@click.command("assign")
@click.option("--course", "course_code", required=True, help="Course code, e.g. UOF-DEADLY-FORCE.")
@click.option("--officer", help="Employee id of one officer.")
@click.option("--unit", help="Unit code: the unit and every unit below it.")
@click.option("--agency", help="Agency code: every officer of the agency.")
@click.option("--due", callback=parse_date, required=True, help="Due date, e.g. 2026-12-31.")
@with_appcontext
def assign(course_code: str, officer: str | None, unit: str | None, agency: str | None, due: date) -> None:
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
                                   about=target.about)
        except Refused as exc:
            fail(f"{exc} (today is {today.isoformat()}, the server's day)")
    click.echo(f"Assigned {course_code} to {len(result.assigned)} officer(s), due {due.isoformat()}; "
               f"certifications checked as of {today.isoformat()} (the server's day).")
    if result.already_certified:
        click.echo(f"{len(result.already_certified)} already hold a valid certification: not assigned.")
    if result.already_assigned:
        click.echo(f"{len(result.already_assigned)} already have an open assignment: not assigned again.")


COMMANDS = (assign,)
