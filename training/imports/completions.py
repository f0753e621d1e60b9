"""Importing historical completions (years of records, in-person classes) from CSV.

`parse_completions_csv` checks the whole file and makes a plan; nothing is written
unless the plan has no problems, and then `apply_completions_plan` writes it in bulk.
A record already in the database (same officer, course and date) is skipped, so
importing the same file twice is harmless.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from training import telemetry
from training.access import forbid_own, scope_filter
from training.audit.service import record, record_many, within_scope_of
from training.catalog.models import Course
from training.clock import local_date
from training.db import utcnow
from training.imports.bulk import Progress, chunks
from training.imports.csvfile import Problems, read_csv
from training.imports.rules import missing
from training.people.models import Agency, User
from training.records import rules
from training.records.models import Assignment, Completion
from training.words import plural

HEADER = ("employee_id", "course_code", "completed_on", "score")
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
SCORE = re.compile(r"\d{1,3}")
CHUNK = 10_000   # ids per IN (...) list and rows per INSERT batch: well within every driver's limits

Pair = tuple[int, int]   # (user_id, course_id)


@dataclass
class ImportedCompletion:
    line: int
    user_id: int
    course_id: int
    completed_on: date
    score: int | None
    expires_on: date | None = None


@dataclass
class CompletionsPlan:
    problems: Problems = field(default_factory=Problems)
    records: list[ImportedCompletion] = field(default_factory=list)
    already_recorded: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


def parse_completions_csv(session: Session, data: bytes, today: date, viewer: User | None = None) -> CompletionsPlan:
    """Check a completions file against the database and plan what to add.

    `viewer` is the staff member uploading (None: the operator at the command line): an
    officer outside their scope is not found, as if unknown, and their own record is refused.
    Once the file has a problem, no record is kept (the file is refused); once it has
    more than are kept (see csvfile.Problems), the lines after are each checked on
    their own only and their problems counted.
    """
    csv_file = read_csv(data, HEADER, extra_columns=True)
    plan = CompletionsPlan(problems=csv_file.problems)
    scope = scope_filter(session, viewer) if viewer is not None else []
    unknown = "no officer in your scope has" if scope else "no officer has"
    courses = {c.code: c for c in session.scalars(select(Course))}

    seen: dict[tuple[int, int, date], int] = {}
    # The officers of each chunk of rows are looked up together: a file names a few of a million officers, or
    # (a wrong file) a million that are not there, and neither is read whole into memory.
    for chunk in chunks(csv_file.rows, CHUNK):
        users = _officers(session, scope, {cells["employee_id"] for _, cells in chunk})
        for line, cells in chunk:
            problems = _row_problems(cells, users, courses, today, unknown)
            if not problems and viewer is not None and users[cells["employee_id"]] == viewer.id:
                problems = ["this row is your own completion; another coordinator or an administrator must record it"]
            if problems:
                plan.problems.extend((line, message) for message in problems)
                continue
            key = (users[cells["employee_id"]], courses[cells["course_code"]].id,
                   date.fromisoformat(cells["completed_on"]))
            if key in seen:
                plan.problems.append((line, f"this record (officer {cells['employee_id']}, {cells['course_code']}, "
                                            f"{cells['completed_on']}) is already on line {seen[key]}"))
                continue
            if not plan.problems.overflowed:
                seen[key] = line
            if not plan.problems:
                plan.records.append(ImportedCompletion(line, *key, int(cells["score"]) if cells["score"] else None))
    if not plan.ok:
        plan.problems.sort(key=lambda problem: problem[0])
        plan.records = []
        return plan

    history = _history(session, plan.records)
    fresh = []
    for rec in plan.records:
        if rec.completed_on in history.get((rec.user_id, rec.course_id), {}):
            plan.already_recorded += 1
        else:
            fresh.append(rec)
    plan.records = fresh
    _set_expiries(plan.records, history, {c.id: c for c in courses.values()})
    return plan


def _officers(session: Session, scope, employee_ids: set[str]) -> dict[str, int]:
    """Ids of the officers (in `scope`) with these employee ids, by employee id."""
    return dict(session.execute(select(User.employee_id, User.id)
                                .where(User.employee_id.in_(employee_ids - {""}), *scope)).all())


def describe_records(session: Session, records: list[ImportedCompletion]) -> list[str]:
    """Each planned record in words: its line, the officer (name and employee id), the module (title and code),
    the day and the score."""
    users = {u.id: u for u in session.scalars(select(User).where(User.id.in_({r.user_id for r in records})))}
    courses = {c.id: c for c in session.scalars(select(Course).where(Course.id.in_({r.course_id for r in records})))}
    lines = []
    for rec in records:
        user, course = users[rec.user_id], courses[rec.course_id]
        score = f", score {rec.score}" if rec.score is not None else ", no score"
        lines.append(f"Line {rec.line}: {user.full_name} ({user.employee_id}) completed {course.title} "
                     f"({course.code}) on {rec.completed_on.isoformat()}{score}")
    return lines


def _row_problems(cells: dict[str, str], users: dict[str, int], courses: dict[str, Course],
                  today: date, unknown: str) -> list[str]:
    if message := missing(cells, HEADER[:3]):
        return [message]
    problems = []
    if cells["employee_id"] not in users:
        problems.append(f"{unknown} employee_id '{cells['employee_id']}'")
    if cells["course_code"] not in courses:
        problems.append(f"no course has code '{cells['course_code']}' "
                        f"(known codes: {', '.join(sorted(courses)) or 'none yet'})")
    day = _iso_date(cells["completed_on"])
    if day is None:
        problems.append(f"completed_on '{cells['completed_on']}' is not a date like 2024-12-31")
    elif day > today:
        problems.append(f"completed_on {day.isoformat()} is in the future (today is {today.isoformat()})")
    score = cells["score"]
    if score and not (SCORE.fullmatch(score) and int(score) <= 100):
        problems.append(f"score '{score}' is not a whole number from 0 to 100 (leave it empty if there was none)")
    return problems


def _iso_date(text: str) -> date | None:
    if not ISO_DATE.fullmatch(text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _history(session: Session, records: list[ImportedCompletion]) -> dict[Pair, dict[date, date | None]]:
    """Completions already in the database for the officers and courses in the file:
    {(user, course): {completed_on: expires_on}}, in date order (the latest of a day last).
    A revoked completion is there (its day counts as recorded) with no expiry to renew from."""
    course_ids = {r.course_id for r in records}
    history: dict[Pair, dict[date, date | None]] = {}
    for user_ids in chunks(sorted({r.user_id for r in records}), CHUNK):
        rows = session.execute(
            select(Completion.user_id, Completion.course_id, Completion.completed_on, Completion.expires_on,
                   Completion.revoked_on)
            .where(Completion.user_id.in_(user_ids), Completion.course_id.in_(course_ids))
            .order_by(Completion.completed_on, Completion.id))
        for user_id, course_id, completed_on, expires_on, revoked_on in rows:
            history.setdefault((user_id, course_id), {})[completed_on] = None if revoked_on else expires_on
    return history


def _set_expiries(records: list[ImportedCompletion], history: dict[Pair, dict[date, date | None]],
                  courses: dict[int, Course]) -> None:
    """Give each record the expiry a quiz completion on that day would get: officer by course,
    in date order, each renewing from the latest earlier completion, in the database or the file."""
    by_pair: dict[Pair, list[ImportedCompletion]] = {}
    for rec in records:
        by_pair.setdefault((rec.user_id, rec.course_id), []).append(rec)
    for pair, recs in by_pair.items():
        course = courses[pair[1]]
        # Dates never collide: a file record on a day already in the database was skipped.
        events = sorted([(day, expires_on, None) for day, expires_on in history.get(pair, {}).items()]
                        + [(rec.completed_on, None, rec) for rec in recs], key=lambda e: e[0])
        previous: date | None = None
        for day, expires_on, rec in events:
            if rec is not None:
                rec.expires_on = expires_on = rules.expiry_date(
                    day, course.recurrence_months, previous_expires_on=previous,
                    renewal_window_days=course.renewal_window_days,
                    renew_from_expiry=course.renew_from_expiry,
                    cycle_start_month=course.cycle_start_month, kind=course.kind)
            if expires_on is not None:
                previous = expires_on


def apply_completions_plan(session: Session, plan: CompletionsPlan, source: str, actor_id: int | None = None,
                           progress: Progress = None) -> int:
    """Write a plan without problems; returns the number of completions added.

    Closes each open assignment the officer's newest imported completion of that
    course fulfils (completed on or after the day it was assigned). `progress` is
    called now and then with the number of rows written so far.
    """
    if not plan.ok:
        raise ValueError(f"the import has {plural(plan.problems.total, 'problem')}; nothing was written")
    for rec in plan.records:
        forbid_own(actor_id, rec.user_id, "record a completion")
    now = utcnow()
    codes = dict(session.execute(select(Course.id, Course.code)).all())
    done = 0
    for batch in chunks(plan.records, CHUNK):
        # render_nulls: an empty score stays NULL in one executemany instead of splitting the batch.
        ids = session.scalars(
            insert(Completion).returning(Completion.id, sort_by_parameter_order=True)
            .execution_options(render_nulls=True), [
                {"user_id": r.user_id, "course_id": r.course_id, "version_id": None,
                 "completed_on": r.completed_on, "expires_on": r.expires_on, "score": r.score,
                 "source": "import", "created_at": now}
                for r in batch]).all()
        # Each record is its own completion event in the audit trail, naming the file it came from.
        record_many(session, "completion.recorded", [
            {"target": f"user:{r.user_id}",
             "details": {"course": codes[r.course_id], "completed_on": r.completed_on.isoformat(),
                         "expires_on": r.expires_on.isoformat(), "score": r.score, "source": "import",
                         "file": source, "line": r.line, "completion_id": completion_id}}
            for r, completion_id in zip(batch, ids)], actor_id=actor_id)
        done += len(batch)
        telemetry.COMPLETIONS.labels("import").inc(len(batch))
        if progress:
            progress(done)
    closing = _assignments_to_close(session, plan.records)
    if closing:
        session.execute(update(Assignment), [{"id": assignment_id, "closed_at": now, "completion_id": completion_id}
                                             for assignment_id, completion_id in closing])
    record(session, "completion.imported", actor_id=actor_id, target=("file:" + source)[:200],
           about=within_scope_of(session, actor_id), file=source,
           added=len(plan.records), already_recorded=plan.already_recorded, assignments_closed=len(closing))
    return len(plan.records)


def _assignments_to_close(session: Session, records: list[ImportedCompletion]) -> list[tuple[int, int]]:
    """(assignment id, completion id) for each open assignment that the officer's newest
    imported completion of the course fulfils: completed on or after the day it was assigned (in the
    officer's agency's time zone, the one the completion's day is in)."""
    newest: dict[Pair, date] = {}
    for rec in records:
        pair = (rec.user_id, rec.course_id)
        if pair not in newest or rec.completed_on > newest[pair]:
            newest[pair] = rec.completed_on
    course_ids = {course_id for _, course_id in newest}
    fulfilled: dict[Pair, int] = {}   # pair -> open assignment id
    for user_ids in chunks(sorted({user_id for user_id, _ in newest}), CHUNK):
        for assignment_id, user_id, course_id, created_at, time_zone in session.execute(
                select(Assignment.id, Assignment.user_id, Assignment.course_id, Assignment.created_at,
                       Agency.time_zone)
                .join(User, User.id == Assignment.user_id).outerjoin(Agency, Agency.id == User.agency_id)
                .where(Assignment.closed_at.is_(None), Assignment.user_id.in_(user_ids),
                       Assignment.course_id.in_(course_ids))):
            day = newest.get((user_id, course_id))
            if day is not None and day >= local_date(created_at, time_zone):
                fulfilled[(user_id, course_id)] = assignment_id
    # The completions were just inserted; an imported day is never a day already recorded.
    closing = []
    for user_ids in chunks(sorted({user_id for user_id, _ in fulfilled}), CHUNK):
        for completion_id, user_id, course_id, completed_on in session.execute(
                select(Completion.id, Completion.user_id, Completion.course_id, Completion.completed_on)
                .where(Completion.user_id.in_(user_ids), Completion.course_id.in_(course_ids))):
            pair = (user_id, course_id)
            if pair in fulfilled and completed_on == newest[pair]:
                closing.append((fulfilled[pair], completion_id))
    return closing
