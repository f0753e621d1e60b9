"""What goes into a CSV file that people open in a spreadsheet: safe cells and a byte-order mark."""
from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Iterable, Iterator, Sequence
from datetime import date

BOM = "\ufeff"   # UTF-8's byte-order mark, so spreadsheets read accents right
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


def csv_chunks(columns: Sequence[str], rows: Iterable[Sequence], batch: int = 2000) -> Iterator[str]:
    """CSV text in chunks: the byte-order mark and the header at once, before any row is read; then the rows
    with every cell neutralised; CRLF line ends."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    yield BOM + buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
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
