"""reminder notices: the daily sweep keeps per pair the day its next reminder or escalation may fall due

required_pairs.notice_due_on and notice_on, written by the sweep alone, and two partial indexes: the pairs
decided for their due date by notice day, and those not decided yet (a new, extended or corrected assignment),
so the next day's sweep reads the pairs due that day instead of every open assignment; notice_schedule, the
schedule those days were worked out with. Existing pairs start undecided: the first sweep reads every open
assignment, as before.

Revision ID: c3f8a1e5d7b2
Revises: b6c2e9d41f70
Create Date: 2026-11-27 17:00:00.000000
"""
import sqlalchemy as sa
from alembic import op

revision = 'c3f8a1e5d7b2'
down_revision = 'b6c2e9d41f70'
branch_labels = None
depends_on = None

DECIDED = "due_on IS NOT NULL AND notice_due_on = due_on"
UNDECIDED = "due_on IS NOT NULL AND (notice_due_on IS NULL OR notice_due_on <> due_on)"


def upgrade() -> None:
    op.add_column('required_pairs', sa.Column('notice_due_on', sa.Date(), nullable=True))
    op.add_column('required_pairs', sa.Column('notice_on', sa.Date(), nullable=True))
    op.create_index('ix_required_pairs_notice', 'required_pairs', ['notice_on'],
                    sqlite_where=sa.text(DECIDED), postgresql_where=sa.text(DECIDED))
    op.create_index('ix_required_pairs_undecided', 'required_pairs', ['due_on'],
                    sqlite_where=sa.text(UNDECIDED), postgresql_where=sa.text(UNDECIDED))
    op.create_table(
        'notice_schedule',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('schedule', sa.String(length=500), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_notice_schedule')),
    )


def downgrade() -> None:
    op.drop_table('notice_schedule')
    op.drop_index('ix_required_pairs_undecided', table_name='required_pairs')
    op.drop_index('ix_required_pairs_notice', table_name='required_pairs')
    # Not batch_alter_table: rebuilding required_pairs on SQLite would break the triggers that write it.
    op.drop_column('required_pairs', 'notice_on')
    op.drop_column('required_pairs', 'notice_due_on')
