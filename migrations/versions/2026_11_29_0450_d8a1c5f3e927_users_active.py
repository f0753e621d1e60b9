"""users active: the active accounts by id

ix_users_active holds the ids of active accounts, with the predicate as each dialect
reads `User.active.is_(True)`, so that the daily passes join their candidates to the
active officers by reading this index alone rather than every user's row.

Revision ID: d8a1c5f3e927
Revises: c3f7a9e2d514
Create Date: 2026-11-29 04:50:00.000000
"""
import sqlalchemy as sa
from alembic import op

revision = 'd8a1c5f3e927'
down_revision = 'c3f7a9e2d514'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_users_active', 'users', ['id'],
                    sqlite_where=sa.text('active IS 1'), postgresql_where=sa.text('active IS true'))


def downgrade() -> None:
    op.drop_index('ix_users_active', table_name='users')
