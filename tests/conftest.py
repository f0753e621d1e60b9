"""Fixtures: one database per run (SQLite, or PostgreSQL with ROLLCALL_TEST_DB=postgresql),
migrated with Alembic; every test inside an outer transaction that is rolled back."""
from __future__ import annotations

import os

import pytest
from sqlalchemy import text
from sqlalchemy.orm import sessionmaker

import config
from tests.support.factories import make_org, make_user, write_course
from training import create_app, migrate
from training.catalog.service import sync_courses
from training.db import make_engine


def _database_url(tmp_path_factory) -> str:
    if os.environ.get("ROLLCALL_TEST_DB") == "postgresql":
        url = os.environ.get("TEST_DATABASE_URL")
        if not url:
            pytest.exit("ROLLCALL_TEST_DB=postgresql needs TEST_DATABASE_URL", returncode=2)
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


def reset_database(url: str) -> None:
    """An empty database at the latest migration."""
    engine = make_engine(url)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    migrate.upgrade(create_app(config.TestConfig, DATABASE_URL=url))


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
    url = _database_url(tmp_path_factory)
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


class Mailbox:
    """What a loopback SMTP server received."""

    def __init__(self):
        self.messages = []
        self.refuse = False

    async def handle_DATA(self, server, session, envelope):
        if self.refuse:
            return "451 Try again later"
        import email
        from email import policy
        self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


class RedisSpace:
    """A key prefix of one test's own in the test Redis database."""

    def __init__(self, client, prefix: str):
        self.client, self.prefix = client, prefix

    def counts(self) -> dict[str, int]:
        """Every key under the prefix (prefix removed) and its count."""
        return {key.decode().removeprefix(self.prefix): int(self.client.get(key))
                for key in self.client.scan_iter(match=f"{self.prefix}*")}


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
        message = (f"Redis at {REDIS_URL} is not reachable ({exc}): start redis-server on 127.0.0.1:6379, "
                   f"or set TEST_REDIS_URL")
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
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
    from aiosmtpd.controller import Controller

    port = free_port()
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=port, MAIL_FROM="rollcall@test.invalid")
    yield mailbox
    controller.stop()
