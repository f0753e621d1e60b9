"""sweep at scale: the daily renewal pass finds its pairs by index

ix_required_pairs_renewal indexes the pairs with no open assignment by module and expiry, so the daily renewal
pass reads the pairs inside their renewal window instead of every completion of the module.

Revision ID: b8e5d1f06c27
Revises: a1d4e7b2c9f3
Create Date: 2026-11-27 16:20:00.000000
"""
import sqlalchemy as sa
from alembic import op

revision = 'b8e5d1f06c27'
down_revision = 'a1d4e7b2c9f3'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_required_pairs_renewal', 'required_pairs', ['course_id', 'expires_on'],
                    sqlite_where=sa.text('due_on IS NULL'), postgresql_where=sa.text('due_on IS NULL'))


def downgrade() -> None:
    op.drop_index('ix_required_pairs_renewal', table_name='required_pairs')
