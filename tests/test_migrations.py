"""The migrations build exactly the schema the models describe, and backfill what they add."""
import hashlib
import json
from datetime import date, datetime

import pyotp
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.orm import Session

import config
import training.models  # noqa: F401 - registers every table on the metadata
from tests.support.databases import committed_database
from training import create_app, migrate
from training.audit.chain import walk
from training.auth import second_factor
from training.auth.keys import keyring
from training.auth.models import RecoveryCode
from training.db import Base, make_engine, utcnow
from training.people.models import User


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
            # The twelve events, and the one the retention revision adds when it re-hashes the chain.
            assert report.broken is None and report.checked == 13
        migrate.downgrade(app, "9bbfd131c605")
        migrate.upgrade(app)
    finally:
        engine.dispose()


def test_upgrade_encrypts_existing_second_factor_secrets_and_every_code_keeps_working(tmp_path):
    """Secrets stored in the clear and recovery codes kept as bare SHA-256 before the secrets-at-rest revision."""
    with committed_database(tmp_path, "migration_secrets") as url:
        app = create_app(config.TestConfig, DATABASE_URL=url)
        migrate.upgrade(app, "4f0a9c2e7b31")
        engine = make_engine(url)
        secret, code = pyotp.random_base32(), "a1b2c3-d4e5f6"
        bare = hashlib.sha256(b"a1b2c3d4e5f6").hexdigest()
        with engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO users (id, email, role, first_name, last_name, active, demo_account, "
                                 "created_at, totp_secret) VALUES (1, 'a@x.test', 'coordinator', 'A', 'B', :t, :f, "
                                 ":at, :secret)"), {"t": True, "f": False, "at": datetime(2025, 1, 1), "secret": secret})
            conn.execute(sa.text("INSERT INTO recovery_codes (user_id, code_hash) VALUES (1, :bare)"), {"bare": bare})
        try:
            migrate.upgrade(app)
            keys = keyring(app)
            with Session(engine) as session:
                user = session.get(User, 1)
                assert secret not in user.totp_secret_encrypted and keys.decrypt(user.totp_secret_encrypted) == secret
                assert session.scalar(sa.select(RecoveryCode.code_hash)) != bare
                assert second_factor.check(session, user, pyotp.TOTP(secret).now(), utcnow(), keys) == "code"
                assert second_factor.check(session, user, code, utcnow(), keys) == "recovery code"
                session.rollback()
            migrate.downgrade(app, "4f0a9c2e7b31")
            with engine.connect() as conn:
                assert conn.scalar(sa.text("SELECT totp_secret FROM users")) == secret
                assert conn.scalar(sa.text("SELECT code_hash FROM recovery_codes")) == bare
            migrate.upgrade(app)
        finally:
            engine.dispose()
            app.extensions["db_engine"].dispose()


def test_upgrade_drops_the_daily_status_counts_and_keeps_the_month_ends(tmp_path):
    """The dashboard counts today's statuses live: the stored status rows go, the trend's month ends stay, and
    are summed by agency for the trend of whole agencies."""
    with committed_database(tmp_path, "migration_live_statuses") as url:
        app = create_app(config.TestConfig, DATABASE_URL=url)
        migrate.upgrade(app, "7b3d9e21c4a8")
        engine = make_engine(url)
        try:
            with engine.begin() as conn:
                conn.execute(sa.text("INSERT INTO courses (id, code, title, summary, recurrence_months, "
                                     "renewal_window_days, renew_from_expiry, current_version, active) "
                                     "VALUES (1, 'C', 'T', 'S', 12, 60, :t, 1, :t)"), {"t": True})
                conn.execute(sa.text(
                    "INSERT INTO compliance_snapshots (kind, day, course_id, status, pairs, expiring_30, expiring_60, "
                    "expiring_90, valid, exempt, exempt_valid, taken_at) VALUES "
                    "('status', :day, 1, 'current', 5, 1, 2, 3, 0, 0, 0, :at), "
                    "('month', :day, 1, NULL, 5, 0, 0, 0, 4, 0, 0, :at)"),
                    {"day": date(2026, 10, 31), "at": datetime(2026, 11, 1)})
            migrate.upgrade(app)
            with engine.connect() as conn:
                assert conn.execute(sa.text("SELECT kind, pairs, valid FROM compliance_snapshots "
                                            "ORDER BY kind")).all() == [("agency", 5, 4), ("month", 5, 4)]
        finally:
            engine.dispose()
            app.extensions["db_engine"].dispose()


def _old_formula(prev_hash: str, event_id: int, at: datetime, actor_id, action, target, details) -> str:
    """The chain's hash before the retention revision: over the details themselves."""
    body = json.dumps({"id": event_id, "at": at.isoformat(timespec="microseconds"), "actor_id": actor_id,
                       "action": action, "target": target, "details": details},
                      sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256((prev_hash + body).encode("utf-8")).hexdigest()


def test_retention_revision_backfills_deactivation_and_rehashes_the_chain(tmp_path):
    """deactivated_at from the event that deactivated the account (else the migration's day); the chain re-hashed
    over the details' digests verifies, and its new event carries the old head; the downgrade restores the old
    formula."""
    with committed_database(tmp_path, "migration_retention") as url:
        app = create_app(config.TestConfig, DATABASE_URL=url)
        migrate.upgrade(app, "f3b1c9d2a7e4")
        engine = make_engine(url)
        meta = sa.MetaData()
        users = sa.Table("users", meta, autoload_with=engine)
        events = sa.Table("audit_events", meta, sa.Column("details", sa.JSON), autoload_with=engine)
        person = {"role": "officer", "first_name": "A", "last_name": "B", "demo_account": False,
                  "created_at": datetime(2020, 1, 1)}
        full = {"full": True, "deactivated": 1, "added": 0}
        rows = [(datetime(2021, 3, 1, 9), "user.updated", "user:2", None, {"changes": {"active": [True, False]}}),
                (datetime(2021, 4, 1, 9), "user.updated", "user:2", None, {"changes": {"active": [False, True]}}),
                (datetime(2022, 5, 2, 10, 30, 0, 250), "user.updated", "user:2", None,
                 {"changes": {"active": [True, False]}}),
                (datetime(2022, 6, 1, 9), "user.updated", "user:1", None, {"changes": {"last_name": ["B", "Zoë"]}}),
                (datetime(2022, 1, 5, 9), "roster.imported", "roster", 1, full),
                (datetime(2023, 1, 5, 9), "roster.imported", "roster", 1, {**full, "deactivated": 0}),
                (datetime(2023, 2, 5, 9), "roster.imported", "roster", 1, {**full, "full": False})]
        prev, chain = "0" * 64, []
        for n, (at, action, target, agency_id, details) in enumerate(rows, start=1):
            this = _old_formula(prev, n, at, None, action, target, details)
            chain.append({"id": n, "at": at, "actor_id": None, "action": action, "target": target,
                          "agency_id": agency_id, "details": details, "prev_hash": prev, "hash": this})
            prev = this
        old_head = prev
        agencies = sa.Table("agencies", meta, autoload_with=engine)
        with engine.begin() as conn:
            conn.execute(agencies.insert(), [{"id": 1, "code": "A1", "name": "One", "time_zone": "UTC"},
                                             {"id": 2, "code": "A2", "name": "Two", "time_zone": "UTC"}])
            conn.execute(users.insert(), [{**person, "id": 1, "email": "a@x.test", "active": True, "agency_id": 1},
                                          {**person, "id": 2, "email": "b@x.test", "active": False, "agency_id": 1},
                                          {**person, "id": 3, "email": "c@x.test", "active": False, "agency_id": 1},
                                          {**person, "id": 4, "email": "d@x.test", "active": False, "agency_id": 2}])
            conn.execute(events.insert(), chain)
            if engine.dialect.name == "postgresql":   # the ids were given: the sequences go on after them
                for table, last in (("audit_events", len(chain)), ("users", 4), ("agencies", 2)):
                    conn.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {last})"))
        try:
            before = utcnow()
            migrate.upgrade(app)
            with Session(engine) as session:
                deactivated = dict(session.execute(sa.text("SELECT id, deactivated_at FROM users")).all())
                assert deactivated[1] is None
                # Its own deactivation, later than the full import that may have deactivated it earlier.
                assert _naive(deactivated[2]) == datetime(2022, 5, 2, 10, 30, 0, 250)
                # The full import of its agency that deactivated someone (not the later ones that did not).
                assert _naive(deactivated[3]) == datetime(2022, 1, 5, 9)
                assert before <= _naive(deactivated[4]) <= utcnow()   # nothing on the trail: the migration's time
                report = walk(session)
                assert report.broken is None and report.checked == len(chain) + 1 and report.redacted == 0
                action, details = session.execute(sa.text(
                    "SELECT action, details FROM audit_events ORDER BY id DESC LIMIT 1")).one()
                details = json.loads(details) if isinstance(details, str) else details
                assert action == "audit.rehashed" and details["old_head"] == old_head
                assert details["events"] == len(chain)
            migrate.downgrade(app, "f3b1c9d2a7e4")
            with engine.connect() as conn:
                hashes = conn.scalars(sa.select(events.c.hash).where(events.c.id <= len(chain))
                                      .order_by(events.c.id)).all()
            assert hashes == [row["hash"] for row in chain] and hashes[-1] == old_head
            migrate.upgrade(app)
        finally:
            engine.dispose()
            app.extensions["db_engine"].dispose()


def _naive(value):
    return datetime.fromisoformat(value) if isinstance(value, str) else value
