"""The sweep reads only the open assignments whose notice day has come, and still queues exactly what the rules
say: after a change of due date, an exemption, an officer away, a change of schedule, or days it did not run."""
from datetime import date, timedelta

import pytest
from sqlalchemy import select, update

from tests.support.factories import add_unit, make_org, make_user
from training.assignments.service import extend_assignment
from training.records.models import Assignment, Exemption, RequiredPair
from training.reminders.models import Escalation, OutboxMessage
from training.reminders.rules import Schedule, officer_reminder_kind
from training.reminders.sweep import sweep

DUE = date(2026, 10, 1)


@pytest.fixture
def officer(session, course):
    agency, top = make_org(session, "NTC")
    unit = add_unit(session, agency, "NTC-1", top)
    boss = make_user(session, "boss@ntc.test", agency=agency, unit=unit, employee_id="B1")
    officer = make_user(session, "o@ntc.test", agency=agency, unit=unit, employee_id="O1", supervisor_id=boss.id)
    session.add(Assignment(user_id=officer.id, course_id=course.id, due_on=DUE, reason="unit"))
    session.flush()
    return officer


def reminders(session) -> list[tuple[date, str, date]]:
    """(due date, kind, day decided) of every reminder queued to the officers, in order."""
    return list(session.execute(select(OutboxMessage.due_on, OutboxMessage.kind, OutboxMessage.decided_on)
                                .where(OutboxMessage.course_id.is_not(None)).order_by(OutboxMessage.id)).all())


def walk(session, first: date, last: date, schedule: Schedule | None = None) -> None:
    day = first
    while day <= last:
        sweep(session, day, schedule or Schedule())
        day += timedelta(days=1)


def test_a_day_with_nothing_due_reads_no_open_assignment(session, officer, course):
    sweep(session, DUE - timedelta(days=20), Schedule())
    pair = session.get(RequiredPair, (officer.id, course.id))
    assert (pair.notice_due_on, pair.notice_on) == (DUE, DUE - timedelta(days=14))
    # Were the assignment read on a day between, its latest reminder would be queued again under a key already
    # taken; instead the next days leave it alone until the 14-day reminder falls due.
    session.execute(update(OutboxMessage).values(key="moved aside"))
    walk(session, DUE - timedelta(days=19), DUE - timedelta(days=15))
    assert [kind for _, kind, _ in reminders(session)] == ["due-in-30"]
    sweep(session, DUE - timedelta(days=14), Schedule())
    assert [kind for _, kind, _ in reminders(session)] == ["due-in-30", "due-in-14"]


def test_every_day_walked_queues_what_the_rules_say_on_the_day_they_say(session, officer):
    schedule = Schedule(days_before=(10, 3), overdue_every=3, escalations=((2, "supervisor"), (5, "coordinator")))
    walk(session, DUE - timedelta(days=15), DUE + timedelta(days=12), schedule)
    expected = []
    for offset in range(-15, 13):
        day = DUE + timedelta(days=offset)
        kind = officer_reminder_kind(DUE, day, schedule)
        if kind and kind not in [k for _, k, _ in expected]:
            expected.append((DUE, kind, day))
    assert reminders(session) == expected
    assert session.execute(select(Escalation.step_days, Escalation.decided_on).order_by(Escalation.step_days)).all() \
        == [(2, DUE + timedelta(days=2)), (5, DUE + timedelta(days=5))]


def test_an_extension_is_reminded_on_its_new_dates(session, officer, course):
    walk(session, DUE - timedelta(days=31), DUE - timedelta(days=20))
    assignment = session.scalar(select(Assignment))
    later = DUE + timedelta(days=10)
    extend_assignment(session, assignment, later, "court week", actor_id=None)
    # The next sweep decides the new due date at once: 30 days or fewer left, so its 30-day reminder now.
    walk(session, DUE - timedelta(days=19), later - timedelta(days=14))
    assert reminders(session) == [(DUE, "due-in-30", DUE - timedelta(days=30)),
                                  (later, "due-in-30", DUE - timedelta(days=19)),
                                  (later, "due-in-14", later - timedelta(days=14))]


def test_an_exemption_over_a_reminder_day_holds_it_until_the_exemption_ends(session, officer, course):
    walk(session, DUE - timedelta(days=31), DUE - timedelta(days=16))
    session.add(Exemption(user_id=officer.id, course_id=course.id, starts_on=DUE - timedelta(days=15),
                          ends_on=DUE - timedelta(days=9), reason="leave"))
    session.flush()
    walk(session, DUE - timedelta(days=15), DUE - timedelta(days=7))
    assert reminders(session) == [(DUE, "due-in-30", DUE - timedelta(days=30)),
                                  (DUE, "due-in-14", DUE - timedelta(days=8)),
                                  (DUE, "due-in-7", DUE - timedelta(days=7))]


def test_an_officer_away_on_a_reminder_day_gets_the_latest_on_return(session, officer):
    walk(session, DUE - timedelta(days=31), DUE - timedelta(days=16))
    officer.active = False
    session.flush()
    walk(session, DUE - timedelta(days=15), DUE - timedelta(days=5))
    officer.active = True
    session.flush()
    walk(session, DUE - timedelta(days=4), DUE - timedelta(days=3))
    assert reminders(session) == [(DUE, "due-in-30", DUE - timedelta(days=30)),
                                  (DUE, "due-in-7", DUE - timedelta(days=4))]


def test_a_new_schedule_decides_every_open_assignment_again(session, officer):
    walk(session, DUE - timedelta(days=30), DUE - timedelta(days=21))
    # A reminder 20 days before added from the next run: it falls due that day, before the 14-day one.
    walk(session, DUE - timedelta(days=20), DUE - timedelta(days=19), Schedule(days_before=(30, 20, 14, 7, 1)))
    assert reminders(session) == [(DUE, "due-in-30", DUE - timedelta(days=30)),
                                  (DUE, "due-in-20", DUE - timedelta(days=20))]


def test_days_the_sweep_did_not_run_are_caught_up_once(session, officer):
    sweep(session, DUE - timedelta(days=30), Schedule())
    sweep(session, DUE + timedelta(days=16), Schedule())
    sweep(session, DUE + timedelta(days=17), Schedule())
    assert reminders(session) == [(DUE, "due-in-30", DUE - timedelta(days=30)),
                                  (DUE, "overdue-15", DUE + timedelta(days=16))]
    assert session.execute(select(Escalation.step_days).order_by(Escalation.step_days)).scalars().all() == [7, 14]
