"""Where a page's time goes in PostgreSQL: `python -m bench.explain PATH EMAIL [MIN_MS]`.

Signs EMAIL in on the benchmark's database (bench.run's choice: BENCH_DATABASE_URL, BENCH_OFFICERS), requests
PATH once to warm up and once with its statements recorded, then runs `EXPLAIN (ANALYZE, BUFFERS)` on each
query that took at least MIN_MS milliseconds (default 1), in a transaction rolled back, and prints its time and
its plan's shape (the nodes, their actual times and rows, without the planner's costs). `export` as PATH
explains the roster export's query instead.
"""
from __future__ import annotations

import re
import sys
import time
from datetime import date

from sqlalchemy import event

import config
from bench.run import URL, course_states_sql, sign_in
from training import create_app

NODE = re.compile(r"^\s*(->\s*)?[A-Z][A-Za-z ]+(\s+on\s+|\s+using\s+|\s*\(|$)")


def shape(plan: list[str]) -> list[str]:
    """The plan's node lines and what each read (buffers, sort and hash details), costs left out."""
    kept = []
    for line in plan:
        line = re.sub(r"\(cost=[^)]*\)\s*", "", line.rstrip())
        if NODE.match(line) or line.strip().startswith(("Buffers:", "Sort Method:", "Batches:", "Workers",
                                                       "Execution Time", "Planning Time", "SubPlan")):
            kept.append(line)
    return kept


def explain(connection, statement: str, parameters) -> list[str]:
    outer = connection.begin()
    try:
        rows = connection.exec_driver_sql(f"EXPLAIN (ANALYZE, BUFFERS) {statement}", parameters).all()
    finally:
        outer.rollback()
    return [row[0] for row in rows]


def main(path: str, email: str | None, min_ms: float) -> None:
    app = create_app(config.Config, DATABASE_URL=URL, SECRET_KEY="bench", WTF_CSRF_ENABLED=False)
    engine = app.extensions["db_engine"]
    if engine.dialect.name != "postgresql":
        sys.exit(f"{URL}: EXPLAIN (ANALYZE, BUFFERS) needs PostgreSQL")
    if path == "export":
        with engine.connect() as connection:
            print(f"roster export ({len(course_states_sql(engine))} characters of SQL)")
            print("\n".join(shape(explain(connection, course_states_sql(engine), ()))))
        return
    client = app.test_client()
    sign_in(client, email)
    client.get(path).get_data()
    seen: list[tuple[str, object, float]] = []

    def before(_conn, _cursor, _statement, _parameters, context, _many):
        context._bench_started = time.perf_counter()

    def after(_conn, _cursor, statement, parameters, context, _many):
        seen.append((statement, parameters, (time.perf_counter() - context._bench_started) * 1000))
    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    try:
        response = client.get(path)
        response.get_data()
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)
    print(f"{path} as {email}: HTTP {response.status_code}, {len(seen)} statements, "
          f"{sum(ms for *_, ms in seen):.1f} ms in the database ({date.today()})")
    with engine.connect() as connection:
        for statement, parameters, ms in seen:
            if ms < min_ms or not statement.lstrip().upper().startswith(("SELECT", "WITH")):
                continue
            print(f"\n--- {ms:.1f} ms: {' '.join(statement.split())[:160]}")
            print("\n".join(shape(explain(connection, statement, parameters))))


if __name__ == "__main__":
    arguments = sys.argv[1:]
    if not arguments:
        sys.exit(__doc__)
    main(arguments[0], arguments[1] if len(arguments) > 1 else None,
         float(arguments[2]) if len(arguments) > 2 else 1.0)
