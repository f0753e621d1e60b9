"""users role: the accounts by role

ix_users_role finds the few staff among a million officers by their role (the coordinators the daily job's
escalation digests go to, among others) without reading every account.

Revision ID: b7e3d1a9c4f2
Revises: a9d4e6b2c8f1
Create Date: 2026-11-29 15:00:00.000000
"""
from alembic import op

revision = 'b7e3d1a9c4f2'
down_revision = 'a9d4e6b2c8f1'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_users_role', 'users', ['role'])


def downgrade() -> None:
    op.drop_index('ix_users_role', table_name='users')
