"""Delivery over several SMTP connections at once, against real SMTP servers on loopback (tests/support/mail.py):
each message arrives exactly once, also from two deliveries at once, a refusal fails exactly the refused, a server
gone mid-delivery loses nothing, and what arrives is the message it should be, part by part."""
from __future__ import annotations

import email
import re
import smtplib
import threading
import time
from collections import Counter
from datetime import date, timedelta
from email import policy
from email.header import Header
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import compat32
from email.utils import parsedate_to_datetime
from itertools import combinations
from urllib.parse import urlsplit

import icalendar
import pytest
from sqlalchemy import insert, select

import config
from tests.support.databases import committed_database
from tests.support.factories import make_org, make_user, write_course
from tests.support.mail import Mailbox, StoppingMailbox, start_mail_server
from tests.support.net import free_port
from training import create_app, migrate, telemetry
from training.catalog.service import course_by_code, sync_courses
from training.db import unit_of_work, utcnow
from training.people.models import User
from training.records.models import Assignment
from training.reminders import mail
from training.reminders.compose import Composer, long_date
from training.reminders.delivery import BATCH, deliver
from training.reminders.mail import Letter
from training.reminders.models import OutboxMessage

TODAY = date(2026, 12, 1)
DUE = TODAY + timedelta(days=7)
OFFICERS = 3 * BATCH + 50   # four batches: more than one connection has work at once


class CountingMailbox(Mailbox):
    """Also notes when the messages of each connection (client port) arrived, and each as it came over the wire,
    and refuses the addresses in `refused`."""

    def __init__(self, refused: set[str] = frozenset(), pipelining: bool = True):
        super().__init__(pipelining)
        self.refused, self.spans, self.wire = refused, {}, []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refused:
            return "550 5.1.1 No such user here"
        return await super().handle_RCPT(server, session, envelope, address, rcpt_options)

    async def handle_DATA(self, server, session, envelope):
        now = time.monotonic()
        self.spans[session.peer] = (self.spans.get(session.peer, (now,))[0], now)
        self.wire.append(envelope.original_content)
        return await super().handle_DATA(server, session, envelope)


def queue_reminders(session, course) -> dict[int, str]:
    """OFFICERS officers, each with a reminder of an assignment due in a week: {outbox id: address}."""
    agency, unit = make_org(session)
    model = make_user(session, "model@agy.test", agency=agency, unit=unit)
    columns = {c.key: getattr(model, c.key) for c in User.__table__.columns if c.key not in ("id", "email",
                                                                                           "employee_id")}
    ids = list(session.scalars(insert(User).returning(User.id), [
        {**columns, "email": f"officer{n}@agy.test", "employee_id": f"E{n}"} for n in range(OFFICERS)]))
    session.execute(insert(Assignment), [{"user_id": user_id, "course_id": course.id, "due_on": DUE,
                                          "reason": "agency"} for user_id in ids])
    rows = session.execute(insert(OutboxMessage).returning(OutboxMessage.id, OutboxMessage.user_id), [
        {"key": f"{user_id}:{course.id}:{DUE}:due-in-7", "kind": "due-in-7", "user_id": user_id,
         "course_id": course.id, "due_on": DUE, "decided_on": TODAY, "status": "pending", "attempts": 0,
         "created_at": utcnow()} for user_id in ids]).all()
    session.commit()
    return {row_id: f"officer{ids.index(user_id)}@agy.test" for row_id, user_id in rows}


@pytest.fixture
def queued(app, session, course) -> dict[int, str]:
    app.config.update(MAIL_CONNECTIONS=4, MAIL_FROM="rollcall@test.invalid")
    return queue_reminders(session, course)


def served(app, mailbox) -> object:
    port = free_port()
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=port)
    return start_mail_server(mailbox, port)


def outbox_ids(mailbox) -> Counter:
    return Counter(int(m["Message-ID"].removeprefix("<rollcall-outbox-").split("@")[0]) for m in mailbox.messages)


def statuses(session) -> dict[int, str]:
    return dict(session.execute(select(OutboxMessage.id, OutboxMessage.status)
                                .execution_options(populate_existing=True)).all())


@pytest.mark.parametrize("pipelining", [True, False])
def test_several_connections_deliver_each_message_exactly_once(app, session, queued, pipelining):
    mailbox = CountingMailbox(pipelining=pipelining)
    controller = served(app, mailbox)
    try:
        report = deliver(app, on=TODAY, force=True)
    finally:
        controller.stop()
    assert report.counts["sent"] == OFFICERS and report.unreachable is None
    assert outbox_ids(mailbox) == Counter(set(queued))   # every message once, none twice
    assert {m["To"] for m in mailbox.messages} == set(queued.values())
    # Each with a calendar entry of its own, though all are for the same module and day.
    uids = {str(icalendar.Calendar.from_ical(m.get_payload()[1].get_content()).walk("VEVENT")[0]["uid"])
            for m in mailbox.messages}
    assert len(uids) == OFFICERS
    # Over more than one connection at once.
    assert any(a_first < b_last and b_first < a_last
               for (a_first, a_last), (b_first, b_last) in combinations(mailbox.spans.values(), 2))
    assert set(statuses(session).values()) == {"sent"}
    # Nothing is sent again.
    assert deliver(app, on=TODAY, force=True).counts["sent"] == 0


@pytest.mark.parametrize("pipelining", [True, False])
def test_a_server_refusing_some_recipients_fails_exactly_those(app, session, queued, pipelining):
    app.config["REMINDER_MAX_ATTEMPTS"] = 1
    refused = {row_id for n, row_id in enumerate(sorted(queued)) if n % 37 == 0}
    mailbox = CountingMailbox(refused={queued[row_id] for row_id in refused}, pipelining=pipelining)
    controller = served(app, mailbox)
    try:
        report = deliver(app, on=TODAY, force=True)
    finally:
        controller.stop()
    assert report.counts["failed"] == len(refused) and report.counts["sent"] == OFFICERS - len(refused)
    assert {row_id for row_id, status in statuses(session).items() if status == "failed"} == refused
    assert set(outbox_ids(mailbox)) == set(queued) - refused
    errors = session.scalars(select(OutboxMessage.last_error).where(OutboxMessage.status == "failed"))
    assert all("SMTPRecipientsRefused" in error for error in errors)


@pytest.mark.parametrize("pipelining", [True, False])
def test_a_server_offering_pipelining_gets_each_message_in_one_write(monkeypatch, pipelining):
    """One round trip a message: its content goes with the next one's MAIL, RCPT and DATA. Without PIPELINING, a
    write per command. Either way each content arrives as it was written, lines starting with a dot included."""
    mailbox, port = CountingMailbox(pipelining=pipelining), free_port()
    controller = start_mail_server(mailbox, port)
    writes = Counter()
    real_send = smtplib.SMTP.send
    monkeypatch.setattr(smtplib.SMTP, "send", lambda smtp, data: (writes.update([1]), real_send(smtp, data))[1])
    contents = [f"Subject: Message {n}\r\n\r\n.a dot first\r\n..two\r\n.\r\nText {n}\r\n".encode()
                for n in range(19)] + [b".Subject: the last, with no line break at its end"]
    try:
        results = mail.send([(f"officer{n}@agy.test", data) for n, data in enumerate(contents)],
                            {"MAIL_FROM": "rollcall@test.invalid", "SMTP_HOST": "127.0.0.1", "SMTP_PORT": port})
    finally:
        controller.stop()
    assert results == [None] * 20
    assert mailbox.wire == contents[:-1] + [contents[-1] + b"\r\n"]
    # EHLO and QUIT besides.
    assert writes.total() == (20 + 3 if pipelining else 4 * 20 + 2)


@pytest.mark.parametrize("smtputf8", [True, False])
def test_an_address_beyond_ascii_needs_the_servers_smtputf8(smtputf8):
    """Without SMTPUTF8, a message to an address beyond ASCII fails, and the others of the batch go."""
    mailbox, port = Mailbox(), free_port()
    controller = start_mail_server(mailbox, port, smtputf8=smtputf8)
    to = ["one@agy.test", "zwei@überblick.test", "three@agy.test"]
    messages = [(address, mail.wire(Letter(address, "Hello", "Text", "<p>HTML</p>"), sender="rollcall@test.invalid",
                                    message_id=f"<{n}@x>")) for n, address in enumerate(to)]
    try:
        results = mail.send(messages, {"MAIL_FROM": "rollcall@test.invalid", "SMTP_HOST": "127.0.0.1",
                                       "SMTP_PORT": port})
    finally:
        controller.stop()
    if smtputf8:
        assert results == [None] * 3 and [m["Message-ID"] for m in mailbox.messages] == ["<0@x>", "<1@x>", "<2@x>"]
    else:
        assert results[0] is None and results[2] is None and "SMTPUTF8" in results[1]
        assert [m["Message-ID"] for m in mailbox.messages] == ["<0@x>", "<2@x>"]


def test_a_server_that_goes_down_mid_delivery_loses_nothing(app, session, queued, monkeypatch):
    from training.reminders import delivery

    first = StoppingMailbox(stop_at=BATCH + 20)
    first.controller = served(app, first)
    report = deliver(app, on=TODAY, force=True)
    first.stopping.join(10)
    states = statuses(session)
    sent = {row_id for row_id, status in states.items() if status == "sent"}
    # Marked sent only what the server accepted; the rest waits, none is lost or given up.
    assert sent == set(outbox_ids(first)) and 0 < len(sent) < OFFICERS
    assert set(states.values()) == {"sent", "pending"} and report.counts["sent"] == len(sent)
    assert report.counts["errors"] + len(sent) <= OFFICERS

    # The server is back: after the back-off, the next delivery sends the rest, each once.
    second = Mailbox()
    controller = start_mail_server(second, app.config["SMTP_PORT"])
    later = utcnow() + timedelta(hours=1)
    monkeypatch.setattr(delivery, "utcnow", lambda: later)
    try:
        deliver(app, on=TODAY)
    finally:
        controller.stop()
    assert set(statuses(session).values()) == {"sent"}
    assert outbox_ids(second) == Counter(set(queued) - sent)


def test_two_deliveries_at_once_send_each_message_exactly_once(tmp_path):
    """As the scheduler's and an operator's could: each claims what the other has not, over connections of its own."""
    with committed_database(tmp_path, "deliveries_at_once") as url:
        courses, quizzes = write_course(tmp_path / "content")
        app = create_app(config.TestConfig, DATABASE_URL=url, MAIL_CONNECTIONS=2, MAIL_FROM="rollcall@test.invalid")
        migrate.upgrade(app)
        with unit_of_work(app) as session:
            sync_courses(session, courses, quizzes)
            queued = queue_reminders(session, course_by_code(session, "TEST-BASICS"))
        mailbox = CountingMailbox()
        controller = served(app, mailbox)
        reports, start = [], threading.Barrier(2)

        def delivery():
            start.wait()
            reports.append(deliver(app, on=TODAY, force=True))
        try:
            senders = [threading.Thread(target=delivery) for _ in range(2)]
            for sender in senders:
                sender.start()
            for sender in senders:
                sender.join(120)
        finally:
            controller.stop()
        with unit_of_work(app) as session:
            assert set(statuses(session).values()) == {"sent"}
        app.extensions["db_engine"].dispose()
    assert len(reports) == 2 and sum(r.counts["sent"] for r in reports) == OFFICERS
    assert outbox_ids(mailbox) == Counter(set(queued))


def test_the_message_on_the_wire_is_text_html_and_the_calendar_entry(app, session, queued, course):
    course.title = "Use of force: Überblick"
    session.commit()
    row_id = min(queued)
    mailbox = CountingMailbox()
    controller = served(app, mailbox)
    token = telemetry.set_request_id("run-42")
    try:
        deliver(app, on=TODAY, force=True, ids=[row_id])
    finally:
        telemetry.reset_request_id(token)
        controller.stop()
    [message] = mailbox.messages
    assert message["From"] == "rollcall@test.invalid" and message["To"] == queued[row_id]
    assert message["Subject"] == "Use of force: Überblick: due in 7 days"
    [wire] = mailbox.wire
    assert wire.isascii() and b"\r\nSubject: =?utf-8?" in wire.split(b"\r\n\r\n")[0]   # encoded, not raw 8-bit
    assert message["Message-ID"] == f"<rollcall-outbox-{row_id}@test.invalid>"
    assert message["X-Request-ID"] == "run-42"
    assert abs(parsedate_to_datetime(message["Date"]).timestamp() - time.time()) < 300
    assert message.get_content_type() == "multipart/mixed"
    body, calendar = message.get_payload()
    assert [p.get_content_type() for p in body.get_payload()] == ["text/plain", "text/html"]
    plain, html = (p.get_content() for p in body.get_payload())
    assert "Überblick" in plain and "due in 7 days" in plain and "<strong>Use of force: Überblick</strong>" in html
    assert calendar.get_content_type() == "text/calendar" and calendar.get_filename() == "due-date.ics"
    assert calendar.get_param("method") == "PUBLISH"
    [event] = icalendar.Calendar.from_ical(calendar.get_content()).walk("VEVENT")
    assert event.decoded("dtstart") == DUE and str(event["summary"]) == "Due: Use of force: Überblick"
    user_id = session.scalar(select(OutboxMessage.user_id).where(OutboxMessage.id == row_id))
    host = urlsplit(app.config["BASE_URL"]).hostname
    assert str(event["uid"]) == f"rollcall-{user_id}-{course.id}-{DUE.isoformat()}@{host}"


def classic(letter: Letter, wire: bytes, **headers) -> bytes:
    """The message the classic MIME classes make of `letter`, as the email package writes it out for SMTP (compat32,
    CRLF), with the boundaries and Date that `wire` holds."""
    boundaries = [b.decode() for b in re.findall(rb'boundary="([^"]+)"', wire)]
    message = MIMEMultipart("alternative", boundary=boundaries[-1],
                            _subparts=[MIMEText(letter.text, "plain", "utf-8"), MIMEText(letter.html, "html", "utf-8")])
    if letter.calendar:
        calendar = MIMEText(letter.calendar.decode(), "calendar", "utf-8")
        calendar.replace_header("Content-Type", f'{calendar["Content-Type"]}; method="PUBLISH"')
        calendar.add_header("Content-Disposition", "attachment", filename="due-date.ics")
        message = MIMEMultipart("mixed", boundary=boundaries[0], _subparts=[message, calendar])
    plain = letter.subject.isascii() and letter.subject.isprintable()
    headers.update(To=letter.to, Subject=letter.subject if plain else Header(letter.subject, "utf-8"))
    for name in ("From", "To", "Subject", "Message-ID", "X-Request-ID"):
        if headers.get(name):
            message[name] = headers[name]
    message["Date"] = re.search(rb"\r\nDate: ([^\r]+)\r\n", wire).group(1).decode()
    return message.as_bytes(policy=compat32.clone(linesep="\r\n"))


@pytest.mark.parametrize("subject", ["Use of force: due in 7 days", "Überblick: due today",
                                     "A module whose title runs on well past the width of one header line: due today",
                                     "Two\nlines"])
@pytest.mark.parametrize("calendar", [b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", None])
@pytest.mark.parametrize("sender", ["Rollcall <rollcall@test.invalid>", "Rollcall Überwachung <rollcall@test.invalid>"])
def test_a_message_is_written_out_as_the_email_package_writes_it(subject, calendar, sender):
    """Written directly, the message is byte for byte what the classic MIME classes make and the email package
    writes out; long, non-ASCII and multi-line headers still fold and encode."""
    letter = Letter("officer@agy.test", subject, "Text é\n" * 40, "<p>HTML é</p>\n.\n", calendar)
    for request_id in ("run-42", None):
        wire = mail.wire(letter, sender=sender, message_id="<m@test.invalid>", request_id=request_id)
        assert wire == classic(letter, wire, From=sender, **{"Message-ID": "<m@test.invalid>",
                                                             "X-Request-ID": request_id})
        assert wire.isascii() and all(len(line) <= 78 for line in wire.split(b"\r\n"))
        assert email.message_from_bytes(wire, policy=policy.default)["Subject"] == subject.replace("\n", " ")
    empty = Letter("officer@agy.test", subject, "", "", calendar)
    wire = mail.wire(empty, sender=sender, message_id="<m@test.invalid>")
    assert wire == classic(empty, wire, From=sender, **{"Message-ID": "<m@test.invalid>"})


def test_a_batchs_reminders_are_their_templates_own_words_for_each_officer(app, session, course):
    """The reminder templates are rendered once for a batch's module, due date and time zone, and each officer's
    first name put in: every letter is what the templates write for that officer, escaped in the HTML as they
    escape it."""
    agency, unit = make_org(session)
    names = ["Pat", "Zoë", "A&B <i>", "O'Brien", 'Jo "JJ"', "Ana\\n", "{{ x }}"]
    users = [make_user(session, f"named{n}@agy.test", agency=agency, unit=unit, first=name, last=f"Last{n}")
             for n, name in enumerate(names)]
    due = [DUE, DUE, DUE, DUE + timedelta(days=1), DUE, DUE, DUE - timedelta(days=9)]
    session.add_all(Assignment(user_id=user.id, course_id=course.id, due_on=on, reason="agency")
                    for user, on in zip(users, due))
    rows = [OutboxMessage(key=f"named:{user.id}", kind="due-in-7", user_id=user.id, course_id=course.id, due_on=on,
                          decided_on=TODAY, status="pending", attempts=0, created_at=utcnow())
            for user, on in zip(users, due)]
    session.add_all(rows)
    session.commit()
    with app.app_context():
        letters = Composer(session, app.jinja_env, app.config, TODAY).letters(rows)
        base_url = app.config["BASE_URL"].rstrip("/")
        for row, user in zip(rows, users):
            days = (row.due_on - TODAY).days
            context = dict(user=user, course=course, due_on=row.due_on, days=days, url=f"{base_url}/courses/"
                           f"{course.code}", time_zone=agency.time_zone, long_date=long_date, update=False,
                           base_url=base_url, on=TODAY)
            expected = tuple(app.jinja_env.get_template(f"reminders/mail/reminder.{kind}").render(**context)
                             for kind in ("txt", "html"))
            assert (letters[row.id].text, letters[row.id].html) == expected
    assert "A&amp;B &lt;i&gt;" in letters[rows[2].id].html and "A&B <i>" in letters[rows[2].id].text
