"""sweep days: what the last sweep of each agency left, and the open assignments by due date

sweep_days keeps, per agency (0: officers of no agency), the day last swept, the last day every open assignment
was read, the schedule followed and the highest assignment and assignment-change ids seen, so that the next
day's sweep reads only the open assignments whose reminder or escalation can have changed.
ix_assignments_open_due finds the open assignments due on the days a reminder or an escalation falls due.

Revision ID: c3f7a9e2d514
Revises: b6c2e9d41f70
Create Date: 2026-11-28 22:00:00.000000
"""
import sqlalchemy as sa
from alembic import op

revision = 'c3f7a9e2d514'
down_revision = 'b6c2e9d41f70'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'sweep_days',
        sa.Column('agency_key', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('swept_on', sa.Date(), nullable=False),
        sa.Column('read_all_on', sa.Date(), nullable=False),
        sa.Column('schedule', sa.String(length=300), nullable=False),
        sa.Column('assignments_upto', sa.Integer(), nullable=False),
        sa.Column('changes_upto', sa.Integer(), nullable=False),
        sa.Column('assignments_after', sa.Integer(), nullable=False),
        sa.Column('changes_after', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('agency_key', name=op.f('pk_sweep_days')),
    )
    op.create_index('ix_assignments_open_due', 'assignments', ['due_on'],
                    sqlite_where=sa.text('closed_at IS NULL'), postgresql_where=sa.text('closed_at IS NULL'))


def downgrade() -> None:
    op.drop_index('ix_assignments_open_due', table_name='assignments')
    op.drop_table('sweep_days')
