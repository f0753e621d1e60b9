"""Roster exports: builders that yield rows; callers choose the format and the sink."""
from __future__ import annotations

import itertools
import threading
from collections.abc import Iterable, Iterator, Sequence
from queue import Full, Queue

from sqlalchemy import Row, bindparam
from sqlalchemy.orm import Session

from training.audit.models import AuditEvent
from training.audit.service import record
from training.people.models import Agency, Unit, User
from training.records.status import CourseState, as_states, officer_slices
from training.reports.dashboard import Scope, status_counts
from training.reports.filters import Roster, file_name, home_place

ROSTER_COLUMNS = ("employee_id", "last_name", "first_name", "agency", "unit", "course_code",
                  "course_title", "course_version", "status", "due_on", "completed_on", "score",
                  "expires_on")
COMPLIANCE_COLUMNS = ("agency", "unit", "course_code", "status", "count")
# Officers read per statement by the roster export: about 4,000 rows, a small sort each.
ROSTER_SLICE = 500


def roster_row(state: CourseState) -> tuple:
    return (state.employee_id, state.last_name, state.first_name, state.agency_code, state.unit_code,
            state.course_code, state.course_title, state.course_version, state.status, state.due_on,
            state.completed_on, state.score, state.expires_on)


def roster_rows(session: Session, roster: Roster) -> Iterator[tuple]:
    """One row per active officer and required course, in ROSTER_COLUMNS order, read ROSTER_SLICE officers at a
    time in the roster's order (`officer_slices`) by one statement built once: the first rows come after two
    statements, not after every officer's pairs are sorted, and memory holds one slice's rows and up to two
    slices read ahead. Two statements per slice, and one more when the officers fill the last slice exactly.
    The rows are read ahead (`read_ahead`), so that the database works on the next slices while the caller
    writes this one."""
    reading = read_ahead(_roster_slices(session, roster), ahead=2)
    try:
        for state in as_states(itertools.chain.from_iterable(reading), roster.on):
            yield roster_row(state)
    finally:
        reading.close()   # an export stopped early: the reading thread stops and the session is the caller's


def _roster_slices(session: Session, roster: Roster) -> Iterator[Sequence[Row]]:
    session.flush()  # rows are read at the Core level, which does not autoflush
    stmt = roster.narrowed(User.id.in_(bindparam("officers", expanding=True)))
    for officers in officer_slices(session, *roster.officers, size=ROSTER_SLICE):
        yield session.connection().execute(stmt, {"officers": officers}).all()


_END = object()


def read_ahead(blocks: Iterator, ahead: int = 1) -> Iterator:
    """The items of `blocks`, produced by a thread of its own up to `ahead` items before they are used.

    The caller must not use what `blocks` reads with (the session) until this generator ends; when it ends,
    also early, it waits for the thread to stop, so the session is the caller's again. An error in `blocks`
    is raised in the caller.
    """
    queue: Queue = Queue(maxsize=ahead)
    stop = threading.Event()

    def hand_over(item) -> None:
        while not stop.is_set():
            try:
                queue.put(item, timeout=0.1)
                return
            except Full:
                continue

    def produce() -> None:
        try:
            for block in blocks:
                hand_over(block)
                if stop.is_set():
                    break
            else:
                hand_over(_END)
        except BaseException as exc:  # noqa: BLE001 - raised again in the caller's thread
            hand_over(exc)
        finally:
            blocks.close()   # its open result, if it stopped early, is closed in the thread that reads

    thread = threading.Thread(target=produce, name="read-ahead", daemon=True)
    thread.start()
    try:
        while (item := queue.get()) is not _END:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join()


class Counted:
    """Rows passed through, counted."""

    def __init__(self, rows: Iterable[tuple]):
        self.rows = rows
        self.count = 0

    def __iter__(self) -> Iterator[tuple]:
        for row in self.rows:
            self.count += 1
            yield row

    def close(self) -> None:
        """Stop what the rows are read from, if it can be stopped (a generator), before its session is used."""
        if (close := getattr(self.rows, "close", None)) is not None:
            close()


def record_export(session: Session, roster: Roster, fmt: str, rows: int, *, actor_id: int | None,
                  via: str, complete: bool = True, **details) -> AuditEvent:
    """The audit event of one export: who, the filters, the day and the row count."""
    return record(session, "export.roster", actor_id=actor_id, target=roster.file_name(fmt),
                  about=roster.unit or roster.agency, format=fmt,
                  filters=roster.filters.used(), as_of=roster.on.isoformat(), rows=rows, complete=complete,
                  via=via, **details)


def compliance_rows(session: Session, scope: Scope) -> Iterator[tuple]:
    """The dashboard's figures, in COMPLIANCE_COLUMNS order: one row per agency, unit, module and status."""
    for count in status_counts(session, scope):
        yield count.agency, count.unit, count.course, count.status, count.pairs


def compliance_file_name(scope: Scope) -> str:
    """'compliance-CBP-2026-11-27.csv': the agency chosen, if any, and the latest day the statuses are on."""
    parts = ["compliance"] + ([scope.agency.code] if scope.agency is not None else [])
    return file_name(parts + [max(day.on for day in scope.days).isoformat()] if scope.days else parts, "csv")


def compliance_place(session: Session, scope: Scope, viewer: User) -> Agency | Unit | None:
    """What a download of the dashboard's figures concerns: the agency chosen, else the viewer's own place, as
    for a roster export."""
    if scope.agency is not None:
        return scope.agency
    agency, unit = home_place(session, viewer)
    return unit or agency


def record_compliance_export(session: Session, scope: Scope, name: str, rows: int, *, actor_id: int | None,
                             about: Agency | Unit | None, complete: bool = True) -> AuditEvent:
    """The audit event of one download of the dashboard's figures: who, the agency, the days and the row count."""
    return record(session, "export.compliance", actor_id=actor_id, target=name, about=about, format="csv",
                  filters={"agency": scope.agency.code} if scope.agency is not None else {},
                  as_of=[day.describe() for day in scope.days], rows=rows, complete=complete, via="web")
