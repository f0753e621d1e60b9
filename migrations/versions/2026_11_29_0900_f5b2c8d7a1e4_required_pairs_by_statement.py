"""required pairs by statement: on PostgreSQL, rows added to assignments, completions and exemptions refresh
their pairs once per statement

Until now the pairs were kept row by row: three statements for every row added. The daily renewals add hundreds
of thousands of assignments in one INSERT ... SELECT at national scale, so on PostgreSQL an added row now refreshes
its pair in a trigger run once per statement over its transition table (`inserted`): the statement's pairs made,
locked (a concurrent writer of the same pair commits first, and its rows are then read) and given their facts, in
three statements that visit the pairs in key order, each by its key, by the rule of d7f3b8a26e41, which stays that
rule's one home. Rows deleted or updated are still kept row by row, as are all writes on SQLite (which has no
statement triggers).

Revision ID: f5b2c8d7a1e4
Revises: d8a1c5f3e927
Create Date: 2026-11-29 09:00:00.000000
"""
from alembic import op

from training.migrate import revision_module

revision = 'f5b2c8d7a1e4'
down_revision = 'd8a1c5f3e927'
branch_labels = None
depends_on = None

PAIRS = revision_module("d7f3b8a26e41")
ROW_EVENTS = {table: f"UPDATE OF user_id, course_id, {', '.join(columns)}" for table, columns in PAIRS.FACT_COLUMNS.items()}

# The rows of one statement are a small part of the pairs (at most a few hundred thousand of millions): each pair
# is found by its key, in key order, never by reading every pair for a merge or a hash.
PROBES = "SET enable_mergejoin = off SET enable_hashjoin = off"


def refreshed(table: str) -> str:
    """The body of `table`'s statement trigger: each pair of the rows in `inserted`, made if new, locked, and
    given the facts `table` decides."""
    added = "(SELECT DISTINCT user_id, course_id FROM inserted ORDER BY user_id, course_id)"
    facts = PAIRS.sets(PAIRS.facts("required_pairs.user_id", "required_pairs.course_id")[table])
    return (f"  INSERT INTO required_pairs (user_id, course_id) SELECT user_id, course_id FROM {added} added "
            "ON CONFLICT (user_id, course_id) DO NOTHING;\n"
            f"  PERFORM 1 FROM required_pairs p JOIN {added} added USING (user_id, course_id) "
            "FOR UPDATE OF p;\n"
            f"  UPDATE required_pairs SET {facts} FROM {added} added "
            "WHERE required_pairs.user_id = added.user_id AND required_pairs.course_id = added.course_id;\n")


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    for table, events in ROW_EVENTS.items():
        op.execute(f"DROP TRIGGER {table}_required_pairs ON {table}")
        op.execute(f"CREATE TRIGGER {table}_required_pairs AFTER DELETE OR {events} ON {table} "
                   f"FOR EACH ROW EXECUTE FUNCTION {table}_required_pairs()")
        op.execute(f"CREATE FUNCTION {table}_required_pairs_added() RETURNS trigger LANGUAGE plpgsql {PROBES} AS $$\n"
                   f"BEGIN\n{refreshed(table)}  RETURN NULL;\nEND\n$$")
        op.execute(f"CREATE TRIGGER {table}_required_pairs_added AFTER INSERT ON {table} "
                   f"REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION {table}_required_pairs_added()")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    for table, events in ROW_EVENTS.items():
        op.execute(f"DROP TRIGGER {table}_required_pairs_added ON {table}")
        op.execute(f"DROP FUNCTION {table}_required_pairs_added()")
        op.execute(f"DROP TRIGGER {table}_required_pairs ON {table}")
        op.execute(f"CREATE TRIGGER {table}_required_pairs AFTER INSERT OR DELETE OR {events} ON {table} "
                   f"FOR EACH ROW EXECUTE FUNCTION {table}_required_pairs()")
