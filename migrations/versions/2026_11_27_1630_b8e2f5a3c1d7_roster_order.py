"""roster order: an index on users in the roster's order (last name, first name, id)

The roster export walks the officers in this order a slice at a time, so that its first rows come at once
and no query sorts every officer's pairs.

Revision ID: b8e2f5a3c1d7
Revises: b8e5d1f06c27
Create Date: 2026-11-27 16:30:00.000000
"""
from alembic import op

revision = 'b8e2f5a3c1d7'
down_revision = 'b8e5d1f06c27'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_users_name', 'users', ['last_name', 'first_name', 'id'])


def downgrade():
    op.drop_index('ix_users_name', table_name='users')
