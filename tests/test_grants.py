"""Extensions and exemptions: reasons required, visible in statuses and the audit trail."""
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from tests.support.factories import make_user
from training.assignments.service import Refused, extend_assignment, grant_exemption
from training.audit.models import AuditEvent
from training.people.models import User
from training.records.models import Assignment
from training.records.status import course_states

TODAY = date(2026, 3, 10)


def status_of(session, user):
    (state,) = course_states(session, TODAY, User.id == user.id)
    return state


def test_extension_turns_overdue_into_assigned(session, course, officer, org):
    coordinator = make_user(session, "coord@agency.test", role="coordinator", agency=org[0])
    assignment = Assignment(user_id=officer.id, course_id=course.id, due_on=TODAY - timedelta(days=3),
                            reason="individual")
    session.add(assignment)
    session.flush()
    assert status_of(session, officer).status == "overdue"
    extend_assignment(session, assignment, TODAY + timedelta(days=14), "On medical leave until March",
                      actor_id=coordinator.id)
    state = status_of(session, officer)
    assert (state.status, state.due_on) == ("assigned", TODAY + timedelta(days=14))
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "assignment.extended"))
    assert event.actor_id == coordinator.id and event.details["reason"] == "On medical leave until March"
    assert event.details["previous_due_on"] == (TODAY - timedelta(days=3)).isoformat()


def test_extension_refusals_change_nothing(session, course, officer):
    assignment = Assignment(user_id=officer.id, course_id=course.id, due_on=TODAY, reason="individual")
    session.add(assignment)
    session.flush()
    with pytest.raises(Refused, match="reason"):
        extend_assignment(session, assignment, TODAY + timedelta(days=5), " ", actor_id=None)
    with pytest.raises(Refused, match="after the current one"):
        extend_assignment(session, assignment, TODAY - timedelta(days=1), "Court appearance", actor_id=None)
    assert assignment.due_on == TODAY
    assert session.scalar(select(AuditEvent).where(AuditEvent.action == "assignment.extended")) is None


def test_exemption_wins_while_active_and_ends_on_its_date(session, course, officer):
    session.add(Assignment(user_id=officer.id, course_id=course.id, due_on=TODAY - timedelta(days=30),
                           reason="individual"))
    grant_exemption(session, officer.id, course.id, TODAY - timedelta(days=1), TODAY + timedelta(days=1),
                    "Deployed overseas", actor_id=None)
    state = status_of(session, officer)
    assert (state.status, state.exempt_until) == ("exempt", TODAY + timedelta(days=1))
    (after,) = course_states(session, TODAY + timedelta(days=2), User.id == officer.id)
    assert after.status == "overdue"
    with pytest.raises(Refused, match="end on or after"):
        grant_exemption(session, officer.id, course.id, TODAY, TODAY - timedelta(days=1), "Deployed", actor_id=None)
