"""The migrations build exactly the schema the models describe, and backfill what they add."""
from datetime import date, datetime

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.orm import Session

import config
import training.models  # noqa: F401 - registers every table on the metadata
from tests.support.databases import committed_database
from training import create_app, migrate
from training.audit.chain import walk
from training.db import Base, make_engine


def test_models_and_migrations_agree(engine):
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == []


def test_upgrade_backfills_codes_and_the_audit_chain(tmp_path):
    """Rows written before the certificates revision get codes and a verified chain."""
    with committed_database(tmp_path, "migration_backfill") as url:
        _upgrade_and_check(url)


def _upgrade_and_check(url: str) -> None:
    app = create_app(config.TestConfig, DATABASE_URL=url)
    migrate.upgrade(app, "9bbfd131c605")
    engine = make_engine(url)
    meta = sa.MetaData()
    users = sa.Table("users", meta, autoload_with=engine)
    courses = sa.Table("courses", meta, autoload_with=engine)
    completions = sa.Table("completions", meta, autoload_with=engine)
    events = sa.Table("audit_events", meta, sa.Column("details", sa.JSON), autoload_with=engine)
    with engine.begin() as conn:
        conn.execute(users.insert(), [{"id": 1, "email": "a@x.test", "role": "officer", "first_name": "A",
                                       "last_name": "B", "active": True, "created_at": datetime(2025, 1, 1)}])
        conn.execute(courses.insert(), [{"id": 1, "code": "C", "title": "T", "summary": "S", "recurrence_months": 12,
                                         "renewal_window_days": 60, "renew_from_expiry": True, "current_version": 1,
                                         "active": True}])
        conn.execute(completions.insert(), [
            {"user_id": 1, "course_id": 1, "completed_on": date(2024, 1, d), "expires_on": date(2025, 1, d),
             "source": "import", "created_at": datetime(2025, 1, 1)} for d in range(1, 8)])
        conn.execute(events.insert(), [
            {"at": datetime(2025, 1, 1, 9, 0, n, 123456), "actor_id": 1 if n % 2 else None, "action": f"old.{n}",
             "target": None, "details": {"n": n, "name": "Zoë"}} for n in range(12)])
    try:
        migrate.upgrade(app)
        with Session(engine) as session:
            codes = session.execute(sa.text("SELECT verification_code FROM completions")).scalars().all()
            assert len(codes) == 7 and len(set(codes)) == 7 and all(len(c) == 16 for c in codes)
            report = walk(session)
            assert report.broken is None and report.checked == 12
        migrate.downgrade(app, "9bbfd131c605")
        migrate.upgrade(app)
    finally:
        engine.dispose()
