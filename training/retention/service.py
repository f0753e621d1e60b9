"""The retention purge: the personal data of accounts deactivated more than RETENTION_YEARS before a day is removed.

What stays: the account row itself (anonymised: "Removed" / "account N", removed-N@invalid, no employee id, no
password, no second factor, no calendar address, no supervisor), its agency and unit, and every training record
that points at it (assignments, attempts, answers, completions, exemptions), so historical rates and the
compliance figures do not change. What goes: the names typed on its acknowledgements, the words written about it
(the reasons given for its extensions, exemptions and assignment changes: a medical leave is personal; the
subjects of the messages sent to it and the mail servers' errors naming its address), its sign-in sessions,
recovery codes and invitation or reset links, the upload files it left, and the personal data in the audit events
about it (their details are replaced by a redacted form; the chain still verifies, training/audit/chain.py).
Every role is purged alike: a deactivated coordinator is no longer staff.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from dateutil.relativedelta import relativedelta
from sqlalchemy import case, delete, select, update
from sqlalchemy.orm import Session

from training.audit.chain import REDACTED
from training.audit.models import AuditEvent
from training.audit.service import record
from training.auth.models import RecoveryCode, UserSession
from training.auth.tokens import AccountToken
from training.people.models import User
from training.records.models import Acknowledgement, AssignmentChange, Completion, Exemption, ExtensionRequest
from training.reminders.models import OutboxMessage

ACTION = "retention.purged"
REMOVED = "(removed)"
REMOVED_NAME = "Removed"
# Keys of audit details that hold words about a person; in an event about the person, whatever is under them goes.
PERSONAL = frozenset(("first_name", "last_name", "email", "employee_id", "name", "reason", "note", "problem",
                      "last_error", "summary", "supervisor_employee_id"))
# The words written about a person, kept with their records: replaced, the records themselves kept.
WORDS = (("reasons", AssignmentChange, ("reason",)), ("reasons", ExtensionRequest, ("reason", "note")),
         ("reasons", Exemption, ("reason",)), ("messages", OutboxMessage, ("subject", "last_error")))
BATCH = 1000
UPDATE_BATCH = 1000
# A word of an event's details as JSON text: what lies between quotes, spaces and JSON's punctuation, so that an
# e-mail address or an employee id is one word.
_WORD = re.compile(r"[^\s\"',:\[\]{}()]+")


class RetentionRefused(Exception):
    """The retention period is missing or not a whole number of years above zero."""


def retention_years(value: Any) -> int | None:
    """RETENTION_YEARS as configured: None when unset (nothing is purged); refuses zero, negatives and non-numbers."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        years = int(str(value).strip())
    except ValueError:
        raise RetentionRefused(f"RETENTION_YEARS must be a whole number of years, not {value!r}") from None
    if years < 1:
        raise RetentionRefused(f"RETENTION_YEARS must be at least 1 year, not {years}: zero or less would remove "
                               "the personal data of every deactivated account at once")
    return years


def cutoff_day(as_of: date, years: int) -> date:
    """Accounts deactivated before this day (UTC) are purged on `as_of`."""
    return as_of - relativedelta(years=years)


def cutoff(as_of: date, years: int) -> datetime:
    """Accounts deactivated before this instant (UTC midnight, `years` before `as_of`) are purged."""
    return datetime.combine(cutoff_day(as_of, years), time.min)


def anonymised(user_id: int) -> dict[str, Any]:
    return {"first_name": REMOVED_NAME, "last_name": f"account {user_id}", "email": f"removed-{user_id}@invalid"}


def due(session: Session, as_of: date, years: int) -> list[int]:
    """Ids of the inactive accounts deactivated more than `years` before `as_of`, not yet anonymised."""
    return list(session.scalars(select(User.id).where(
        User.active.is_(False), User.deactivated_at.is_not(None), User.deactivated_at < cutoff(as_of, years),
        ~User.email.like("removed-%@invalid")).order_by(User.id)))


@dataclass
class Purge:
    as_of: date
    years: int
    account_ids: list[int]
    counts: dict[str, int] = field(default_factory=dict)


def plan(session: Session, as_of: date, years: int) -> Purge:
    """What a run would do (the dry run): the accounts, nothing changed."""
    return Purge(as_of, years, due(session, as_of, years))


def run(session: Session, as_of: date, years: int, uploads: Path, *, via: str, actor_id: int | None = None) -> Purge:
    """Anonymise the accounts `due` on `as_of`, in the caller's unit of work, and record one event with their
    counts and ids (no names); with none due, nothing is written."""
    purge = plan(session, as_of, years)
    counts = dict.fromkeys(("accounts", "acknowledgements", "reasons", "messages", "sessions", "recovery codes",
                            "account links", "audit events redacted", "upload files"), 0)
    people: list = []
    for start in range(0, len(purge.account_ids), BATCH):
        batch = purge.account_ids[start:start + BATCH]
        people += session.execute(select(User.id, User.first_name, User.last_name, User.email, User.employee_id)
                                  .where(User.id.in_(batch))).all()
        counts["acknowledgements"] += session.execute(
            update(Completion).where(Completion.user_id.in_(batch), Completion.acknowledged_name.is_not(None))
            .values(acknowledged_name=None).execution_options(synchronize_session=False)).rowcount
        counts["acknowledgements"] += session.execute(
            update(Acknowledgement).where(Acknowledgement.user_id.in_(batch), Acknowledgement.name != REMOVED_NAME)
            .values(name=REMOVED_NAME).execution_options(synchronize_session=False)).rowcount
        for counted, table, columns in WORDS:
            counts[counted] += session.execute(
                update(table).where(table.user_id.in_(batch))
                .values({name: case((getattr(table, name).is_(None), None), else_=REMOVED) for name in columns})
                .execution_options(synchronize_session=False)).rowcount
        counts["sessions"] += session.execute(delete(UserSession).where(UserSession.user_id.in_(batch))
                                              .execution_options(synchronize_session=False)).rowcount
        counts["recovery codes"] += session.execute(delete(RecoveryCode).where(RecoveryCode.user_id.in_(batch))
                                                    .execution_options(synchronize_session=False)).rowcount
        counts["account links"] += session.execute(delete(AccountToken).where(AccountToken.user_id.in_(batch))
                                                   .execution_options(synchronize_session=False)).rowcount
        session.execute(update(User), [{"id": user_id, **anonymised(user_id), "employee_id": None,
                                        "password_hash": None, "totp_secret_encrypted": None, "totp_last_step": None,
                                        "calendar_token_hash": None, "supervisor_id": None, "scope_unit_id": None,
                                        "demo_account": False} for user_id in batch])
        counts["accounts"] += len(batch)
    if people:   # the names were read before the accounts were anonymised
        counts["audit events redacted"] = _redact_events(session, people)
    session.flush()
    session.expire_all()
    counts["upload files"] = _delete_uploads(uploads, purge.account_ids)
    purge.counts = counts
    if not purge.account_ids:   # the daily job finds nothing on most days: the trail is not told so each hour
        return purge
    record(session, ACTION, actor_id=actor_id, target="retention", via=via, as_of=as_of.isoformat(), years=years,
           deactivated_before=cutoff_day(as_of, years).isoformat(), account_ids=purge.account_ids, **counts)
    return purge


def _redact_events(session: Session, people: list) -> int:
    """Replace the personal data in the events about these people, or naming their e-mail or employee id, with
    its redacted form; the stored digest keeps each event in the chain. One streamed pass over the trail, however
    many people: each event's words are looked up in a set."""
    by_id = {p.id: p for p in people}
    named = {needle.lower(): p.id for p in people for needle in (p.email, p.employee_id) if needle}
    result = session.connection().execute(
        select(AuditEvent.id, AuditEvent.details, AuditEvent.subject_id, AuditEvent.actor_id, AuditEvent.target)
        .order_by(AuditEvent.id).execution_options(stream_results=True, yield_per=UPDATE_BATCH))
    changes = []
    for event_id, details, subject_id, actor_id, target in result:
        about = {i for i in (subject_id, actor_id, _user_of(target)) if i in by_id}
        words = set(_WORD.findall(json.dumps(details or {}, ensure_ascii=False).lower()))
        mentioned = {named[w] for w in words & named.keys()}
        if not about and not mentioned:
            continue
        needles = [n for i in about | mentioned for n in _mentioned(by_id[i])]
        needles += [n for i in about for n in (by_id[i].first_name, by_id[i].last_name)]
        new = redact(details or {}, needles, about=bool(about))
        if new != details:
            changes.append({"id": event_id, "details": new})
    # Written once the read is done: no statement runs on the connection while its rows stream.
    for start in range(0, len(changes), UPDATE_BATCH):
        session.execute(update(AuditEvent), changes[start:start + UPDATE_BATCH])
    return len(changes)


def _mentioned(person) -> list[str]:
    return [n for n in (person.email, person.employee_id, f"{person.first_name} {person.last_name}") if n]


def _user_of(target: str | None) -> int | None:
    return int(target[5:]) if target and target.startswith("user:") and target[5:].isdigit() else None


def redact(details: dict, needles: list[str], *, about: bool) -> dict:
    """Details with every text naming one of `needles` (a whole word, any case) replaced, marked redacted; nothing
    else changes (numbers, dates, course codes, keys), so the event still says what happened.

    `about`: the event is about the person, so the words written about them go too (a reason, a note, a mail
    error, a changed name or e-mail: every text under a key of PERSONAL)."""
    pattern = re.compile("|".join(rf"\b{re.escape(n)}\b" for n in sorted(set(needles), key=len, reverse=True)),
                         re.IGNORECASE) if needles else None

    def scrub(value: Any, personal: bool) -> Any:
        if isinstance(value, dict):
            return {key: scrub(item, personal or (about and key in PERSONAL)) for key, item in value.items()}
        if isinstance(value, list):
            return [scrub(item, personal) for item in value]
        if isinstance(value, str) and (personal or (pattern is not None and pattern.search(value))):
            return REMOVED
        return value

    original = {key: item for key, item in details.items() if key != REDACTED}
    body = scrub(original, False)
    return details if body == original else {**body, REDACTED: True}


def _delete_uploads(folder: Path, account_ids: list[int]) -> int:
    """The upload files these accounts left (named '<user id>-<token>.csv', training/imports/uploads.py)."""
    if not account_ids or not folder.is_dir():
        return 0
    wanted = {str(i) for i in account_ids}
    deleted = 0
    for path in folder.glob("*-*.csv"):
        if path.name.split("-", 1)[0] in wanted:
            path.unlink(missing_ok=True)
            deleted += 1
    return deleted
