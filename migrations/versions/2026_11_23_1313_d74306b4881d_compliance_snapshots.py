"""compliance snapshots

Revision ID: d74306b4881d
Revises: ed9ebffc10cd
Create Date: 2026-11-23 13:13:38.092074
"""
import sqlalchemy as sa
from alembic import op

revision = 'd74306b4881d'
down_revision = 'ed9ebffc10cd'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('compliance_snapshots',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=True),
    sa.Column('unit_id', sa.Integer(), nullable=True),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=True),
    sa.Column('pairs', sa.Integer(), nullable=False),
    sa.Column('expiring_30', sa.Integer(), nullable=False),
    sa.Column('expiring_60', sa.Integer(), nullable=False),
    sa.Column('expiring_90', sa.Integer(), nullable=False),
    sa.Column('valid', sa.Integer(), nullable=False),
    sa.Column('exempt', sa.Integer(), nullable=False),
    sa.Column('exempt_valid', sa.Integer(), nullable=False),
    sa.Column('taken_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_compliance_snapshots_agency_id_agencies')),
    sa.ForeignKeyConstraint(['course_id'], ['courses.id'], name=op.f('fk_compliance_snapshots_course_id_courses')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_compliance_snapshots_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_compliance_snapshots'))
    )
    with op.batch_alter_table('compliance_snapshots', schema=None) as batch_op:
        batch_op.create_index('ix_compliance_snapshots_scope', ['kind', 'day', 'agency_id', 'unit_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('compliance_snapshots', schema=None) as batch_op:
        batch_op.drop_index('ix_compliance_snapshots_scope')

    op.drop_table('compliance_snapshots')
