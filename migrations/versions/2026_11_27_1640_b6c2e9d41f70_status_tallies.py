"""status tallies: the dashboard's counts kept per agency, unit, module and status, with marks of what changed

The tally job counts each agency's pairs on its day and the next
(status_tallies, tally_days); triggers mark the cell (agency, unit) of every
officer whose records a write touches (tally_marks), in the same transaction,
so the dashboard counts a marked cell from the records until the job counts it
again. On PostgreSQL the triggers run once per statement over its transition
tables, so a bulk insert of a million assignments adds one statement, not a
million; on SQLite once per row. A later migration that rebuilds one of these
tables with batch_alter_table on SQLite drops its triggers and must create them
again (`create_triggers`); tests/test_status_tallies.py fails when they are
missing. The dashboard's monthly trend gets each agency's sums (compliance
snapshots of kind "agency"), back-filled from the month ends counted.

Revision ID: b6c2e9d41f70
Revises: b8e2f5a3c1d7
Create Date: 2026-11-27 16:40:00.000000
"""
import sqlalchemy as sa
from alembic import op

revision = 'b6c2e9d41f70'
down_revision = 'b8e2f5a3c1d7'
branch_labels = None
depends_on = None

# The tables whose rows belong to one officer's (officer, module) pair, by user_id.
RECORDS = ("assignments", "completions", "exemptions", "acknowledgements")
CELL = "COALESCE({u}.agency_id, 0), COALESCE({u}.unit_id, 0)"
UNMARKED = ("NOT EXISTS (SELECT 1 FROM tally_marks m WHERE m.unit_key = COALESCE({u}.unit_id, 0) "
            "AND m.agency_key = COALESCE({u}.agency_id, 0))")


def mark(officers: str, condition: str = "") -> str:
    """SQL adding a mark for each cell of the users `officers` (a FROM clause naming them u) that meet
    `condition` and are not marked yet."""
    where = f"{condition} AND " if condition else ""
    return (f"INSERT INTO tally_marks (agency_key, unit_key) SELECT DISTINCT {CELL.format(u='u')} "
            f"FROM {officers} WHERE {where}{UNMARKED.format(u='u')}")


def create_triggers(dialect: str) -> None:
    if dialect == "sqlite":
        for table in RECORDS:
            for event, row in (("insert", "NEW"), ("delete", "OLD"), ("update", "NEW"), ("update_old", "OLD")):
                when = "UPDATE" if event.startswith("update") else event.upper()
                op.execute(f"CREATE TRIGGER {table}_tally_{event} AFTER {when} ON {table} FOR EACH ROW BEGIN\n"
                           f"    {mark('users u', f'u.id = {row}.user_id')};\nEND")
        moved = "OLD.agency_id IS NOT NEW.agency_id OR OLD.unit_id IS NOT NEW.unit_id OR OLD.active IS NOT NEW.active"
        for name, row, event, when in (("users_tally_moved_from", "OLD", "UPDATE", f" WHEN {moved}"),
                                       ("users_tally_moved_to", "NEW", "UPDATE", f" WHEN {moved}"),
                                       ("users_tally_deleted", "OLD", "DELETE", "")):
            op.execute(f"CREATE TRIGGER {name} AFTER {event} ON users FOR EACH ROW{when} BEGIN\n"
                       f"    INSERT INTO tally_marks (agency_key, unit_key) SELECT {CELL.format(u=row)} "
                       f"WHERE {UNMARKED.format(u=row)};\nEND")
        op.execute("CREATE TRIGGER courses_tally_active AFTER UPDATE OF active ON courses FOR EACH ROW "
                   f"WHEN OLD.active IS NOT NEW.active BEGIN\n    {mark('users u')};\nEND")
        return
    # PostgreSQL: one function per kind of statement, over the statement's transition tables.
    for name, officers in (
            ("tally_mark_inserted", "(SELECT DISTINCT user_id FROM inserted) r JOIN users u ON u.id = r.user_id"),
            ("tally_mark_deleted", "(SELECT DISTINCT user_id FROM deleted) r JOIN users u ON u.id = r.user_id"),
            ("tally_mark_updated", "(SELECT user_id FROM inserted UNION SELECT user_id FROM deleted) r "
                                   "JOIN users u ON u.id = r.user_id"),
            ("tally_mark_users_deleted", "deleted u"),
            ("tally_mark_users_updated",
             "(SELECT o.agency_id, o.unit_id FROM deleted o JOIN inserted n ON n.id = o.id "
             "WHERE o.agency_id IS DISTINCT FROM n.agency_id OR o.unit_id IS DISTINCT FROM n.unit_id "
             "OR o.active IS DISTINCT FROM n.active "
             "UNION SELECT n.agency_id, n.unit_id FROM deleted o JOIN inserted n ON n.id = o.id "
             "WHERE o.agency_id IS DISTINCT FROM n.agency_id OR o.unit_id IS DISTINCT FROM n.unit_id "
             "OR o.active IS DISTINCT FROM n.active) u"),
            ("tally_mark_courses_updated", "users u")):
        condition = ("EXISTS (SELECT 1 FROM deleted o JOIN inserted n ON n.id = o.id "
                     "WHERE o.active IS DISTINCT FROM n.active)" if name.startswith("tally_mark_courses") else "")
        op.execute(f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n"
                   f"  {mark(officers, condition)};\n  RETURN NULL;\nEND\n$$")
    for table in RECORDS:
        for event, tables, function in (("INSERT", "NEW TABLE AS inserted", "tally_mark_inserted"),
                                        ("DELETE", "OLD TABLE AS deleted", "tally_mark_deleted"),
                                        ("UPDATE", "OLD TABLE AS deleted NEW TABLE AS inserted",
                                         "tally_mark_updated")):
            op.execute(f"CREATE TRIGGER {table}_tally_{event.lower()} AFTER {event} ON {table} "
                       f"REFERENCING {tables} FOR EACH STATEMENT EXECUTE FUNCTION {function}()")
    op.execute("CREATE TRIGGER users_tally_delete AFTER DELETE ON users REFERENCING OLD TABLE AS deleted "
               "FOR EACH STATEMENT EXECUTE FUNCTION tally_mark_users_deleted()")
    op.execute("CREATE TRIGGER users_tally_update AFTER UPDATE ON users "
               "REFERENCING OLD TABLE AS deleted NEW TABLE AS inserted "
               "FOR EACH STATEMENT EXECUTE FUNCTION tally_mark_users_updated()")
    op.execute("CREATE TRIGGER courses_tally_update AFTER UPDATE ON courses "
               "REFERENCING OLD TABLE AS deleted NEW TABLE AS inserted "
               "FOR EACH STATEMENT EXECUTE FUNCTION tally_mark_courses_updated()")


def drop_triggers(dialect: str) -> None:
    if dialect == "sqlite":
        for table in RECORDS:
            for event in ("insert", "delete", "update", "update_old"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_tally_{event}")
        for name in ("users_tally_moved_from", "users_tally_moved_to", "users_tally_deleted", "courses_tally_active"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        return
    for table in RECORDS:
        for event in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_tally_{event} ON {table}")
    op.execute("DROP TRIGGER IF EXISTS users_tally_delete ON users")
    op.execute("DROP TRIGGER IF EXISTS users_tally_update ON users")
    op.execute("DROP TRIGGER IF EXISTS courses_tally_update ON courses")
    for name in ("inserted", "deleted", "updated", "users_deleted", "users_updated", "courses_updated"):
        op.execute(f"DROP FUNCTION IF EXISTS tally_mark_{name}()")


def upgrade() -> None:
    op.create_table(
        'status_tallies',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('agency_id', sa.Integer(), nullable=True),
        sa.Column('unit_id', sa.Integer(), nullable=True),
        sa.Column('course_id', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('acknowledged_version', sa.Integer(), nullable=True),
        sa.Column('pairs', sa.Integer(), nullable=False),
        sa.Column('within_30', sa.Integer(), nullable=False),
        sa.Column('within_60', sa.Integer(), nullable=False),
        sa.Column('within_90', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_status_tallies_agency_id_agencies')),
        sa.ForeignKeyConstraint(['course_id'], ['courses.id'], name=op.f('fk_status_tallies_course_id_courses')),
        sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_status_tallies_unit_id_units')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_status_tallies')),
    )
    op.create_index('ix_status_tallies_cell', 'status_tallies', ['day', 'agency_id', 'unit_id'])
    op.create_table(
        'unit_tallies',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('agency_id', sa.Integer(), nullable=True),
        sa.Column('unit_id', sa.Integer(), nullable=True),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('pairs', sa.Integer(), nullable=False),
        sa.Column('within_30', sa.Integer(), nullable=False),
        sa.Column('within_60', sa.Integer(), nullable=False),
        sa.Column('within_90', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_unit_tallies_agency_id_agencies')),
        sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_unit_tallies_unit_id_units')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_unit_tallies')),
    )
    op.create_index('ix_unit_tallies_cell', 'unit_tallies', ['day', 'agency_id', 'unit_id'])
    op.create_table(
        'agency_tallies',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('agency_id', sa.Integer(), nullable=True),
        sa.Column('course_id', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('acknowledged_version', sa.Integer(), nullable=True),
        sa.Column('pairs', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_agency_tallies_agency_id_agencies')),
        sa.ForeignKeyConstraint(['course_id'], ['courses.id'], name=op.f('fk_agency_tallies_course_id_courses')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_agency_tallies')),
    )
    op.create_index('ix_agency_tallies_day', 'agency_tallies', ['day', 'agency_id'])
    op.create_table(
        'tally_days',
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('agency_key', sa.Integer(), nullable=False),
        sa.Column('counted_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('day', 'agency_key', name=op.f('pk_tally_days')),
    )
    op.create_table(
        'tally_marks',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('agency_key', sa.Integer(), nullable=False),
        sa.Column('unit_key', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_tally_marks')),
    )
    op.create_index('ix_tally_marks_cell', 'tally_marks', ['unit_key', 'agency_key'])
    create_triggers(op.get_bind().dialect.name)
    # The trend's month ends summed by agency (kind "agency"), so a whole agency's trend reads a row per module.
    op.execute("INSERT INTO compliance_snapshots (kind, day, agency_id, course_id, pairs, valid, exempt, "
               "exempt_valid, taken_at) SELECT 'agency', day, agency_id, course_id, sum(pairs), sum(valid), "
               "sum(exempt), sum(exempt_valid), max(taken_at) FROM compliance_snapshots WHERE kind = 'month' "
               "GROUP BY day, agency_id, course_id")


def downgrade() -> None:
    op.execute("DELETE FROM compliance_snapshots WHERE kind = 'agency'")
    drop_triggers(op.get_bind().dialect.name)
    op.drop_index('ix_tally_marks_cell', table_name='tally_marks')
    op.drop_table('tally_marks')
    op.drop_table('tally_days')
    op.drop_index('ix_agency_tallies_day', table_name='agency_tallies')
    op.drop_table('agency_tallies')
    op.drop_index('ix_unit_tallies_cell', table_name='unit_tallies')
    op.drop_table('unit_tallies')
    op.drop_index('ix_status_tallies_cell', table_name='status_tallies')
    op.drop_table('status_tallies')
