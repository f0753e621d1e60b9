"""index for the latest completion

Revision ID: 9bbfd131c605
Revises: e239bf0f4d0f
Create Date: 2026-11-22 23:02:00.516596
"""
from alembic import op

revision = '9bbfd131c605'
down_revision = 'e239bf0f4d0f'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('completions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_completions_user_course'))
        batch_op.create_index('ix_completions_latest', ['user_id', 'course_id', 'completed_on', 'id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('completions', schema=None) as batch_op:
        batch_op.drop_index('ix_completions_latest')
        batch_op.create_index(batch_op.f('ix_completions_user_course'), ['user_id', 'course_id', 'expires_on'], unique=False)

