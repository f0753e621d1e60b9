"""Escalation digests as a delivery writes them, a batch at a time: each recipient's list is the officers' course
states overdue by the role's step, supervisors read together each get only their own officers, a long list is cut
with its count, and a batch's statements do not grow with its supervisors."""
from datetime import date, timedelta

import pytest
from sqlalchemy import select, update

from tests.support.factories import add_unit, make_user
from tests.support.statements import count_statements
from training.access import scope_filter
from training.db import utcnow
from training.demo.scale import seed_scale
from training.people.models import Agency, Unit, User
from training.records.models import Assignment
from training.records.status import course_states
from training.reminders import compose
from training.reminders.compose import Composer
from training.reminders.models import OutboxMessage
from training.reminders.rules import DEFAULT_ESCALATIONS

TODAY = date(2026, 12, 1)
STEP = {role: days for days, role in DEFAULT_ESCALATIONS}


@pytest.fixture
def people(session) -> dict[str, list[User]]:
    """An agency-scale organisation of 400 officers, many of them overdue, three certified officers each overdue
    with a policy update, and a coordinator of one unit: its supervisors and coordinators."""
    seed_scale(session, TODAY, 400, "x", seed=11)
    unit = session.scalar(select(Unit).where(Unit.id.not_in(select(Unit.parent_id).where(Unit.parent_id.is_not(None))))
                          .order_by(Unit.id).limit(1))
    agency = session.get(Agency, unit.agency_id)
    make_user(session, "unit@demo.test", role="coordinator", agency=agency, employee_id="UC1", scope_unit_id=unit.id)
    # Half the unit's officers move to a new unit beside it, outside that coordinator's scope.
    beside = add_unit(session, agency, f"{agency.code}-BESIDE", session.get(Unit, unit.parent_id))
    session.execute(update(User).where(User.unit_id == unit.id, User.id % 2 == 0).values(unit_id=beside.id))
    certified = [s for s in course_states(session, TODAY, User.supervisor_id.is_not(None))
                 if s.status in ("current", "expiring") and s.due_on is None][:3]
    session.add_all(Assignment(user_id=s.user_id, course_id=s.course_id, due_on=TODAY - timedelta(days=20 + n),
                               reason="policy_update") for n, s in enumerate(certified))
    session.commit()
    return {role: list(session.scalars(select(User).where(User.id.in_(select(User.supervisor_id))
                                                           if role == "supervisor" else User.role == role)
                                       .order_by(User.id)))
            for role in ("supervisor", "coordinator")}


def digests(session, recipients: list[User], role: str) -> list[OutboxMessage]:
    rows = [OutboxMessage(key=f"escalation:{role}:{user.id}:{TODAY}", kind=f"escalation-{role}", user_id=user.id,
                          decided_on=TODAY, status="pending", attempts=0, created_at=utcnow())
            for user in recipients]
    session.add_all(rows)
    session.flush()
    return rows


def write(app, session, rows: list[OutboxMessage]) -> dict:
    with app.app_context():
        return Composer(session, app.jinja_env, app.config, TODAY).letters(rows)


def lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("- ")]


def expected(session, recipient: User, role: str) -> list[str]:
    """The digest's lines from the officers' course states, as each officer's own page reads them."""
    care = [User.supervisor_id == recipient.id] if role == "supervisor" else scope_filter(session, recipient)
    found = [(s, (TODAY - s.due_on).days) for s in course_states(session, TODAY, *care)
             if s.status in ("overdue", "current", "expiring") and s.due_on is not None
             and (TODAY - s.due_on).days >= STEP[role]]
    found.sort(key=lambda pair: (-pair[1], pair[0].last_name, pair[0].first_name))
    return [f"- {s.last_name}, {s.first_name} ({s.employee_id}, {s.unit_code}): {s.course_title}, due "
            f"{s.due_on.isoformat()}, {days} day{'' if days == 1 else 's'} overdue" for s, days in found]


def test_each_digest_lists_its_recipients_overdue_officers_and_no_one_else(app, session, people):
    supervisors, coordinators = people["supervisor"], people["coordinator"]
    assert len(supervisors) > 10 and coordinators
    rows = digests(session, supervisors, "supervisor") + digests(session, coordinators, "coordinator")
    letters = write(app, session, rows)
    listed = 0
    for row in rows:
        role = row.kind.removeprefix("escalation-")
        recipient = session.get(User, row.user_id)
        want = expected(session, recipient, role)
        letter = letters[row.id]
        if not want:
            assert letter is None, recipient.email
            continue
        assert letter.to == recipient.email
        assert lines(letter.text) == want[:compose.DIGEST_LIMIT], recipient.email
        assert letter.subject.startswith(f"Rollcall: {len(want):,} overdue training record")
        listed += len(want)
    assert listed > 100, "the organisation has officers overdue for every role to list"
    unit = next(c for c in coordinators if c.scope_unit_id is not None)
    agency = next(c for c in coordinators if c.scope_unit_id is None and c.agency_id == unit.agency_id)
    told = {letter.to: lines(letter.text) for letter in letters.values() if letter is not None}
    assert 0 < len(told[unit.email]) < len(told[agency.email]), "the unit's coordinator is told of the unit only"


def test_a_long_digest_lists_the_longest_overdue_and_counts_the_rest(app, session, people, monkeypatch):
    coordinator = people["coordinator"][0]
    want = expected(session, coordinator, "coordinator")
    assert len(want) > 5
    monkeypatch.setattr(compose, "DIGEST_LIMIT", 5)
    (letter,) = write(app, session, digests(session, [coordinator], "coordinator")).values()
    assert lines(letter.text) == want[:5]
    assert f"... and {len(want) - 5} more." in letter.text and f"and {len(want) - 5} more." in letter.html
    assert letter.subject == f"Rollcall: {len(want):,} overdue training records in your units"


def test_a_batch_of_supervisors_digests_costs_the_same_statements_for_2_as_for_all(app, session, people,
                                                                                   connection):
    supervisors = people["supervisor"]
    few, many = digests(session, supervisors[:2], "supervisor"), digests(session, supervisors[2:], "supervisor")
    assert count_statements(connection, lambda: write(app, session, few)) == count_statements(
        connection, lambda: write(app, session, many))

