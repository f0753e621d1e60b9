"""Writing a checked roster to a file, as CSV or XLSX."""
from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy.orm import Session

from training.reports.acknowledgements import ACKNOWLEDGEMENT_COLUMNS, AcknowledgementExport, acknowledgement_rows
from training.reports.filters import Roster
from training.reports.service import ROSTER_COLUMNS, Counted, roster_rows
from training.reports.xlsx import write_xlsx
from training.spreadsheet import csv_chunks

FORMATS = ("csv", "xlsx")


def sheet_notes(used: dict[str, str], on: date, rows: int, who: str) -> dict[str, str]:
    """What the Filters sheet says: each filter (or that there were none), the day, the count, who and when."""
    notes = {name: value for name, value in used.items() if name != "as_of"} or {"filters": "none"}
    notes.update({"as_of": on.isoformat(), "rows": str(rows), "exported_by": who,
                  "exported_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")})
    return notes


def write_roster(session: Session, roster: Roster, fmt: str, path: Path, who: str) -> int:
    """Write the roster to `path`; returns the number of rows."""
    rows = Counted(roster_rows(session, roster))
    _write(fmt, path, ROSTER_COLUMNS, rows, "Roster", lambda: sheet_notes(roster.filters.used(), roster.on,
                                                                           rows.count, who))
    return rows.count


def write_acknowledgements(session: Session, export: AcknowledgementExport, fmt: str, path: Path, who: str) -> int:
    """Write the acknowledgements export to `path`; returns the number of rows."""
    rows = Counted(acknowledgement_rows(session, export))
    _write(fmt, path, ACKNOWLEDGEMENT_COLUMNS, rows, "Acknowledgements",
           lambda: sheet_notes(export.filters.used(), export.on, rows.count, who))
    return rows.count


def _write(fmt: str, path: Path, columns: tuple[str, ...], rows: Counted, sheet: str,
           about: Callable[[], dict[str, str]]) -> None:
    try:
        if fmt == "csv":
            with path.open("w", encoding="utf-8", newline="") as handle:
                for chunk in csv_chunks(columns, rows):
                    handle.write(chunk)
        elif fmt == "xlsx":
            write_xlsx(path, rows, about, columns=columns, sheet=sheet)
        else:
            raise ValueError(f"unknown format {fmt!r}")
    finally:
        rows.close()   # a write that failed part way: the reading stops before the caller uses the session
