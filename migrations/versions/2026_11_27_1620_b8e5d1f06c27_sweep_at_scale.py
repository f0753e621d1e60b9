"""sweep at scale: the renewal pass finds its pairs by index; on PostgreSQL, inserts keep the pairs per statement

ix_required_pairs_renewal indexes the pairs with no open assignment by module and expiry, so the daily renewal
pass reads the few pairs near their renewal window instead of every completion.

On PostgreSQL, an INSERT into assignments, completions or exemptions refreshes its pairs once per statement
(a trigger with a transition table), not once per row: the daily catch-up inserts hundreds of thousands of
renewals in one statement. The facts are those of the row trigger, by the same rule (`facts` in the
required-pairs revision, d7f3b8a26e41); updates and deletes keep the row trigger. SQLite keeps its row
triggers: it has no transition tables.

Revision ID: b8e5d1f06c27
Revises: a1d4e7b2c9f3
Create Date: 2026-11-27 16:20:00.000000
"""
import importlib.util
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = 'b8e5d1f06c27'
down_revision = 'a1d4e7b2c9f3'
branch_labels = None
depends_on = None


def _pairs_migration():
    """The required-pairs revision: the one home of the pairs' facts and of their row triggers."""
    path = next(Path(__file__).parent.glob("*_d7f3b8a26e41_required_pairs.py"))
    spec = importlib.util.spec_from_file_location("required_pairs_revision", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _inserted(pairs, table: str) -> list[str]:
    """Statements after an INSERT into `table` whose rows are the transition table `inserted`: their pairs
    exist, locked as the row trigger locks them, with the facts `table` decides."""
    theirs = "JOIN (SELECT DISTINCT user_id, course_id FROM inserted) AS mine USING (user_id, course_id)"
    facts = pairs.facts("required_pairs.user_id", "required_pairs.course_id")[table]
    return ["INSERT INTO required_pairs (user_id, course_id) SELECT DISTINCT user_id, course_id FROM inserted "
            "ON CONFLICT (user_id, course_id) DO NOTHING",
            f"PERFORM 1 FROM required_pairs {theirs} ORDER BY user_id, course_id FOR UPDATE OF required_pairs",
            f"UPDATE required_pairs SET {pairs.sets(facts)} FROM (SELECT DISTINCT user_id, course_id FROM inserted) "
            "AS mine WHERE required_pairs.user_id = mine.user_id AND required_pairs.course_id = mine.course_id"]


def _row_trigger(pairs, table: str, events: str) -> None:
    op.execute(f"DROP TRIGGER {table}_required_pairs ON {table}")
    op.execute(f"CREATE TRIGGER {table}_required_pairs AFTER {events} UPDATE OF user_id, course_id, "
               f"{', '.join(pairs.FACT_COLUMNS[table])} ON {table} FOR EACH ROW "
               f"EXECUTE FUNCTION {table}_required_pairs()")


def upgrade() -> None:
    op.create_index('ix_required_pairs_renewal', 'required_pairs', ['course_id', 'expires_on'],
                    sqlite_where=sa.text('due_on IS NULL'), postgresql_where=sa.text('due_on IS NULL'))
    if op.get_bind().dialect.name != "postgresql":
        return
    pairs = _pairs_migration()
    for table in pairs.TABLES:
        body = "".join(f"    {statement};\n" for statement in _inserted(pairs, table))
        # Each inserted row's pair by its key, as the row trigger looked it up: a plan of its own would merge
        # or hash all 8 million pairs of a million officers for a few thousand rows (and compile it, JIT).
        op.execute(f"CREATE FUNCTION {table}_required_pairs_inserted() RETURNS trigger LANGUAGE plpgsql "
                   f"SET enable_hashjoin = off SET enable_mergejoin = off SET jit = off AS $$\n"
                   f"BEGIN\n{body}    RETURN NULL;\nEND\n$$")
        op.execute(f"CREATE TRIGGER {table}_required_pairs_inserted AFTER INSERT ON {table} "
                   f"REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT "
                   f"EXECUTE FUNCTION {table}_required_pairs_inserted()")
        _row_trigger(pairs, table, "DELETE OR")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        pairs = _pairs_migration()
        for table in pairs.TABLES:
            op.execute(f"DROP TRIGGER {table}_required_pairs_inserted ON {table}")
            op.execute(f"DROP FUNCTION {table}_required_pairs_inserted()")
            _row_trigger(pairs, table, "INSERT OR DELETE OR")
    op.drop_index('ix_required_pairs_renewal', table_name='required_pairs')
