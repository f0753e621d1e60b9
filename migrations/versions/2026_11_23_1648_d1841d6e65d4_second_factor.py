"""second factor

TOTP secrets and recovery codes; the documented demo sign-ins are marked as such.

Revision ID: d1841d6e65d4
Revises: 2ac376cd5556
Create Date: 2026-11-23 16:48:12.332174
"""
import sqlalchemy as sa
from alembic import op

revision = 'd1841d6e65d4'
down_revision = '2ac376cd5556'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('recovery_codes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('used_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_recovery_codes_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recovery_codes'))
    )
    with op.batch_alter_table('recovery_codes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recovery_codes_user_id'), ['user_id'], unique=False)

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('totp_secret', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('totp_last_step', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('demo_account', sa.Boolean(), server_default=sa.false(), nullable=False))
    demo = ("officer@demo.test", "coordinator@demo.test", "compliance@demo.test", "admin@demo.test")
    op.execute(sa.text("UPDATE users SET demo_account = :yes WHERE email IN :emails")
               .bindparams(sa.bindparam("emails", expanding=True)).bindparams(yes=True, emails=demo))


def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('demo_account')
        batch_op.drop_column('totp_last_step')
        batch_op.drop_column('totp_secret')

    with op.batch_alter_table('recovery_codes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recovery_codes_user_id'))

    op.drop_table('recovery_codes')
