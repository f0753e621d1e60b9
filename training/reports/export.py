"""Writing a checked roster to a file, as CSV or XLSX."""
from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.orm import Session

from training.reports.filters import Roster
from training.reports.service import ROSTER_COLUMNS, Counted, roster_rows
from training.reports.xlsx import write_xlsx
from training.spreadsheet import csv_chunks

FORMATS = ("csv", "xlsx")


def sheet_notes(roster: Roster, rows: int, who: str) -> dict[str, str]:
    """What the Filters sheet says: each filter (or that there were none), the day, the count, who and when."""
    notes = {name: value for name, value in roster.filters.used().items() if name != "as_of"} or {"filters": "none"}
    notes.update({"as_of": roster.on.isoformat(), "rows": str(rows), "exported_by": who,
                  "exported_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")})
    return notes


def write_roster(session: Session, roster: Roster, fmt: str, path: Path, who: str) -> int:
    """Write the roster to `path`; returns the number of rows."""
    rows = Counted(roster_rows(session, roster))
    if fmt == "csv":
        with path.open("w", encoding="utf-8", newline="") as handle:
            for chunk in csv_chunks(ROSTER_COLUMNS, rows):
                handle.write(chunk)
    elif fmt == "xlsx":
        write_xlsx(path, rows, lambda: sheet_notes(roster, rows.count, who))
    else:
        raise ValueError(f"unknown format {fmt!r}")
    return rows.count
