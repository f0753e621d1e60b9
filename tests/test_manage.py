"""Withdrawing, correcting and extending open assignments from the command line, with their history kept."""
from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy import func, select

from tests.support.factories import add_unit, make_org, make_user
from training.audit.models import AuditEvent
from training.clock import server_today
from training.people.models import User
from training.records.models import Assignment, AssignmentChange, Exemption
from training.records.status import course_states
from training.reminders.models import OutboxMessage


@pytest.fixture
def unit(session, course):
    """AGY-U1 > SUB: three officers with TEST-BASICS open, one without it, one in another unit."""
    agency, top = make_org(session)
    sub = add_unit(session, agency, "SUB", top)
    other = add_unit(session, agency, "OTHER")
    today = server_today()
    people = {}
    for key, u in [("a", top), ("b", top), ("c", sub), ("none", sub), ("out", other)]:
        people[key] = make_user(session, f"{key}@agency.test", agency=agency, unit=u, employee_id=key.upper(),
                                first=key.title(), last="Officer")
    for key in ("a", "b", "c", "out"):
        session.add(Assignment(user_id=people[key].id, course_id=course.id, due_on=date(2999, 12, 31),
                               reason="unit"))
    session.commit()
    return {"today": today, **people}


def due_of(session, user):
    session.expire_all()
    return session.scalar(select(Assignment.due_on).where(Assignment.user_id == user.id,
                                                          Assignment.closed_at.is_(None)))


def run(runner, *args):
    return runner.invoke(args=["assignments", *args])


def test_set_due_corrects_a_typed_date_for_a_whole_unit_and_keeps_the_history(runner, session, course, unit):
    due = (unit["today"] + timedelta(days=30)).isoformat()
    result = run(runner, "set-due", "--course", "TEST-BASICS", "--unit", "AGY-U1", "--due", due,
                 "--reason", "Typo: the year was wrong")
    assert result.exit_code == 0, result.output
    assert "for 3 officers" in result.output
    assert "Left alone: 1 officer: no open assignment of TEST-BASICS" in result.output
    assert "2999-12-31 -> due " + due in result.output
    assert {due_of(session, unit[k]) for k in ("a", "b", "c")} == {date.fromisoformat(due)}
    assert due_of(session, unit["out"]) == date(2999, 12, 31)
    changes = session.scalars(select(AssignmentChange).order_by(AssignmentChange.id)).all()
    assert [(c.kind, c.due_on_before, c.reason) for c in changes] == \
        [("set_due", date(2999, 12, 31), "Typo: the year was wrong")] * 3
    events = session.scalars(select(AuditEvent).where(AuditEvent.action == "assignment.due_set")).all()
    assert len(events) == 3 and {e.subject_id for e in events} == {unit[k].id for k in ("a", "b", "c")}


def test_dry_run_changes_nothing(runner, session, course, unit):
    due = (unit["today"] + timedelta(days=30)).isoformat()
    result = run(runner, "set-due", "--course", "TEST-BASICS", "--unit", "AGY-U1", "--due", due,
                 "--reason", "Typo in the year", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "Would be: TEST-BASICS due date set to" in result.output and "Dry run: nothing was changed" in result.output
    assert due_of(session, unit["a"]) == date(2999, 12, 31)
    assert session.scalar(select(func.count(AssignmentChange.id))) == 0


def test_extend_only_gives_more_time(runner, session, course, unit):
    soon = unit["today"] + timedelta(days=10)
    session.execute(Assignment.__table__.update().values(due_on=soon))
    session.execute(Assignment.__table__.update().where(Assignment.user_id == unit["b"].id)
                    .values(due_on=soon + timedelta(days=60)))
    session.commit()
    later = (soon + timedelta(days=20)).isoformat()
    result = run(runner, "extend", "--course", "TEST-BASICS", "--unit", "AGY-U1", "--due", later,
                 "--reason", "Range closed for repairs")
    assert result.exit_code == 0, result.output
    assert "extended to" in result.output and "for 2 officers" in result.output
    assert "already due on or after that date" in result.output
    assert due_of(session, unit["b"]) == soon + timedelta(days=60)
    assert due_of(session, unit["a"]) == soon + timedelta(days=20)
    kinds = session.scalars(select(AssignmentChange.kind)).all()
    assert kinds == ["extended", "extended"]


def test_withdraw_stops_counting_cancels_reminders_and_earlier_rosters_still_show_it(runner, session, course, unit):
    today = unit["today"]
    officer = unit["c"]
    assignment = session.scalar(select(Assignment).where(Assignment.user_id == officer.id))
    assignment.due_on, assignment.created_at = today + timedelta(days=7), datetime.combine(
        today - timedelta(days=5), time(12))
    reminder = OutboxMessage(key=f"due-in-7:{officer.id}", kind="due-in-7", user_id=officer.id, course_id=course.id,
                             due_on=today + timedelta(days=7), decided_on=today, status="pending")
    other = OutboxMessage(key=f"due-in-7:{unit['a'].id}", kind="due-in-7", user_id=unit["a"].id,
                          course_id=course.id, due_on=date(2999, 12, 31), decided_on=today, status="pending")
    session.add_all([reminder, other])
    session.commit()
    result = run(runner, "withdraw", "--course", "TEST-BASICS", "--officer", "C", "--reason", "Left the unit")
    assert result.exit_code == 0, result.output
    assert "withdrawn for 1 officer" in result.output and "1 pending reminder cancelled" in result.output
    session.expire_all()
    assert (reminder.status, other.status) == ("cancelled", "pending")
    assert assignment.closed_at is not None and assignment.completion_id is None
    assert session.scalar(select(AssignmentChange.kind)) == "withdrawn"
    now = list(course_states(session, today, User.id == officer.id))
    assert now[0].status is None and now[0].due_on is None
    yesterday = list(course_states(session, today - timedelta(days=1), User.id == officer.id, as_of=True))
    assert (yesterday[0].status, yesterday[0].due_on) == ("assigned", today + timedelta(days=7))


def test_as_of_roster_shows_each_due_date_as_it_stood_that_day(runner, session, course, unit):
    today = unit["today"]
    officer = unit["a"]
    assignment = session.scalar(select(Assignment).where(Assignment.user_id == officer.id))
    assignment.created_at = datetime.combine(today - timedelta(days=10), time(12))
    session.commit()
    first, second = today + timedelta(days=20), today + timedelta(days=40)
    for due in (first, second):
        result = run(runner, "set-due" if due == first else "extend", "--course", "TEST-BASICS", "--officer", "A",
                     "--due", due.isoformat(), "--reason", "Correcting the due date")
        assert result.exit_code == 0, result.output
    set_due, extended = session.scalars(select(AssignmentChange).order_by(AssignmentChange.id)).all()
    set_due.at = datetime.combine(today - timedelta(days=6), time(9))
    extended.at = datetime.combine(today - timedelta(days=3), time(9))
    session.commit()

    def due_on(day):
        return next(iter(course_states(session, day, User.id == officer.id, as_of=True))).due_on

    assert due_on(today - timedelta(days=8)) == date(2999, 12, 31)
    assert due_on(today - timedelta(days=6)) == first
    assert due_on(today - timedelta(days=4)) == first
    assert due_on(today - timedelta(days=3)) == second
    assert due_on(today) == second


@pytest.mark.parametrize("args, message", [
    (["withdraw", "--course", "NOPE", "--unit", "AGY-U1", "--reason", "Wrong module"], "no course has code NOPE"),
    (["withdraw", "--course", "TEST-BASICS", "--unit", "NOPE", "--reason", "Wrong module"], "no unit has code NOPE"),
    (["withdraw", "--course", "TEST-BASICS", "--officer", "NOBODY", "--reason", "Wrong module"],
     "no officer has employee id NOBODY"),
    (["withdraw", "--course", "TEST-BASICS", "--officer", "A", "--unit", "AGY-U1", "--reason", "Wrong module"],
     "exactly one"),
    (["withdraw", "--course", "TEST-BASICS", "--unit", "AGY-U1", "--reason", "  "], "give a reason"),
    (["set-due", "--course", "TEST-BASICS", "--unit", "AGY-U1", "--reason", "Wrong date", "--due", "2001-01-01"],
     "in the past"),
    (["extend", "--course", "TEST-BASICS", "--unit", "AGY-U1", "--reason", "Wrong date", "--due", "2999-12-31"],
     "more than two years ahead"),
    (["set-due", "--course", "TEST-BASICS", "--unit", "AGY-U1", "--reason", "Wrong date", "--due", "3000-01-01"],
     "outside the years"),
])
def test_bad_input_is_refused_and_changes_nothing(runner, session, course, unit, args, message):
    result = run(runner, *args)
    assert result.exit_code != 0 and message in result.output, result.output
    assert session.scalar(select(func.count(AssignmentChange.id))) == 0
    assert session.scalar(select(func.count(Assignment.id)).where(Assignment.closed_at.is_not(None))) == 0


def test_far_dates_need_allow_far(runner, session, course, unit):
    far = (unit["today"] + timedelta(days=365 * 3)).isoformat()
    refused = run(runner, "set-due", "--course", "TEST-BASICS", "--officer", "A", "--due", far, "--reason", "Long leave")
    assert refused.exit_code == 1 and "--allow-far" in refused.output
    allowed = run(runner, "set-due", "--course", "TEST-BASICS", "--officer", "A", "--due", far, "--reason",
                  "Long leave", "--allow-far")
    assert allowed.exit_code == 0, allowed.output
    assert due_of(session, unit["a"]) == date.fromisoformat(far)
    assign = runner.invoke(args=["assign", "--course", "TEST-BASICS", "--officer", "NONE", "--due", far])
    assert assign.exit_code == 1 and "--allow-far" in assign.output


def test_exempt_officers_are_not_assigned_and_are_reported(runner, session, course, unit):
    today = unit["today"]
    session.add(Exemption(user_id=unit["none"].id, course_id=course.id, starts_on=today,
                          ends_on=today + timedelta(days=30), reason="Medical leave"))
    extra = make_user(session, "new@agency.test", agency=unit["a"].agency, unit=unit["a"].unit, employee_id="NEW")
    session.commit()
    result = runner.invoke(args=["assign", "--course", "TEST-BASICS", "--unit", "AGY-U1",
                                 "--due", (today + timedelta(days=30)).isoformat()])
    assert result.exit_code == 0, result.output
    assert "1 officer is exempt from it today: not assigned" in result.output
    assigned = set(session.scalars(select(Assignment.user_id)))
    assert extra.id in assigned and unit["none"].id not in assigned
