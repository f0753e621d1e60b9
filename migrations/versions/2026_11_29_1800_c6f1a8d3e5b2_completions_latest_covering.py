"""completions latest covering: on PostgreSQL the latest-completion index holds expiry and revocation

The daily renewal pass reads, for each certification inside its window, the officer's completions of the module
to find the latest expiry never revoked: at a million officers about 95,000 officers and 286,000 completions a
module on the first day, each completion a page of the table read for two dates. With `expires_on` and
`revoked_on` held in ix_completions_latest (INCLUDE, PostgreSQL's covering index) the pass reads the index alone,
and so can the status rules' test for a completion valid on a day. SQLite keeps the index as it was.

Revision ID: c6f1a8d3e5b2
Revises: b7e3d1a9c4f2
Create Date: 2026-11-29 18:00:00.000000
"""
from alembic import op

revision = 'c6f1a8d3e5b2'
down_revision = 'b7e3d1a9c4f2'
branch_labels = None
depends_on = None

COLUMNS = ['user_id', 'course_id', 'completed_on', 'id']


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    op.drop_index('ix_completions_latest', table_name='completions')
    op.create_index('ix_completions_latest', 'completions', COLUMNS, postgresql_include=['expires_on', 'revoked_on'])


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    op.drop_index('ix_completions_latest', table_name='completions')
    op.create_index('ix_completions_latest', 'completions', COLUMNS)
