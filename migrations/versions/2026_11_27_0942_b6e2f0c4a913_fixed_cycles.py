"""fixed renewal cycles

A course renews on each officer's anniversary, as before, or on a fixed yearly cycle (a fiscal year, the
calendar year, or a year starting in a named month). The cycle is kept on the course and on each version.

Revision ID: b6e2f0c4a913
Revises: 8e2e36340abe
Create Date: 2026-11-27 09:40:00.000000
"""
import sqlalchemy as sa
from alembic import op

revision = 'b6e2f0c4a913'
down_revision = '8e2e36340abe'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('courses') as batch_op:
        batch_op.add_column(sa.Column('cycle', sa.String(length=16), server_default='anniversary', nullable=False))
    with op.batch_alter_table('course_versions') as batch_op:
        batch_op.add_column(sa.Column('cycle', sa.String(length=16), server_default='anniversary', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('course_versions') as batch_op:
        batch_op.drop_column('cycle')
    with op.batch_alter_table('courses') as batch_op:
        batch_op.drop_column('cycle')
