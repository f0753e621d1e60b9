"""The daily sweep reads every open assignment only now and then: on other days, those whose reminder or
escalation can have changed since the last sweep. Whatever it reads, it queues what a sweep reading every
open assignment would."""
from datetime import date, timedelta

import pytest
from sqlalchemy import delete, func, select

from tests.support.factories import make_org, make_user
from training.assignments.manage import manage_assignments
from training.assignments.service import grant_exemption
from training.people.models import User
from training.records.models import Assignment
from training.reminders.models import Escalation, OutboxMessage, SweepDay
from training.reminders.rules import Schedule
from training.reminders.sweep import (
    READ_ALL_EVERY,
    escalate,
    escalation_due_days,
    queue_officer_reminders,
    reminder_due_days,
    sweep,
)

START = date(2026, 10, 1)
SCHEDULE = Schedule()


def officer(session, agency, n: int) -> User:
    return make_user(session, f"o{n}@since.test", agency=agency, employee_id=f"S{n}")


def assign(session, user: User, course, due_on: date) -> Assignment:
    assignment = Assignment(user_id=user.id, course_id=course.id, due_on=due_on, reason="agency")
    session.add(assignment)
    session.flush()
    return assignment


def queued(session) -> set[tuple[int, str]]:
    return set(session.execute(select(OutboxMessage.user_id, OutboxMessage.kind)
                               .where(OutboxMessage.course_id.is_not(None))).all())


def read_all_on(session) -> set[date]:
    return set(session.scalars(select(SweepDay.read_all_on)))


def left_for_a_full_read(session, on: date) -> int:
    """What a sweep reading every open assignment would still queue on `on`."""
    reminders = queue_officer_reminders(session, on, SCHEDULE)
    escalations = escalate(session, on, SCHEDULE)
    return sum(reminders.values()) + sum(escalations.values())


def test_the_days_a_reminder_or_escalation_falls_due_after_a_day():
    on = date(2026, 11, 28)
    day = timedelta(days=1)
    reminders = reminder_due_days(on, on - day, on - timedelta(days=20), SCHEDULE)
    assert reminders == [(on - 15 * day, on - 15 * day), (on - 8 * day, on - 8 * day), (on - day, on - day),
                         (on + day, on + day), (on + 7 * day, on + 7 * day), (on + 14 * day, on + 14 * day),
                         (on + 30 * day, on + 30 * day)]
    assert escalation_due_days(on, on - day, SCHEDULE) == [(on - 14 * day, on - 14 * day),
                                                            (on - 7 * day, on - 7 * day)]
    # Three days since the last sweep: each step's three days, and nothing the same day.
    assert escalation_due_days(on, on - 3 * day, SCHEDULE) == [(on - 16 * day, on - 14 * day),
                                                            (on - 9 * day, on - 7 * day)]
    assert reminder_due_days(on, on, on - timedelta(days=400), SCHEDULE) == []
    assert escalation_due_days(on, on, SCHEDULE) == []
    # A gap as long as the overdue interval: every overdue assignment may have a new reminder.
    first, last = reminder_due_days(on, on - 7 * day, on - timedelta(days=400), SCHEDULE)[0]
    assert first == on - timedelta(days=400) and last >= on - day


def test_each_day_queues_what_a_full_read_would(session, course):
    """Three weeks day by day over officers due on every day of two months, with an exemption ending, a due
    date extended and a new assignment along the way: after each day's sweep, reading every open assignment
    finds nothing more to queue."""
    agency, _ = make_org(session, "SIN")
    officers = [officer(session, agency, n) for n in range(60)]
    for n, user in enumerate(officers[:55]):
        assign(session, user, course, START + timedelta(days=n - 25))
    exempt, extended, late = officers[3], officers[30], officers[55]
    grant_exemption(session, exempt.id, course.id, START - timedelta(days=30), START + timedelta(days=4),
                    "On leave", actor_id=None)
    narrow_days = 0
    for offset in range(21):
        on = START + timedelta(days=offset)
        if offset == 6:
            manage_assignments(session, "extend", course, select(User.id).where(User.id == extended.id),
                               reason="Court week", today=on, due_on=on + timedelta(days=10))
        if offset == 9:
            assign(session, late, course, on + timedelta(days=5))
        sweep(session, on, SCHEDULE, (agency.id,))
        narrow_days += read_all_on(session) != {on}
        assert left_for_a_full_read(session, on) == 0, on
    # Every READ_ALL_EVERY days the sweep read every open assignment; on the others, fewer.
    assert narrow_days == 21 - 3
    decided = {(user_id, kind): on for user_id, kind, on in session.execute(
        select(OutboxMessage.user_id, OutboxMessage.kind, OutboxMessage.decided_on))}
    # The day after the exemption ended, on a day no new reminder fell due for the officer.
    assert decided[exempt.id, "overdue-22"] == START + timedelta(days=5)
    # The new due date's reminders from the day it was extended.
    assert decided[extended.id, "due-in-14"] == START + timedelta(days=6)
    assert decided[extended.id, "due-in-7"] == START + timedelta(days=9)
    # An assignment made on a narrow day, reminded that day and again when its next reminder falls due.
    assert decided[late.id, "due-in-7"] == START + timedelta(days=9)
    assert decided[late.id, "due-in-1"] == START + timedelta(days=13)
    assert session.scalar(select(func.count()).select_from(Escalation)) > 0


def test_a_narrow_day_leaves_what_cannot_have_changed_and_a_full_read_finds_it(session, course):
    """An officer made active again has no new reminder on a narrow day unless one falls due for them; the
    next full read, within READ_ALL_EVERY days, queues the one they missed."""
    agency, _ = make_org(session, "NAR")
    user = officer(session, agency, 1)
    assign(session, user, course, START + timedelta(days=25))
    user.active = False
    session.flush()
    sweep(session, START, SCHEDULE, (agency.id,))
    assert queued(session) == set()
    user.active = True
    session.flush()
    for offset in range(1, READ_ALL_EVERY.days):
        sweep(session, START + timedelta(days=offset), SCHEDULE, (agency.id,))
        assert queued(session) == set()
    sweep(session, START + READ_ALL_EVERY, SCHEDULE, (agency.id,))
    assert queued(session) == {(user.id, "due-in-30")}


def test_every_assignment_is_read_when_the_last_sweep_cannot_vouch_for_it(session, course):
    agency, _ = make_org(session, "VOU")
    other, _ = make_org(session, "VOX")
    user = officer(session, agency, 1)
    assign(session, user, course, START + timedelta(days=20))
    sweep(session, START, SCHEDULE, (agency.id,))
    session.execute(delete(OutboxMessage))

    def read_everything(on: date, schedule: Schedule, agency_ids) -> bool:
        before = len(queued(session))
        sweep(session, on, schedule, agency_ids)
        found = len(queued(session)) > before
        session.execute(delete(OutboxMessage))
        return found

    assert not read_everything(START + timedelta(days=1), SCHEDULE, (agency.id,))
    # Another schedule, a day before the last swept, or an agency never swept with this one: a full read.
    assert read_everything(START + timedelta(days=2), Schedule(days_before=(30, 10)), (agency.id,))
    assert read_everything(START + timedelta(days=1), SCHEDULE, (agency.id,))
    assert read_everything(START + timedelta(days=3), SCHEDULE, (agency.id, other.id))
    # A sweep for everyone is narrow once every agency, and the officers of none, have been swept.
    assert read_everything(START + timedelta(days=4), SCHEDULE, None)
    assert not read_everything(START + timedelta(days=5), SCHEDULE, None)


@pytest.mark.parametrize("gap", [1, 3, 10])
def test_escalations_after_missed_days_are_decided_once(session, course, gap):
    agency, _ = make_org(session, "GAP")
    users = [officer(session, agency, n) for n in range(30)]
    for n, user in enumerate(users):
        assign(session, user, course, START - timedelta(days=n))
    sweep(session, START, SCHEDULE, (agency.id,))
    decided = session.scalar(select(func.count()).select_from(Escalation))
    sweep(session, START + timedelta(days=gap), SCHEDULE, (agency.id,))
    assert left_for_a_full_read(session, START + timedelta(days=gap)) == 0
    # Each officer overdue 7 and 14 days by then has both steps, once.
    reached = sum((gap + n >= 7) + (gap + n >= 14) for n in range(30))
    assert session.scalar(select(func.count()).select_from(Escalation)) == reached > decided
