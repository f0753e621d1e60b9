"""The outbox page: each message as its recipient reads it, its state and its errors in plain words, against a
real SMTP server on loopback (tests/support/mail.py)."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from tests.support.factories import make_org, make_user
from tests.support.pages import login
from training.auth import tokens
from training.auth.tokens import INVITATION, AccountToken
from training.records.models import Assignment
from training.reminders.errors import plain_error
from training.reminders.invitations import queue_link
from training.reminders.models import OutboxMessage

DUE = date(2026, 12, 15)


@pytest.fixture
def dana(session, course):
    agency, unit = make_org(session, "CEN", tz="America/Chicago")
    officer = make_user(session, "dana@cen.test", agency=agency, unit=unit, first="Dana", last="Cruz")
    make_user(session, "root@cen.test", role="admin", first="Ada", last="Admin", agency=agency)
    session.add(Assignment(user_id=officer.id, course_id=course.id, due_on=DUE, reason="agency"))
    session.commit()
    return officer


def run(runner, day: date = DUE - timedelta(days=14)):
    return runner.invoke(args=["reminders", "run", "--as-of", day.isoformat(), "--wait", "0"])


def messages(page: str) -> list[str]:
    return page.split('<ol class="usa-list usa-list--unstyled">', 1)[1].split("</ol>", 1)[0].split("<li")[1:]


def outbox(client, status: str) -> list[str]:
    login(client, "root@cen.test")
    return messages(client.get("/admin/outbox", query_string={"status": status}).get_data(as_text=True))


def test_a_refused_recipient_is_said_in_plain_words_with_the_message_as_sent(app, runner, smtp, dana, client,
                                                                           session):
    smtp.refuse_recipients = True
    app.config["REMINDER_MAX_ATTEMPTS"] = 1
    assert run(runner).exit_code == 1
    row = session.scalar(select(OutboxMessage))
    assert row.status == "failed" and "SMTPRecipientsRefused" in row.last_error
    [shown] = outbox(client, "failed")
    assert "<dt>Last error</dt><dd>The mail server refused the recipient address." in shown
    assert "(550, b&#39;5.1.1 No such user here&#39;)" in shown.split("The error as the mail server gave it", 1)[1]
    assert "Dana Cruz &lt;dana@cen.test&gt;" in shown and "Failed 1 time; retry it once the cause is fixed." in shown
    assert "<h3 class=\"margin-top-0\">Test TEST-BASICS: due in " in shown
    body = shown.split('<div class="rc-letter">Dana,', 1)[1].split("</div>", 1)[0]
    assert 'Your annual training &#34;Test TEST-BASICS&#34; (TEST-BASICS) is due in' in body
    assert "(2026-12-15), America/Chicago time." in body and "/courses/TEST-BASICS" in body
    assert "Retry" in shown


def test_a_mail_server_that_is_down_is_said_in_plain_words(app, runner, smtp, dana, client, session, unused_port):
    app.config["SMTP_PORT"] = unused_port
    assert run(runner).exit_code == 1
    [shown] = outbox(client, "pending")
    assert "The mail server could not be reached (connection refused)." in shown
    assert "ConnectionRefusedError" in shown   # the raw error, folded underneath
    row = session.scalar(select(OutboxMessage))
    assert (row.status, row.attempts) == ("pending", 1)
    next_try = row.next_attempt_at - timedelta(hours=6)   # Chicago, in winter
    assert f"Not sent yet: tried 1 time, next try {next_try:%Y-%m-%d %H:%M}." in shown
    assert "Times are in America/Chicago." in client.get("/admin/outbox?status=pending").get_data(as_text=True)


def test_a_sent_message_reads_as_its_recipient_reads_it(runner, smtp, dana, client, session):
    assert run(runner).exit_code == 0
    [shown] = outbox(client, "sent")
    received = smtp.messages[0]
    assert f"<h3 class=\"margin-top-0\">{received['Subject']}</h3>" in shown
    assert shown.count("Sent ") == 1 and "Last error" not in shown
    assert 'Your annual training &#34;Test TEST-BASICS&#34; (TEST-BASICS) is due in' in shown


def test_a_personal_link_is_never_written_for_the_page(app, session, dana, client):
    now = datetime(2026, 11, 1)
    queue_link(session, tokens.issue(session, dana, INVITATION, now, timedelta(days=14)), None, now)
    session.commit()
    minted = session.scalars(select(AccountToken.token_hash)).all()
    [shown] = outbox(client, "pending")
    assert "personal link to choose a password" in shown and "/invitation/" not in shown
    assert session.scalars(select(AccountToken.token_hash)).all() == minted


@pytest.mark.parametrize("raw, sentence", [
    ("SMTPRecipientsRefused: {'a@b.test': (550, b'5.1.1 No such user')}",
     "The mail server refused the recipient address."),
    ("ConnectionRefusedError: [Errno 111] Connection refused",
     "The mail server could not be reached (connection refused)."),
    ("TimeoutError: timed out", "The mail server did not answer in time."),
    ("SMTPAuthenticationError: (535, b'5.7.8 Authentication credentials invalid')",
     "The mail server did not accept Rollcall's sign-in (SMTP_USERNAME and SMTP_PASSWORD)."),
    ("SMTPDataError: (552, b'5.3.4 Message size exceeds fixed limit')",
     "The message was too large for the mail server."),
    ("SMTPSenderRefused: (552, b'Message size exceeds fixed maximum message size', 'rollcall@x.test')",
     "The message was too large for the mail server."),
    ("gaierror: [Errno -2] Name or service not known", "The mail server's name could not be found (SMTP_HOST)."),
    ("OSError: [Errno 101] Network is unreachable", "The mail server could not be reached (network is unreachable)."),
    ("SMTPDataError: (451, b'Try again later')", "The mail server asked Rollcall to try again later (reply 451)."),
    ("SMTPServerDisconnected: Connection unexpectedly closed",
     "The mail server closed the connection before it took the message."),
    (None, None),
])
def test_delivery_errors_in_plain_words(raw, sentence):
    assert plain_error(raw) == sentence
