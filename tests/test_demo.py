"""The agency-scale demo organisation."""
from datetime import date

from sqlalchemy import func, select, text

from tests.support.factories import make_user
from training.demo.scale import AGENCIES, seed_scale
from training.people.models import Agency, Unit, User
from training.records.status import course_states


def test_scale_seed_builds_the_organisation_and_leaves_ids_for_new_rows(session, course):
    if session.get_bind().dialect.name == "postgresql":
        # As on a fresh database: the id sequences start at 1.
        for table in ("users", "units", "agencies"):
            session.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), 1, false)"))
    counts = seed_scale(session, date(2026, 6, 1), 300, "x", seed=2)
    assert counts["officers"] == 300
    assert session.scalar(select(func.count()).select_from(Agency)) == len(AGENCIES)
    depths = {path.count("/") - 1 for path in session.scalars(select(Unit.path))}
    assert depths == {1, 2, 3}
    staff = session.scalar(select(func.count()).select_from(User).where(User.role.in_(["coordinator", "compliance"])))
    assert staff == 2 * len(AGENCIES)
    statuses = {s.status for s in course_states(session, date(2026, 6, 1))}
    assert {"current", "expiring", "overdue", "lapsed", "assigned", "exempt"} <= statuses
    make_user(session, "after-seed@agency.test")   # new rows get fresh ids
    session.flush()
