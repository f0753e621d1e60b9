"""answers an officer has picked in an open quiz, kept until it is submitted

Revision ID: c5e8a2f47d19
Revises: c4e7a2b91d05
Create Date: 2026-11-27 11:30:00.000000
"""
import sqlalchemy as sa
from alembic import op

revision = 'c5e8a2f47d19'
down_revision = 'c4e7a2b91d05'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('attempts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('saved_answers', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('attempts', schema=None) as batch_op:
        batch_op.drop_column('saved_answers')
