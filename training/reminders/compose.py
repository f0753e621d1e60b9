"""What each queued message says, written from the records as they stand when it is sent."""
from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from urllib.parse import urlsplit

from jinja2 import Environment
from markupsafe import escape
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from training.access import scope_filter
from training.catalog.models import Course
from training.clock import server_today, server_zone_name, today_for
from training.db import utcnow
from training.people.models import User
from training.records.models import Assignment, ExtensionRequest
from training.records.status import CourseState, course_states
from training.reminders import invitations
from training.reminders.invitations import TOKEN_KINDS
from training.reminders.mail import DueDateEvents, Letter
from training.reminders.models import OutboxMessage, reminder_applies
from training.reminders.rules import Schedule
from training.words import plural

OPEN_STATUSES = ("assigned", "overdue", "expiring", "lapsed")
# An escalation digest lists at most this many officers, then points to the site.
DIGEST_LIMIT = 200


class _FirstName:
    """The officer a reminder's templates see when they are written once for many: a stand-in first name, and
    nothing else (any other attribute the templates ask for is an error, not an empty string)."""

    first_name = "\x00first-name\x00"

    def __getattr__(self, name: str):
        if name.startswith("__"):   # Python's and Jinja's own probes (__html__ and the like) find nothing
            raise AttributeError(name)
        raise TypeError(f"a reminder's templates see the officer's first_name only, not {name}")


class Composer:
    """Writes the letters for a batch of outbox rows; None for a row with nothing left to say.

    Each letter counts the days from its recipient's own day (their agency's, at
    `now`), or from `on` when one day is given for everyone (an operator's --as-of).
    A delivery passes its `events`, so the calendar entries its batches share are
    written once. A batch's reminders share a few modules, due dates and time
    zones: their templates are rendered once for each, and each officer's first
    name put in the stand-in's place (escaped in the HTML, as the template does).
    """

    def __init__(self, session: Session, jinja: Environment, config: Mapping, on: date | None = None,
                 now: datetime | None = None, events: DueDateEvents | None = None):
        self.session, self.jinja, self.on, self.now = session, jinja, on, now
        self.events = events or DueDateEvents()
        self.base_url = config["BASE_URL"].rstrip("/")
        self.schedule = Schedule.from_config(config)
        self.reminders: dict[tuple, tuple[str, str]] = {}

    def day_for(self, user: User) -> date:
        return self.on or today_for(user, self.now)

    def letters(self, rows: list[OutboxMessage]) -> dict[int, Letter | None]:
        users = self._load(User, {r.user_id for r in rows}, selectinload(User.agency))
        courses = self._load(Course, {r.course_id for r in rows if r.course_id})
        nudge_states = self._open_states({users[r.user_id] for r in rows if r.kind == "nudge"})
        applying = self._applying([r for r in rows if r.is_officer_reminder], users)
        updates = self._updates([r for r in rows if r.id in applying])
        links = [r for r in rows if r.kind in TOKEN_KINDS]
        letters: dict[int, Letter | None] = invitations.letters(
            self.session, links, lambda name, **context: self.render(name, server_today(self.now), **context),
            self.base_url, self.now or utcnow()) if links else {}
        for row in rows:
            user = users[row.user_id]
            if row.kind in TOKEN_KINDS:
                continue
            if row.is_officer_reminder:
                letters[row.id] = (self.reminder(row, user, courses[row.course_id],
                                                 update=(row.user_id, row.course_id) in updates
                                                 and courses[row.course_id].kind == "course")
                                   if row.id in applying else None)
            elif row.kind == "nudge":
                letters[row.id] = self.nudge(user, nudge_states.get(user.id, []))
            elif row.kind == "extension-decided":
                letters[row.id] = self.extension_decision(row, user, courses[row.course_id])
            else:
                letters[row.id] = self.digest(row, user)
        return letters

    def _load(self, model, ids: set[int], *options) -> dict:
        if not ids:
            return {}
        return {o.id: o for o in self.session.scalars(select(model).where(model.id.in_(ids)).options(*options))}

    def _applying(self, rows: list[OutboxMessage], users: dict[int, User]) -> set[int]:
        """The officer reminders that still apply as they are sent (the training may have been completed since
        the last check), read once for each day their recipients are on."""
        by_day: dict[date, list[int]] = {}
        for row in rows:
            by_day.setdefault(self.day_for(users[row.user_id]), []).append(row.id)
        return {row_id for on, ids in by_day.items() for row_id in self.session.scalars(
            select(OutboxMessage.id).where(OutboxMessage.id.in_(ids), reminder_applies(on)))}

    def _updates(self, rows: list[OutboxMessage]) -> set[tuple[int, int]]:
        """The (officer, module) pairs among `rows` whose open assignment is a policy update."""
        if not rows:
            return set()
        return {(user_id, course_id) for user_id, course_id in self.session.execute(
            select(Assignment.user_id, Assignment.course_id).where(
                Assignment.user_id.in_({r.user_id for r in rows}), Assignment.closed_at.is_(None),
                Assignment.version_id.is_not(None)))}

    def _open_states(self, users: set[User]) -> dict[int, list[CourseState]]:
        """Open states of the officers, read once for each day they are on (at most a few)."""
        by_day: dict[date, list[int]] = {}
        for user in users:
            by_day.setdefault(self.day_for(user), []).append(user.id)
        states: dict[int, list[CourseState]] = {}
        for on, user_ids in by_day.items():
            for state in course_states(self.session, on, User.id.in_(user_ids), order_by_due=True):
                if state.status in OPEN_STATUSES:
                    states.setdefault(state.user_id, []).append(state)
        return states

    def render(self, name: str, on: date, **context) -> tuple[str, str]:
        context.update(base_url=self.base_url, on=on)
        return (self.jinja.get_template(f"reminders/mail/{name}.txt").render(**context),
                self.jinja.get_template(f"reminders/mail/{name}.html").render(**context))

    def reminder(self, row: OutboxMessage, user: User, course: Course, *, update: bool = False) -> Letter:
        """The reminder of an assignment: to take a module, or (`update`) its policy update."""
        on = self.day_for(user)
        days = (row.due_on - on).days
        title = f"Policy update to {course.title}" if update else course.title
        if days > 1:
            subject = f"{title}: due in {days} days"
        elif days >= 0:
            subject = f"{title}: due {'today' if days == 0 else 'tomorrow'}"
        else:
            subject = f"Overdue: {title} was due on {long_date(row.due_on)}"
        if course.kind == "document":
            url = f"{self.base_url}/documents/{course.code}"
        else:
            url = f"{self.base_url}/courses/{course.code}" + ("/update" if update else "")
        time_zone = user.agency.time_zone if user.agency else server_zone_name(self.now)
        key = (course.id, row.due_on, on, time_zone, update)
        if (written := self.reminders.get(key)) is None:
            written = self.reminders[key] = self.render(
                "reminder", on, user=_FirstName(), course=course, due_on=row.due_on, days=days, url=url,
                time_zone=time_zone, long_date=long_date, update=update)
        text = written[0].replace(_FirstName.first_name, user.first_name)
        html = written[1].replace(_FirstName.first_name, escape(user.first_name))
        calendar = self.events(
            uid=f"rollcall-{user.id}-{course.id}-{row.due_on.isoformat()}@{urlsplit(self.base_url).hostname}",
            summary=f"Due: {title}", due_on=row.due_on, url=url,
            description=f"Complete {course.title} ({course.code}) in Rollcall by the end of this day "
                        f"({time_zone}): {url}")
        return Letter(user.email, subject, text, html, calendar)

    def nudge(self, user: User, states: list[CourseState]) -> Letter | None:
        if not states:
            return None
        text, html = self.render("nudge", self.day_for(user), user=user, states=states)
        return Letter(user.email, "Rollcall: training you need to complete", text, html)

    def extension_decision(self, row: OutboxMessage, user: User, course: Course) -> Letter | None:
        request = self.session.get(ExtensionRequest, int(row.key.removeprefix("extension:")))
        if request is None or request.status == "pending":
            return None
        subject = (f"{course.title}: more time granted, now due {long_date(request.decided_due_on)}"
                   if request.status == "approved" else f"{course.title}: your request for more time was refused")
        text, html = self.render("extension", self.day_for(user), user=user, course=course, request=request,
                                 long_date=long_date, url=f"{self.base_url}/")
        return Letter(user.email, subject, text, html)

    def digest(self, row: OutboxMessage, recipient: User) -> Letter | None:
        role = row.kind.removeprefix("escalation-")
        step = min(days for days, r in self.schedule.escalations if r == role)
        on = self.day_for(recipient)
        overdue = self.overdue_in_care(recipient, role, step, on)
        if not overdue:
            return None
        subject = (f"Rollcall: {plural(len(overdue), 'overdue training record')} "
                   f"{'in your team' if role == 'supervisor' else 'in your units'}")
        text, html = self.render("escalation", on, recipient=recipient, role=role, step=step,
                                 overdue=overdue[:DIGEST_LIMIT], more=max(0, len(overdue) - DIGEST_LIMIT))
        return Letter(recipient.email, subject, text, html)

    def overdue_in_care(self, recipient: User, role: str, step: int, on: date) -> list[tuple[CourseState, int]]:
        """(state, days overdue) on `on` of the recipient's officers overdue by `step` days or more, longest
        first."""
        care = ([User.supervisor_id == recipient.id] if role == "supervisor"
                else scope_filter(self.session, recipient))
        # Narrowed to the recipient's people first, so a digest reads their records, not everyone's.
        late = (select(Assignment.user_id).join(User, User.id == Assignment.user_id)
                .where(*care, Assignment.closed_at.is_(None), Assignment.due_on <= on - timedelta(days=step)))
        states = course_states(self.session, on, *care, User.id.in_(late))
        # Overdue with the module, or with its policy update while the certification stands (a certified
        # officer's open assignment is an update).
        found = [(s, (on - s.due_on).days) for s in states
                 if s.status in ("overdue", "current", "expiring") and s.due_on is not None
                 and (on - s.due_on).days >= step]
        return sorted(found, key=lambda pair: (-pair[1], pair[0].last_name, pair[0].first_name))


def long_date(day: date) -> str:
    """'Thursday 3 December 2026'."""
    return f"{day:%A} {day.day} {day:%B %Y}"
