"""The certification rules, without a database."""
import random

import pytest

from tests.support.dates import d
from training.learn.rules import draw_questions, names_match, score_answers, shuffled_order
from training.records.rules import certification_status, expiry_date


@pytest.mark.parametrize("completed, months, expected", [
    ("2024-02-29", 12, "2025-02-28"),   # leap day, into a common year
    ("2025-01-31", 1, "2025-02-28"),    # month end clamped
    ("2024-01-31", 1, "2024-02-29"),    # leap February
    ("2025-03-31", 1, "2025-04-30"),
    ("2025-06-15", 12, "2026-06-15"),
    ("2023-02-28", 12, "2024-02-28"),   # not moved to the leap day
    ("2025-08-31", 6, "2026-02-28"),
])
def test_expiry_clamps_to_month_end(completed, months, expected):
    assert expiry_date(d(completed), months) == d(expected)


def test_recertifying_inside_the_window_keeps_the_time_left():
    previous = d("2025-06-30")
    # 20 days before expiry, inside a 60-day window: counts from the previous expiry.
    assert expiry_date(d("2025-06-10"), 12, previous_expires_on=previous) == d("2026-06-30")
    # Exactly on the first day of the window.
    assert expiry_date(d("2025-05-01"), 12, previous_expires_on=previous) == d("2026-06-30")
    # One day before the window opens: counts from the completion date.
    assert expiry_date(d("2025-04-30"), 12, previous_expires_on=previous) == d("2026-04-30")
    # After it lapsed: from the completion date.
    assert expiry_date(d("2025-07-05"), 12, previous_expires_on=previous) == d("2026-07-05")
    # Course set not to carry time over.
    assert expiry_date(d("2025-06-10"), 12, previous_expires_on=previous,
                       renew_from_expiry=False) == d("2026-06-10")


ON = d("2025-06-01")


@pytest.mark.parametrize("kwargs, expected", [
    ({"exempt": True, "expires_on": d("2024-01-01"), "open_due_on": d("2025-01-01")}, "exempt"),
    ({"expires_on": d("2025-07-02")}, "current"),                 # 31 days ahead
    ({"expires_on": d("2025-07-01")}, "expiring"),                # 30 days ahead
    ({"expires_on": ON}, "expiring"),                             # valid through expires_on
    ({"expires_on": d("2025-06-20"), "open_due_on": d("2025-06-20")}, "expiring"),
    ({"expires_on": d("2025-05-31"), "open_due_on": d("2025-05-31")}, "overdue"),
    ({"open_due_on": d("2025-05-31")}, "overdue"),
    ({"expires_on": d("2025-05-31")}, "lapsed"),
    ({"open_due_on": ON}, "assigned"),                            # due today is not overdue yet
    ({"open_due_on": d("2025-09-01")}, "assigned"),
    ({}, None),
])
def test_status_first_match_wins(kwargs, expected):
    assert certification_status(ON, **kwargs) == expected


def test_scoring_rounds_down_and_lists_misses():
    key = dict.fromkeys(range(1, 11), 0)
    eight_right = {q: (0 if q <= 8 else 1) for q in key}
    score = score_answers(list(key), eight_right, key)
    assert (score.correct, score.total, score.percent, score.missed) == (8, 10, 80, (9, 10))
    assert score.passed(80)
    assert not score_answers(list(key), {**eight_right, 8: 2}, key).passed(80)
    assert score_answers([1, 2, 3], {1: 0, 2: 0}, {1: 0, 2: 0, 3: 0}).percent == 66  # 66.7 down


def test_draw_prefers_unseen_questions():
    bank = list(range(30))
    first = draw_questions(bank, 10, rng=random.Random(1))
    second = draw_questions(bank, 10, seen=set(first), rng=random.Random(2))
    assert len(set(first)) == 10 and len(set(second)) == 10
    assert not set(first) & set(second)
    # A bank too small to avoid repeats fills up with seen questions, never duplicates.
    small = draw_questions(list(range(12)), 10, seen=set(range(10)), rng=random.Random(3))
    assert len(set(small)) == 10 and {10, 11} <= set(small)


def test_shuffled_order_is_a_permutation():
    orders = {tuple(shuffled_order(4, random.Random(seed))) for seed in range(20)}
    assert all(sorted(o) == [0, 1, 2, 3] for o in orders)
    assert len(orders) > 1


def test_acknowledged_name_ignores_case_spacing_and_accents():
    assert names_match("  dana   CRUZ ", "Dana", "Cruz")
    assert names_match("Jose Nunez", "José", "Núñez") and names_match("JOSÉ NÚÑEZ", "Jose", "Nunez")
    assert not names_match("Jose Nune", "José", "Núñez")
    assert not names_match("Dana", "Dana", "Cruz")
    assert not names_match("Dan Cruz", "Dana", "Cruz")
