"""retention: when accounts were deactivated; the audit chain hashes a digest of each event's details

users.deactivated_at is back-filled, for the accounts inactive now, from the audit trail: the latest of the
last `user.updated` event that set the account's active from true to false and the last full roster import
that deactivated accounts in its agency (or in every agency), whose event gives counts, not names; the time is
never earlier than the deactivation itself, so the retention purge never starts early. An inactive account with
neither (deactivated before the trail began) gets the time of this migration: its years count from today.

audit_events.details_sha256 is the SHA-256 of each event's details (JSON, keys sorted, no spaces, characters as
themselves), and the chain's hash now covers it instead of the details:

    before:  hash = SHA-256(prev_hash + JSON{id, at, actor_id, action, target, details})
    after:   hash = SHA-256(prev_hash + JSON{id, at, actor_id, action, target, details_sha256})

so that the retention purge can replace the details of events about a person with a redacted form and the chain
still verifies. Every hash written before this migration is re-computed with the new formula, in one pass; the
trail then gains an `audit.rehashed` event carrying the head hash under the old formula (`old_head`) and the
number of events re-hashed (on a trail that was empty there is nothing to tie), so that hashes in earlier exports and evidence packets can be reconciled.
The downgrade re-computes the chain with the old formula (details redacted by then stay redacted).

Revision ID: a1d4e7b2c9f3
Revises: f3b1c9d2a7e4
Create Date: 2026-11-27 15:00:00.000000
"""
import hashlib
import json
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = 'a1d4e7b2c9f3'
down_revision = 'f3b1c9d2a7e4'
branch_labels = None
depends_on = None

BATCH = 5000
GENESIS = "0" * 64

users = sa.table('users', sa.column('id', sa.Integer), sa.column('agency_id', sa.Integer),
                 sa.column('active', sa.Boolean), sa.column('deactivated_at', sa.DateTime))
audit_events = sa.table(
    'audit_events', sa.column('id', sa.Integer), sa.column('at', sa.DateTime), sa.column('actor_id', sa.Integer),
    sa.column('action', sa.String), sa.column('target', sa.String), sa.column('agency_id', sa.Integer),
    sa.column('details', sa.JSON), sa.column('details_sha256', sa.String), sa.column('prev_hash', sa.String), sa.column('hash', sa.String))


def _json(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _old_hash(prev_hash, event_id, at, actor_id, action, target, details, _digest):
    # Frozen copy of training.audit.chain.event_hash before this revision.
    body = _json({"id": event_id, "at": at.isoformat(timespec="microseconds"), "actor_id": actor_id,
                  "action": action, "target": target, "details": details})
    return hashlib.sha256((prev_hash + body).encode("utf-8")).hexdigest()


def _new_hash(prev_hash, event_id, at, actor_id, action, target, _details, digest):
    # Frozen copy of training.audit.chain.event_hash as of this revision.
    body = _json({"id": event_id, "at": at.isoformat(timespec="microseconds"), "actor_id": actor_id,
                  "action": action, "target": target, "details_sha256": digest})
    return hashlib.sha256((prev_hash + body).encode("utf-8")).hexdigest()


def _digest(details) -> str:
    return hashlib.sha256(_json(details).encode("utf-8")).hexdigest()


def _batches(conn, columns, table):
    """Rows in id order, BATCH at a time, by key rather than by offset."""
    last = 0
    while True:
        rows = conn.execute(sa.select(*columns).where(table.c.id > last).order_by(table.c.id).limit(BATCH)).all()
        if not rows:
            return
        yield rows
        last = rows[-1][0]


def _rehash(conn, formula, with_digest: bool) -> tuple[int, str]:
    """Re-compute every event's hash (and digest) with `formula` in one pass; returns the count and the head."""
    values = {"prev_hash": sa.bindparam('prev'), "hash": sa.bindparam('this')}
    if with_digest:
        values["details_sha256"] = sa.bindparam('digest')
    update = audit_events.update().where(audit_events.c.id == sa.bindparam('row_id')).values(**values)
    prev, count = GENESIS, 0
    columns = [audit_events.c.id, audit_events.c.at, audit_events.c.actor_id, audit_events.c.action,
               audit_events.c.target, audit_events.c.details]
    for rows in _batches(conn, columns, audit_events):
        params = []
        for row_id, at, actor_id, action, target, details in rows:
            digest = _digest(details)
            this = formula(prev, row_id, at, actor_id, action, target, details, digest)
            params.append({"row_id": row_id, "prev": prev, "this": this, "digest": digest})
            prev = this
        conn.execute(update, params)
        count += len(rows)
    return count, prev


def _head(conn) -> str:
    return conn.scalar(sa.select(audit_events.c.hash).order_by(audit_events.c.id.desc()).limit(1)) or GENESIS


def _backfill_deactivated(conn, now: datetime) -> None:
    """Each inactive account's deactivation time, or a time after it: the latest of its last deactivating
    `user.updated` event and the last full roster import that deactivated accounts in its agency (whose event
    does not say which); with neither, now."""
    inactive = dict(conn.execute(sa.select(users.c.id, users.c.agency_id).where(users.c.active.is_(False))).all())
    if not inactive:
        return
    found: dict[int, datetime] = {}
    imports: dict[int | None, datetime] = {}   # agency id (None: every agency) -> the latest full import's time
    rows = conn.execute(sa.select(audit_events.c.action, audit_events.c.target, audit_events.c.agency_id,
                                  audit_events.c.at, audit_events.c.details)
                        .where(audit_events.c.action.in_(("user.updated", "roster.imported")))
                        .order_by(audit_events.c.id))
    for action, target, agency_id, at, details in rows:
        details = details if isinstance(details, dict) else {}
        if action == "roster.imported":
            if details.get("full") is True and (details.get("deactivated") or 0) > 0:
                imports[agency_id] = at
            continue
        change = (details.get("changes") or {}).get("active")
        user_id = int(target[5:]) if target and target.startswith("user:") and target[5:].isdigit() else None
        if user_id in inactive and change is not None and list(change) == [True, False]:
            found[user_id] = at
    update = users.update().where(users.c.id == sa.bindparam('row_id')).values(deactivated_at=sa.bindparam('at'))
    params = []
    for user_id, agency_id in sorted(inactive.items()):
        known = [t for t in (found.get(user_id), imports.get(None), imports.get(agency_id) if agency_id else None)
                 if t is not None]
        params.append({"row_id": user_id, "at": max(known) if known else now})
    for start in range(0, len(params), BATCH):
        conn.execute(update, params[start:start + BATCH])


def upgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('deactivated_at', sa.DateTime(), nullable=True))
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('details_sha256', sa.String(length=64), nullable=True))

    conn = op.get_bind()
    now = datetime.now(UTC).replace(tzinfo=None)
    _backfill_deactivated(conn, now)
    old_head = _head(conn)
    count, head = _rehash(conn, _new_hash, with_digest=True)
    if count:
        _record_rehash(conn, now, old_head, head, count)

    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.alter_column('details_sha256', existing_type=sa.String(length=64), nullable=False)


def _record_rehash(conn, now: datetime, old_head: str, head: str, count: int) -> None:
    """The event that ties the re-hashed trail to the hashes it had before."""
    details = {"old_head": old_head, "new_head": head, "events": count,
               "formula": "SHA-256(prev_hash + JSON{id, at, actor_id, action, target, details_sha256})"}
    conn.execute(audit_events.insert().values(at=now, actor_id=None, action="audit.rehashed", target="audit",
                                              details=details, details_sha256="", prev_hash="", hash=""))
    new_id = conn.scalar(sa.select(sa.func.max(audit_events.c.id)))
    digest = _digest(details)
    conn.execute(audit_events.update().where(audit_events.c.id == new_id).values(
        details_sha256=digest, prev_hash=head,
        hash=_new_hash(head, new_id, now, None, "audit.rehashed", "audit", details, digest)))


def downgrade() -> None:
    _rehash(op.get_bind(), _old_hash, with_digest=False)
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_column('details_sha256')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('deactivated_at')
