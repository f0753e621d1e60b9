"""Delivery: claim a batch, write it, hand it to the SMTP server, record the outcome.

Each step is its own short transaction, so a slow or absent mail server never
holds the database. A row is marked sent only after the server accepted it: a
process that dies in between leaves the row claimed, and once the claim times
out the next delivery sends it again (at most one duplicate, never a loss).
"""
from __future__ import annotations

import smtplib
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime

from flask import Flask

from training import telemetry
from training.clock import every_agency_on, local_days
from training.db import unit_of_work, utcnow
from training.reminders import mail
from training.reminders.compose import Composer
from training.reminders.service import cancel_stale, claim, finish

BATCH = 100


@dataclass
class DeliveryReport:
    counts: Counter = field(default_factory=Counter)
    # Why the mail server could not be reached, when it could not; the rest waits for the next delivery.
    unreachable: str | None = None


def deliver(app: Flask, *, on: date | None = None, now: datetime | None = None, force: bool = False,
            ids: list[int] | None = None) -> DeliveryReport:
    """Send what is pending (only `ids`, when given), in batches over one SMTP connection each.

    Reminders still pending are checked, and letters written, on each recipient's own
    day at `now` (their agency's; see training/clock.py), or on `on` for everyone.
    """
    as_at, now = now, now or utcnow()
    report = DeliveryReport()
    with unit_of_work(app) as session:
        for day in [every_agency_on(on)] if on is not None else local_days(session, as_at):
            report.counts["cancelled"] += cancel_stale(session, day.on, day.agency_ids)
    after_id = 0
    while True:
        with unit_of_work(app) as session:
            rows = claim(session, now, after_id=after_id, force=force, ids=ids, limit=BATCH)
            letters = Composer(session, app.jinja_env, app.config, on, as_at).letters(rows) if rows else {}
        if not rows:
            return report
        after_id = rows[-1].id
        to_send = [(row.id, letter) for row in rows if (letter := letters[row.id]) is not None]
        messages = [mail.build_message(letter, sender=app.config["MAIL_FROM"],
                                       message_id=f"<rollcall-outbox-{row_id}@{app.config['MAIL_FROM'].split('@')[-1]}>",
                                       request_id=telemetry.request_id())
                    for row_id, letter in to_send]
        try:
            results = mail.send(messages, app.config) if messages else []
        except (OSError, smtplib.SMTPException) as exc:
            report.unreachable = f"{type(exc).__name__}: {exc}"
            results = [report.unreachable] * len(messages)
        errors = {row_id: error for (row_id, _), error in zip(to_send, results)}
        with unit_of_work(app) as session:
            report.counts.update(finish(session, rows, letters, errors, now, app.config["REMINDER_MAX_ATTEMPTS"]))
        if report.unreachable:
            return report
