"""Quiz rules as plain functions: drawing questions, shuffling choices, scoring, matching a typed name."""
from __future__ import annotations

import random
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


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
    """Whether a typed acknowledgement name is the officer's name (case, spacing and accents aside)."""
    def norm(s: str) -> str:
        bare = "".join(c for c in unicodedata.normalize("NFKD", s) if not unicodedata.combining(c))
        return " ".join(bare.split()).casefold()
    return norm(typed) == norm(f"{first_name} {last_name}")
