"""officer tallies: officers needing attention by cell, counted ahead

officer_tallies holds, for each agency's day and the next, the officers of each cell
(agency and unit) with at least one required module overdue, and those with one
expiring, as a coordinator's home shows them. The tallies already counted are
forgotten, so that the tally job counts every agency's day again with the officers;
until it has, each page counts from the records, as for a day not counted yet.

Revision ID: a9d4e6b2c8f1
Revises: f5b2c8d7a1e4
Create Date: 2026-11-29 12:30:00.000000
"""
import sqlalchemy as sa
from alembic import op

revision = 'a9d4e6b2c8f1'
down_revision = 'f5b2c8d7a1e4'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'officer_tallies',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('agency_id', sa.Integer(), nullable=True),
        sa.Column('unit_id', sa.Integer(), nullable=True),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('officers', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_officer_tallies_agency_id_agencies')),
        sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_officer_tallies_unit_id_units')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_officer_tallies')),
    )
    op.create_index('ix_officer_tallies_cell', 'officer_tallies', ['day', 'agency_id', 'unit_id'])
    for table in ('tally_days', 'status_tallies', 'unit_tallies', 'agency_tallies'):
        op.execute(f'DELETE FROM {table}')


def downgrade() -> None:
    op.drop_index('ix_officer_tallies_cell', table_name='officer_tallies')
    op.drop_table('officer_tallies')
