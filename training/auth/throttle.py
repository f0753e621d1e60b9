"""Sign-in throttling: failures counted per account and per address, in fixed windows.

Every web process and host shares the counts: they are kept in the database, or
in Redis when THROTTLE_REDIS_URL is set. The store is chosen once, when the app is
built (`init_app`), and the sign-in view reaches it through `store()`. Both stores
count in the same fixed windows, so limits, the "try again in N minutes" message
and a completed sign-in clearing the account's count behave alike.

A window is short (15 minutes by default) and a count never outlives it, so a
flood of wrong passwords can hold an account shut for one window at most after
the flood stops.

When Redis is configured but fails (down, unreachable, timing out), the sign-in
still works: that step is counted or checked in the database instead and a
warning is logged. Counts made in the database during an outage are not carried
over to Redis when it comes back, and the other way round.

Every check of a password or a code counts here, not only the sign-in form's:
changing one's password, and confirming changes to the second factor.

Refusals while a key is held are recorded once per key and window
(`record_refusal`), whichever store counts the failures.
"""
from __future__ import annotations

import logging
import math
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol, TypeVar

import redis
from flask import Flask, current_app
from redis.backoff import NoBackoff
from redis.retry import Retry
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from training import telemetry
from training.audit.service import record
from training.auth.models import SignInFailure, ThrottleRefusal
from training.db import insert_ignoring_conflicts

EPOCH = datetime(2000, 1, 1)
log = logging.getLogger(__name__)
T = TypeVar("T")


def window_start(now: datetime, minutes: int) -> datetime:
    """The start of the fixed window holding `now`."""
    size = timedelta(minutes=minutes)
    return EPOCH + ((now - EPOCH) // size) * size


def minutes_left(now: datetime, minutes: int) -> int:
    """Whole minutes, rounded up, until the window holding `now` ends."""
    end = window_start(now, minutes) + timedelta(minutes=minutes)
    return max(1, math.ceil((end - now).total_seconds() / 60))


ACCOUNT_KEY = "account:"   # the start of an account's throttle key; the rest is its address, normalised


def keys_for(email: str, address: str | None) -> tuple[str, str]:
    return f"{ACCOUNT_KEY}{email}"[:300], f"address:{address or 'unknown'}"[:300]


def clip(text: str | None, limit: int = 200) -> str | None:
    """Text a client chose (an email typed, an address), cut to `limit` characters before it is recorded."""
    return None if text is None else text[:limit]


def record_refusal(session: Session, key: str, now: datetime, minutes: int, action: str, **event) -> None:
    """Record a request refused because `key` is held: one audit event per key and window, not one per request.

    The first refusal of the window appends the event (`record(session, action, **event)`, with the window's
    start) and a `throttle_refusals` row naming it; each later refusal in that window only adds one to that
    row's count. The audit chain stays append-only (no chained event is ever edited) and a flood of refused
    requests costs one event and one counter, while the count of refusals behind each event is kept.
    Concurrent first refusals agree on one: the counter row's primary key decides which inserts it.
    """
    telemetry.THROTTLED.labels(action).inc()
    start = window_start(now, minutes)
    first = session.execute(insert_ignoring_conflicts(session, ThrottleRefusal)
                            .values(key=key[:300], window_start=start, count=1, last_at=now)
                            .on_conflict_do_nothing(index_elements=["key", "window_start"])
                            .returning(ThrottleRefusal.count)).first() is not None
    if first:
        audit_event = record(session, action, window_start=f"{start:%Y-%m-%dT%H:%M}", **event)
        session.flush()
        session.execute(update(ThrottleRefusal).where(ThrottleRefusal.key == key[:300],
                                                      ThrottleRefusal.window_start == start)
                        .values(event_id=audit_event.id))
    else:
        session.execute(update(ThrottleRefusal).where(ThrottleRefusal.key == key[:300],
                                                      ThrottleRefusal.window_start == start)
                        .values(count=ThrottleRefusal.count + 1, last_at=now))


class Store(Protocol):
    """Where failures are counted. `session` is the request's database session: the database store
    writes through it (committed with the request's audit event); the Redis store uses it only when
    Redis fails."""

    def held(self, session: Session, limits: dict[str, int], now: datetime, minutes: int) -> list[str]:
        """The keys that have reached their limit of failures in the current window, in the order given."""

    def over_limit(self, session: Session, limits: dict[str, int], now: datetime, minutes: int) -> bool:
        """True when any key has reached its limit of failures in the current window."""

    def count_failure(self, session: Session, keys: tuple[str, ...], now: datetime, minutes: int) -> None:
        """Add one failure to each key's current window, atomically per key."""

    def forget(self, session: Session, key: str, now: datetime, minutes: int) -> None:
        """A completed sign-in (password, and the code when one is asked for) clears the account's count."""

    def close(self) -> None:
        """Let go of any connections."""


class DatabaseStore:
    """Counts in the sign_in_failures table; the daily job purges old windows."""

    def held(self, session: Session, limits: dict[str, int], now: datetime, minutes: int) -> list[str]:
        counts = dict(session.execute(
            select(SignInFailure.key, SignInFailure.count)
            .where(SignInFailure.key.in_(limits), SignInFailure.window_start == window_start(now, minutes))).all())
        return [key for key, limit in limits.items() if counts.get(key, 0) >= limit]

    def over_limit(self, session: Session, limits: dict[str, int], now: datetime, minutes: int) -> bool:
        return bool(self.held(session, limits, now, minutes))

    def count_failure(self, session: Session, keys: tuple[str, ...], now: datetime, minutes: int) -> None:
        """One atomic upsert per key; older windows of the same keys are dropped."""
        start = window_start(now, minutes)
        for key in keys:
            stmt = insert_ignoring_conflicts(session, SignInFailure).values(key=key, window_start=start, count=1)
            session.execute(stmt.on_conflict_do_update(index_elements=["key", "window_start"],
                                                       set_={"count": SignInFailure.count + 1}))
        session.execute(delete(SignInFailure).where(SignInFailure.key.in_(keys), SignInFailure.window_start < start))

    def forget(self, session: Session, key: str, now: datetime, minutes: int) -> None:
        session.execute(delete(SignInFailure).where(SignInFailure.key == key))

    def close(self) -> None:
        pass


class RedisStore:
    """Counts in Redis, one key per key and window ("<prefix>account:<email>:<window start>").

    A failure is INCR and PEXPIRE in one MULTI/EXEC, so concurrent workers never lose a count and
    no key is left without an expiry. A key expires `grace` after its window ends (by the clock of
    the host that counted), which covers hosts whose clocks differ a little.
    """

    def __init__(self, client: redis.Redis, prefix: str, grace: timedelta = timedelta(minutes=1)) -> None:
        self.client, self.prefix, self.grace = client, prefix, grace
        self.fallback = DatabaseStore()

    @classmethod
    def from_url(cls, url: str, prefix: str) -> RedisStore:
        """A client that gives up quickly: one second to connect or answer, one immediate retry
        (a connection dropped by a Redis restart). Query-string options in the URL take precedence."""
        return cls(redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1,
                                        retry=Retry(NoBackoff(), 1)), prefix)

    def _key(self, key: str, now: datetime, minutes: int) -> str:
        return f"{self.prefix}{key}:{window_start(now, minutes):%Y-%m-%dT%H:%M}"

    def _or_database(self, step: str, in_redis: Callable[[], T], in_database: Callable[[], T]) -> T:
        try:
            return in_redis()
        except redis.RedisError as exc:
            log.warning("sign-in throttle: Redis failed while %s (%s); using the database for this step", step, exc)
            return in_database()

    def held(self, session: Session, limits: dict[str, int], now: datetime, minutes: int) -> list[str]:
        def in_redis() -> list[str]:
            counts = self.client.mget([self._key(key, now, minutes) for key in limits])
            return [key for (key, limit), count in zip(limits.items(), counts) if int(count or 0) >= limit]
        return self._or_database("checking the limits", in_redis,
                                 lambda: self.fallback.held(session, limits, now, minutes))

    def over_limit(self, session: Session, limits: dict[str, int], now: datetime, minutes: int) -> bool:
        return bool(self.held(session, limits, now, minutes))

    def count_failure(self, session: Session, keys: tuple[str, ...], now: datetime, minutes: int) -> None:
        end = window_start(now, minutes) + timedelta(minutes=minutes)
        expire_ms = math.ceil((end - now + self.grace).total_seconds() * 1000)

        def in_redis() -> None:
            with self.client.pipeline(transaction=True) as pipe:
                for key in keys:
                    name = self._key(key, now, minutes)
                    pipe.incr(name)
                    pipe.pexpire(name, expire_ms)
                pipe.execute()
        self._or_database("counting a failure", in_redis,
                          lambda: self.fallback.count_failure(session, keys, now, minutes))

    def forget(self, session: Session, key: str, now: datetime, minutes: int) -> None:
        self._or_database("clearing a count", lambda: self.client.delete(self._key(key, now, minutes)),
                          lambda: self.fallback.forget(session, key, now, minutes))

    def close(self) -> None:
        self.client.close()


def init_app(app: Flask) -> None:
    """Choose the store once: Redis when THROTTLE_REDIS_URL is set, else the database."""
    url = app.config.get("THROTTLE_REDIS_URL")
    app.extensions["sign_in_throttle"] = (RedisStore.from_url(url, app.config["THROTTLE_REDIS_PREFIX"]) if url
                                          else DatabaseStore())


def store() -> Store:
    """The current app's store."""
    return current_app.extensions["sign_in_throttle"]
