"""the unit of an officer when an assignment changed

A withdrawal holds off the standing rules for that officer and course while the officer stays in the unit
they were in; each assignment change keeps that unit. Changes made before this revision have none and hold
nothing off.

Revision ID: 3d9a7e61c2b8
Revises: b6e2f0c4a913
Create Date: 2026-11-27 09:45:00.000000
"""
import sqlalchemy as sa
from alembic import op

revision = '3d9a7e61c2b8'
down_revision = 'b6e2f0c4a913'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('assignment_changes') as batch_op:
        batch_op.add_column(sa.Column('unit_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_assignment_changes_unit_id_units'), 'units', ['unit_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('assignment_changes') as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_assignment_changes_unit_id_units'), type_='foreignkey')
        batch_op.drop_column('unit_id')
