"""The audit trail's hash chain: each event's hash covers its fields and its predecessor's hash.

The hash covers the SHA-256 of the event's details (stored beside them, `details_sha256`), not the details
themselves: when the retention purge (training/retention) replaces the details of an event about a person with a
redacted form, the stored digest still links the chain. A redacted event's details can no longer be checked
against its digest; `walk` counts those events and checks every other event's details.

Editing, deleting or reordering events breaks the chain at the first event
after the change; `walk` finds that link without loading the table at once.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select, text, update
from sqlalchemy.orm import Session

from training.audit.models import AuditEvent

GENESIS = "0" * 64
# Any constant will do; it names the audit chain among PostgreSQL's advisory locks.
_LOCK_KEY = 7_314_265_001


# The key that marks details replaced by the retention purge: {"redacted": true, ...what was not personal}.
REDACTED = "redacted"


def details_digest(details: dict) -> str:
    """SHA-256 of the details as one JSON text: sorted keys at every level, no spaces, characters as themselves."""
    body = json.dumps(details, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def is_redacted(details: dict | None) -> bool:
    return isinstance(details, dict) and details.get(REDACTED) is True


def canonical(event_id: int, at: datetime, actor_id: int | None, action: str, target: str | None,
              details_sha256: str) -> str:
    """The event's fields as one JSON text: sorted keys, no spaces, dates in ISO form; its details by their digest."""
    return json.dumps({"id": event_id, "at": at.isoformat(timespec="microseconds"), "actor_id": actor_id,
                       "action": action, "target": target, "details_sha256": details_sha256},
                      sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def event_hash(prev_hash: str, event_id: int, at: datetime, actor_id: int | None, action: str,
               target: str | None, details_sha256: str) -> str:
    body = canonical(event_id, at, actor_id, action, target, details_sha256)
    return hashlib.sha256((prev_hash + body).encode("utf-8")).hexdigest()


def serialise_writers(session: Session) -> None:
    """Hold the chain until this transaction ends, so two writers never link to the same predecessor.

    PostgreSQL: a transaction-level advisory lock. SQLite serialises writers itself:
    the event's INSERT takes the database's write lock before its predecessor is read.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})


def link(session: Session, event: AuditEvent) -> None:
    """Insert `event` and chain it to the event before it: two index seeks, no scan."""
    serialise_writers(session)
    event.prev_hash = event.hash = ""
    event.details_sha256 = details_digest(event.details)
    session.add(event)
    session.flush()
    previous = session.scalar(select(AuditEvent.hash).where(AuditEvent.id < event.id)
                              .order_by(AuditEvent.id.desc()).limit(1))
    event.prev_hash = previous or GENESIS
    event.hash = event_hash(event.prev_hash, event.id, event.at, event.actor_id, event.action,
                            event.target, event.details_sha256)


def link_many(session: Session, rows: list[dict]) -> None:
    """Insert events (dicts of their columns) and chain them in order: one INSERT, one SELECT, one UPDATE.

    The INSERT is one executemany without RETURNING: SQLite cannot batch a RETURNING in parameter order
    and would send a statement per event. Writers are serialised, so the newest ids are these rows', in order.
    """
    if not rows:
        return
    serialise_writers(session)
    digests = [details_digest(row["details"]) for row in rows]
    session.execute(insert(AuditEvent), [{**row, "details_sha256": digest, "prev_hash": "", "hash": ""}
                                         for row, digest in zip(rows, digests)])
    ids = sorted(session.scalars(select(AuditEvent.id).order_by(AuditEvent.id.desc()).limit(len(rows))))
    previous = session.scalar(select(AuditEvent.hash).where(AuditEvent.id < ids[0])
                              .order_by(AuditEvent.id.desc()).limit(1)) or GENESIS
    changes = []
    for event_id, row, details_sha256 in zip(ids, rows, digests):
        digest = event_hash(previous, event_id, row["at"], row.get("actor_id"), row["action"], row.get("target"),
                            details_sha256)
        changes.append({"id": event_id, "prev_hash": previous, "hash": digest})
        previous = digest
    session.execute(update(AuditEvent), changes)


@dataclass
class BrokenLink:
    event_id: int
    problem: str


@dataclass
class ChainReport:
    checked: int
    broken: BrokenLink | None
    last_hash: str = GENESIS
    # Events whose details the retention purge replaced: linked by their stored digest, their details unchecked.
    redacted: int = 0


def walk(session: Session, batch: int = 1000) -> ChainReport:
    """Check every event in id order, streaming; stop at the first broken link.

    An event's details must match their stored digest, unless the retention purge redacted them; the hash covers
    the digest either way."""
    columns = (AuditEvent.id, AuditEvent.at, AuditEvent.actor_id, AuditEvent.action, AuditEvent.target,
               AuditEvent.details, AuditEvent.details_sha256, AuditEvent.prev_hash, AuditEvent.hash)
    result = session.connection().execute(select(*columns).order_by(AuditEvent.id)
                                          .execution_options(stream_results=True, yield_per=batch))
    checked = redacted = 0
    expected_prev, prev_id = GENESIS, None
    for event_id, at, actor_id, action, target, details, details_sha256, prev_hash, stored in _rows(result):
        if prev_hash != expected_prev:
            after = f"event {prev_id}" if prev_id is not None else "the start of the trail"
            return ChainReport(checked, BrokenLink(event_id, f"its previous-hash does not match {after}: "
                                                             "an event between them was deleted or changed"),
                               redacted=redacted)
        if is_redacted(details):
            redacted += 1
        elif details_digest(details) != details_sha256:
            return ChainReport(checked, BrokenLink(event_id, "its details do not match their digest: "
                                                             "the event was changed after it was written"),
                               redacted=redacted)
        if event_hash(prev_hash, event_id, at, actor_id, action, target, details_sha256) != stored:
            return ChainReport(checked, BrokenLink(event_id, "its fields do not match its hash: "
                                                             "the event was changed after it was written"),
                               redacted=redacted)
        checked += 1
        expected_prev, prev_id = stored, event_id
    return ChainReport(checked, None, expected_prev, redacted)


def _rows(result) -> Iterator[tuple]:
    for partition in result.partitions():
        yield from partition
