"""The compliance dashboard: figures against known data, the trend against the as-of roster, charts and tables.

tests/test_dashboard_live.py checks that its figures equal the roster export after each kind of change."""
import re
from datetime import date, timedelta

import pytest
from sqlalchemy import Date, Integer, literal, select

from tests.support.pages import login, table_rows
from tests.support.roster_world import build_world
from training.audit.models import AuditEvent
from training.clock import today_for
from training.people.models import Agency, User
from training.records.rules import certification_status
from training.records.service import record_completion
from training.records.status import course_states, status_expression
from training.reports.dashboard import count_months, dashboard, month_ends, scope_of
from training.reports.models import ComplianceSnapshot as Snap


@pytest.fixture
def world(session, course):
    """The known records, with the month ends of the trend counted by the daily job."""
    built = build_world(session, course)
    count_months(session, built.today)
    session.commit()
    return built


def test_status_in_sql_matches_the_rule(session):
    on = date(2026, 3, 15)
    for expires in (None, on - timedelta(days=1), on, on + timedelta(days=30), on + timedelta(days=31)):
        for due in (None, on - timedelta(days=1), on, on + timedelta(days=1)):
            for exempt in (None, on + timedelta(days=5)):
                sql = session.scalar(select(status_expression(
                    on, literal(expires, Date), literal(due, Date), literal(exempt, Date))))
                assert sql == certification_status(on, expires_on=expires, open_due_on=due,
                                                   exempt=exempt is not None), (expires, due, exempt)


def test_figures_for_an_agency(client, world):
    login(client, "compliance@a.test")
    response = client.get("/reports/compliance")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "<strong>60.0%</strong> compliant" in page and "6 required modules" in page
    courses = table_rows(page, "courses-table")
    assert courses["Test TEST-BASICS"] == ["5", "2 (40.0%)", "1 (20.0%)", "1 (20.0%)", "0 (0.0%)", "0 (0.0%)",
                                           "1 (20.0%)", "75.0%"]
    assert courses["Tactical First Aid"] == ["1", "0 (0.0%)", "0 (0.0%)", "0 (0.0%)", "1 (100.0%)", "0 (0.0%)",
                                             "0 (0.0%)", "0.0%"]
    units = table_rows(page, "units-table")
    assert units["Unit one (AAA-U1)"][0] == "4" and units["Unit one (AAA-U1)"][-1] == "66.7%"
    assert units["Sub-unit (AAA-SUB)"][-1] == "100.0%" and units["Unit two (AAA-U2)"][-1] == "0.0%"
    assert table_rows(page, "expiring-table") == {"Within 30 days": ["1"], "Within 60 days": ["1"],
                                                  "Within 90 days": ["1"]}
    # The other agency's code and its officer's name, as words (a random CSRF token may hold any letters).
    assert not re.search(r"\bBBB\b|\bDi\b", page)


def test_charts_are_svg_images_paired_with_tables(client, world):
    login(client, "compliance@a.test")
    page = client.get("/reports/compliance").get_data(as_text=True)
    for chart in ("trend", "expiring", "courses"):
        assert f'role="img" aria-labelledby="{chart}-title {chart}-desc"' in page
        assert f'<title id="{chart}-title">' in page and f'id="{chart}-table"' in page
    assert "<polyline" in page and 'class="rc-fill--current"' in page
    assert len(table_rows(page, "trend-table")) == 12


def test_admin_sees_agencies_and_can_choose_one(client, world):
    login(client, "admin@x.test")
    page = client.get("/reports/compliance").get_data(as_text=True)
    agencies = table_rows(page, "agencies-table")
    assert agencies["AAA"][-1] == "60.0%" and agencies["BBB"] == ["1", "1 (100.0%)"] + ["0 (0.0%)"] * 5 + ["100.0%"]
    assert 'role="img" aria-labelledby="agencies-title agencies-desc"' in page
    assert "Choose an agency above to see its units" in page
    one = client.get("/reports/compliance?agency=BBB").get_data(as_text=True)
    assert "<strong>100.0%</strong> compliant" in one and "Unit one (BBB-U1)" in one


def test_scope_refusals(client, world):
    login(client, "compliance@b.test")
    assert client.get("/reports/compliance?agency=AAA").status_code == 403
    assert client.get("/reports/compliance?agency=NOPE").status_code == 404
    client.post("/logout")
    login(client, "ada@a.test")
    assert client.get("/reports/compliance").status_code == 403
    client.post("/logout")
    login(client, "coordinator@a.test")
    assert client.get("/reports/compliance").status_code == 200


def test_trend_matches_the_roster_as_of_each_month_end(session, world):
    aaa = world.users["ada"].agency_id
    where = [User.agency_id == aaa]
    figures = dashboard(session, scope_of(session, world.users["compliance_a"], [session.get(Agency, aaa)]))
    assert [day for day, _ in figures.trend] == month_ends(world.today)
    for day, rate in figures.trend:
        states = [s.status for s in course_states(session, day, *where, as_of=True)]
        valid = states.count("current") + states.count("expiring")
        counted = len(states) - states.count("exempt")
        assert rate == (round(100 * valid / counted, 1) if counted else None), day
    assert len({rate for _, rate in figures.trend}) > 1


def test_figures_change_at_the_next_page_load_and_month_ends_stay(client, session, world, course):
    login(client, "compliance@a.test")
    before = client.get("/reports/compliance").get_data(as_text=True)
    assert "<strong>60.0%</strong> compliant" in before
    assert f"As of now, {world.today.isoformat()}," in before and "counted by the daily job at" not in before
    month_rows = session.execute(select(Snap.day, Snap.course_id, Snap.pairs, Snap.valid)
                                 .where(Snap.kind == "month").order_by(Snap.id)).all()
    # Cy, overdue, completes: four of the five non-exempt modules are valid.
    record_completion(session, world.users["cy"], course, world.today, version_id=None, score=100, source="import")
    session.commit()
    after = client.get("/reports/compliance").get_data(as_text=True)
    assert "<strong>80.0%</strong> compliant" in after
    # A month end once counted stays as it was, however often the daily job runs.
    count_months(session, world.today)
    session.commit()
    assert session.execute(select(Snap.day, Snap.course_id, Snap.pairs, Snap.valid)
                           .where(Snap.kind == "month").order_by(Snap.id)).all() == month_rows


def test_no_trend_before_the_first_count(client, session, course):
    from tests.support.factories import make_org, make_user
    agency, unit = make_org(session, "ZZZ")
    make_user(session, "c@z.test", role="compliance", agency=agency)
    officer = make_user(session, "o@z.test", agency=agency, unit=unit)
    # Completed on the agency's own day: just after midnight UTC, New York's is still the day before.
    record_completion(session, officer, course, today_for(officer), version_id=None, score=100, source="import")
    session.commit()
    login(client, "c@z.test")
    page = client.get("/reports/compliance").get_data(as_text=True)
    assert "<strong>100.0%</strong> compliant" in page and "1 required module<" in page
    assert "No month-end figures yet: the daily job counts each month end" in page and 'id="trend-table"' not in page


def test_month_ends():
    assert month_ends(date(2026, 3, 10), 3) == [date(2025, 12, 31), date(2026, 1, 31), date(2026, 2, 28)]


def test_compliance_csv_is_scoped_streamed_and_audited(client, session, world):
    login(client, "compliance@a.test")
    response = client.get("/reports/compliance.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    name = f"compliance-{world.today.isoformat()}.csv"
    assert response.headers["Content-Disposition"] == f'attachment; filename="{name}"'
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeffagency,unit,course_code,status,count\r\n")
    assert text.removeprefix("\ufeff").splitlines()[1:] == [
        "AAA,AAA-SUB,TEST-BASICS,expiring,1", "AAA,AAA-U1,FIRST-AID,lapsed,1", "AAA,AAA-U1,TEST-BASICS,exempt,1",
        "AAA,AAA-U1,TEST-BASICS,current,2", "AAA,AAA-U2,TEST-BASICS,overdue,1"]
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "export.compliance"))
    assert event.target == name and event.actor_id == world.users["compliance_a"].id
    assert (event.details["rows"], event.details["complete"], event.details["filters"]) == (5, True, {})
    assert event.details["as_of"] == [f"{world.today.isoformat()} (Etc/UTC: AAA)"]
    assert event.agency_id == world.users["ada"].agency_id   # on the trail of the agency it is about

    client.post("/logout")
    login(client, "admin@x.test")
    one = client.get("/reports/compliance.csv?agency=BBB")
    assert one.headers["Content-Disposition"] == f'attachment; filename="compliance-BBB-{world.today.isoformat()}.csv"'
    assert one.get_data(as_text=True).removeprefix("\ufeff").splitlines()[1:] == ["BBB,BBB-U1,TEST-BASICS,current,1"]
    assert 'href="/reports/compliance.csv?agency=BBB"' in client.get("/reports/compliance?agency=BBB").get_data(
        as_text=True)

    client.post("/logout")
    login(client, "compliance@b.test")
    assert client.get("/reports/compliance.csv?agency=AAA").status_code == 403
    assert client.get("/reports/compliance.csv?agency=NOPE").status_code == 404
    client.post("/logout")
    login(client, "ada@a.test")
    assert client.get("/reports/compliance.csv").status_code == 403


def test_share_on_the_current_version_per_module(client, session, app, course, org):
    from tests.support.version_world import build_version_world
    from training.clock import server_today
    from training.reports.acknowledgements import AcknowledgementFilters, acknowledgement_rows, build_acknowledgements

    world = build_version_world(session, app, course, org)
    login(client, world.compliance.email)
    page = client.get("/reports/compliance").get_data(as_text=True)
    # Of the module's four officers Cy is exempt; of the other three only Bo signed v2, the policy change.
    assert table_rows(page, "versions-table") == {
        "Body-worn cameras directive": ["Directive 2026-01", "1", "1", "100.0%"],
        "Test TEST-BASICS": ["v2", "3", "1", "33.3%"]}
    assert 'aria-labelledby="versions-title versions-desc"' in page and "Test TEST-BASICS: 33.3 percent." in page
    # The export made now tells the same.
    export = build_acknowledgements(session, None, AcknowledgementFilters(document="TEST-BASICS"), server_today())
    statuses = [row[7] for row in acknowledgement_rows(session, export)]
    assert statuses.count("acknowledged") == 1 and len(statuses) - statuses.count("exempt") == 3


def test_signed_version_in_sql_matches_the_rule(session):
    from training.updates.rules import acknowledgement_status
    from training.updates.versions import signed_required

    for required in ({}, {7: 2}, {7: 3, 8: 1}):
        for signed in (None, 1, 2, 3):
            sql = session.scalar(select(signed_required(literal(signed, Integer), literal(7, Integer), required)))
            rule = acknowledgement_status(date(2026, 3, 15), acknowledged=signed, required=required.get(7, 1),
                                          open_due_on=None, exempt=False) == "acknowledged"
            assert bool(sql) == rule, (required, signed)
