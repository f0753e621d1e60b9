"""Pages, the exports and the sweep issue as many SQL statements for 1,000 officers as for 10."""
from datetime import UTC, date, datetime, time

from sqlalchemy import select

from tests.support.factories import PASSWORD
from tests.support.pages import login
from tests.support.statements import count_statements
from training.auth.service import hash_password
from training.catalog.service import sync_courses
from training.clock import local_days
from training.db import Base
from training.demo.scale import seed_scale
from training.jobs import daily_sweep
from training.people.models import Agency, Unit, User
from training.reminders.rules import Schedule
from training.reports.dashboard import count_months


def measure(app, session, connection, officers: int) -> dict[str, int]:
    seed_scale(session, date.today(), officers, hash_password(PASSWORD), seed=5)
    agency = session.scalar(select(Agency).order_by(Agency.id).limit(1))
    hq = session.scalar(select(Unit).where(Unit.agency_id == agency.id, Unit.parent_id.is_(None)))
    officer = session.scalar(select(User).where(User.role == "officer", User.agency_id == agency.id,
                                                User.supervisor_id.is_not(None)).order_by(User.id).limit(1))
    supervisor = session.get(User, officer.supervisor_id)
    session.commit()
    pages = {}
    client = app.test_client()
    login(client, officer.email)
    for path in ["/", "/history", "/courses/TEST-BASICS"]:
        pages[path] = count_statements(connection, lambda path=path: client.get(path))
    client = app.test_client()
    login(client, supervisor.email)
    pages["/team"] = count_statements(connection, lambda: client.get("/team"))
    client = app.test_client()
    login(client, f"coordinator-{agency.code.lower()}@demo.test")
    for path in [f"/units/{hq.code}", f"/officers/{officer.id}"]:
        pages[path] = count_statements(connection, lambda path=path: assert_ok(client.get(path)))
    client = app.test_client()
    login(client, f"compliance-{agency.code.lower()}@demo.test")
    pages["roster export"] = count_statements(connection, lambda: client.get("/reports/roster.csv").get_data())
    pages["roster xlsx"] = count_statements(
        connection, lambda: client.get("/reports/roster/download?format=xlsx&status=overdue").get_data())
    pages["acknowledgements export"] = count_statements(
        connection, lambda: client.get("/reports/acknowledgements/download").get_data())
    pages["acknowledgements xlsx"] = count_statements(
        connection, lambda: client.get("/reports/acknowledgements/download?ack-format=xlsx").get_data())
    pages["compliance trend"] = count_statements(connection, lambda: count_months(session, date.today()))
    session.commit()
    pages["/reports/compliance"] = count_statements(connection, lambda: assert_ok(client.get("/reports/compliance")))
    pages["compliance CSV"] = count_statements(connection, lambda: client.get("/reports/compliance.csv").get_data())
    # The daily sweep: renewals, standing rules, then reminders and escalations (twice: the second queues nothing).
    pages["sweep"] = count_statements(connection, lambda: daily_sweep(session, date.today(), Schedule()))
    pages["sweep again"] = count_statements(connection, lambda: daily_sweep(session, date.today(), Schedule()))
    # Each agency on its own day: at 08:00 UTC Honolulu and Anchorage are still on the day before the others.
    days = local_days(session, datetime.combine(date.today(), time(8), tzinfo=UTC))
    assert len(days) == 2
    pages["sweep by agency day"] = count_statements(connection, lambda: daily_sweep(session, days, Schedule()))
    pages["sweep by agency day again"] = count_statements(connection, lambda: daily_sweep(session, days, Schedule()))
    return pages


def assert_ok(response):
    assert response.status_code == 200, response.request.path
    return response


def empty_database(app, session) -> None:
    """Delete every row (inside the test's transaction) and load the course again."""
    for table in reversed(Base.metadata.sorted_tables):
        session.execute(table.delete())
    session.expunge_all()
    sync_courses(session, app.config["COURSES_DIR"], app.config["QUIZZES_DIR"])


def test_statement_counts_do_not_grow_with_officers(app, session, connection, course):
    empty_database(app, session)
    small = measure(app, session, connection, 10)
    empty_database(app, session)
    large = measure(app, session, connection, 1000)
    assert small == large, (small, large)
    # Once per distinct day, and no more.
    assert large["sweep by agency day again"] == 2 * large["sweep again"], large
    assert all(count < 25 for name, count in large.items() if "by agency day" not in name), large
