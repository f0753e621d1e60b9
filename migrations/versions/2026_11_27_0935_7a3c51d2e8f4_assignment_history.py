"""assignment history and extension requests

Due-date corrections, extensions and withdrawals are kept as rows of their own rather than overwriting the
assignment, and officers' requests for more time wait in a table of their own until someone decides.

Revision ID: 7a3c51d2e8f4
Revises: fc1e22b6f2f5
Create Date: 2026-11-27 09:30:00.000000
"""
import sqlalchemy as sa
from alembic import op

revision = '7a3c51d2e8f4'
down_revision = 'fc1e22b6f2f5'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('assignment_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('assignment_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('due_on_before', sa.Date(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_assignment_changes_actor_id_users')),
    sa.ForeignKeyConstraint(['assignment_id'], ['assignments.id'],
                            name=op.f('fk_assignment_changes_assignment_id_assignments')),
    sa.ForeignKeyConstraint(['course_id'], ['courses.id'], name=op.f('fk_assignment_changes_course_id_courses')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_assignment_changes_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assignment_changes'))
    )
    op.create_index('ix_assignment_changes_assignment_at', 'assignment_changes', ['assignment_id', 'at', 'id'],
                    unique=False)
    op.create_index(op.f('ix_assignment_changes_user_id'), 'assignment_changes', ['user_id'], unique=False)
    op.create_table('extension_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('assignment_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('asked_due_on', sa.Date(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.Column('decided_due_on', sa.Date(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['assignment_id'], ['assignments.id'],
                            name=op.f('fk_extension_requests_assignment_id_assignments')),
    sa.ForeignKeyConstraint(['course_id'], ['courses.id'], name=op.f('fk_extension_requests_course_id_courses')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_extension_requests_decided_by_id_users')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_extension_requests_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_extension_requests'))
    )
    op.create_index('ix_extension_requests_status', 'extension_requests', ['status', 'created_at'], unique=False)
    op.create_index(op.f('ix_extension_requests_user_id'), 'extension_requests', ['user_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_extension_requests_user_id'), table_name='extension_requests')
    op.drop_index('ix_extension_requests_status', table_name='extension_requests')
    op.drop_table('extension_requests')
    op.drop_index(op.f('ix_assignment_changes_user_id'), table_name='assignment_changes')
    op.drop_index('ix_assignment_changes_assignment_at', table_name='assignment_changes')
    op.drop_table('assignment_changes')
