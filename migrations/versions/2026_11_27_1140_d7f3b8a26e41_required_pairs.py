"""required pairs: the facts each (officer, module) status is decided from, kept by triggers

One row per (officer, module) that has an assignment, a completion or an
exemption, with the open assignment's due date and the latest completion's
facts (see RequiredPair in training/records/models.py). Triggers on the three
tables refresh the pair a row belongs to in the same transaction as the write,
whatever code writes it (a page, the CLI, an import's bulk insert, the demo
seeding), so the compliance dashboard counts one narrow row per pair instead of
rebuilding the pairs at each request. Existing rows are back-filled.

This file is the one home of the facts' rule (REFRESH below). On SQLite, a
later migration that rebuilds assignments, completions or exemptions with
batch_alter_table drops their triggers and must create them again
(`create_triggers`); tests/test_required_pairs.py fails when they are missing.

Revision ID: d7f3b8a26e41
Revises: c5e8a2f47d19
Create Date: 2026-11-27 11:40:00.000000
"""
import sqlalchemy as sa
from alembic import op

revision = 'd7f3b8a26e41'
down_revision = 'c5e8a2f47d19'
branch_labels = None
depends_on = None

TABLES = ("assignments", "completions", "exemptions")
# Besides user_id and course_id, the columns whose change can change a pair's facts.
FACT_COLUMNS = {"assignments": ("due_on", "closed_at"), "completions": ("completed_on", "expires_on", "revoked_on"),
                "exemptions": ("starts_on", "ends_on")}


def facts(u: str, c: str) -> dict[str, dict[str, str]]:
    """The facts of the pair (`u`, `c`), SQL expressions of a user id and a course id, as
    table -> column -> SQL: the columns each table's rows decide."""
    mine = f"user_id = {u} AND course_id = {c}"
    return {
        "assignments": {"due_on": f"(SELECT max(due_on) FROM assignments WHERE {mine} AND closed_at IS NULL)"},
        "completions": {
            "expires_on": f"(SELECT expires_on FROM completions WHERE {mine} AND revoked_on IS NULL "
                          "ORDER BY completed_on DESC, id DESC LIMIT 1)",
            "last_completed_on": f"(SELECT max(completed_on) FROM completions WHERE {mine})",
            "last_revoked_on": f"(SELECT max(revoked_on) FROM completions WHERE {mine})",
        },
        "exemptions": {
            "exemptions": f"(SELECT count(*) FROM exemptions WHERE {mine})",
            "exempt_starts_on": f"(SELECT min(starts_on) FROM exemptions WHERE {mine})",
            "exempt_ends_on": f"(SELECT max(ends_on) FROM exemptions WHERE {mine})",
        },
    }


def settles_on(columns: dict[str, str]) -> str:
    """SQL: the first day from which the stored facts are those of any later day: the latest of the latest
    completed_on, the latest revoked_on and, for a pair with several exemptions, the latest ends_on (None: any
    day). `columns` gives the SQL of last_completed_on, last_revoked_on, exemptions and exempt_ends_on."""
    a, b = columns["last_completed_on"], columns["last_revoked_on"]
    c = f"CASE WHEN {columns['exemptions']} > 1 THEN {columns['exempt_ends_on']} END"
    return (f"CASE WHEN {a} >= COALESCE({b}, {a}) AND {a} >= COALESCE({c}, {a}) THEN {a} "
            f"WHEN {b} >= COALESCE({c}, {b}) THEN {b} ELSE {c} END")


def sets(columns: dict[str, str]) -> str:
    """SET clauses for `columns`, and for settles_on when they change what it is made of (the other columns it
    reads keep their stored values)."""
    clauses = [f"{column} = {sql}" for column, sql in columns.items()]
    if {"last_completed_on", "exemptions"} & columns.keys():
        parts = ("last_completed_on", "last_revoked_on", "exemptions", "exempt_ends_on")
        clauses.append(f"settles_on = {settles_on({part: columns.get(part, part) for part in parts})}")
    return ", ".join(clauses)


def pair_of(row: str) -> str:
    return f"user_id = {row}.user_id AND course_id = {row}.course_id"


def lock(row: str, dialect: str) -> list[str]:
    """PostgreSQL: wait for a concurrent writer of the same pair to commit, so the facts are read after it."""
    return [] if dialect == "sqlite" else [f"PERFORM 1 FROM required_pairs WHERE {pair_of(row)} FOR UPDATE"]


def kept(table: str, row: str, dialect: str) -> list[str]:
    """Statements after `row` (NEW) of `table` is written: its pair exists, with the facts `table` decides."""
    if dialect == "sqlite":
        insert = f"INSERT OR IGNORE INTO required_pairs (user_id, course_id) VALUES ({row}.user_id, {row}.course_id)"
    else:
        insert = (f"INSERT INTO required_pairs (user_id, course_id) VALUES ({row}.user_id, {row}.course_id) "
                  "ON CONFLICT (user_id, course_id) DO NOTHING")
    update = f"UPDATE required_pairs SET {sets(facts(f'{row}.user_id', f'{row}.course_id')[table])} WHERE {pair_of(row)}"
    return [insert, *lock(row, dialect), update]


def left(table: str, row: str, dialect: str) -> list[str]:
    """Statements after `row` (OLD) of `table` left its pair: the facts `table` decides, and the pair removed
    with its last record."""
    u, c = f"{row}.user_id", f"{row}.course_id"
    required = " OR ".join(f"EXISTS (SELECT 1 FROM {other} WHERE user_id = {u} AND course_id = {c})"
                           for other in TABLES)
    return [*lock(row, dialect), f"UPDATE required_pairs SET {sets(facts(u, c)[table])} WHERE {pair_of(row)}",
            f"DELETE FROM required_pairs WHERE {pair_of(row)} AND NOT ({required})"]


def create_triggers(dialect: str) -> None:
    def body(statements: list[str]) -> str:
        return "".join(f"    {statement};\n" for statement in statements)

    for table in TABLES:
        facts_changed = ", ".join(FACT_COLUMNS[table])
        same = "OLD.user_id = NEW.user_id AND OLD.course_id = NEW.course_id"
        if dialect == "sqlite":
            for name, event, statements in (
                    ("insert", "INSERT", kept(table, "NEW", dialect)),
                    ("delete", "DELETE", left(table, "OLD", dialect)),
                    ("update", f"UPDATE OF {facts_changed}", kept(table, "NEW", dialect)),
                    ("move", "UPDATE OF user_id, course_id", left(table, "OLD", dialect) + kept(table, "NEW", dialect))):
                when = {"update": f" WHEN {same}", "move": f" WHEN NOT ({same})"}.get(name, "")
                op.execute(f"CREATE TRIGGER {table}_required_pairs_{name} AFTER {event} ON {table} "
                           f"FOR EACH ROW{when} BEGIN\n{body(statements)}END")
            continue
        op.execute(f"CREATE FUNCTION {table}_required_pairs() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n"
                   f"  IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND NOT ({same})) THEN\n"
                   f"{body(left(table, 'OLD', dialect))}  END IF;\n"
                   f"  IF TG_OP <> 'DELETE' THEN\n{body(kept(table, 'NEW', dialect))}  END IF;\n"
                   "  RETURN NULL;\nEND\n$$")
        op.execute(f"CREATE TRIGGER {table}_required_pairs AFTER INSERT OR DELETE OR UPDATE OF user_id, course_id, "
                   f"{facts_changed} ON {table} FOR EACH ROW EXECUTE FUNCTION {table}_required_pairs()")


def drop_triggers(dialect: str) -> None:
    for table in TABLES:
        if dialect == "sqlite":
            for name in ("insert", "delete", "update", "move"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_required_pairs_{name}")
        else:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_required_pairs ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS {table}_required_pairs()")


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.create_table(
        'required_pairs',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('course_id', sa.Integer(), nullable=False),
        sa.Column('due_on', sa.Date(), nullable=True),
        sa.Column('expires_on', sa.Date(), nullable=True),
        sa.Column('last_completed_on', sa.Date(), nullable=True),
        sa.Column('last_revoked_on', sa.Date(), nullable=True),
        sa.Column('exemptions', sa.Integer(), server_default='0', nullable=False),
        sa.Column('exempt_starts_on', sa.Date(), nullable=True),
        sa.Column('exempt_ends_on', sa.Date(), nullable=True),
        sa.Column('settles_on', sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(['course_id'], ['courses.id'], name=op.f('fk_required_pairs_course_id_courses')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_required_pairs_user_id_users')),
        sa.PrimaryKeyConstraint('user_id', 'course_id', name=op.f('pk_required_pairs')),
    )
    op.create_index(op.f('ix_required_pairs_settles_on'), 'required_pairs', ['settles_on'])
    # Back-fill: every pair with a record, then its facts by the same rule the triggers apply.
    op.execute("INSERT INTO required_pairs (user_id, course_id) "
               + " UNION ".join(f"SELECT user_id, course_id FROM {table}" for table in TABLES))
    every = facts("required_pairs.user_id", "required_pairs.course_id")
    op.execute(f"UPDATE required_pairs SET {', '.join(f'{k} = {v}' for t in TABLES for k, v in every[t].items())}")
    op.execute(f"UPDATE required_pairs SET settles_on = {settles_on({k: k for t in TABLES for k in every[t]})}")
    create_triggers(dialect)


def downgrade() -> None:
    drop_triggers(op.get_bind().dialect.name)
    op.drop_table('required_pairs')
