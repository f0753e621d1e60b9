"""Rules the org-chart and roster imports apply: plain functions over plain values."""
from __future__ import annotations

import re
from collections.abc import Hashable, Iterable, Mapping
from functools import cache, lru_cache
from zoneinfo import available_timezones

from email_validator import EmailNotValidError, validate_email


def missing(cells: Mapping[str, str], required: Iterable[str]) -> str | None:
    """A message naming the required columns left empty, or None."""
    empty = [name for name in required if not cells.get(name)]
    if not empty:
        return None
    return f"{'a value is' if len(empty) == 1 else 'values are'} missing for {', '.join(empty)}"


def too_long(cells: Mapping[str, str], limits: Mapping[str, int]) -> list[str]:
    return [f"{name} is longer than {limit} characters" for name, limit in limits.items()
            if len(cells.get(name, "")) > limit]


# A local part (before the @) that is plain ASCII "dot-atom" text is valid whatever the domain,
# so such an address is valid exactly when its domain is: validating each distinct domain once
# keeps a 100,000-row roster quick.
_PLAIN_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*\Z")


def email_problem(email: str) -> str | None:
    """Why `email` is not a usable address, or None. No DNS look-up; `.test` domains are allowed."""
    local, at, domain = email.rpartition("@")
    reason = (_address_problem(f"a@{domain}") if at and len(local) <= 64 and _PLAIN_LOCAL.match(local)
              else _address_problem(email))
    return f"email '{email}' is not a valid address: {reason}" if reason else None


@lru_cache(maxsize=4096)
def _address_problem(email: str) -> str | None:
    try:
        validate_email(email, check_deliverability=False, test_environment=True)
    except EmailNotValidError as exc:
        return str(exc)
    return None


@cache
def _time_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def is_time_zone(name: str) -> bool:
    return name in _time_zones()


def find_loops(parent_of: Mapping[Hashable, Hashable | None], starts: Iterable[Hashable]) -> list[list]:
    """Every loop reachable by following `parent_of` from `starts`, each once, as [a, b, ..., a].

    Linear in the number of nodes: each node is walked at most once.
    """
    done: set = set()
    loops = []
    for start in starts:
        path: list = []
        on_path: dict = {}
        node = start
        while node is not None and node not in done and node not in on_path:
            on_path[node] = len(path)
            path.append(node)
            node = parent_of.get(node)
        if node is not None and node in on_path:
            loop = path[on_path[node]:]
            loops.append(loop + [loop[0]])
        done.update(path)
    return loops


def materialised_paths(parent_of: Mapping[int, int | None]) -> dict[int, str]:
    """The path "/1/5/12/" of every unit id, from each unit's parent (see people.service.unit_path).

    `parent_of` must have no loops.
    """
    paths: dict[int, str] = {}
    for unit_id in parent_of:
        chain = []
        node: int | None = unit_id
        while node is not None and node not in paths:
            chain.append(node)
            node = parent_of.get(node)
        prefix = paths[node] if node is not None else "/"
        for member in reversed(chain):
            prefix = paths[member] = f"{prefix}{member}/"
    return paths
