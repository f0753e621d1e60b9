"""Fixtures: one database per run (SQLite, or PostgreSQL with ROLLCALL_TEST_DB=postgresql),
migrated with Alembic; every test inside an outer transaction that is rolled back.
What the fixtures build with, and everything else the tests share, is in tests/support."""
from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy.orm import sessionmaker

import config
from tests.support.databases import reset_database, suite_database_url
from tests.support.factories import make_org, make_user, write_course
from tests.support.mail import Mailbox, start_mail_server
from tests.support.needs import missing
from tests.support.net import free_port
from tests.support.redis_space import REDIS_URL, RedisSpace
from training import create_app
from training.auth.throttle import window_start
from training.catalog.service import sync_courses
from training.db import make_engine, utcnow


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashing():
    """Argon2id at its cheapest: the tests check behaviour, not the hashing cost."""
    from argon2 import PasswordHasher, profiles

    from training.auth import service
    production = service._hasher
    service._hasher = PasswordHasher.from_parameters(profiles.CHEAPEST)
    yield
    service._hasher = production


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    url = suite_database_url(tmp_path_factory)
    reset_database(url)
    return url


@pytest.fixture(scope="session")
def engine(database_url):
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def connection(engine):
    with engine.connect() as conn:
        outer = conn.begin()
        yield conn
        outer.rollback()


@pytest.fixture
def app(database_url, connection, tmp_path):
    courses_dir, quizzes_dir = write_course(tmp_path / "content")
    app = create_app(config.TestConfig, DATABASE_URL=database_url,
                     COURSES_DIR=courses_dir, QUIZZES_DIR=quizzes_dir)
    # App code may commit: each commit releases a savepoint inside the test's transaction.
    app.extensions["db_sessionmaker"] = sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    # No app context is held open: each request gets its own, and its own session.
    return app


@pytest.fixture
def session(app):
    session = app.extensions["db_sessionmaker"]()
    yield session
    session.close()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def course(app, session):
    """The small test course, synced."""
    sync_courses(session, app.config["COURSES_DIR"], app.config["QUIZZES_DIR"])
    session.commit()
    from training.catalog.service import course_by_code
    return course_by_code(session, "TEST-BASICS")


@pytest.fixture
def org(session):
    return make_org(session)


@pytest.fixture
def officer(session, org):
    agency, unit = org
    user = make_user(session, "officer@agency.test", agency=agency, unit=unit, first="Dana", last="Cruz")
    session.commit()
    return user


@pytest.fixture
def redis_space():
    """Redis at TEST_REDIS_URL (database 15 by default), keys under a prefix of this test's own, deleted after.
    Without a reachable Redis the test is skipped with that reason, except under CI, where it fails."""
    import uuid

    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1, socket_timeout=5)
    try:
        client.ping()
    except redis.RedisError as exc:
        client.close()
        missing(f"Redis at {REDIS_URL} is not reachable ({exc}): start redis-server on 127.0.0.1:6379, "
                f"or set TEST_REDIS_URL")
    space = RedisSpace(client, f"rollcall-test:{uuid.uuid4().hex}:")
    yield space
    for key in client.scan_iter(match=f"{space.prefix}*"):
        client.delete(key)
    client.close()


@pytest.fixture
def unused_port() -> int:
    """A loopback port nothing listens on: a mail server that is down."""
    return free_port()


@pytest.fixture
def smtp(app):
    """A real SMTP server on loopback; the app is pointed at it."""
    port = free_port()
    mailbox = Mailbox()
    controller = start_mail_server(mailbox, port)
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=port, MAIL_FROM="rollcall@test.invalid")
    yield mailbox
    controller.stop()


# Seconds a test that counts sign-in failures needs, at most, inside one window.
SPARE_IN_WINDOW_S = 30


@pytest.fixture
def one_sign_in_window():
    """Sign-in failures count in fixed windows of the real clock (SIGN_IN_WINDOW_MINUTES): a test that starts in a
    window's last seconds waits for the next one, or its count would start again halfway through."""
    minutes = config.TestConfig.SIGN_IN_WINDOW_MINUTES
    now = utcnow()
    left = (window_start(now, minutes) + timedelta(minutes=minutes) - now).total_seconds()
    if left < SPARE_IN_WINDOW_S:
        time.sleep(left + 0.1)
