"""Numbers and text read from a request, kept within what the database can hold."""
from __future__ import annotations

from collections.abc import Iterable, Mapping

from flask import abort, request
from werkzeug.routing import IntegerConverter

# Far beyond any list here, and well inside what a database OFFSET takes.
MAX_PAGE = 1_000_000
# The largest id an INTEGER column holds (PostgreSQL refuses a larger number outright).
MAX_ROW_ID = 2**31 - 1


class RowId(IntegerConverter):
    """An id in an address: a number beyond what a database column holds is not found, not an overflow."""

    def __init__(self, map, **kwargs) -> None:
        kwargs.setdefault("max", MAX_ROW_ID)
        super().__init__(map, **kwargs)


def page_number(args: Mapping) -> int:
    """`?page=N`: 1 when missing or not a whole number, and never past MAX_PAGE."""
    return min(max(args.get("page", 1, type=int), 1), MAX_PAGE)


def row_ids(values: Iterable[str]) -> list[int]:
    """The values that are ids (plain digits a database column holds); the rest are ignored."""
    return [int(v) for v in values if v.isascii() and v.isdigit() and int(v) <= MAX_ROW_ID]


def refuse_nul_characters() -> None:
    """No text with a NUL character reaches the database (PostgreSQL cannot store one): say where it was."""
    if any("\x00" in str(v) for v in (request.view_args or {}).values()) or any(
            "\x00" in k or "\x00" in v for k, v in request.args.items(multi=True)):
        abort(400, "The address contains a NUL character (\\x00), which Rollcall cannot store. "
                   "Remove it and try again.")
    for name, value in [*request.form.items(multi=True),
                        *((name, f.filename or "") for name, f in request.files.items(multi=True))]:
        if "\x00" in name or "\x00" in value:
            abort(400, f"The field '{name.replace(chr(0), '')}' contains a NUL character (\\x00), which Rollcall "
                       f"cannot store. Remove it and try again.")
