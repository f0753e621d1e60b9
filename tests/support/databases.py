"""A database of a test's own that commits for real: a SQLite file, or a schema of the PostgreSQL test database."""
from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from training.db import make_engine


@contextmanager
def committed_database(tmp_path: Path, name: str) -> Iterator[str]:
    """The URL of a database of the test's own whose commits are real, for other connections and processes to see:
    a SQLite file in `tmp_path`, or on PostgreSQL the schema `name` of the test database, dropped afterwards."""
    if os.environ.get("ROLLCALL_TEST_DB") != "postgresql":
        yield f"sqlite:///{tmp_path / (name + '.db')}"
        return
    base = os.environ["TEST_DATABASE_URL"]
    admin = make_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {name} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {name}"))
    try:
        yield make_url(base).update_query_dict({"options": f"-csearch_path={name}"}).render_as_string(
            hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {name} CASCADE"))
        admin.dispose()
