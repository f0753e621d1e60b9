"""job runs and import refusals

One row per run of a scheduled job (the daily sweep, the compliance figures, a delivery), by the scheduler or
a command: when it started and ended, how it ended and what it did, for the administrator's home page. One row
per upload the site refused (no content of the file, only how many problems it had), for the coordinators'.

Revision ID: c4e7a2b91d05
Revises: a4c8e2f61d07
Create Date: 2026-11-27 11:20:00.000000
"""
import sqlalchemy as sa
from alembic import op

revision = 'c4e7a2b91d05'
down_revision = 'a4c8e2f61d07'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('job_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('job', sa.String(length=32), nullable=False),
    sa.Column('via', sa.String(length=16), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('counts', sa.JSON(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_job_runs'))
    )
    with op.batch_alter_table('job_runs', schema=None) as batch_op:
        batch_op.create_index('ix_job_runs_job_started', ['job', 'started_at'], unique=False)

    op.create_table('import_refusals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('agency_id', sa.Integer(), nullable=True),
    sa.Column('unit_id', sa.Integer(), nullable=True),
    sa.Column('problems', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_import_refusals_actor_id_users')),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_import_refusals_agency_id_agencies')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_import_refusals_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_import_refusals'))
    )
    with op.batch_alter_table('import_refusals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_import_refusals_at'), ['at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('import_refusals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_import_refusals_at'))

    op.drop_table('import_refusals')

    with op.batch_alter_table('job_runs', schema=None) as batch_op:
        batch_op.drop_index('ix_job_runs_job_started')

    op.drop_table('job_runs')
