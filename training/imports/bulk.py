"""Small helpers for writing many rows at once."""
from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from sqlalchemy.orm import Session

BATCH = 5000
# Called now and then with the number of rows handled so far.
Progress = Callable[[int], None] | None


def chunks(items: Sequence, size: int = BATCH) -> Iterator[Sequence]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def expire_loaded(session: Session, *models: type) -> None:
    """Bulk statements bypass objects already loaded in the session: make those of `models` reload."""
    for obj in list(session.identity_map.values()):
        if isinstance(obj, models):
            session.expire(obj)
