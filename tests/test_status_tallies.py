"""The compliance dashboard's tallies (training/reports/tallies.py): counted ahead by the tally job, read by the
dashboard for the cells no write has touched since, and the touched cells counted from the records until the job
counts them again. tests/test_dashboard_live.py checks the figures against the roster after each kind of change
with the tallies counted; here, that the tallies are what the dashboard reads, and the marks the writes leave."""
from __future__ import annotations

import csv
import io
import re
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, insert, select, text, update

from tests.support.databases import on_postgresql
from tests.support.factories import make_user
from tests.support.pages import login
from tests.support.roster_world import build_world
from training.assignments.service import grant_exemption
from training.catalog.models import Course
from training.clock import local_days
from training.jobs import count_tallies
from training.people.models import User
from training.records.models import Acknowledgement, Assignment, Completion
from training.reports.models import AgencyTally, StatusTally, TallyDay, TallyMark, UnitTally


@pytest.fixture
def world(session, course):
    return build_world(session, course)


def compliance_csv(client) -> Counter:
    """The administrator's compliance CSV: count by (agency, unit, module, status)."""
    client.post("/logout")
    assert login(client, "admin@x.test").status_code == 302
    text = client.get("/reports/compliance.csv").get_data(as_text=True).removeprefix("\ufeff")
    return Counter({tuple(line[:4]): int(line[4]) for line in list(csv.reader(io.StringIO(text)))[1:]})


def required_modules(client) -> int:
    """The administrator's dashboard: the number of required modules it shows overall."""
    page = client.get("/reports/compliance").get_data(as_text=True)
    return int(re.search(r"<li>(\d+) required modules?</li>", page).group(1))


def marks(session) -> set[tuple[int, int]]:
    session.expire_all()
    return set(session.execute(select(TallyMark.agency_key, TallyMark.unit_key)))


def test_the_dashboard_reads_the_tallies_and_counts_touched_cells_from_the_records(app, client, session, world,
                                                                                  course):
    truth = compliance_csv(client)
    counts = count_tallies(app)
    assert counts["agency days counted"] == 2 * (2 + 1)   # today and tomorrow, for two agencies and for no agency
    assert session.scalar(select(func.count()).select_from(StatusTally)) > 0 and not marks(session)
    assert compliance_csv(client) == truth
    total = required_modules(client)
    # Tallies altered behind the job's back show: the CSV and the page read them.
    for model in (StatusTally, UnitTally, AgencyTally):
        session.execute(update(model).values(pairs=model.pairs + 100))
    session.commit()
    altered = compliance_csv(client)
    assert altered == Counter({key: n + 100 for key, n in truth.items()})
    today = [UnitTally.day == min(day.on for day in local_days(session))]
    assert required_modules(client) == total + 100 * session.scalar(
        select(func.count()).select_from(UnitTally).where(*today))
    # Cy (AAA-U2) is exempted: that cell is counted from the records at once, the others still read their tallies.
    cy = world.users["cy"]
    grant_exemption(session, cy.id, course.id, world.today, world.today + timedelta(days=10), "Court duty",
                    actor_id=world.users["coordinator_a"].id, max_days=90)
    session.commit()
    assert marks(session) == {(cy.agency_id, cy.unit_id)}
    now = compliance_csv(client)
    assert now[("AAA", "AAA-U2", course.code, "exempt")] == 1 and ("AAA", "AAA-U2", course.code, "overdue") not in now
    assert all(n == altered[key] for key, n in now.items() if key[1] != "AAA-U2")
    # The job counts the marked cell again (and only it), and forgets the mark.
    assert count_tallies(app)["agency days counted"] == 0
    assert not marks(session)
    assert compliance_csv(client) == now


def test_each_kind_of_write_marks_the_officers_cell(app, session, world, course):
    count_tallies(app)
    ada, bo, di = world.users["ada"], world.users["bo"], world.users["di"]
    version = course.versions[-1]
    writes = [
        (lambda: session.add(Assignment(user_id=di.id, course_id=course.id, due_on=world.today, reason="individual")),
         {(di.agency_id, di.unit_id)}),
        (lambda: session.execute(update(Completion).where(Completion.user_id == ada.id).values(
            revoked_on=world.today, revoked_reason="wrong officer")), {(ada.agency_id, ada.unit_id)}),
        (lambda: session.add(Acknowledgement(user_id=bo.id, course_id=course.id, version_id=version.id,
                                             version_number=version.number, kind="module", name="Bo Bee",
                                             acknowledged_on=world.today)), {(bo.agency_id, bo.unit_id)}),
        # Ada moves to AAA-U2: both her old and her new cell.
        (lambda: setattr(ada, "unit_id", world.units["u2"].id),
         {(ada.agency_id, world.units["u1"].id), (ada.agency_id, world.units["u2"].id)}),
        (lambda: setattr(di, "active", False), {(di.agency_id, di.unit_id)}),
    ]
    for write, cells in writes:
        write()
        session.commit()
        assert marks(session) == cells
        session.execute(TallyMark.__table__.delete())
        session.commit()
    # A module switched off changes every cell.
    session.execute(update(Course).where(Course.id == course.id).values(active=False))
    session.commit()
    placed = {(a or 0, u or 0) for a, u in session.execute(select(User.agency_id, User.unit_id))}
    assert marks(session) == placed


def test_a_bulk_write_marks_its_cells(app, session, world, course):
    """A thousand assignments in one insert mark their one cell; on PostgreSQL, whose triggers run once per
    statement, with one mark, not one per row."""
    unit = world.units["u2"]
    ids = [make_user(session, f"bulk{n}@a.test", agency=unit.agency, unit=unit, employee_id=f"BK-{n}").id
           for n in range(1000)]
    session.commit()
    count_tallies(app)
    session.execute(insert(Assignment), [{"user_id": i, "course_id": course.id, "due_on": world.today,
                                          "reason": "individual"} for i in ids])
    session.commit()
    assert marks(session) == {(unit.agency_id, unit.id)}
    if session.get_bind().dialect.name == "postgresql":
        assert session.scalar(select(func.count()).select_from(TallyMark)) == 1


def test_the_job_counts_each_agencys_day_and_the_next_and_forgets_days_gone(app, session, world, monkeypatch):
    count_tallies(app)
    days = {day.on for day in local_days(session)}
    kept = set(session.scalars(select(TallyDay.day).distinct()))
    assert kept == days | {d + timedelta(days=1) for d in days}
    earlier = min(days) - timedelta(days=3)
    session.add(TallyDay(day=earlier, agency_key=0))
    session.commit()
    count_tallies(app)
    assert earlier not in set(session.scalars(select(TallyDay.day).distinct()))


@pytest.mark.postgresql
@pytest.mark.skipif(not on_postgresql(), reason="the planner's statistics: the PostgreSQL pass")
def test_the_job_leaves_the_planner_statistics_of_what_it_wrote(app, session, world):
    """A request after the job is planned on the tallies it counted and the marks it left (none), not on what
    autovacuum last sampled: with many marks in the statistics and no tallies of the day in them, the dashboard
    tested each tally of a large agency's day against the marks (188 ms of a 300,000-officer agency's page)."""
    di = world.users["di"]
    session.execute(insert(TallyMark), [{"agency_key": di.agency_id, "unit_key": di.unit_id}] * 2000)
    session.execute(text("ANALYZE tally_marks"))
    session.commit()

    def estimated() -> dict[str, float]:
        return dict(session.execute(text("SELECT relname, reltuples FROM pg_class WHERE relname IN "
                                         "('status_tallies', 'unit_tallies', 'tally_marks')")).all())

    assert estimated()["tally_marks"] == session.scalar(select(func.count()).select_from(TallyMark)) >= 2000
    assert count_tallies(app)["agency days counted"] > 0
    rows = {name: session.scalar(select(func.count()).select_from(model))
            for name, model in (("status_tallies", StatusTally), ("unit_tallies", UnitTally))}
    assert min(rows.values()) > 0
    assert estimated() == {**rows, "tally_marks": 0}
    # A later run with marks to read leaves the marks' statistics empty again.
    session.execute(insert(TallyMark), [{"agency_key": di.agency_id, "unit_key": di.unit_id}] * 500)
    session.execute(text("ANALYZE tally_marks"))
    session.commit()
    assert count_tallies(app)["changes counted again"] == 500
    assert estimated()["tally_marks"] == 0
