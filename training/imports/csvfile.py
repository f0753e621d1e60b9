"""Reading an uploaded CSV file, one row at a time, into rows that know their line number.

The header is line 1. A value spread over several lines (a quoted line break)
is reported at the line where its row starts.

The work stays within a small, fixed amount of memory whatever the file holds:
the rows are decoded and parsed as they are read, never the whole text at once;
a line may be at most LONGEST_LINE bytes; and a file's problems are kept
with their messages only up to a bound (IMPORT_PROBLEMS_SHOWN), beyond which
they are only counted.
"""
from __future__ import annotations

import bisect
import codecs
import csv
import io
import itertools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from flask import current_app, has_app_context

from training.words import plural

Problem = tuple[int, str]   # (line number, message for a training coordinator)

SAVE_AS_HINT = "save it from Excel as 'CSV UTF-8 (Comma delimited)' and try again"
# Problems kept with their messages when no app says otherwise (IMPORT_PROBLEMS_SHOWN).
PROBLEMS_KEPT = 200
# Bytes in a line: no line of an import needs more (the longest values allowed are a few hundred characters);
# a longer one is refused without being read into memory whole.
LONGEST_LINE = 1024 * 1024
# Bytes checked for UTF-8 at a time.
_UTF8_CHUNK = 64 * 1024


def problems_kept() -> int:
    """How many problems an import keeps with their messages: the current app's IMPORT_PROBLEMS_SHOWN."""
    return current_app.config["IMPORT_PROBLEMS_SHOWN"] if has_app_context() else PROBLEMS_KEPT


class Problems(list):
    """A file's problems, as a list of (line, message): the `keep` of the lowest lines; the rest only counted.

    A file of millions of bad lines would otherwise hold a message for each (gigabytes
    for a 30 MB upload). Appending past the bound counts the problem in `more`, and
    keeps it instead of the highest kept one when its line comes before it: a check
    of the whole file may find a problem on an early line after later lines filled
    the list. `total` is every problem found.
    """

    def __init__(self, problems: Iterable[Problem] = (), keep: int | None = None):
        super().__init__()
        self.keep = problems_kept() if keep is None else keep
        self.more = 0
        self._ordered = False
        self.extend(problems)

    @property
    def total(self) -> int:
        return len(self) + self.more

    def __bool__(self) -> bool:
        return self.total > 0

    @property
    def overflowed(self) -> bool:
        """True once a problem was only counted: the file is refused, whatever the rest of it holds."""
        return self.more > 0

    def append(self, problem: Problem) -> None:
        if len(self) < self.keep:
            super().append(problem)
            self._ordered = False
            return
        self.more += 1
        if len(self) == 0:
            return
        if not self._ordered:
            self.sort()
        if problem < self[-1]:
            bisect.insort(self, problem)
            super().pop()

    def extend(self, problems: Iterable[Problem]) -> None:
        for problem in problems:
            self.append(problem)

    def __iadd__(self, problems: Iterable[Problem]) -> Problems:
        self.extend(problems)
        return self

    def sort(self, *, key=None, reverse: bool = False) -> None:
        super().sort(key=key, reverse=reverse)
        self._ordered = key is None and not reverse


def total(problems: Sequence[Problem]) -> int:
    """How many problems were found: those kept, and for a Problems list those only counted."""
    return len(problems) + getattr(problems, "more", 0)


class ImportRefused(Exception):
    """A file (or a plan made from it) has problems; nothing was written."""

    def __init__(self, problems: Sequence[Problem]):
        super().__init__(f"{plural(total(problems), 'problem')} found; nothing was imported")
        self.problems = problems


@dataclass
class CsvFile:
    """A file's header, its problems so far, and its rows: each (line, {column: value}), read as they are
    iterated (once). A row of the wrong shape is a problem, not a row; `count` is the rows given so far."""
    header: list[str] = field(default_factory=list)
    problems: Problems = field(default_factory=Problems)
    rows: Iterator[tuple[int, dict[str, str]]] = field(default_factory=lambda: iter(()))
    count: int = 0


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


def first_bad_utf8_line(data: bytes) -> int | None:
    """The line holding the first byte that is not UTF-8, or None; decoded a piece at a time, then dropped."""
    view, done = memoryview(data), 0
    while done < len(data):
        piece = view[done:done + _UTF8_CHUNK]
        try:
            # A character cut at the end of the piece is left for the next one, unless the file ends there.
            done += codecs.utf_8_decode(piece, "strict", done + len(piece) >= len(data))[1]
        except UnicodeDecodeError as exc:
            return data.count(b"\n", 0, done + exc.start) + 1
    return None


def first_long_line(data: bytes) -> int | None:
    """The number of the first line longer than LONGEST_LINE bytes, or None.

    Looked for a window at a time: each step jumps to the last line end within
    LONGEST_LINE bytes, so a file of short lines takes a few steps, all in C. Lines
    end with CR, LF or CRLF, as the csv module counts them.
    """
    start = 0
    while len(data) - start > LONGEST_LINE:
        end = start + LONGEST_LINE + 1
        last = max(data.rfind(b"\n", start, end), data.rfind(b"\r", start, end))
        if last < 0:
            return data.count(b"\n", 0, start) + data.count(b"\r", 0, start) - data.count(b"\r\n", 0, start) + 1
        start = last + 1
    return None


def _too_long(line: int) -> Problem:
    return (line, f"this line is longer than {LONGEST_LINE // 1024 // 1024} MB, which no line of an import needs; "
                  f"nothing after it was checked")


def read_csv(data: bytes, expected: Sequence[str], extra_columns: bool = False,
             problems: Problems | None = None) -> CsvFile:
    """Check that `data` is UTF-8 text (with or without a BOM) whose header is right; the rows follow as read.

    The header must be `expected`, exactly; with `extra_columns` it must start
    with it and may go on. Values are stripped of surrounding spaces; blank
    lines are skipped. Problems go to `problems` (a new Problems list by default).
    """
    result = CsvFile(problems=Problems() if problems is None else problems)
    if problem := not_csv(data):
        result.problems.append((1, problem))
        return result
    if (line := first_bad_utf8_line(data)) is not None:
        result.problems.append((line, f"the file is not UTF-8 text (first bad character on this line); "
                                      f"{SAVE_AS_HINT}"))
        return result
    long_line = first_long_line(data)
    if long_line == 1:
        result.problems.append(_too_long(1))
        return result
    # Shares `data`'s bytes rather than copying them; the text is decoded a block at a time as it is read, and
    # read no further than the line before a line too long.
    text = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8-sig", newline="")
    reader = csv.reader(text if long_line is None else itertools.islice(text, long_line - 1), strict=True)
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
    result.rows = _rows(reader, result, b"\x00" in data, long_line)
    return result


def _rows(reader, result: CsvFile, nul: bool, long_line: int | None) -> Iterator[tuple[int, dict[str, str]]]:
    """The rows of the right shape; the others are problems. `nul`: the file holds a NUL character somewhere."""
    header, width, problems = result.header, len(result.header), result.problems
    start = reader.line_num + 1
    try:
        for cells in reader:
            line, start = start, reader.line_num + 1
            if not "".join(cells).strip():
                continue
            if nul and any("\x00" in cell for cell in cells):
                problems.append((line, "this line contains a NUL character (\\x00), which Rollcall cannot "
                                       f"store; {SAVE_AS_HINT}"))
                continue
            if len(cells) != width:
                problems.append((line, f"expected {width} values separated by commas, found {len(cells)}"))
                continue
            result.count += 1
            yield line, {name: cell.strip() for name, cell in zip(header, cells)}
    except csv.Error as exc:
        problems.append((reader.line_num, f"this line is not valid CSV ({exc}); nothing after it was checked"))
        return
    if long_line is not None:
        problems.append(_too_long(long_line))


def header_matches(header: list[str], expected: Sequence[str], extra_columns: bool) -> bool:
    if extra_columns:
        return header[:len(expected)] == list(expected)
    return header == list(expected)
