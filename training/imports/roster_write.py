"""Writing a checked roster plan: new accounts (supervisors first), changes and deactivations, in bulk."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from training.access import changes_access
from training.audit.service import Concern, record, within_scope_of
from training.auth.sessions import end_sessions_of
from training.auth.tokens import revoke_for
from training.db import utcnow
from training.imports.bulk import Progress, chunks, expire_loaded
from training.imports.csvfile import ImportRefused
from training.imports.roster import RosterChange, RosterPlan, RosterRow
from training.people.models import User


def apply_roster_plan(session: Session, plan: RosterPlan, actor_id: int | None = None,
                      source: str = "roster", progress: Progress = None, about: Concern | None = None,
                      details: dict | None = None) -> dict[str, int]:
    """Write a checked plan with bulk statements; returns the counts. Refuses a plan with problems.

    The audit event concerns the actor's scope, or `about` when the import was not made by a person (an API
    token's); `details` are added to it."""
    if not plan.ok:
        raise ImportRefused(plan.problems)
    done = 0

    def advance(n: int) -> None:
        nonlocal done
        done += n
        if progress:
            progress(done)

    ids = dict(plan.known_ids)
    now = utcnow()
    for level in supervisor_levels(plan.to_add):   # a supervisor is written before their reports
        for batch in chunks(level):
            session.execute(insert(User), [_new_account(row, now, ids) for row in batch])
            ids.update(session.execute(select(User.employee_id, User.id).where(
                User.employee_id.in_([row.employee_id for row in batch]))).all())
            advance(len(batch))
    ids.update((change.row.employee_id, change.user_id) for change in plan.to_change)
    _bulk_update(session, [_changed_columns(change, ids) for change in plan.to_change], advance)
    _bulk_update(session, [dict(id=d.user_id, active=False, deactivated_at=now) for d in plan.to_deactivate], advance)
    # A new role or agency, or a deactivation, signs the account out everywhere (training/access.py).
    end_sessions_of(session, [c.user_id for c in plan.to_change
                              if changes_access({COLUMN_OF.get(name, name) for name in c.changes})]
                    + [d.user_id for d in plan.to_deactivate], now)
    revoke_for(session, [d.user_id for d in plan.to_deactivate], now)   # their invitation and reset links die too
    counts = plan.counts()
    record(session, "roster.imported", actor_id=actor_id, target="roster",
           about=about or within_scope_of(session, actor_id), source=source, full=plan.full,
           rows=plan.rows, **counts,
           role_changes=[[c.row.employee_id, *c.changes["role"]] for c in plan.to_change if "role" in c.changes],
           **(details or {}))
    session.flush()
    expire_loaded(session, User)
    return counts


def _new_account(row: RosterRow, now: datetime, ids: dict[str, int]) -> dict[str, Any]:
    return dict(employee_id=row.employee_id, first_name=row.first_name, last_name=row.last_name, email=row.email,
                agency_id=row.agency_id, unit_id=row.unit_id, role=row.role or "officer", password_hash=None,
                supervisor_id=ids[row.supervisor] if row.supervisor else None, active=True, created_at=now)


def supervisor_levels(rows: list[RosterRow]) -> list[list[RosterRow]]:
    """New people in groups, each one's supervisor in an earlier group or not new. No loops allowed."""
    new = {row.employee_id: row for row in rows}
    level: dict[str, int] = {}
    for row in rows:
        chain, key = [], row.employee_id
        while key in new and key not in level:
            chain.append(key)
            key = new[key].supervisor
        depth = level.get(key, -1)
        for key in reversed(chain):
            depth = level[key] = depth + 1
    groups: dict[int, list[RosterRow]] = defaultdict(list)
    for row in rows:
        groups[level[row.employee_id]].append(row)
    return [groups[depth] for depth in sorted(groups)]


COLUMN_OF = {"agency": "agency_id", "unit": "unit_id", "supervisor_employee_id": "supervisor_id"}


def _changed_columns(change: RosterChange, ids: dict[str, int]) -> dict[str, Any]:
    """The UPDATE values for one changed account: its id and only the columns that change."""
    row = change.row
    after = {"employee_id": row.employee_id, "first_name": row.first_name, "last_name": row.last_name,
             "email": row.email, "agency_id": row.agency_id, "unit_id": row.unit_id,
             "supervisor_id": ids[row.supervisor] if row.supervisor else None, "role": row.role, "active": True}
    columns = [COLUMN_OF.get(name, name) for name in change.changes]
    reactivated = {"deactivated_at": None} if "active" in change.changes else {}
    return {"id": change.user_id} | {column: after[column] for column in columns} | reactivated


def _bulk_update(session: Session, values: list[dict[str, Any]], advance: Callable[[int], None] | None = None):
    """UPDATE by primary key, grouped so rows changing the same columns go in one executemany."""
    values.sort(key=lambda v: tuple(sorted(v)))
    for batch in chunks(values):
        session.execute(update(User), list(batch))
        if advance:
            advance(len(batch))
