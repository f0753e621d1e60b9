"""content review and wrong answers

The day each course was last reviewed against its sources, and why each wrong choice of a question is wrong.
Courses and questions loaded before stay without them until `courses sync` loads a new version.

Revision ID: 8e2e36340abe
Revises: 7a3c51d2e8f4
Create Date: 2026-11-27 09:40:00.000000
"""
import sqlalchemy as sa
from alembic import op

revision = '8e2e36340abe'
down_revision = '7a3c51d2e8f4'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('courses', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reviewed_on', sa.Date(), nullable=True))
    with op.batch_alter_table('questions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('wrong_explanations', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('questions', schema=None) as batch_op:
        batch_op.drop_column('wrong_explanations')
    with op.batch_alter_table('courses', schema=None) as batch_op:
        batch_op.drop_column('reviewed_on')
