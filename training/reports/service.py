"""Roster exports: builders that yield rows; callers choose the format and the sink."""
from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Iterable, Iterator
from datetime import date

from sqlalchemy import ColumnElement
from sqlalchemy.orm import Session

from training.certification.status import CourseState, course_states

ROSTER_COLUMNS = ("employee_id", "last_name", "first_name", "agency", "unit", "course_code",
                  "course_title", "course_version", "status", "due_on", "completed_on", "score",
                  "expires_on")
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: object) -> object:
    """A cell value no spreadsheet will run as a formula (numbers and dates pass as they are)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return "'" + value if value.startswith(_FORMULA_STARTS) else value
    if isinstance(value, date):
        return value.isoformat()
    return value


def roster_row(state: CourseState) -> tuple:
    return (state.employee_id, state.last_name, state.first_name, state.agency_code, state.unit_code,
            state.course_code, state.course_title, state.course_version, state.status, state.due_on,
            state.completed_on, state.score, state.expires_on)


def roster_rows(session: Session, on: date, where: Iterable[ColumnElement[bool]] = ()) -> Iterator[tuple]:
    """One row per active officer and required course, in ROSTER_COLUMNS order."""
    for state in course_states(session, on, *where, yield_per=2000):
        yield roster_row(state)


def csv_chunks(rows: Iterable[tuple], batch: int = 2000) -> Iterator[str]:
    """CSV text in chunks, header first, every cell neutralised; CRLF line ends."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(ROSTER_COLUMNS)
    rows = iter(rows)
    while True:
        block = [[neutralise(v) for v in row] for row in itertools.islice(rows, batch)]
        if not block:
            break
        writer.writerows(block)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()
