"""Exports as XLSX workbooks, written row by row in constant memory."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime
from pathlib import Path

import xlsxwriter

from training.reports.service import ROSTER_COLUMNS

_WIDTHS = {"employee_id": 14, "last_name": 18, "first_name": 14, "agency": 9, "unit": 12, "course_code": 20,
           "course_title": 32, "course_version": 8, "status": 10, "due_on": 12, "completed_on": 12, "score": 7,
           "expires_on": 12, "document": 20, "version": 16, "acknowledged_on": 15}


def write_xlsx(path: Path, rows: Iterable[tuple], about: Callable[[], dict[str, str]], *,
               columns: tuple[str, ...] = ROSTER_COLUMNS, sheet: str = "Roster") -> None:
    """Header, frozen first row, typed dates and numbers; every text cell is a string, never a formula.

    `about()` is called once the rows are written and goes to a second sheet,
    "Filters": the filters used, the as-of day, the row count, who and when.
    """
    workbook = xlsxwriter.Workbook(str(path), {
        "constant_memory": True, "strings_to_formulas": False, "strings_to_numbers": False,
        "strings_to_urls": False, "default_date_format": "yyyy-mm-dd"})
    try:
        bold = workbook.add_format({"bold": True})
        day = workbook.add_format({"num_format": "yyyy-mm-dd"})
        rows_sheet = workbook.add_worksheet(sheet)
        rows_sheet.freeze_panes(1, 0)
        for col, name in enumerate(columns):
            rows_sheet.set_column(col, col, _WIDTHS.get(name, 12))
            rows_sheet.write_string(0, col, name, bold)
        for r, row in enumerate(rows, start=1):
            for col, value in enumerate(row):
                if value is None:
                    continue
                if isinstance(value, date):
                    rows_sheet.write_datetime(r, col, datetime.combine(value, datetime.min.time()), day)
                elif isinstance(value, (int, float)) and not isinstance(value, bool):
                    rows_sheet.write_number(r, col, value)
                else:
                    rows_sheet.write_string(r, col, str(value))
        info = workbook.add_worksheet("Filters")
        info.set_column(0, 0, 18)
        info.set_column(1, 1, 40)
        info.write_string(0, 0, "setting", bold)
        info.write_string(0, 1, "value", bold)
        for r, (key, value) in enumerate(about().items(), start=1):
            info.write_string(r, 0, key)
            info.write_string(r, 1, str(value))
    finally:
        workbook.close()
