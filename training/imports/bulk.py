"""Small helpers for writing many rows at once."""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import islice

from sqlalchemy.orm import Session

BATCH = 5000
# Called now and then with the number of rows handled so far.
Progress = Callable[[int], None] | None


def chunks(items: Iterable, size: int = BATCH) -> Iterator[Sequence]:
    """`items` (a list, or rows as they are read) `size` at a time."""
    rest = iter(items)
    while chunk := list(islice(rest, size)):
        yield chunk


def expire_loaded(session: Session, *models: type) -> None:
    """Bulk statements bypass objects already loaded in the session: make those of `models` reload."""
    for obj in list(session.identity_map.values()):
        if isinstance(obj, models):
            session.expire(obj)
