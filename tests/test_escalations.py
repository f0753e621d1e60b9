"""Escalations: each overdue assignment reaches each step of the ladder once, late runs catch up, and each
step's recipients get their digest."""
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from tests.support.factories import add_unit, make_org, make_user
from training.people.models import Agency, Unit, User
from training.records.models import Assignment
from training.reminders.models import Escalation, OutboxMessage
from training.reminders.rules import Schedule
from training.reminders.sweep import escalate

DUE = date(2026, 10, 1)
LADDER = Schedule(escalations=((3, "supervisor"), (7, "supervisor"), (14, "coordinator")))


@pytest.fixture
def overdue(session, course):
    agency, top = make_org(session, "ESC")
    unit = add_unit(session, agency, "ESC-1", top)
    boss = make_user(session, "boss@esc.test", agency=agency, unit=unit, employee_id="B1")
    make_user(session, "coord@esc.test", role="coordinator", agency=agency, employee_id="C1", scope_unit_id=unit.id)
    officer = make_user(session, "o@esc.test", agency=agency, unit=unit, employee_id="O1", supervisor_id=boss.id)
    session.add(Assignment(user_id=officer.id, course_id=course.id, due_on=DUE, reason="unit"))
    session.flush()
    return officer


def steps(session) -> list[tuple[int, str, date]]:
    return list(session.execute(select(Escalation.step_days, Escalation.role, Escalation.decided_on)
                                .order_by(Escalation.step_days)).all())


def test_each_step_is_reached_once_on_its_day(session, overdue):
    assert +escalate(session, DUE + timedelta(days=2), LADDER) == {}
    first = DUE + timedelta(days=3)
    assert +escalate(session, first, LADDER) == {"escalated-supervisor": 1, "escalation-supervisor": 1}
    assert +escalate(session, first, LADDER) == {}
    assert +escalate(session, first + timedelta(days=1), LADDER) == {}
    assert steps(session) == [(3, "supervisor", first)]


def test_a_late_run_reaches_every_step_passed_at_once_and_the_next_run_nothing(session, overdue):
    late = DUE + timedelta(days=20)
    assert +escalate(session, late, LADDER) == {"escalated-supervisor": 2, "escalated-coordinator": 1,
                                                  "escalation-supervisor": 1, "escalation-coordinator": 1}
    assert steps(session) == [(3, "supervisor", late), (7, "supervisor", late), (14, "coordinator", late)]
    assert +escalate(session, late + timedelta(days=1), LADDER) == {}


def coordinators_told(session) -> list[str]:
    return sorted(session.scalars(select(User.email).join(OutboxMessage, OutboxMessage.user_id == User.id)
                                  .where(OutboxMessage.kind == "escalation-coordinator")))


@pytest.fixture
def coordinators(session, overdue):
    """Beside the fixture's coordinator of ESC-1: one of the whole agency, one of a sibling unit, one no longer
    active, and one of another agency."""
    agency = session.get(Agency, overdue.agency_id)
    sibling = add_unit(session, agency, "ESC-2", session.get(Unit, session.get(Unit, overdue.unit_id).parent_id))
    make_user(session, "all@esc.test", role="coordinator", agency=agency, employee_id="C2")
    make_user(session, "sibling@esc.test", role="coordinator", agency=agency, employee_id="C3",
              scope_unit_id=sibling.id)
    make_user(session, "gone@esc.test", role="coordinator", agency=agency, employee_id="C4", active=False)
    other, _ = make_org(session, "OTH")
    make_user(session, "other@oth.test", role="coordinator", agency=other, employee_id="C5")
    session.flush()
    return agency


def test_the_coordinators_whose_scope_holds_an_escalated_officer_get_a_digest(session, overdue, coordinators):
    assert escalate(session, DUE + timedelta(days=14), LADDER)["escalation-coordinator"] == 2
    assert coordinators_told(session) == ["all@esc.test", "coord@esc.test"]


def test_an_officer_placed_in_no_unit_is_escalated_to_the_agency_s_coordinators(session, overdue, coordinators,
                                                                               course):
    session.get(Assignment, session.scalar(select(Assignment.id))).closed_at = datetime(2026, 10, 2, tzinfo=UTC)
    loose = make_user(session, "loose@esc.test", agency=coordinators, employee_id="O2")
    session.add(Assignment(user_id=loose.id, course_id=course.id, due_on=DUE, reason="unit"))
    session.flush()
    assert escalate(session, DUE + timedelta(days=14), LADDER)["escalation-coordinator"] == 1
    assert coordinators_told(session) == ["all@esc.test"]
