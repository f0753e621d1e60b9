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


def facts(u: str, c: str) -> dict[str, str]:
    """The facts of the pair (`u`, `c`), SQL expressions of a user id and a course id, as column -> SQL."""
    mine = f"user_id = {u} AND course_id = {c}"
    return {
        "due_on": f"(SELECT max(due_on) FROM assignments WHERE {mine} AND closed_at IS NULL)",
        "expires_on": f"(SELECT expires_on FROM completions WHERE {mine} AND revoked_on IS NULL "
                      "ORDER BY completed_on DESC, id DESC LIMIT 1)",
        "last_completed_on": f"(SELECT max(completed_on) FROM completions WHERE {mine})",
        "last_revoked_on": f"(SELECT max(revoked_on) FROM completions WHERE {mine})",
        "exemptions": f"(SELECT count(*) FROM exemptions WHERE {mine})",
        "exempt_starts_on": f"(SELECT min(starts_on) FROM exemptions WHERE {mine})",
        "exempt_ends_on": f"(SELECT max(ends_on) FROM exemptions WHERE {mine})",
    }


def required(u: str, c: str) -> str:
    """SQL: the pair has a record that makes the module required of the officer."""
    return " OR ".join(f"EXISTS (SELECT 1 FROM {table} WHERE user_id = {u} AND course_id = {c})" for table in TABLES)


def refresh(u: str, c: str, dialect: str) -> list[str]:
    """Statements that make the pair's row what its records say: added, updated, or removed with its last record."""
    insert = "INSERT OR IGNORE INTO" if dialect == "sqlite" else "INSERT INTO"
    conflict = "" if dialect == "sqlite" else " ON CONFLICT (user_id, course_id) DO NOTHING"
    pair = f"user_id = {u} AND course_id = {c}"
    statements = [f"{insert} required_pairs (user_id, course_id) SELECT {u}, {c} WHERE {required(u, c)}{conflict}"]
    if dialect != "sqlite":
        # Wait for a concurrent writer of the same pair to commit, so the facts below are read after it.
        statements.append(f"PERFORM 1 FROM required_pairs WHERE {pair} FOR UPDATE")
    sets = ", ".join(f"{column} = {sql}" for column, sql in facts(u, c).items())
    statements.append(f"UPDATE required_pairs SET {sets} WHERE {pair}")
    statements.append(f"DELETE FROM required_pairs WHERE {pair} AND NOT ({required(u, c)})")
    return statements


def create_triggers(dialect: str) -> None:
    if dialect == "sqlite":
        for table in TABLES:
            events = {"insert": ("INSERT", ["NEW"]), "delete": ("DELETE", ["OLD"]),
                      "update": (f"UPDATE OF {', '.join(('user_id', 'course_id', *FACT_COLUMNS[table]))}",
                                 ["OLD", "NEW"])}
            for name, (event, rows) in events.items():
                body = "".join(f"{statement};\n" for row in rows
                               for statement in refresh(f"{row}.user_id", f"{row}.course_id", dialect))
                op.execute(f"CREATE TRIGGER {table}_required_pairs_{name} AFTER {event} ON {table} "
                           f"FOR EACH ROW BEGIN\n{body}END")
        return
    body = "".join(f"    {statement};\n" for statement in refresh("u", "c", dialect))
    op.execute(f"CREATE FUNCTION required_pairs_refresh(u integer, c integer) RETURNS void LANGUAGE plpgsql "
               f"AS $$\nBEGIN\n{body}END\n$$")
    op.execute("CREATE FUNCTION required_pairs_track() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n"
               "    IF TG_OP <> 'INSERT' THEN PERFORM required_pairs_refresh(OLD.user_id, OLD.course_id); END IF;\n"
               "    IF TG_OP <> 'DELETE' THEN PERFORM required_pairs_refresh(NEW.user_id, NEW.course_id); END IF;\n"
               "    RETURN NULL;\nEND\n$$")
    for table in TABLES:
        columns = ", ".join(("user_id", "course_id", *FACT_COLUMNS[table]))
        op.execute(f"CREATE TRIGGER {table}_required_pairs AFTER INSERT OR DELETE OR UPDATE OF {columns} "
                   f"ON {table} FOR EACH ROW EXECUTE FUNCTION required_pairs_track()")


def drop_triggers(dialect: str) -> None:
    if dialect == "sqlite":
        for table in TABLES:
            for name in ("insert", "delete", "update"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_required_pairs_{name}")
        return
    for table in TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_required_pairs ON {table}")
    op.execute("DROP FUNCTION IF EXISTS required_pairs_track()")
    op.execute("DROP FUNCTION IF EXISTS required_pairs_refresh(integer, integer)")


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
        sa.ForeignKeyConstraint(['course_id'], ['courses.id'], name=op.f('fk_required_pairs_course_id_courses')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_required_pairs_user_id_users')),
        sa.PrimaryKeyConstraint('user_id', 'course_id', name=op.f('pk_required_pairs')),
    )
    op.create_index(op.f('ix_required_pairs_last_completed_on'), 'required_pairs', ['last_completed_on'])
    op.create_index(op.f('ix_required_pairs_last_revoked_on'), 'required_pairs', ['last_revoked_on'])
    op.create_index(op.f('ix_required_pairs_exempt_ends_on'), 'required_pairs', ['exempt_ends_on'])
    # Back-fill: every pair with a record, then its facts by the same rule the triggers apply.
    op.execute("INSERT INTO required_pairs (user_id, course_id) "
               + " UNION ".join(f"SELECT user_id, course_id FROM {table}" for table in TABLES))
    sets = ", ".join(f"{column} = {sql}" for column, sql
                     in facts("required_pairs.user_id", "required_pairs.course_id").items())
    op.execute(f"UPDATE required_pairs SET {sets}")
    create_triggers(dialect)


def downgrade() -> None:
    drop_triggers(op.get_bind().dialect.name)
    op.drop_table('required_pairs')
