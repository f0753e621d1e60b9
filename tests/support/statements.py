"""Counting the SQL statements an action sends, for the checks that a cost does not grow with the data."""
from __future__ import annotations

from sqlalchemy import event


def count_statements(connection, action) -> int:
    """How many statements `action()` sends over `connection`."""
    counted = []

    def listener(*_args):
        counted.append(1)

    event.listen(connection, "before_cursor_execute", listener)
    try:
        action()
    finally:
        event.remove(connection, "before_cursor_execute", listener)
    return len(counted)
