"""The daily renewal pass: which certifications get a renewal assignment, due when, once, and after missed days."""
from datetime import date, timedelta

from sqlalchemy import select, update

from training.assignments.service import create_renewal_assignments
from training.records.models import Assignment, Completion, Exemption

ON = date(2026, 11, 27)


def certify(session, officer, course, completed_on: date, expires_on: date, revoked_on: date | None = None):
    session.add(Completion(user_id=officer.id, course_id=course.id, completed_on=completed_on, expires_on=expires_on,
                           revoked_on=revoked_on, score=90, source="import"))
    session.flush()


def renewals(session) -> list[tuple[int, date]]:
    return list(session.execute(select(Assignment.user_id, Assignment.due_on)
                                .where(Assignment.reason == "annual_renewal").order_by(Assignment.id)).all())


def test_a_renewal_is_made_when_the_window_opens_and_only_once(session, officer, course):
    window = course.renewal_window_days
    certify(session, officer, course, date(2025, 12, 1), ON + timedelta(days=window + 1))
    assert create_renewal_assignments(session, ON) == {}
    assert create_renewal_assignments(session, ON + timedelta(days=1)) == {course.code: 1}
    assert create_renewal_assignments(session, ON + timedelta(days=2)) == {}
    assert renewals(session) == [(officer.id, ON + timedelta(days=window + 1))]


def test_days_the_pass_missed_are_caught_up_by_the_next_run(session, officer, course):
    certify(session, officer, course, date(2024, 1, 10), date(2025, 1, 10))   # its window opened long ago
    assert create_renewal_assignments(session, ON) == {course.code: 1}
    assert renewals(session) == [(officer.id, date(2025, 1, 10))]


def test_the_renewal_is_due_on_the_latest_expiry_of_the_valid_certifications(session, officer, course):
    # The latest completion expires before an earlier one (a shorter validity); a revoked one does not count.
    certify(session, officer, course, date(2025, 1, 5), ON + timedelta(days=20))
    certify(session, officer, course, date(2025, 6, 5), ON - timedelta(days=100))
    certify(session, officer, course, date(2025, 7, 5), ON + timedelta(days=300), revoked_on=date(2025, 8, 1))
    assert create_renewal_assignments(session, ON) == {course.code: 1}
    assert renewals(session) == [(officer.id, ON + timedelta(days=20))]


def test_no_renewal_beside_an_open_assignment_or_during_an_exemption(session, officer, course):
    certify(session, officer, course, date(2024, 1, 10), date(2025, 1, 10))
    session.add(Assignment(user_id=officer.id, course_id=course.id, due_on=ON + timedelta(days=5), reason="unit"))
    session.add(Exemption(user_id=officer.id, course_id=course.id, starts_on=ON, ends_on=ON + timedelta(days=9),
                          reason="leave"))
    session.flush()
    assert create_renewal_assignments(session, ON) == {}
    session.execute(update(Assignment).values(closed_at=ON))     # withdrawn: the exemption still holds
    assert create_renewal_assignments(session, ON) == {}
    assert create_renewal_assignments(session, ON + timedelta(days=10)) == {course.code: 1}
    assert renewals(session) == [(officer.id, date(2025, 1, 10))]


def test_a_renewal_is_made_between_two_exemptions_and_not_during_either(session, officer, course):
    # Leave last month and again next month: the officer is renewed in the weeks between, whatever the
    # earliest start and the latest end of their exemptions taken together.
    certify(session, officer, course, date(2024, 1, 10), date(2025, 1, 10))
    session.add_all([Exemption(user_id=officer.id, course_id=course.id, starts_on=ON - timedelta(days=40),
                               ends_on=ON - timedelta(days=10), reason="leave"),
                     Exemption(user_id=officer.id, course_id=course.id, starts_on=ON + timedelta(days=10),
                               ends_on=ON + timedelta(days=40), reason="leave")])
    session.flush()
    assert create_renewal_assignments(session, ON - timedelta(days=20)) == {}
    assert create_renewal_assignments(session, ON + timedelta(days=20)) == {}
    assert create_renewal_assignments(session, ON) == {course.code: 1}
    assert renewals(session) == [(officer.id, date(2025, 1, 10))]
