"""Sign-in throttling: failures counted in the database per account and per address, in fixed windows.

Every web process and host shares the counts. A window is short (15 minutes by
default) and a count never outlives it, so a flood of wrong passwords can hold
an account shut for one window at most after the flood stops.
"""
from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from training.auth.models import SignInFailure
from training.db import insert_ignoring_conflicts

EPOCH = datetime(2000, 1, 1)


def window_start(now: datetime, minutes: int) -> datetime:
    """The start of the fixed window holding `now`."""
    size = timedelta(minutes=minutes)
    return EPOCH + ((now - EPOCH) // size) * size


def minutes_left(now: datetime, minutes: int) -> int:
    """Whole minutes, rounded up, until the window holding `now` ends."""
    end = window_start(now, minutes) + timedelta(minutes=minutes)
    return max(1, math.ceil((end - now).total_seconds() / 60))


def keys_for(email: str, address: str | None) -> tuple[str, str]:
    return f"account:{email}"[:300], f"address:{address or 'unknown'}"[:300]


def over_limit(session: Session, limits: dict[str, int], now: datetime, minutes: int) -> bool:
    """True when any key has reached its limit of failures in the current window."""
    counts = dict(session.execute(
        select(SignInFailure.key, SignInFailure.count)
        .where(SignInFailure.key.in_(limits), SignInFailure.window_start == window_start(now, minutes))).all())
    return any(counts.get(key, 0) >= limit for key, limit in limits.items())


def count_failure(session: Session, keys: tuple[str, ...], now: datetime, minutes: int) -> None:
    """Add one failure to each key's current window (one atomic upsert per key) and drop older windows."""
    start = window_start(now, minutes)
    for key in keys:
        stmt = insert_ignoring_conflicts(session, SignInFailure).values(key=key, window_start=start, count=1)
        session.execute(stmt.on_conflict_do_update(index_elements=["key", "window_start"],
                                                   set_={"count": SignInFailure.count + 1}))
    session.execute(delete(SignInFailure).where(SignInFailure.key.in_(keys), SignInFailure.window_start < start))


def forget(session: Session, key: str) -> None:
    """A correct password clears the account's count."""
    session.execute(delete(SignInFailure).where(SignInFailure.key == key))
