"""The Redis store: chosen by THROTTLE_REDIS_URL, its keys and expiry, and sign-in when Redis fails."""
import logging
import time
from datetime import timedelta

import pytest
import redis
from sqlalchemy import select

import config
from tests.support.pages import login
from tests.support.redis_space import REDIS_URL
from training import create_app
from training.auth import throttle
from training.auth.models import SignInFailure
from training.db import utcnow

pytestmark = pytest.mark.usefixtures("one_sign_in_window")


def test_the_store_is_chosen_once_when_the_app_is_built(database_url, unused_port):
    plain = create_app(config.TestConfig, DATABASE_URL=database_url)
    # Building the app does not connect: a Redis that is down does not stop the site from starting.
    down = create_app(config.TestConfig, DATABASE_URL=database_url,
                      THROTTLE_REDIS_URL=f"redis://127.0.0.1:{unused_port}/0", THROTTLE_REDIS_PREFIX="p:")
    try:
        assert type(plain.extensions["sign_in_throttle"]) is throttle.DatabaseStore
        chosen = down.extensions["sign_in_throttle"]
        assert type(chosen) is throttle.RedisStore and chosen.prefix == "p:"
        with down.app_context():
            assert throttle.store() is chosen
        assert config.Config.THROTTLE_REDIS_PREFIX == "rollcall:throttle:"
    finally:
        for app in (plain, down):
            app.extensions["sign_in_throttle"].close()
            app.extensions["db_engine"].dispose()


def test_counts_live_in_redis_under_the_prefix_and_end_with_the_window(app, client, session, officer, redis_space):
    app.config.update(THROTTLE_REDIS_URL=REDIS_URL, THROTTLE_REDIS_PREFIX=redis_space.prefix)
    throttle.init_app(app)
    try:
        for _ in range(2):
            assert login(client, officer.email, "wrong-password-guess").status_code == 401
        window = f"{throttle.window_start(utcnow(), 15):%Y-%m-%dT%H:%M}"
        assert redis_space.counts() == {f"account:{officer.email}:{window}": 2, f"address:127.0.0.1:{window}": 2}
        assert session.scalars(select(SignInFailure)).all() == []
        # A key outlives its window by the store's grace (a minute) at most.
        ttl = redis_space.client.pttl(f"{redis_space.prefix}account:{officer.email}:{window}")
        assert 60_000 < ttl <= (throttle.minutes_left(utcnow(), 15) * 60 + 60) * 1000

        assert login(client, officer.email).status_code == 302
        assert redis_space.counts() == {f"address:127.0.0.1:{window}": 2}
    finally:
        app.extensions["sign_in_throttle"].close()


def test_a_count_leaves_redis_when_its_window_ends(session, redis_space):
    """A failure counted 0.3 s before its window ends (no grace) is gone from Redis half a second later."""
    store = throttle.RedisStore(redis_space.client, redis_space.prefix, grace=timedelta(0))
    now = throttle.window_start(utcnow(), 15) + timedelta(minutes=15, milliseconds=-300)
    store.count_failure(session, ("account:late@agency.test",), now, 15)
    assert store.over_limit(session, {"account:late@agency.test": 1}, now, 15)
    assert 0 < redis_space.client.pttl(next(iter(redis_space.client.scan_iter(f"{redis_space.prefix}*")))) <= 300
    time.sleep(0.5)
    assert redis_space.counts() == {}
    assert not store.over_limit(session, {"account:late@agency.test": 1}, now, 15)


def test_when_redis_is_down_sign_in_counts_in_the_database_and_never_fails(app, client, session, officer,
                                                                             unused_port, caplog):
    app.config.update(THROTTLE_REDIS_URL=f"redis://127.0.0.1:{unused_port}/0")
    throttle.init_app(app)
    caplog.set_level(logging.WARNING, logger=throttle.__name__)
    for _ in range(4):
        assert login(client, officer.email, "wrong-password-guess").status_code == 401
    assert {f.key: f.count for f in session.scalars(select(SignInFailure))} == {
        f"account:{officer.email}": 4, "address:127.0.0.1": 4}
    assert login(client, officer.email).status_code == 302   # the count is cleared in the database
    assert [f.key for f in session.scalars(select(SignInFailure))] == ["address:127.0.0.1"]
    client.post("/logout")

    for _ in range(5):
        assert login(client, officer.email, "wrong-password-guess").status_code == 401
    assert login(client, officer.email).status_code == 429   # still held, by the database's count
    warnings = [r.getMessage() for r in caplog.records if r.name == throttle.__name__]
    assert warnings and all("Redis failed" in w and "using the database for this step" in w for w in warnings)


def test_redis_failing_mid_sign_in_falls_back_for_that_step(app, client, session, officer, redis_space,
                                                           monkeypatch):
    """Redis answers the limit check, then fails while counting: the failure is counted in the database."""
    app.config.update(THROTTLE_REDIS_URL=REDIS_URL, THROTTLE_REDIS_PREFIX=redis_space.prefix)
    throttle.init_app(app)
    store = app.extensions["sign_in_throttle"]

    def broken_pipeline(*args, **kwargs):
        raise redis.ConnectionError("connection reset")
    monkeypatch.setattr(store.client, "pipeline", broken_pipeline)
    try:
        assert login(client, officer.email, "wrong-password-guess").status_code == 401
        assert {f.key for f in session.scalars(select(SignInFailure))} == {
            f"account:{officer.email}", "address:127.0.0.1"}
        assert redis_space.counts() == {}
    finally:
        store.close()
