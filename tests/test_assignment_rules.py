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
from training.records.service import record_completion


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
    response = client.post("/assign", data={"courses": [course.code], "target": "unit", "unit": unit.code,
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


def _open(session, user, course):
    session.expire_all()
    return session.scalar(select(Assignment).where(Assignment.user_id == user.id, Assignment.course_id == course.id,
                                                   Assignment.closed_at.is_(None)))


def test_a_withdrawal_stands_against_the_standing_rule_until_the_officer_moves(session, course, org, officer):
    from tests.support.factories import add_unit
    from training.assignments.manage import manage_assignments
    from training.assignments.service import apply_standing_rules, assign_course, delete_standing_rule
    agency, unit = org
    today = date.today()
    create_standing_rule(session, unit, course, 30, today, actor_id=None)
    withdrawn = _open(session, officer, course)
    assert withdrawn.reason == "standing_rule"
    manage_assignments(session, "withdraw", course, select(User.id).where(User.id == officer.id),
                       reason="Assigned by mistake: on long-term leave", today=today)
    session.commit()
    # The daily sweep, today and on later days, leaves the withdrawal alone.
    assert apply_standing_rules(session, today) == {}
    assert apply_standing_rules(session, today + timedelta(days=40)) == {}
    assert _open(session, officer, course) is None
    # Moving to another unit of the rule's subtree ends it: the rule reaches the officer anew.
    sub = add_unit(session, agency, "AGY-SUB", unit)
    officer.unit_id = sub.id
    session.commit()
    assert apply_standing_rules(session, today) == {f"{unit.code}:{course.code}": 1}

    # A rule made after a withdrawal assigns again.
    manage_assignments(session, "withdraw", course, select(User.id).where(User.id == officer.id),
                       reason="Wrong module for this officer", today=today)
    session.commit()
    assert apply_standing_rules(session, today) == {}
    delete_standing_rule(session, session.scalar(select(StandingRule)), actor_id=None)
    session.commit()
    assert create_standing_rule(session, unit, course, 30, today, actor_id=None) == {f"{unit.code}:{course.code}": 1}
    session.commit()

    # Assigning the course again by hand ends it too: once that certification lapses, the rule applies again.
    manage_assignments(session, "withdraw", course, select(User.id).where(User.id == officer.id),
                       reason="Withdrawn once more for the test", today=today)
    session.commit()
    assert apply_standing_rules(session, today) == {}
    assign_course(session, course, select(User.id).where(User.id == officer.id), today + timedelta(days=10), today,
                  reason="individual")
    record_completion(session, officer, course, today, version_id=None, score=90, source="import")
    session.commit()
    assert apply_standing_rules(session, today + timedelta(days=400)) == {f"{unit.code}:{course.code}": 1}


def test_other_officers_of_the_unit_are_still_assigned(session, course, org, officer):
    from training.assignments.manage import manage_assignments
    from training.assignments.service import apply_standing_rules
    agency, unit = org
    today = date.today()
    create_standing_rule(session, unit, course, 30, today, actor_id=None)
    manage_assignments(session, "withdraw", course, select(User.id).where(User.id == officer.id),
                       reason="On long-term leave", today=today)
    make_user(session, "newcomer@agency.test", agency=agency, unit=unit)
    session.commit()
    assert apply_standing_rules(session, today) == {f"{unit.code}:{course.code}": 1}
    assert _open(session, officer, course) is None
