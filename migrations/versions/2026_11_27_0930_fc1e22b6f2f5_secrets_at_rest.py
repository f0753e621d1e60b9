"""secrets at rest

Second-factor secrets are stored encrypted with ENCRYPTION_KEYS (users.totp_secret becomes
users.totp_secret_encrypted), and recovery codes' SHA-256 hashes are encrypted too: every existing one is
converted here, so no authenticator and no recovery code stops working. Keys being set up wait on the server
(second_factor_setups); refusals while the sign-in throttle holds a key are counted per window
(throttle_refusals).

Revision ID: fc1e22b6f2f5
Revises: 4f0a9c2e7b31
Create Date: 2026-11-27 09:30:00.000000
"""
import sqlalchemy as sa
from alembic import context, op

revision = 'fc1e22b6f2f5'
down_revision = '4f0a9c2e7b31'
branch_labels = None
depends_on = None

users = sa.table('users', sa.column('id', sa.Integer), sa.column('totp_secret', sa.String),
                 sa.column('totp_secret_encrypted', sa.String))
recovery_codes = sa.table('recovery_codes', sa.column('id', sa.Integer), sa.column('code_hash', sa.String))


def _keyring():
    """The app's keys: handed over by training/migrate.py, or, run some other way, read as the app reads them."""
    keys = context.config.attributes.get('keyring')
    if keys is None:
        from training import create_app
        from training.auth.keys import keyring
        keys = keyring(create_app())
    return keys


def _convert(table, source, target, change) -> None:
    """Write change(value) of every row's `source` into its `target` column."""
    bind = op.get_bind()
    rows = bind.execute(sa.select(table.c.id, table.c[source]).where(table.c[source].is_not(None))).all()
    if not rows:
        return
    keys = _keyring()
    for row_id, value in rows:
        bind.execute(table.update().where(table.c.id == row_id).values({target: change(keys, value)}))


def upgrade() -> None:
    op.create_table('second_factor_setups',
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('secret_encrypted', sa.String(length=255), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_second_factor_setups_user_id_users')),
    sa.PrimaryKeyConstraint('token_hash', name=op.f('pk_second_factor_setups'))
    )
    with op.batch_alter_table('second_factor_setups', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_second_factor_setups_user_id'), ['user_id'], unique=False)

    op.create_table('throttle_refusals',
    sa.Column('key', sa.String(length=300), nullable=False),
    sa.Column('window_start', sa.DateTime(), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('last_at', sa.DateTime(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['event_id'], ['audit_events.id'], name=op.f('fk_throttle_refusals_event_id_audit_events')),
    sa.PrimaryKeyConstraint('key', 'window_start', name=op.f('pk_throttle_refusals'))
    )

    with op.batch_alter_table('recovery_codes', schema=None) as batch_op:
        batch_op.alter_column('code_hash', existing_type=sa.VARCHAR(length=64), type_=sa.String(length=255),
                              existing_nullable=False)
    _convert(recovery_codes, 'code_hash', 'code_hash', lambda keys, bare_hash: keys.encrypt(bare_hash))

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('totp_secret_encrypted', sa.String(length=255), nullable=True))
    _convert(users, 'totp_secret', 'totp_secret_encrypted', lambda keys, secret: keys.encrypt(secret))
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('totp_secret')


def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('totp_secret', sa.VARCHAR(length=64), nullable=True))
    _convert(users, 'totp_secret_encrypted', 'totp_secret', lambda keys, token: keys.decrypt(token))
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('totp_secret_encrypted')

    _convert(recovery_codes, 'code_hash', 'code_hash', lambda keys, token: keys.decrypt(token))
    with op.batch_alter_table('recovery_codes', schema=None) as batch_op:
        batch_op.alter_column('code_hash', existing_type=sa.String(length=255), type_=sa.VARCHAR(length=64),
                              existing_nullable=False)

    op.drop_table('throttle_refusals')
    with op.batch_alter_table('second_factor_setups', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_second_factor_setups_user_id'))
    op.drop_table('second_factor_setups')
