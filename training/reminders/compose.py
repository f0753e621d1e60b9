"""What each queued message says, written from the records as they stand when it is sent."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from urllib.parse import urlsplit

from jinja2 import Environment
from markupsafe import escape
from sqlalchemy import ColumnElement, Row, func, literal, select
from sqlalchemy.orm import Session, selectinload

from training.access import scope_filter
from training.catalog.models import Course
from training.clock import server_today, server_zone_name, today_for
from training.db import utcnow
from training.people.models import Unit, User
from training.records.models import Assignment, ExtensionRequest
from training.records.status import CourseState, course_states, pair_facts_query, status_expression
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
        digests = self._overdue([r for r in rows if r.kind.startswith("escalation-")], users)
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
                letters[row.id] = self.digest(row, user, digests[row.id])
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

    def digest(self, row: OutboxMessage, recipient: User, overdue: Overdue) -> Letter | None:
        """An escalation digest of the recipient's `overdue` officers (see `_overdue`)."""
        if not overdue.total:
            return None
        role = row.kind.removeprefix("escalation-")
        subject = (f"Rollcall: {plural(overdue.total, 'overdue training record')} "
                   f"{'in your team' if role == 'supervisor' else 'in your units'}")
        text, html = self.render("escalation", self.day_for(recipient), recipient=recipient, role=role,
                                 step=self._step(role), overdue=overdue.listed,
                                 more=overdue.total - len(overdue.listed))
        return Letter(recipient.email, subject, text, html)

    def _step(self, role: str) -> int:
        """The days overdue at which a role's digests start."""
        return min(days for days, r in self.schedule.escalations if r == role)

    def _overdue(self, rows: list[OutboxMessage], users: dict[int, User]) -> dict[int, Overdue]:
        """What each escalation digest lists, by digest row id: its recipient's officers overdue on the recipient's
        day by the role's step or more.

        A supervisor's officers are those who report to them: the supervisors of a batch who are on the same day
        are read together, by one statement. A coordinator's are those in their scope, one statement each.
        """
        found: dict[int, Overdue] = {}
        supervisors: dict[date, dict[int, list[int]]] = {}
        for row in rows:
            recipient = users[row.user_id]
            on = self.day_for(recipient)
            if row.kind == "escalation-supervisor":
                supervisors.setdefault(on, {}).setdefault(recipient.id, []).append(row.id)
            else:
                care = scope_filter(self.session, recipient)
                found[row.id] = self._overdue_by(on, self._step("coordinator"), care).get(None, Overdue())
        for on, rows_of in supervisors.items():
            care = [User.supervisor_id.in_(list(rows_of))]
            listed = self._overdue_by(on, self._step("supervisor"), care, User.supervisor_id)
            found.update((row_id, listed.get(supervisor_id, Overdue()))
                         for supervisor_id, row_ids in rows_of.items() for row_id in row_ids)
        return found

    def _overdue_by(self, on: date, step: int, care: list[ColumnElement[bool]],
                    recipient: ColumnElement[int] | None = None) -> dict[int | None, Overdue]:
        """The officers matching `care` overdue on `on` by `step` days or more, by `recipient` (a column of users:
        the supervisors', whose officers are few, so read first) or all under None: in each, the first
        DIGEST_LIMIT of their records, longest overdue first, and how many there are.

        Read from the required pairs' stored facts (`pair_facts_query`): overdue with the module, or with its
        policy update while the certification stands (a certified officer's open assignment is an update). The
        database counts, sorts and cuts each list.
        """
        facts = pair_facts_query(on, *care, few=recipient is not None).subquery("facts")
        status = status_expression(on, facts.c.expires_on, facts.c.due_on, facts.c.exempt_until)
        whose = [recipient] if recipient is not None else None
        ranked = (
            select((literal(None) if recipient is None else recipient).label("recipient"),
                   User.employee_id, User.first_name, User.last_name, Unit.code.label("unit_code"),
                   Course.title.label("course_title"), facts.c.due_on,
                   func.row_number().over(partition_by=whose, order_by=(
                       facts.c.due_on, User.last_name, User.first_name, User.id, Course.code)).label("place"),
                   func.count().over(partition_by=whose).label("total"))
            .select_from(facts)
            .join(User, User.id == facts.c.user_id)
            .join(Course, Course.id == facts.c.course_id)
            .outerjoin(Unit, Unit.id == facts.c.unit_id)
            .where(status.in_(("overdue", "current", "expiring")), facts.c.due_on <= on - timedelta(days=step))
            .subquery("ranked"))
        self.session.flush()  # read at the Core level, which does not autoflush
        found: dict[int | None, Overdue] = {}
        for row in self.session.connection().execute(
                select(ranked).where(ranked.c.place <= DIGEST_LIMIT).order_by(ranked.c.recipient, ranked.c.place)):
            overdue = found.setdefault(row.recipient, Overdue(total=row.total))
            overdue.listed.append((row, (on - row.due_on).days))
        return found


@dataclass
class Overdue:
    """A digest's list: (officer's record, days overdue), longest overdue first, and how many records in all."""

    listed: list[tuple[Row, int]] = field(default_factory=list)
    total: int = 0


def long_date(day: date) -> str:
    """'Thursday 3 December 2026'."""
    return f"{day:%A} {day.day} {day:%B %Y}"
