"""Indexes the daily passes rely on are the ones the database picks for the conditions the code writes."""
from sqlalchemy import select, text

from tests.support.factories import make_user
from training.people.models import User


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
