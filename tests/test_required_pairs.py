"""The pairs table (RequiredPair) the compliance dashboard counts is kept exact by the database itself: after
every kind of write, through whichever code path, its rows equal the facts recomputed from the records; its
statuses equal the roster's on every day, past or future; the migration back-fills it and goes back down.

The world is tests/support/roster_world.py."""
from __future__ import annotations

import threading
from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import delete, insert, select, text, update
from sqlalchemy.orm import Session

import config
from tests.support.databases import committed_database, on_postgresql
from tests.support.factories import make_org, make_user, write_course
from tests.support.roster_world import build_world
from tests.support.waiting import wait_for
from training import create_app, migrate
from training.assignments.manage import manage_assignments
from training.assignments.service import assign_course, create_standing_rule, grant_exemption
from training.catalog.models import Course
from training.catalog.service import sync_courses
from training.db import make_engine
from training.people.models import User
from training.records.models import Assignment, Completion, Exemption, RequiredPair
from training.records.proof import revoke
from training.records.rules import certification_status
from training.records.status import course_states, pair_facts_query, status_expression

FACTS = ("due_on", "expires_on", "last_completed_on", "last_revoked_on", "exemptions", "exempt_starts_on",
         "exempt_ends_on", "settles_on")


@pytest.fixture
def world(session, course):
    return build_world(session, course)


def recomputed(session) -> dict[tuple[int, int], tuple]:
    """Each pair's facts, worked out in Python from the assignment, completion and exemption rows."""
    pairs: dict[tuple[int, int], dict] = {}

    def pair(row) -> dict:
        return pairs.setdefault((row.user_id, row.course_id), {
            "due_on": None, "expires_on": None, "last_completed_on": None, "last_revoked_on": None,
            "exemptions": 0, "exempt_starts_on": None, "exempt_ends_on": None, "valid": []})

    for a in session.scalars(select(Assignment)):
        if a.closed_at is None:
            pair(a)["due_on"] = a.due_on
        else:
            pair(a)
    for c in session.scalars(select(Completion)):
        facts = pair(c)
        facts["last_completed_on"] = max(filter(None, (facts["last_completed_on"], c.completed_on)))
        if c.revoked_on is not None:
            facts["last_revoked_on"] = max(filter(None, (facts["last_revoked_on"], c.revoked_on)))
        else:
            facts["valid"].append(c)
    for e in session.scalars(select(Exemption)):
        facts = pair(e)
        facts["exemptions"] += 1
        facts["exempt_starts_on"] = min(filter(None, (facts["exempt_starts_on"], e.starts_on)))
        facts["exempt_ends_on"] = max(filter(None, (facts["exempt_ends_on"], e.ends_on)))
    for facts in pairs.values():
        latest = max(facts.pop("valid"), key=lambda c: (c.completed_on, c.id), default=None)
        facts["expires_on"] = latest.expires_on if latest else None
        days = [facts["last_completed_on"], facts["last_revoked_on"],
                facts["exempt_ends_on"] if facts["exemptions"] > 1 else None]
        facts["settles_on"] = max(filter(None, days), default=None)
    return {key: tuple(facts[f] for f in FACTS) for key, facts in pairs.items()}


def from_records(session, on: date) -> dict[tuple[int, int], tuple]:
    """Each pair's status on `on` and the roster's dates and score, worked out in Python from the records of the
    active officers and modules: today's open assignment, the latest completion on `on` not revoked by then,
    the latest end of an exemption lasting through `on`."""
    officers = set(session.scalars(select(User.id).where(User.active.is_(True))))
    modules = set(session.scalars(select(Course.id).where(Course.active.is_(True))))
    pairs: dict[tuple[int, int], dict] = {}

    def pair(row) -> dict | None:
        if row.user_id not in officers or row.course_id not in modules:
            return None
        return pairs.setdefault((row.user_id, row.course_id), {"due_on": None, "valid": [], "exempt_until": None})

    for a in session.scalars(select(Assignment)):
        if (facts := pair(a)) is not None and a.closed_at is None:
            facts["due_on"] = a.due_on
    for c in session.scalars(select(Completion)):
        if (facts := pair(c)) is not None and c.completed_on <= on and (c.revoked_on is None or c.revoked_on > on):
            facts["valid"].append(c)
    for e in session.scalars(select(Exemption)):
        if (facts := pair(e)) is not None and e.starts_on <= on <= e.ends_on:
            facts["exempt_until"] = max(filter(None, (facts["exempt_until"], e.ends_on)))
    states = {}
    for key, facts in pairs.items():
        latest = max(facts["valid"], key=lambda c: (c.completed_on, c.id), default=None)
        expires_on = latest and latest.expires_on
        status = certification_status(on, expires_on=expires_on, open_due_on=facts["due_on"],
                                      exempt=facts["exempt_until"] is not None)
        states[key] = (status, facts["due_on"], latest and latest.completed_on, latest and latest.score,
                       expires_on, facts["exempt_until"])
    return states


def stored(session) -> dict[tuple[int, int], tuple]:
    session.flush()
    return {(row.user_id, row.course_id): tuple(getattr(row, f) for f in FACTS)
            for row in session.scalars(select(RequiredPair))}


def course_of(session, code: str) -> Course:
    return session.scalar(select(Course).where(Course.code == code))


def import_completions(session, world, course, runner, tmp_path):
    """Bulk Core inserts of completions (and the executemany that closes the assignments they fulfil)."""
    path = tmp_path / "completions.csv"
    path.write_text("employee_id,course_code,completed_on,score\n"
                    f"A-3,TEST-BASICS,{world.today.isoformat()},90\n"
                    f"A-1,FIRST-AID,{(world.today - timedelta(days=1)).isoformat()},85\n", encoding="utf-8")
    result = runner.invoke(args=["completions", "import", str(path)])
    assert result.exit_code == 0 and "2 completions" in result.output, result.output


def bulk_insert(session, world, course, **_):
    """One executemany adding several completions of one pair (the older one last) and of another."""
    t, cy, di = world.today, world.users["cy"].id, world.users["di"].id
    rows = [(cy, 3, 368), (cy, 40, 330), (di, 1, 360)]
    session.execute(insert(Completion), [
        {"user_id": u, "course_id": course.id, "completed_on": t - timedelta(days=ago),
         "expires_on": t + timedelta(days=left), "source": "import"} for u, ago, left in rows])


def insert_open_and_closed(session, world, course, **_):
    """One executemany, as the sweep's renewals and an import of history write them: open assignments for a pair
    with completions and for a pair with no record yet, and closed ones beside an open one and on a new pair."""
    t, aid = world.today, course_of(session, "FIRST-AID").id
    ada, bo, di, ed = (world.users[name].id for name in ("ada", "bo", "di", "ed"))
    closed = datetime(2025, 6, 1)
    session.execute(insert(Assignment), [
        {"user_id": ada, "course_id": course.id, "due_on": t + timedelta(days=200), "reason": "annual_renewal"},
        {"user_id": di, "course_id": aid, "due_on": t + timedelta(days=30), "reason": "individual"},
        {"user_id": bo, "course_id": course.id, "due_on": t - timedelta(days=400), "reason": "unit",
         "closed_at": closed},
        {"user_id": ed, "course_id": aid, "due_on": t - timedelta(days=300), "reason": "unit", "closed_at": closed}])


def revoke_latest(session, world, course, **_):
    """Ada's latest TEST-BASICS completion is revoked: the older one (expired) becomes her latest valid one."""
    latest = session.scalar(select(Completion).where(Completion.user_id == world.users["ada"].id,
                                                     Completion.course_id == course.id)
                            .order_by(Completion.completed_on.desc()).limit(1))
    revoke(session, latest, world.users["compliance_a"], "Recorded for the wrong officer")


def withdraw(session, world, course, **_):
    manage_assignments(session, "withdraw", course, select(User.id).where(User.id == world.users["cy"].id),
                       reason="Left the programme", today=world.today, actor_id=world.users["coordinator_a"].id)


def extend(session, world, course, **_):
    manage_assignments(session, "extend", course, select(User.id).where(User.id == world.users["cy"].id),
                       reason="Court duty", today=world.today, due_on=world.today + timedelta(days=20),
                       actor_id=world.users["coordinator_a"].id)


def set_due(session, world, course, **_):
    manage_assignments(session, "set_due", course, select(User.id).where(User.id == world.users["bo"].id),
                       reason="Typo in the date", today=world.today, due_on=world.today + timedelta(days=3),
                       actor_id=world.users["coordinator_a"].id)


def second_exemption(session, world, course, **_):
    """Ed gets a second exemption, after the first one ends."""
    grant_exemption(session, world.users["ed"].id, course.id, world.today + timedelta(days=40),
                    world.today + timedelta(days=50), "Medical leave", actor_id=None)


def standing_rule(session, world, **_):
    """A standing rule's INSERT ... SELECT assigns First Aid to the unit's officers."""
    create_standing_rule(session, world.units["u1"], course_of(session, "FIRST-AID"), 30, world.today,
                         actor_id=world.users["coordinator_a"].id)


def assign_to_unit(session, world, **_):
    result = assign_course(session, course_of(session, "FIRST-AID"),
                           select(User.id).where(User.unit_id == world.units["u2"].id),
                           world.today + timedelta(days=30), world.today, reason="unit", actor_id=None)
    assert result.assigned


def deactivate_and_delete(session, world, course, **_):
    """An officer is deactivated (the pair stays: its records do) and a pair loses its only record."""
    session.execute(update(User).where(User.id == world.users["bo"].id).values(active=False))
    session.execute(delete(Exemption).where(Exemption.user_id == world.users["ed"].id))


def move_records(session, world, course, **_):
    """A completion recorded for the wrong officer is moved to the right one, and an exemption to another module;
    Cy's assignment is closed by a direct update."""
    fay, di = world.users["fay"].id, world.users["di"].id
    session.execute(update(Completion).where(Completion.user_id == fay).values(user_id=di))
    session.execute(update(Exemption).where(Exemption.user_id == world.users["ed"].id)
                    .values(course_id=course_of(session, "FIRST-AID").id))
    session.execute(update(Assignment).where(Assignment.user_id == world.users["cy"].id)
                    .values(closed_at=datetime(2026, 1, 1)))


WRITES = [import_completions, bulk_insert, insert_open_and_closed, revoke_latest, withdraw, extend, set_due,
          second_exemption, standing_rule, assign_to_unit, deactivate_and_delete, move_records]


@pytest.mark.parametrize("write", WRITES, ids=[w.__name__ for w in WRITES])
def test_every_write_keeps_the_pairs_exact(write, session, world, course, runner, tmp_path):
    before = stored(session)
    assert before == recomputed(session)
    write(session=session, world=world, course=course, runner=runner, tmp_path=tmp_path)
    session.commit()
    after = stored(session)
    assert after == recomputed(session)
    assert after != before or write is deactivate_and_delete


def test_a_pair_goes_with_its_last_record_and_comes_back_with_the_next(session, world, course):
    ed = world.users["ed"].id
    session.execute(delete(Exemption).where(Exemption.user_id == ed))
    assert (ed, course.id) not in stored(session)
    session.add(Assignment(user_id=ed, course_id=course.id, due_on=world.today, reason="individual"))
    assert stored(session)[(ed, course.id)][0] == world.today


def test_the_statuses_equal_the_roster_on_every_day(session, world, course):
    """Days before, between and after every record: completions made or revoked after the day, and several
    exemptions, are read from the records, like the roster does."""
    t, ed, ada = world.today, world.users["ed"].id, world.users["ada"].id
    # Ed: a second exemption later on; Ada: her latest completion revoked from T+5.
    session.add(Exemption(user_id=ed, course_id=course.id, starts_on=t + timedelta(days=60),
                          ends_on=t + timedelta(days=70), reason="Second"))
    latest = session.scalar(select(Completion).where(Completion.user_id == ada, Completion.course_id == course.id)
                            .order_by(Completion.completed_on.desc()).limit(1))
    latest.revoked_on = t + timedelta(days=5)
    session.commit()
    days = sorted({t + timedelta(days=n + edge) for n in (-465, -400, -350, -300, -200, -150, -100, -35, -10, -5,
                                                          0, 5, 10, 15, 30, 60, 70, 215, 265, 355)
                   for edge in (-1, 0, 1)})
    seen = set()
    for on in days:
        facts = pair_facts_query(on).subquery()
        counted = {(u, c): s for u, c, s in session.execute(
            select(facts.c.user_id, facts.c.course_id,
                   status_expression(on, facts.c.expires_on, facts.c.due_on, facts.c.exempt_until)))}
        states = list(course_states(session, on))
        roster = {(s.user_id, s.course_id): s.status for s in states}
        assert counted == roster, on
        assert {(s.user_id, s.course_id): (s.status, s.due_on, s.completed_on, s.score, s.expires_on,
                                           s.exempt_until) for s in states} == from_records(session, on), on
        seen |= set(roster.values())
    assert seen >= {"exempt", "current", "expiring", "overdue", "lapsed", "assigned"}


def test_upgrade_back_fills_the_pairs_and_downgrade_removes_them(tmp_path):
    with committed_database(tmp_path, "migration_required_pairs") as url:
        app = create_app(config.TestConfig, DATABASE_URL=url)
        migrate.upgrade(app, "c5e8a2f47d19")
        engine = make_engine(url)
        meta = sa.MetaData()
        tables = {name: sa.Table(name, meta, autoload_with=engine)
                  for name in ("users", "courses", "assignments", "completions", "exemptions")}
        at = datetime(2026, 1, 1)
        try:
            with engine.begin() as conn:
                conn.execute(tables["users"].insert(), [
                    {"id": n, "email": f"u{n}@x.test", "role": "officer", "first_name": "A", "last_name": "B",
                     "active": True, "created_at": at} for n in (1, 2, 3)])
                conn.execute(tables["courses"].insert(), [
                    {"id": 1, "code": "C", "title": "T", "summary": "S", "recurrence_months": 12,
                     "renewal_window_days": 60, "renew_from_expiry": True, "current_version": 1, "active": True}])
                for code, completed_on, revoked_on in (("A", date(2025, 1, 1), None),
                                                       ("B", date(2025, 6, 1), date(2025, 7, 1))):
                    conn.execute(tables["completions"].insert().values(
                        user_id=1, course_id=1, completed_on=completed_on,
                        expires_on=completed_on.replace(year=2026), source="import", created_at=at,
                        verification_code=code * 16, revoked_on=revoked_on))
                conn.execute(tables["assignments"].insert(), [
                    {"user_id": 2, "course_id": 1, "due_on": date(2026, 2, 1), "reason": "individual",
                     "created_at": at}])
                conn.execute(tables["exemptions"].insert(), [
                    {"user_id": 3, "course_id": 1, "starts_on": date(2026, 1, 1), "ends_on": date(2026, 3, 1),
                     "reason": "Leave", "created_at": at}])
            migrate.upgrade(app)
            pairs = sa.Table("required_pairs", sa.MetaData(), autoload_with=engine)
            with engine.connect() as conn:
                rows = conn.execute(select(pairs.c.user_id, *(pairs.c[f] for f in FACTS)).order_by(pairs.c.user_id))
            assert [tuple(r) for r in rows] == [
                (1, None, date(2026, 1, 1), date(2025, 6, 1), date(2025, 7, 1), 0, None, None, date(2025, 7, 1)),
                (2, date(2026, 2, 1), None, None, None, 0, None, None, None),
                (3, None, None, None, None, 1, date(2026, 1, 1), date(2026, 3, 1), None)]
            migrate.downgrade(app, "c5e8a2f47d19")
            with engine.begin() as conn:
                assert "required_pairs" not in sa.inspect(conn).get_table_names()
                # Writes work without the triggers' table.
                conn.execute(tables["assignments"].insert(), [
                    {"user_id": 3, "course_id": 1, "due_on": date(2026, 4, 1), "reason": "individual",
                     "created_at": at}])
            migrate.upgrade(app)
            with engine.connect() as conn:
                assert conn.execute(select(pairs.c.due_on).where(pairs.c.user_id == 3)).scalar() == date(2026, 4, 1)
        finally:
            engine.dispose()
            app.extensions["db_engine"].dispose()


def waiting_for_a_lock(engine, pid: int) -> bool:
    with engine.connect() as conn:
        return bool(conn.scalar(text("SELECT count(*) FROM pg_locks WHERE pid = :pid AND NOT granted"), {"pid": pid}))


@pytest.mark.postgresql
@pytest.mark.skipif(not on_postgresql(), reason="two writers at once: the PostgreSQL pass")
def test_two_writers_of_one_pair_leave_the_facts_of_both(tmp_path):
    """While one transaction has added a completion of a pair and not yet committed, another adds an older one:
    the second waits for the first and then reads its row, so the pair holds the latest completion's expiry, not
    the one the second transaction saw when it began."""
    with committed_database(tmp_path, "two_writers_of_a_pair") as url:
        courses, quizzes = write_course(tmp_path / "content")
        app = create_app(config.TestConfig, DATABASE_URL=url)
        migrate.upgrade(app)
        engine = make_engine(url)
        try:
            with Session(engine) as session:
                sync_courses(session, courses, quizzes)
                agency, unit = make_org(session)
                officer = make_user(session, "pat@agency.test", agency=agency, unit=unit)
                course = course_of(session, "TEST-BASICS")
                # The pair exists before either writer starts, so neither waits to make it.
                session.add(Exemption(user_id=officer.id, course_id=course.id, starts_on=date(2024, 1, 1),
                                      ends_on=date(2024, 2, 1), reason="Leave"))
                session.commit()
                pair = {"user_id": officer.id, "course_id": course.id, "source": "import"}

            def completion(on: date) -> dict:
                return {**pair, "completed_on": on, "expires_on": on.replace(year=on.year + 1)}

            failures = []
            with engine.connect() as first, engine.connect() as second:
                second.execute(text("SET lock_timeout = '30s'"))
                second_pid = second.scalar(text("SELECT pg_backend_pid()"))
                second.commit()
                first.execute(insert(Completion).values(completion(date(2026, 3, 1))))

                def add_older():
                    try:
                        second.execute(insert(Completion).values(completion(date(2025, 3, 1))))
                        second.commit()
                    except Exception as exc:   # reported by the test, not lost in the thread
                        failures.append(exc)

                writer = threading.Thread(target=add_older)
                writer.start()
                try:
                    wait_for(lambda: waiting_for_a_lock(engine, second_pid), 10, "the second writer to wait")
                    first.commit()
                finally:
                    first.rollback()   # the first writer's locks go, committed or not
                    writer.join(30)
                assert not writer.is_alive() and failures == []
            with Session(engine) as session:
                row = session.get(RequiredPair, (pair["user_id"], pair["course_id"]))
                assert (row.expires_on, row.last_completed_on, row.exemptions) == (
                    date(2027, 3, 1), date(2026, 3, 1), 1)
        finally:
            engine.dispose()
