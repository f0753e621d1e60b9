"""Reading an uploaded CSV file into rows that know their line number.

The header is line 1. A value spread over several lines (a quoted line break)
is reported at the line where its row starts.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field

Problem = tuple[int, str]   # (line number, message for a training coordinator)

SAVE_AS_HINT = "save it from Excel as 'CSV UTF-8 (Comma delimited)' and try again"


class ImportRefused(Exception):
    """A file (or a plan made from it) has problems; nothing was written."""

    def __init__(self, problems: list[Problem]):
        super().__init__(f"{len(problems)} problem(s) found; nothing was imported")
        self.problems = problems


@dataclass
class CsvFile:
    header: list[str] = field(default_factory=list)
    rows: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


# What a file that is not CSV text starts with, as coordinators are likely to upload by mistake.
SIGNATURES = {b"PK\x03\x04": "an Excel workbook (.xlsx) or another zip file",
              b"\xd0\xcf\x11\xe0": "an old Excel workbook (.xls)", b"%PDF": "a PDF document",
              b"\x89PNG": "a PNG picture", b"\xff\xd8\xff": "a JPEG picture", b"GIF8": "a GIF picture",
              b"\xff\xfe": "UTF-16 text", b"\xfe\xff": "UTF-16 text"}


def not_csv(data: bytes) -> str | None:
    """Why `data` is plainly not a CSV text file, or None."""
    kind = next((what for start, what in SIGNATURES.items() if data.startswith(start)), None)
    if kind is None and b"\x00" in data[:4096]:
        kind = "a binary file"
    return f"this is not a CSV text file: it looks like {kind}; {SAVE_AS_HINT}" if kind else None


def read_csv(data: bytes, expected: Sequence[str], extra_columns: bool = False) -> CsvFile:
    """Decode `data` (UTF-8, with or without a BOM), check the header, return the rows.

    The header must be `expected`, exactly; with `extra_columns` it must start
    with it and may go on. Values are stripped of surrounding spaces; blank
    lines are skipped.
    """
    result = CsvFile()
    if problem := not_csv(data):
        result.problems.append((1, problem))
        return result
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        result.problems.append((line, f"the file is not UTF-8 text (first bad character on this line); "
                                      f"{SAVE_AS_HINT}"))
        return result
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    wanted = ",".join(expected) + (" (more columns may follow)" if extra_columns else "")
    try:
        header = [name.strip() for name in next(reader, [])]
    except csv.Error as exc:
        result.problems.append((1, f"the first line is not a CSV header ({exc}); it must be {wanted}"))
        return result
    if not header_matches(header, expected, extra_columns):
        found = f"it is {','.join(header)}" if header else "the file is empty"
        result.problems.append((1, f"the first line must be the header {wanted}, but {found}"))
        return result
    result.header = header
    start = reader.line_num + 1
    try:
        for cells in reader:
            line, start = start, reader.line_num + 1
            if not any(cell.strip() for cell in cells):
                continue
            if any("\x00" in cell for cell in cells):
                result.problems.append((line, "this line contains a NUL character (\\x00), which Rollcall cannot "
                                              f"store; {SAVE_AS_HINT}"))
                continue
            if len(cells) != len(header):
                result.problems.append((line, f"expected {len(header)} values separated by commas, "
                                              f"found {len(cells)}"))
                continue
            result.rows.append((line, {name: cell.strip() for name, cell in zip(header, cells)}))
    except csv.Error as exc:
        result.problems.append((reader.line_num, f"this line is not valid CSV ({exc}); "
                                                 f"nothing after it was checked"))
    return result


def header_matches(header: list[str], expected: Sequence[str], extra_columns: bool) -> bool:
    if extra_columns:
        return header[:len(expected)] == list(expected)
    return header == list(expected)
