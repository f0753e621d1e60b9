"""Which reminder falls due, and when a failed delivery is tried again: plain functions."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

DEFAULT_DAYS_BEFORE = (30, 14, 7, 1)
DEFAULT_OVERDUE_EVERY = 7
DEFAULT_ESCALATIONS = ((7, "supervisor"), (14, "coordinator"))
ESCALATION_ROLES = ("supervisor", "coordinator")


@dataclass(frozen=True)
class Schedule:
    """When officers are reminded of an open assignment, and when overdue ones are escalated."""

    days_before: tuple[int, ...] = DEFAULT_DAYS_BEFORE
    overdue_every: int = DEFAULT_OVERDUE_EVERY
    escalations: tuple[tuple[int, str], ...] = DEFAULT_ESCALATIONS

    def __post_init__(self) -> None:
        if not self.days_before or any(d < 1 for d in self.days_before):
            raise ValueError("reminder days before the due date must be whole numbers of at least 1")
        if self.overdue_every < 1:
            raise ValueError("the overdue reminder interval must be at least 1 day")
        object.__setattr__(self, "days_before", tuple(sorted(set(self.days_before), reverse=True)))

    @classmethod
    def from_config(cls, config) -> Schedule:
        """The schedule the settings give; each one left unset keeps the default above."""
        days, every, ladder = (config.get(name) for name in (
            "REMINDER_DAYS_BEFORE", "REMINDER_OVERDUE_EVERY_DAYS", "REMINDER_ESCALATIONS"))
        return cls(days_before=parse_days(days) if days else DEFAULT_DAYS_BEFORE,
                   overdue_every=int(every) if every else DEFAULT_OVERDUE_EVERY,
                   escalations=parse_escalations(ladder) if ladder else DEFAULT_ESCALATIONS)


def parse_days(text: str | tuple[int, ...]) -> tuple[int, ...]:
    """'30,14,7,1' -> (30, 14, 7, 1)."""
    if isinstance(text, tuple):
        return text
    try:
        return tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise ValueError(f"'{text}' is not a list of days like 30,14,7,1") from None


def parse_escalations(text: str | tuple) -> tuple[tuple[int, str], ...]:
    """'7:supervisor,14:coordinator' -> ((7, 'supervisor'), (14, 'coordinator'))."""
    if isinstance(text, tuple):
        return text
    steps = []
    for part in (p.strip() for p in text.split(",") if p.strip()):
        days, _, role = part.partition(":")
        if not days.strip().isdigit() or int(days) < 1 or role.strip() not in ESCALATION_ROLES:
            raise ValueError(f"'{part}' is not an escalation step like 7:supervisor or 14:coordinator")
        steps.append((int(days), role.strip()))
    return tuple(sorted(steps))


def officer_reminder_kind(due_on: date, on: date, schedule: Schedule = Schedule()) -> str | None:
    """The latest reminder to the officer that has fallen due on `on` for an assignment due on `due_on`.

    Before the due date: `due-in-N` for the smallest step N at or above the days
    left. From the first day overdue: `overdue-K`, K the day of that reminder
    (1, then every `overdue_every` days). A day the sweep missed is caught up by
    the next one, which finds the same latest kind; older kinds are never sent late.
    """
    days_left = (due_on - on).days
    if days_left >= 0:
        steps = [s for s in schedule.days_before if s >= days_left]
        return f"due-in-{min(steps)}" if steps else None
    days_over = -days_left
    return f"overdue-{1 + schedule.overdue_every * ((days_over - 1) // schedule.overdue_every)}"


def retry_at(attempts: int, now: datetime, *, base: timedelta = timedelta(minutes=5),
             cap: timedelta = timedelta(hours=6)) -> datetime:
    """When a message that has failed `attempts` times is tried again: doubling, capped."""
    return now + min(base * (2 ** max(attempts - 1, 0)), cap)
