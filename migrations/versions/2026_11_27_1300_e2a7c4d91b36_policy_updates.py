"""policy updates and documents: change logs on versions, update assignments, acknowledgements

Each course version carries the change log entry it published; an update
assignment names the version to acknowledge; a document is a course of kind
"document", its PDF kept in document_files. Every acknowledgement (of a whole
module, of a policy update, of a document) is a row of acknowledgements, and
the highest version number each officer has acknowledged of each module is kept
on their required pair by a trigger, so the dashboard counts who is on the
current version from the pairs alone. Acknowledgements are back-filled from the
completions signed so far.

On SQLite, rebuilding assignments and required_pairs drops the required-pairs
triggers, which name them: they are created again afterwards.

Revision ID: e2a7c4d91b36
Revises: d7f3b8a26e41
Create Date: 2026-11-27 13:00:00.000000
"""
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op

from training.migrate import revision_module

revision = 'e2a7c4d91b36'
down_revision = 'd7f3b8a26e41'
branch_labels = None
depends_on = None

ACKNOWLEDGED = ("(SELECT max(version_number) FROM acknowledgements "
                "WHERE user_id = {u} AND course_id = {c})")


@contextmanager
def _pairs_triggers_dropped(dialect: str):
    """On SQLite, rebuilding assignments needs the required-pairs triggers (which name it) out of the way."""
    if dialect != "sqlite":
        yield
        return
    pairs = revision_module("d7f3b8a26e41")
    pairs.drop_triggers(dialect)
    yield
    pairs.create_triggers(dialect)


def _acknowledgement_trigger(dialect: str) -> None:
    """After an acknowledgement is added, its pair exists and holds the highest version acknowledged."""
    update = ("UPDATE required_pairs SET acknowledged_version = "
              + ACKNOWLEDGED.format(u="NEW.user_id", c="NEW.course_id")
              + " WHERE user_id = NEW.user_id AND course_id = NEW.course_id")
    if dialect == "sqlite":
        op.execute("CREATE TRIGGER acknowledgements_required_pairs AFTER INSERT ON acknowledgements "
                   "FOR EACH ROW BEGIN\n"
                   "    INSERT OR IGNORE INTO required_pairs (user_id, course_id) VALUES (NEW.user_id, NEW.course_id);\n"
                   f"    {update};\nEND")
        return
    op.execute("CREATE FUNCTION acknowledgements_required_pairs() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n"
               "  INSERT INTO required_pairs (user_id, course_id) VALUES (NEW.user_id, NEW.course_id) "
               "ON CONFLICT (user_id, course_id) DO NOTHING;\n"
               "  PERFORM 1 FROM required_pairs WHERE user_id = NEW.user_id AND course_id = NEW.course_id FOR UPDATE;\n"
               f"  {update};\n  RETURN NULL;\nEND\n$$")
    op.execute("CREATE TRIGGER acknowledgements_required_pairs AFTER INSERT ON acknowledgements "
               "FOR EACH ROW EXECUTE FUNCTION acknowledgements_required_pairs()")


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    with op.batch_alter_table('courses', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=16), server_default='course', nullable=False))
        batch_op.add_column(sa.Column('update_days', sa.Integer(), server_default='30', nullable=False))
    with op.batch_alter_table('course_versions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('change_kind', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('change_date', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('change_summary', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('changes_logged', sa.Integer(), server_default='0', nullable=False))
    with op.batch_alter_table('attempts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=16), server_default='module', nullable=False))
    with _pairs_triggers_dropped(dialect):
        with op.batch_alter_table('required_pairs', schema=None) as batch_op:
            batch_op.add_column(sa.Column('acknowledged_version', sa.Integer(), nullable=True))
        with op.batch_alter_table('assignments', schema=None) as batch_op:
            batch_op.add_column(sa.Column('version_id', sa.Integer(), nullable=True))
            batch_op.create_foreign_key(batch_op.f('fk_assignments_version_id_course_versions'), 'course_versions',
                                        ['version_id'], ['id'])
    op.create_table(
        'document_files',
        sa.Column('version_id', sa.Integer(), nullable=False),
        sa.Column('filename', sa.String(length=200), nullable=False),
        sa.Column('data', sa.LargeBinary(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(['version_id'], ['course_versions.id'],
                                name=op.f('fk_document_files_version_id_course_versions')),
        sa.PrimaryKeyConstraint('version_id', name=op.f('pk_document_files')),
    )
    op.create_table(
        'acknowledgements',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('course_id', sa.Integer(), nullable=False),
        sa.Column('version_id', sa.Integer(), nullable=False),
        sa.Column('version_number', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('acknowledged_at', sa.DateTime(), nullable=False),
        sa.Column('acknowledged_on', sa.Date(), nullable=False),
        sa.Column('text_sha256', sa.String(length=64), nullable=True),
        sa.Column('completion_id', sa.Integer(), nullable=True),
        sa.Column('attempt_id', sa.Integer(), nullable=True),
        sa.Column('assignment_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['assignment_id'], ['assignments.id'],
                                name=op.f('fk_acknowledgements_assignment_id_assignments')),
        sa.ForeignKeyConstraint(['attempt_id'], ['attempts.id'], name=op.f('fk_acknowledgements_attempt_id_attempts')),
        sa.ForeignKeyConstraint(['completion_id'], ['completions.id'],
                                name=op.f('fk_acknowledgements_completion_id_completions')),
        sa.ForeignKeyConstraint(['course_id'], ['courses.id'], name=op.f('fk_acknowledgements_course_id_courses')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_acknowledgements_user_id_users')),
        sa.ForeignKeyConstraint(['version_id'], ['course_versions.id'],
                                name=op.f('fk_acknowledgements_version_id_course_versions')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_acknowledgements')),
        sa.UniqueConstraint('attempt_id', name=op.f('uq_acknowledgements_attempt_id')),
    )
    op.create_index('ix_acknowledgements_user_course', 'acknowledgements',
                    ['user_id', 'course_id', 'version_number'], unique=False)
    # Back-fill: every completion signed in the quiz acknowledged the version it passed.
    op.execute(
        "INSERT INTO acknowledgements (user_id, course_id, version_id, version_number, kind, name, acknowledged_at, "
        "acknowledged_on, completion_id, attempt_id) "
        "SELECT c.user_id, c.course_id, c.version_id, v.number, 'module', c.acknowledged_name, c.acknowledged_at, "
        "c.completed_on, c.id, c.attempt_id FROM completions c JOIN course_versions v ON v.id = c.version_id "
        "WHERE c.acknowledged_name IS NOT NULL AND c.acknowledged_at IS NOT NULL")
    op.execute("UPDATE required_pairs SET acknowledged_version = "
               + ACKNOWLEDGED.format(u="required_pairs.user_id", c="required_pairs.course_id"))
    _acknowledgement_trigger(dialect)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS acknowledgements_required_pairs")
    else:
        op.execute("DROP TRIGGER IF EXISTS acknowledgements_required_pairs ON acknowledgements")
        op.execute("DROP FUNCTION IF EXISTS acknowledgements_required_pairs()")
    op.drop_index('ix_acknowledgements_user_course', table_name='acknowledgements')
    op.drop_table('acknowledgements')
    op.drop_table('document_files')
    with _pairs_triggers_dropped(dialect):
        with op.batch_alter_table('assignments', schema=None) as batch_op:
            batch_op.drop_constraint(batch_op.f('fk_assignments_version_id_course_versions'), type_='foreignkey')
            batch_op.drop_column('version_id')
        with op.batch_alter_table('required_pairs', schema=None) as batch_op:
            batch_op.drop_column('acknowledged_version')
    with op.batch_alter_table('attempts', schema=None) as batch_op:
        batch_op.drop_column('kind')
    with op.batch_alter_table('course_versions', schema=None) as batch_op:
        batch_op.drop_column('changes_logged')
        batch_op.drop_column('change_summary')
        batch_op.drop_column('change_date')
        batch_op.drop_column('change_kind')
    with op.batch_alter_table('courses', schema=None) as batch_op:
        batch_op.drop_column('update_days')
        batch_op.drop_column('kind')

