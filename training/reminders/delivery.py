"""Delivery: claim a batch, write it, hand it to the SMTP server, record the outcome.

Each step is its own short transaction, so a slow or absent mail server never
holds the database. A row is marked sent only after the server accepted it: a
process that dies in between leaves the row claimed, and once the claim times
out the next delivery sends it again (at most one duplicate, never a loss).

Up to MAIL_CONNECTIONS batches are with the mail server at once, each over an
SMTP connection of its own, from threads: the database work (claim, letters,
finish) stays on the calling thread, in order, while the threads wait on the
server. A batch is claimed before it is sent and finished after its server
answered, exactly as with one connection.
"""
from __future__ import annotations

import smtplib
from collections import Counter
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import date, datetime

from flask import Flask

from training import telemetry
from training.clock import every_agency_on, local_days
from training.db import unit_of_work, utcnow
from training.reminders import mail
from training.reminders.compose import Composer
from training.reminders.mail import DueDateEvents, Letter
from training.reminders.models import OutboxMessage
from training.reminders.service import cancel_stale, claim, finish

BATCH = 400


@dataclass
class DeliveryReport:
    counts: Counter = field(default_factory=Counter)
    # Why the mail server could not be reached, when it could not; the rest waits for the next delivery.
    unreachable: str | None = None


@dataclass
class Batch:
    """Claimed rows, their letters, and the messages of those with something to say (row id, recipient, the
    message as it goes over the wire)."""

    rows: list[OutboxMessage]
    letters: dict[int, Letter | None]
    messages: list[tuple[int, str, bytes]]


def deliver(app: Flask, *, on: date | None = None, now: datetime | None = None, force: bool = False,
            ids: list[int] | None = None) -> DeliveryReport:
    """Send what is pending (only `ids`, when given), in batches over up to MAIL_CONNECTIONS connections at once.

    Reminders still pending are checked, and letters written, on each recipient's own
    day at `now` (their agency's; see training/clock.py), or on `on` for everyone.
    """
    as_at, now = now, now or utcnow()
    report = DeliveryReport()
    connections = int(app.config.get("MAIL_CONNECTIONS") or 1)
    if connections < 1:
        raise ValueError(f"MAIL_CONNECTIONS must be 1 or more, not {connections}")
    with unit_of_work(app) as session:
        for day in [every_agency_on(on)] if on is not None else local_days(session, as_at):
            report.counts["cancelled"] += cancel_stale(session, day.on, day.agency_ids)
    sender, request_id = app.config["MAIL_FROM"], telemetry.request_id()
    domain = sender.split("@")[-1]
    events = DueDateEvents()

    def next_batch(after_id: int) -> Batch | None:
        with unit_of_work(app) as session:
            rows = claim(session, now, after_id=after_id, force=force, ids=ids, limit=BATCH)
            if not rows:
                return None
            letters = Composer(session, app.jinja_env, app.config, on, as_at, events).letters(rows)
        messages = [(row.id, letter.to, mail.wire(letter, sender=sender, request_id=request_id,
                                                  message_id=f"<rollcall-outbox-{row.id}@{domain}>"))
                    for row in rows if (letter := letters[row.id]) is not None]
        return Batch(rows, letters, messages)

    def done(batch: Batch, results: list[str | None]) -> None:
        errors = {row_id: error for (row_id, _, _), error in zip(batch.messages, results)}
        with unit_of_work(app) as session:
            report.counts.update(finish(session, batch.rows, batch.letters, errors, now,
                                        app.config["REMINDER_MAX_ATTEMPTS"]))

    def outcome(future: Future) -> list[str | None]:
        try:
            return future.result()
        except (OSError, smtplib.SMTPException) as exc:
            report.unreachable = report.unreachable or f"{type(exc).__name__}: {exc}"
            return [f"{type(exc).__name__}: {exc}"] * len(sending[future].messages)

    sending: dict[Future, Batch] = {}
    after_id = 0
    with ThreadPoolExecutor(max_workers=connections, thread_name_prefix="smtp") as pool:
        try:
            while True:
                # A server out of reach stops the claiming; what is already with it is finished first.
                batch = None if report.unreachable else next_batch(after_id)
                if batch is not None:
                    after_id = batch.rows[-1].id
                    if not batch.messages:
                        done(batch, [])
                        continue
                    sending[pool.submit(mail.send, [(to, data) for _, to, data in batch.messages], app.config)] = batch
                if not sending:
                    return report
                if batch is None or len(sending) >= connections:
                    finished, _ = wait(sending, return_when=FIRST_COMPLETED)
                    for future in sorted(finished, key=lambda f: sending[f].rows[0].id):
                        done(sending[future], outcome(future))
                        del sending[future]
        finally:
            # An error on this thread (the database) still records what the server already answered; a batch
            # that cannot be recorded stays claimed and is sent again once its claim times out.
            for future in list(sending):
                results = outcome(future)
                try:
                    done(sending.pop(future), results)
                except Exception:   # noqa: BLE001 - the first error is the one raised
                    continue
