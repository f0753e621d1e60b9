"""Indexes the daily passes rely on are the ones the database picks for the conditions the code writes."""
from datetime import date

from sqlalchemy import select, text

from tests.support.factories import make_user
from training.assignments.service import renewal_candidates
from training.people.models import User
from training.records.models import Completion


def plan(session, statement) -> str:
    compiled = statement.compile(session.get_bind(), compile_kwargs={"literal_binds": True})
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL enable_seqscan = off"))
        return "\n".join(session.scalars(text(f"EXPLAIN {compiled}")))
    return "\n".join(row[-1] for row in session.execute(text(f"EXPLAIN QUERY PLAN {compiled}")))


def test_active_officers_are_read_from_their_own_index(session, org):
    agency, unit = org
    for n in range(30):
        make_user(session, f"o{n}@agency.test", agency=agency, unit=unit, active=n % 3 > 0)
    session.commit()
    # As the renewal pass joins its candidates to the active officers, in id order.
    shown = plan(session, select(User.id).where(User.active.is_(True)).order_by(User.id))
    assert "ix_users_active" in shown, shown


def test_the_renewal_pass_reads_each_officer_s_completions_from_their_index(session, org, course):
    agency, unit = org
    for n in range(30):
        officer = make_user(session, f"r{n}@agency.test", agency=agency, unit=unit)
        session.add(Completion(user_id=officer.id, course_id=course.id, completed_on=date(2025, 12, 1),
                               expires_on=date(2026, 12, 1), score=90, source="import"))
    session.commit()
    shown = plan(session, renewal_candidates(course.id, date(2026, 11, 1), date(2026, 12, 31)))
    # On PostgreSQL the expiry and revocation are in the index: no completion's row is read.
    expected = ("Index Only Scan using ix_completions_latest" if session.get_bind().dialect.name == "postgresql"
                else "ix_completions_latest")
    assert expected in shown, shown
