"""standing rules

Revision ID: dafb58ea3717
Revises: 390d332513c1
Create Date: 2026-11-22 22:28:41.789992
"""
import sqlalchemy as sa
from alembic import op

revision = 'dafb58ea3717'
down_revision = '390d332513c1'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('standing_rules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('days_to_complete', sa.Integer(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['course_id'], ['courses.id'], name=op.f('fk_standing_rules_course_id_courses')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_standing_rules_created_by_id_users')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_standing_rules_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_standing_rules')),
    sa.UniqueConstraint('unit_id', 'course_id', name=op.f('uq_standing_rules_unit_id_course_id'))
    )


def downgrade() -> None:
    op.drop_table('standing_rules')
