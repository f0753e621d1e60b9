"""The agency-scale seeding with COPY leaves PostgreSQL exactly as the batched inserts do: the same rows in every
table (the required pairs the triggers keep included), the same next ids, the same indexes, constraints and
triggers, switched on.

PostgreSQL only (marked postgresql): `make test` runs it in the PostgreSQL pass, on two databases beside the
suite's; a run without a PostgreSQL pass runs it on a server of the test's own.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import DateTime, create_engine, text

import config
from tests.support.databases import PG_BIN, database_of_its_own, on_postgresql, private_postgres, reset_database
from tests.support.needs import missing
from training import create_app
from training.catalog.service import sync_courses
from training.db import Base, unit_of_work
from training.demo import bulk, scale

ROOT = Path(__file__).resolve().parent.parent
TODAY = date(2026, 6, 1)
# Made afresh by each write, whatever the path: a random code; outside the tables the seeding loads, the clock of
# the course sync (its timestamps, and the audit chain's hashes over them).
RANDOM = {"verification_code"}
CLOCK = {"hash", "prev_hash"}

pytestmark = pytest.mark.postgresql


@pytest.fixture
def two_databases(tmp_path_factory) -> Iterator[tuple[str, str]]:
    """Two empty PostgreSQL databases at the latest migration."""
    with ExitStack() as stack:
        if on_postgresql():
            urls = tuple(database_of_its_own(tmp_path_factory, name) for name in ("seed_insert", "seed_copy"))
        else:
            if not PG_BIN:
                missing("no PostgreSQL server binaries under /usr/lib/postgresql/*/bin: "
                        "install them with 'apt-get install -y postgresql'")
            base = stack.enter_context(private_postgres()).url
            admin = create_engine(base, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                for name in ("seed_insert", "seed_copy"):
                    conn.execute(text(f"CREATE DATABASE {name}"))
            admin.dispose()
            urls = tuple(base.rsplit("/", 1)[0] + f"/{name}" for name in ("seed_insert", "seed_copy"))
        for url in urls:
            reset_database(url)
        yield urls


def seeded(url: str, copy: bool) -> dict[str, int]:
    app = create_app(config.TestConfig, DATABASE_URL=url)
    with unit_of_work(app) as session:
        sync_courses(session, ROOT / "courses", ROOT / "quizzes")
        counts = scale.seed_scale(session, TODAY, 240, "x", seed=4, copy=copy)
    app.extensions["db_engine"].dispose()
    return counts


def picture(url: str) -> dict:
    """Every table's row count and a checksum of its rows; each id sequence's next value; the indexes,
    constraints and triggers with whether they are on."""
    engine = create_engine(url)
    tables, sequences = {}, {}
    with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            columns = [c.name for c in table.columns if c.name not in RANDOM
                       and not ((isinstance(c.type, DateTime) or c.name in CLOCK) and table.name not in bulk.LOADED)]
            tables[table.name] = tuple(conn.execute(text(
                f"SELECT count(*), md5(coalesce(string_agg(r, E'\\n' ORDER BY r), '')) "
                f"FROM (SELECT ROW({', '.join(columns)})::text AS r FROM {table.name}) t")).one())
            if "id" in table.c:
                sequence = conn.scalar(text(f"SELECT pg_get_serial_sequence('{table.name}', 'id')"))
                sequences[table.name] = conn.scalar(text(f"SELECT last_value + is_called::int FROM {sequence}"))
        schema = {
            "indexes": set(conn.execute(text("SELECT indexname, indexdef FROM pg_indexes "
                                             "WHERE schemaname = 'public'")).all()),
            "constraints": set(conn.execute(text(
                "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE connamespace = 'public'::regnamespace")).all()),
            "triggers": set(conn.execute(text("SELECT tgrelid::regclass::text, tgname, tgenabled FROM pg_trigger "
                                              "WHERE NOT tgisinternal")).all()),
        }
        codes = conn.execute(text("SELECT count(*), count(DISTINCT verification_code), "
                                  "min(length(verification_code)) FROM completions")).one()
    engine.dispose()
    return {"tables": tables, "sequences": sequences, "schema": schema, "codes": codes}


def test_copy_seeding_leaves_the_database_as_the_inserts_do(two_databases, monkeypatch):
    monkeypatch.setattr(scale, "utcnow", lambda: datetime(2026, 6, 1, 12, 0))
    inserted_url, copied_url = two_databases
    assert seeded(inserted_url, copy=False) == seeded(copied_url, copy=True)
    inserted, copied = picture(inserted_url), picture(copied_url)

    for name in ("users", "completions", "assignments", "exemptions", "required_pairs"):
        assert inserted["tables"][name][0] > 0, name
    assert {name: figures for name, figures in copied["tables"].items() if figures != inserted["tables"][name]} == {}
    assert copied["sequences"] == inserted["sequences"]
    assert copied["schema"] == inserted["schema"]
    assert all(state == "O" for *_, state in copied["schema"]["triggers"])
    count, distinct, length = copied["codes"]
    assert count == distinct == inserted["codes"][0] and length == 16


def test_after_a_copy_seeding_the_triggers_keep_the_required_pairs_again(two_databases):
    _, url = two_databases
    seeded(url, copy=True)
    engine = create_engine(url)
    with engine.begin() as conn:
        user_id, course_id = conn.execute(text(
            "SELECT user_id, course_id FROM required_pairs WHERE due_on IS NOT NULL ORDER BY 1, 2 LIMIT 1")).one()
        conn.execute(text("UPDATE assignments SET closed_at = now() WHERE user_id = :u AND course_id = :c "
                          "AND closed_at IS NULL"), {"u": user_id, "c": course_id})
        assert conn.scalar(text("SELECT due_on FROM required_pairs WHERE user_id = :u AND course_id = :c"),
                           {"u": user_id, "c": course_id}) is None
    engine.dispose()
