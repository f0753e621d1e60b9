"""audit events concern

What each audit event concerns (the person, unit or agency it was done to), so that staff read the events
about their scope whoever did them. Existing events about a person or a unit are filled in from their target.

Revision ID: 4f0a9c2e7b31
Revises: d1841d6e65d4
Create Date: 2026-11-27 08:00:00.000000
"""
import sqlalchemy as sa
from alembic import op

revision = '4f0a9c2e7b31'
down_revision = 'd1841d6e65d4'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('subject_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('agency_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('unit_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_audit_events_agency_id'), ['agency_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_events_unit_id'), ['unit_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_audit_events_subject_id_users'), 'users', ['subject_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_audit_events_agency_id_agencies'), 'agencies', ['agency_id'],
                                    ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_audit_events_unit_id_units'), 'units', ['unit_id'], ['id'])
    # Events about a person (target 'user:ID') or a unit (target 'unit:CODE' or 'unit:ID').
    op.execute("UPDATE audit_events SET subject_id = (SELECT users.id FROM users "
               "WHERE 'user:' || users.id = audit_events.target) WHERE target LIKE 'user:%'")
    op.execute("UPDATE audit_events SET "
               "agency_id = (SELECT users.agency_id FROM users WHERE users.id = audit_events.subject_id), "
               "unit_id = (SELECT users.unit_id FROM users WHERE users.id = audit_events.subject_id) "
               "WHERE subject_id IS NOT NULL")
    op.execute("UPDATE audit_events SET unit_id = (SELECT units.id FROM units "
               "WHERE 'unit:' || units.code = audit_events.target OR 'unit:' || units.id = audit_events.target) "
               "WHERE target LIKE 'unit:%'")
    op.execute("UPDATE audit_events SET agency_id = (SELECT units.agency_id FROM units "
               "WHERE units.id = audit_events.unit_id) WHERE target LIKE 'unit:%'")


def downgrade() -> None:
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_audit_events_unit_id_units'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_audit_events_agency_id_agencies'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_audit_events_subject_id_users'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_audit_events_unit_id'))
        batch_op.drop_index(batch_op.f('ix_audit_events_agency_id'))
        batch_op.drop_column('unit_id')
        batch_op.drop_column('agency_id')
        batch_op.drop_column('subject_id')
