"""certificates: verification codes and revocation; audit trail hash chain

Revision ID: 5c1e7a2b9d40
Revises: 9bbfd131c605
Create Date: 2026-11-23 12:30:00.000000
"""
import base64
import hashlib
import json
import secrets

import sqlalchemy as sa
from alembic import op

revision = '5c1e7a2b9d40'
down_revision = '9bbfd131c605'
branch_labels = None
depends_on = None

BATCH = 5000
GENESIS = "0" * 64

completions = sa.table('completions', sa.column('id', sa.Integer), sa.column('verification_code', sa.String))
audit_events = sa.table(
    'audit_events', sa.column('id', sa.Integer), sa.column('at', sa.DateTime), sa.column('actor_id', sa.Integer),
    sa.column('action', sa.String), sa.column('target', sa.String), sa.column('details', sa.JSON),
    sa.column('prev_hash', sa.String), sa.column('hash', sa.String))


def _event_hash(prev_hash, event_id, at, actor_id, action, target, details):
    # Frozen copy of training.audit.chain.event_hash as of this revision.
    body = json.dumps({"id": event_id, "at": at.isoformat(timespec="microseconds"), "actor_id": actor_id,
                       "action": action, "target": target, "details": details},
                      sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256((prev_hash + body).encode("utf-8")).hexdigest()


def _batches(conn, columns, table):
    """Rows in id order, BATCH at a time, by key rather than by offset."""
    last = 0
    while True:
        rows = conn.execute(sa.select(*columns).where(table.c.id > last).order_by(table.c.id).limit(BATCH)).all()
        if not rows:
            return
        yield rows
        last = rows[-1][0]


def _backfill_codes(conn):
    update = completions.update().where(completions.c.id == sa.bindparam('row_id')).values(
        verification_code=sa.bindparam('code'))
    for rows in _batches(conn, [completions.c.id], completions):
        conn.execute(update, [{"row_id": row_id, "code": base64.b32encode(secrets.token_bytes(10)).decode()}
                              for (row_id,) in rows])


def _backfill_chain(conn):
    update = audit_events.update().where(audit_events.c.id == sa.bindparam('row_id')).values(
        prev_hash=sa.bindparam('prev'), hash=sa.bindparam('this'))
    prev = GENESIS
    columns = [audit_events.c.id, audit_events.c.at, audit_events.c.actor_id, audit_events.c.action,
               audit_events.c.target, audit_events.c.details]
    for rows in _batches(conn, columns, audit_events):
        params = []
        for row_id, at, actor_id, action, target, details in rows:
            this = _event_hash(prev, row_id, at, actor_id, action, target, details)
            params.append({"row_id": row_id, "prev": prev, "this": this})
            prev = this
        conn.execute(update, params)


def upgrade() -> None:
    with op.batch_alter_table('completions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('verification_code', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('revoked_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('revoked_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('revoked_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('revoked_reason', sa.Text(), nullable=True))
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('prev_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('hash', sa.String(length=64), nullable=True))

    conn = op.get_bind()
    _backfill_codes(conn)
    _backfill_chain(conn)

    with op.batch_alter_table('completions', schema=None) as batch_op:
        batch_op.alter_column('verification_code', existing_type=sa.String(length=16), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_completions_verification_code'), ['verification_code'])
        batch_op.create_foreign_key(batch_op.f('fk_completions_revoked_by_id_users'), 'users',
                                    ['revoked_by_id'], ['id'])
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.alter_column('prev_hash', existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column('hash', existing_type=sa.String(length=64), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_column('hash')
        batch_op.drop_column('prev_hash')
    with op.batch_alter_table('completions', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_completions_revoked_by_id_users'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('uq_completions_verification_code'), type_='unique')
        batch_op.drop_column('revoked_reason')
        batch_op.drop_column('revoked_by_id')
        batch_op.drop_column('revoked_on')
        batch_op.drop_column('revoked_at')
        batch_op.drop_column('verification_code')
