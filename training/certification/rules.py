"""The rules that decide certification: plain functions over plain values."""
from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from dateutil.relativedelta import relativedelta

STATUSES = ("exempt", "current", "expiring", "overdue", "lapsed", "assigned")
EXPIRING_DAYS = 30


def add_months(day: date, months: int) -> date:
    """`day` plus `months`, the day of month clamped to the month's end."""
    return day + relativedelta(months=months)


def expiry_date(completed_on: date, recurrence_months: int, *,
                previous_expires_on: date | None = None,
                renewal_window_days: int = 60,
                renew_from_expiry: bool = True) -> date:
    """When a certification earned on `completed_on` expires.

    Recertifying inside the renewal window of a still-valid certification
    keeps the time left: the new expiry counts from the previous expiry.
    """
    base = completed_on
    if (renew_from_expiry and previous_expires_on is not None
            and previous_expires_on - timedelta(days=renewal_window_days)
            <= completed_on <= previous_expires_on):
        base = previous_expires_on
    return add_months(base, recurrence_months)


def certification_status(on: date, *, expires_on: date | None = None,
                         open_due_on: date | None = None, exempt: bool = False,
                         expiring_days: int = EXPIRING_DAYS) -> str | None:
    """Status of an officer for one required course on a day; first match wins.

    `expires_on` is the latest certification's expiry, `open_due_on` the due date
    of the open assignment, `exempt` whether an exemption is active that day.
    None when nothing makes the course required.
    """
    if exempt:
        return "exempt"
    if expires_on is not None and on <= expires_on:
        return "current" if (expires_on - on).days > expiring_days else "expiring"
    if open_due_on is not None and on > open_due_on:
        return "overdue"
    if expires_on is not None:
        return "lapsed"
    if open_due_on is not None:
        return "assigned"
    return None


@dataclass(frozen=True)
class Score:
    correct: int
    total: int
    percent: int
    missed: tuple[int, ...]

    def passed(self, pass_mark: int) -> bool:
        return self.percent >= pass_mark


def score_answers(question_ids: Sequence[int], answers: Mapping[int, int],
                  answer_key: Mapping[int, int]) -> Score:
    """Score picked choice indexes against the answer key (both by question id)."""
    missed = tuple(q for q in question_ids if answers.get(q) != answer_key[q])
    total = len(question_ids)
    correct = total - len(missed)
    # Integer percent, rounded down: 79.9 % does not pass an 80 % mark.
    percent = (correct * 100) // total if total else 0
    return Score(correct, total, percent, missed)


def draw_questions(bank: Sequence[int], count: int, *, seen: set[int] | frozenset[int] = frozenset(),
                   rng: random.Random | None = None) -> list[int]:
    """Draw `count` question ids, preferring those not in `seen` (the last attempt)."""
    rng = rng or random.SystemRandom()
    fresh = [q for q in bank if q not in seen]
    stale = [q for q in bank if q in seen]
    rng.shuffle(fresh)
    rng.shuffle(stale)
    picked = (fresh + stale)[:count]
    rng.shuffle(picked)
    return picked


def shuffled_order(n_choices: int, rng: random.Random | None = None) -> list[int]:
    """A random display order of choice indexes."""
    rng = rng or random.SystemRandom()
    order = list(range(n_choices))
    rng.shuffle(order)
    return order


def names_match(typed: str, first_name: str, last_name: str) -> bool:
    """Whether a typed acknowledgement name is the officer's name (case and spacing aside)."""
    def norm(s: str) -> str:
        return " ".join(s.split()).casefold()
    return norm(typed) == norm(f"{first_name} {last_name}")


VERIFICATION_STATES = ("valid", "expiring", "expired", "superseded", "revoked")


def verification_state(on: date, expires_on: date, *, revoked: bool = False, superseded: bool = False,
                       expiring_days: int = EXPIRING_DAYS) -> str:
    """What a verification page says of one certificate on a day; first match wins."""
    if revoked:
        return "revoked"
    if superseded:
        return "superseded"
    if on > expires_on:
        return "expired"
    return "expiring" if (expires_on - on).days <= expiring_days else "valid"
