"""The reminder rules as plain functions, and their SQL twin agreeing with them."""
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import literal, select

from training.reminders.rules import Schedule, officer_reminder_kind, parse_escalations, retry_at
from training.reminders.sweep import officer_kind_sql

DUE = date(2025, 3, 1)


@pytest.mark.parametrize(("days_before_due", "kind"), [
    (45, None), (31, None), (30, "due-in-30"), (15, "due-in-30"), (14, "due-in-14"), (8, "due-in-14"),
    (7, "due-in-7"), (2, "due-in-7"), (1, "due-in-1"), (0, "due-in-1"),
    (-1, "overdue-1"), (-7, "overdue-1"), (-8, "overdue-8"), (-14, "overdue-8"), (-15, "overdue-15"),
    (-100, "overdue-99"),
])
def test_the_latest_reminder_that_fell_due(days_before_due, kind):
    assert officer_reminder_kind(DUE, DUE - timedelta(days=days_before_due)) == kind


def test_a_custom_schedule():
    schedule = Schedule(days_before=(3, 10), overdue_every=3)
    assert schedule.days_before == (10, 3)
    assert officer_reminder_kind(DUE, DUE - timedelta(days=11), schedule) is None
    assert officer_reminder_kind(DUE, DUE - timedelta(days=4), schedule) == "due-in-10"
    assert officer_reminder_kind(DUE, DUE + timedelta(days=4), schedule) == "overdue-4"


def test_the_sql_twin_agrees_day_by_day_across_month_and_leap_day_ends(session):
    schedule = Schedule()
    due = date(2024, 2, 29)
    for offset in range(-45, 60):
        on = due + timedelta(days=offset)
        in_sql = session.scalar(select(officer_kind_sql(literal(due), on, schedule)))
        expected = officer_reminder_kind(due, on, schedule)
        assert in_sql == expected or (expected is None and in_sql is None), (on, in_sql, expected)


def test_escalation_steps_from_settings():
    assert parse_escalations("14:coordinator, 7:supervisor") == ((7, "supervisor"), (14, "coordinator"))
    for bad in ("7", "x:supervisor", "0:supervisor", "7:sheriff"):
        with pytest.raises(ValueError, match="not an escalation step"):
            parse_escalations(bad)
    with pytest.raises(ValueError):
        Schedule(days_before=(0,))
    assert Schedule.from_config({"REMINDER_DAYS_BEFORE": "60,30", "REMINDER_OVERDUE_EVERY_DAYS": "3",
                                 "REMINDER_ESCALATIONS": "10:coordinator"}) == Schedule(
        days_before=(60, 30), overdue_every=3, escalations=((10, "coordinator"),))


def test_retries_back_off_doubling_up_to_a_cap():
    now = datetime(2026, 1, 1, 12, 0)
    waits = [retry_at(n, now) - now for n in range(1, 10)]
    assert waits[:4] == [timedelta(minutes=5), timedelta(minutes=10), timedelta(minutes=20), timedelta(minutes=40)]
    assert waits[-1] == timedelta(hours=6) and waits == sorted(waits)
