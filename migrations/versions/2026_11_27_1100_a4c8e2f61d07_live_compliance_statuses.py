"""live compliance statuses

The dashboard counts today's statuses from the records at each request: the
daily job's status rows, and their status and expiring columns, go. The month
ends of the trend stay.

Revision ID: a4c8e2f61d07
Revises: 7b3d9e21c4a8
Create Date: 2026-11-27 11:00:00.000000
"""
import sqlalchemy as sa
from alembic import op

revision = 'a4c8e2f61d07'
down_revision = '7b3d9e21c4a8'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(sa.text("DELETE FROM compliance_snapshots WHERE kind = 'status'"))
    with op.batch_alter_table('compliance_snapshots', schema=None) as batch_op:
        batch_op.drop_column('status')
        batch_op.drop_column('expiring_30')
        batch_op.drop_column('expiring_60')
        batch_op.drop_column('expiring_90')


def downgrade() -> None:
    # The status rows are not made again: the daily job of the earlier release counts them on its next run.
    with op.batch_alter_table('compliance_snapshots', schema=None) as batch_op:
        batch_op.add_column(sa.Column('expiring_90', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('expiring_60', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('expiring_30', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('status', sa.String(length=16), nullable=True))
