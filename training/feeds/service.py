"""What a person's calendar feed holds, and the feed itself as iCalendar.

Every date is a day already (a due date, the last day a certification is valid), in the person's agency's
sense of the day, so each is an all-day event. Each event's UID names the assignment or the certification it
comes from: a due date that moves keeps its UID and the calendar moves the event rather than adding one.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from icalendar import Calendar, Event, Timezone, vDuration
from sqlalchemy import select
from sqlalchemy.orm import Session

from training.catalog.models import Course
from training.people.models import User
from training.records.models import Assignment, Completion
from training.records.status import exempt_on, not_revoked_by

# How often a calendar is asked to fetch the feed again (REFRESH-INTERVAL, and Outlook's X-PUBLISHED-TTL).
REFRESH = timedelta(hours=4)
PRODID = "-//Rollcall//Training calendar//EN"


@dataclass(frozen=True)
class Entry:
    """One all-day event: `link` is the page it leads to, as (endpoint, values) for the view to make a URL of."""

    uid: str
    on: date
    summary: str
    description: str
    link: tuple[str, dict]


def _what_is_due(course: Course, assignment: Assignment) -> tuple[str, tuple[str, dict]]:
    """The words for what an open assignment asks, and the page where it is done."""
    if course.kind == "document":
        return f"read and sign {course.title}", ("documents.read", {"code": course.code})
    if assignment.version_id is not None:
        return f"policy update of {course.title}", ("updates.update", {"code": course.code})
    return course.title, ("learn.course", {"code": course.code})


def _open_assignments(session: Session, on: date, *where) -> list[tuple[Assignment, Course, User]]:
    """Open assignments of active people matching `where`, leaving out those the person is exempt from on `on`."""
    return list(session.execute(
        select(Assignment, Course, User).join(Course, Course.id == Assignment.course_id)
        .join(User, User.id == Assignment.user_id)
        .where(*where, Assignment.closed_at.is_(None), Course.active.is_(True), User.active.is_(True),
               ~exempt_on(on, Assignment.course_id, Assignment.user_id))
        .order_by(Assignment.due_on, Course.title, User.last_name, User.first_name, Assignment.id)).all())


def own_due_dates(session: Session, user: User, on: date) -> list[Entry]:
    entries = []
    for assignment, course, _ in _open_assignments(session, on, Assignment.user_id == user.id):
        what, link = _what_is_due(course, assignment)
        entries.append(Entry(f"assignment-{assignment.id}", assignment.due_on, f"Due: {what}",
                             f"Your due date for {what}. Complete it in Rollcall by the end of this day.", link))
    return entries


def expiry_dates(session: Session, user: User, on: date) -> list[Entry]:
    """The last valid day of the person's latest certification of each module (signed documents never expire)."""
    latest: dict[int, tuple[Completion, Course]] = {}
    for completion, course in session.execute(
            select(Completion, Course).join(Course, Course.id == Completion.course_id)
            .where(Completion.user_id == user.id, Completion.completed_on <= on, not_revoked_by(on),
                   Course.kind == "course", Course.active.is_(True))
            .order_by(Completion.completed_on, Completion.id)):
        latest[course.id] = (completion, course)
    return [Entry(f"certification-{completion.id}", completion.expires_on,
                  f"Certification ends: {course.title}",
                  f"Your certification in {course.title} is valid through this day. Complete the module again "
                  f"before then to stay certified.", ("learn.course", {"code": course.code}))
            for completion, course in sorted(latest.values(), key=lambda pair: (pair[0].expires_on, pair[1].title))]


def reports_due_dates(session: Session, supervisor: User, on: date) -> list[Entry]:
    """The due dates of the supervisor's active direct reports, each named."""
    entries = []
    for assignment, course, person in _open_assignments(session, on, User.supervisor_id == supervisor.id):
        what, _ = _what_is_due(course, assignment)
        entries.append(Entry(f"report-assignment-{assignment.id}", assignment.due_on,
                             f"Due for {person.full_name}: {what}",
                             f"{person.full_name}, who reports to you, is due to complete {what} by the end of "
                             f"this day.", ("people.officer", {"user_id": person.id})))
    return entries


def feed_entries(session: Session, user: User, on: date) -> list[Entry]:
    """Everything the person's feed shows on `on`: their due dates, their certifications' last days, and their
    direct reports' due dates."""
    return [*own_due_dates(session, user, on), *expiry_dates(session, user, on),
            *reports_due_dates(session, user, on)]


def calendar(entries: Iterable[Entry], *, uid: str, name: str, time_zone: str, host: str, today: date,
             stamp: datetime, url: Callable[[Entry], str]) -> bytes:
    """The entries as an iCalendar feed (RFC 5545): all-day events, each with its page's `url`; `stamp` the
    instant it is made (UTC).

    `time_zone` is the zone the days are reckoned in (`today` is its day): X-WR-TIMEZONE names it, and its
    VTIMEZONE covers this year and the years of the events, for calendars that place all-day events by the
    calendar's own zone.
    """
    entries = list(entries)
    feed = Calendar.new(prodid=PRODID, method="PUBLISH", name=name, uid=f"{uid}@{host}",
                        description="Training due dates and certification end dates from Rollcall.",
                        refresh_interval=REFRESH)
    feed["REFRESH-INTERVAL"].params["VALUE"] = "DURATION"    # RFC 7986 requires the parameter
    feed.add("X-PUBLISHED-TTL", vDuration(REFRESH))
    feed.add("X-WR-TIMEZONE", time_zone)
    days = [today, *(entry.on for entry in entries)]
    feed.add_component(Timezone.from_tzid(time_zone, first_date=date(min(days).year, 1, 1),
                                          last_date=date(max(days).year + 1, 1, 1)))
    for entry in entries:
        feed.add_component(Event.new(uid=f"{entry.uid}@{host}", start=entry.on, end=entry.on + timedelta(days=1),
                                     stamp=stamp, summary=entry.summary, description=entry.description,
                                     url=url(entry), transparency="TRANSPARENT"))
    return feed.to_ical()
