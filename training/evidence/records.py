"""Everything the system held about one officer's training at the end of a day, as plain JSON-ready values.

A record counts when it was written before the day ended in the officer's time zone: completions by the time
they were recorded (an import after the day is left out even when it dates an earlier completion), revocations,
closings, due-date changes and decisions by the time they were made. Nothing here reads the clock, so the same
day gives the same values whenever they are gathered.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from training.access import name_for
from training.assignments.manage import KIND_LABELS
from training.assignments.service import REASONS
from training.audit.describe import Names, sentence
from training.audit.models import AuditEvent
from training.catalog.models import Course, CourseVersion, Question
from training.clock import day_start
from training.people.models import User
from training.records import codes, rules
from training.records.models import (
    Acknowledgement,
    Assignment,
    AssignmentChange,
    Attempt,
    Completion,
    Exemption,
    ExtensionRequest,
)

# The action a packet's own creation is recorded as; such events are never part of a packet.
PACKET_ACTION = "evidence.created"
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def zone_of(officer: User) -> str:
    """The time zone the officer's days are counted in: their agency's, UTC for an officer of none."""
    return officer.agency.time_zone if officer.agency else "UTC"


def day_end(officer: User, as_of: date) -> datetime:
    """The instant (naive UTC, as stored) at which the as-of day ends for the officer."""
    return day_start(as_of + timedelta(days=1), zone_of(officer))


def stamp(at: datetime | None) -> str | None:
    """A stored instant as ISO 8601 UTC text, to the microsecond."""
    return None if at is None else at.isoformat(timespec="microseconds") + "Z"


def _before(at: datetime | None, end: datetime) -> bool:
    return at is not None and at < end


@dataclass
class Held:
    """What the packet is built from."""

    officer: dict
    completions: list[dict]
    attempts: list[dict]
    acknowledgements: list[dict]
    assignments: list[dict]
    exemptions: list[dict]
    extension_requests: list[dict]
    audit_events: list[dict]


class People:
    """The people who acted on the officer's records, as the packet's builder may see them: by name (and role)
    within their scope, by role alone outside it; the operator at the command line (`viewer` None) sees all."""

    def __init__(self, session: Session, viewer: User | None):
        self.session, self.viewer, self.cache = session, viewer, {}

    def __call__(self, user_id: int | None, none: str = "the system") -> str:
        if user_id is None:
            return none
        if user_id not in self.cache:
            person = self.session.get(User, user_id)
            named = name_for(self.session, self.viewer, person)
            self.cache[user_id] = f"{named} ({person.role})" if person and named == person.full_name else named
        return self.cache[user_id]


def gather(session: Session, officer: User, as_of: date, viewer: User | None = None) -> Held:
    """What was held about the officer at the end of `as_of`, people named as `viewer` may see them."""
    end = day_end(officer, as_of)
    people = People(session, viewer)
    courses = {c.id: c for c in session.scalars(select(Course))}
    return Held(
        officer=_officer(officer, as_of),
        completions=_completions(session, officer, as_of, end, people),
        attempts=_attempts(session, officer, end, courses),
        acknowledgements=_acknowledgements(session, officer, end, courses),
        assignments=_assignments(session, officer, end, courses, people),
        exemptions=[{"id": e.id, "course_code": courses[e.course_id].code, "course_title": courses[e.course_id].title,
                     "starts_on": e.starts_on.isoformat(), "ends_on": e.ends_on.isoformat(), "reason": e.reason,
                     "granted_by": people(e.granted_by_id, "an operator at the command line"),
                     "granted_at": stamp(e.created_at)}
                    for e in session.scalars(select(Exemption).where(Exemption.user_id == officer.id,
                                                                     Exemption.created_at < end)
                                             .order_by(Exemption.created_at, Exemption.id))],
        extension_requests=_requests(session, officer, end, courses, people),
        audit_events=_events(session, officer, end, viewer),
    )


def _officer(officer: User, as_of: date) -> dict:
    return {"name": officer.full_name, "employee_id": officer.employee_id, "email": officer.email,
            "agency": f"{officer.agency.name} ({officer.agency.code})" if officer.agency else None,
            "unit": f"{officer.unit.name} ({officer.unit.code})" if officer.unit else None,
            "time_zone": zone_of(officer), "as_of": as_of.isoformat()}


def _completions(session: Session, officer: User, as_of: date, end: datetime, people: People) -> list[dict]:
    rows = list(session.execute(
        select(Completion, Course, CourseVersion).join(Course, Course.id == Completion.course_id)
        .outerjoin(CourseVersion, CourseVersion.id == Completion.version_id)
        .where(Completion.user_id == officer.id, Completion.created_at < end)
        .order_by(Completion.completed_on.desc(), Completion.id.desc())))
    out, newest_kept = [], set()
    for completion, course, version in rows:
        revoked = _before(completion.revoked_at, end)
        # Newest first: a completion is superseded when a newer one of the course, not revoked by then, came first.
        superseded = course.id in newest_kept
        if not revoked:
            newest_kept.add(course.id)
        document = course.kind == "document"
        out.append({
            "id": completion.id, "course_code": course.code, "course_title": course.title,
            "kind": "document" if document else "module",
            "version": (version.policy_version if document else version.number) if version else None,
            "source": completion.source, "score": completion.score,
            "completed_on": completion.completed_on.isoformat(), "expires_on": completion.expires_on.isoformat(),
            "recorded_at": stamp(completion.created_at),
            "acknowledged_name": completion.acknowledged_name, "acknowledged_at": stamp(completion.acknowledged_at),
            "verification_code": None if document else codes.display(completion.verification_code),
            "state": rules.verification_state(as_of, completion.expires_on, revoked=revoked, superseded=superseded),
            "revoked_on": completion.revoked_on.isoformat() if revoked else None,
            "revoked_reason": completion.revoked_reason if revoked else None,
            "revoked_by": people(completion.revoked_by_id) if revoked else None,
            "certificate": None,
        })
    return out


def _attempts(session: Session, officer: User, end: datetime, courses: dict[int, Course]) -> list[dict]:
    attempts = list(session.scalars(select(Attempt).where(Attempt.user_id == officer.id, Attempt.started_at < end)
                                    .order_by(Attempt.started_at, Attempt.id)))
    ids = {item["question_id"] for a in attempts for item in a.items}
    questions = {q.id: q for q in session.scalars(select(Question).where(Question.id.in_(ids)))} if ids else {}
    versions = {v.id: v.number for v in session.scalars(
        select(CourseVersion).where(CourseVersion.id.in_({a.version_id for a in attempts})))} if attempts else {}
    out = []
    for attempt in attempts:
        submitted = _before(attempt.submitted_at, end)
        answers = (attempt.answers or {}) if submitted else {}
        items = []
        for number, item in enumerate(attempt.items, start=1):
            question = questions[item["question_id"]]
            picked = answers.get(str(question.id))
            shown = [{"letter": LETTERS[position], "choice_index": index, "text": question.choices[index],
                      "correct": index == question.answer_index, "picked": index == picked}
                     for position, index in enumerate(item["order"])]
            items.append({"number": number, "question_id": question.id, "question_key": question.key,
                          "lesson": question.lesson_slug, "stem": question.stem, "choices_shown": shown,
                          "answer_given": next((c["letter"] for c in shown if c["picked"]), None),
                          "correct_answer": next(c["letter"] for c in shown if c["correct"]),
                          "right": (picked == question.answer_index) if submitted else None})
        course = courses[attempt.course_id]
        out.append({"id": attempt.id, "course_code": course.code, "course_title": course.title,
                    "kind": attempt.kind, "version": versions.get(attempt.version_id),
                    "started_at": stamp(attempt.started_at),
                    "submitted_at": stamp(attempt.submitted_at) if submitted else None,
                    "state": ("passed" if attempt.passed else "not passed") if submitted else "in progress",
                    "score": attempt.score if submitted else None,
                    "right": sum(1 for i in items if i["right"]) if submitted else None,
                    "questions": items})
    return out


def _acknowledgements(session: Session, officer: User, end: datetime, courses: dict[int, Course]) -> list[dict]:
    return [{"id": a.id, "course_code": courses[a.course_id].code, "course_title": courses[a.course_id].title,
             "kind": a.kind, "version": a.version_number, "policy_version": version.policy_version,
             "version_content_sha256": version.content_hash, "text_sha256": a.text_sha256,
             "name_signed": a.name, "acknowledged_at": stamp(a.acknowledged_at),
             "acknowledged_on": a.acknowledged_on.isoformat(), "completion_id": a.completion_id,
             "attempt_id": a.attempt_id}
            for a, version in session.execute(
                select(Acknowledgement, CourseVersion)
                .join(CourseVersion, CourseVersion.id == Acknowledgement.version_id)
                .where(Acknowledgement.user_id == officer.id, Acknowledgement.acknowledged_at < end)
                .order_by(Acknowledgement.acknowledged_at, Acknowledgement.id))]


def _assignments(session: Session, officer: User, end: datetime, courses: dict[int, Course],
                 people: People) -> list[dict]:
    changes: dict[int, list[AssignmentChange]] = {}
    for change in session.scalars(select(AssignmentChange).where(AssignmentChange.user_id == officer.id,
                                                                 AssignmentChange.at < end)
                                  .order_by(AssignmentChange.at, AssignmentChange.id)):
        changes.setdefault(change.assignment_id, []).append(change)
    out = []
    for a in session.scalars(select(Assignment).where(Assignment.user_id == officer.id, Assignment.created_at < end)
                             .order_by(Assignment.created_at, Assignment.id)):
        mine = changes.get(a.id, [])
        later = session.scalar(select(AssignmentChange.due_on_before).where(
            AssignmentChange.assignment_id == a.id, AssignmentChange.at >= end)
            .order_by(AssignmentChange.at, AssignmentChange.id).limit(1))
        # The due date as it stood when the day ended: before the first change made after it.
        due = later if later is not None else a.due_on
        first_due = mine[0].due_on_before if mine else due
        story = [{"at": stamp(a.created_at), "what": "Assigned", "due_on": first_due.isoformat(),
                  "reason": REASONS.get(a.reason, a.reason), "by": people(a.assigned_by_id)}]
        story += [{"at": stamp(c.at), "what": KIND_LABELS.get(c.kind, c.kind),
                   "due_on_before": c.due_on_before.isoformat(),
                   "due_on": c.due_on.isoformat() if c.due_on else None, "reason": c.reason,
                   "by": people(c.actor_id, "an operator at the command line")} for c in mine]
        closed = _before(a.closed_at, end)
        state = "open"
        if closed:
            state = "completed" if a.completion_id is not None else "withdrawn"
            if state == "completed":
                story.append({"at": stamp(a.closed_at), "what": "Completed", "reason": "", "by": "the officer"})
        out.append({"id": a.id, "course_code": courses[a.course_id].code, "course_title": courses[a.course_id].title,
                    "reason": REASONS.get(a.reason, a.reason), "state": state, "due_on": due.isoformat(),
                    "history": story})
    return out


def _requests(session: Session, officer: User, end: datetime, courses: dict[int, Course],
              people: People) -> list[dict]:
    out = []
    for r in session.scalars(select(ExtensionRequest).where(ExtensionRequest.user_id == officer.id,
                                                            ExtensionRequest.created_at < end)
                             .order_by(ExtensionRequest.created_at, ExtensionRequest.id)):
        decided = _before(r.decided_at, end)
        out.append({"id": r.id, "assignment_id": r.assignment_id, "course_code": courses[r.course_id].code,
                    "asked_at": stamp(r.created_at),
                    "asked_due_on": r.asked_due_on.isoformat() if r.asked_due_on else None, "reason": r.reason,
                    "status": r.status if decided else "pending",
                    "decided_by": people(r.decided_by_id) if decided else None,
                    "decided_at": stamp(r.decided_at) if decided else None,
                    "decided_due_on": r.decided_due_on.isoformat() if decided and r.decided_due_on else None,
                    "note": r.note if decided else None})
    return out


def _events(session: Session, officer: User, end: datetime, viewer: User | None) -> list[dict]:
    """The events about the officer, oldest first, with exactly the fields their hashes cover."""
    events = list(session.scalars(select(AuditEvent).where(
        AuditEvent.subject_id == officer.id, AuditEvent.at < end, AuditEvent.action != PACKET_ACTION)
        .order_by(AuditEvent.id)))
    names = Names(session, viewer, events)
    return [{"id": e.id, "at": e.at.isoformat(timespec="microseconds"), "actor_id": e.actor_id,
             "action": e.action, "target": e.target, "details": e.details, "details_sha256": e.details_sha256,
             "prev_hash": e.prev_hash,
             "hash": e.hash, "sentence": sentence(e, names)} for e in events]
