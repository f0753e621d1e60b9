"""The assignment rules live in the service: a view and a command that call it refuse alike, and a refusal
changes nothing."""
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from tests.support.factories import make_user
from tests.support.pages import login
from training.assignments.service import Refused, assign_course, create_standing_rule
from training.people.models import User
from training.records.models import Assignment, StandingRule


def test_a_due_date_in_the_past_is_refused_and_nothing_is_assigned(session, course, officer):
    today = date(2026, 11, 27)
    with pytest.raises(Refused, match="2026-11-26 is in the past"):
        assign_course(session, course, select(User.id).where(User.id == officer.id), today - timedelta(days=1),
                      today, reason="individual")
    assert session.scalar(select(func.count(Assignment.id))) == 0


def test_the_site_refuses_a_past_due_date_in_the_service_s_words(client, session, course, org):
    agency, unit = org
    make_user(session, "coord@agency.test", role="coordinator", agency=agency)
    session.commit()
    login(client, "coord@agency.test")
    response = client.post("/assign", data={"courses": [course.code], "target": "unit", "code": unit.code,
                                            "due_on": "2001-01-01"})
    assert response.status_code == 422
    assert b"The due date 2001-01-01 is in the past." in response.data
    assert session.scalar(select(func.count(Assignment.id))) == 0


def test_a_second_standing_rule_for_the_same_unit_and_course_is_refused(session, course, org, officer):
    _, unit = org
    create_standing_rule(session, unit, course, 30, date.today(), actor_id=None)
    with pytest.raises(Refused, match="already has a rule"):
        create_standing_rule(session, unit, course, 10, date.today(), actor_id=None)
    assert session.scalar(select(func.count(StandingRule.id))) == 1
