"""Invitations and password resets: single-use links mailed once through the outbox, against a real SMTP server."""
from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.support.factories import PASSWORD, add_unit, make_org, make_user
from tests.support.pages import login
from training.admin.service import save_account
from training.audit.models import AuditEvent
from training.auth.tokens import INVITATION, RESET, AccountToken, digest
from training.db import utcnow
from training.people.models import User
from training.reminders.delivery import deliver
from training.reminders.models import OutboxMessage

NEW_PASSWORD = "lantern-orchard-meadow"
LINK = re.compile(r"http://127\.0\.0\.1:5000/(invitation|password/reset)/([A-Za-z0-9_-]+)")


def newcomer(session, email: str, agency, unit, employee_id: str, role: str = "officer") -> User:
    """An account as a roster import makes it: no password, never signed in."""
    user = User(email=email, first_name="Nia", last_name=f"New{employee_id}", employee_id=employee_id,
                role=role, agency_id=agency.id, unit_id=unit.id)
    session.add(user)
    session.flush()
    return user


@pytest.fixture
def world(session, org):
    agency, unit = org
    sub = add_unit(session, agency, "AGY-SUB", unit)
    other_agency, other_unit = make_org(session, "OTH")
    people = {
        "ann": newcomer(session, "ann@agency.test", agency, unit, "N1"),
        "ben": newcomer(session, "ben@agency.test", agency, sub, "N2"),
        "olga": newcomer(session, "olga@other.test", other_agency, other_unit, "N3"),
        "set": make_user(session, "has-password@agency.test", agency=agency, unit=unit, employee_id="P1"),
        "coord": make_user(session, "coord@agency.test", role="coordinator", agency=agency, employee_id="C1"),
        "compliance": make_user(session, "comp@agency.test", role="compliance", agency=agency, employee_id="C2"),
        "other_coord": make_user(session, "coord@other.test", role="coordinator", agency=other_agency,
                                 employee_id="C3"),
    }
    session.commit()
    return {"agency": agency, "unit": unit, "sub": sub, **people}


def links(smtp, to: str | None = None) -> list[str]:
    """The links in the messages received (to `to`), oldest first, as paths."""
    found = []
    for message in smtp.messages:
        if to is None or message["To"] == to:
            text = message.get_body(("plain",)).get_content()
            found += [f"/{kind}/{token}" for kind, token in LINK.findall(text)]
    return found


def send(runner, *args):
    return runner.invoke(args=["invitations", "send", *args])


def actions(session, action: str) -> list[AuditEvent]:
    return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def ask_reset(client, email: str):
    """Ask for a reset link. The link is mailed once the answer has left, when the server closes it, as the
    test client does not."""
    response = client.post("/password/forgot", data={"email": email})
    response.close()
    return response


def choose(client, path: str, password: str = NEW_PASSWORD):
    return client.post(path, data={"new_password": password, "confirm": password})


# The command line


def test_a_unit_is_invited_once_through_smtp(runner, smtp, session, world):
    result = send(runner, "--unit", "AGY-U1")
    assert result.exit_code == 0, result.output
    assert "2 queued" in result.output and "2 sent" in result.output
    assert sorted(m["To"] for m in smtp.messages) == ["ann@agency.test", "ben@agency.test"]   # the sub-unit too
    message = smtp.messages[0]
    assert message["Subject"] == "Rollcall: choose a password to start your training"
    text = message.get_body(("plain",)).get_content()
    token_row = session.scalar(select(AccountToken).where(AccountToken.user_id == world["ann"].id))
    assert "Agency AGY" in text and "Your training office" in text     # who sent it
    assert "works once, and only until" in text and "(America/New_York)" in text
    # No personal data, looked for as words: the link's random token may hold any letters.
    for personal in ("Nia", "NewN1", "N1", "ann@agency.test"):
        assert not re.search(rf"(?<![\w/]){re.escape(personal)}(?!\w)", text), personal
    # Only the hash is kept.
    path = links(smtp, "ann@agency.test")[0]
    assert token_row.token_hash == digest(path.rsplit("/", 1)[1]) and path.rsplit("/", 1)[1] not in str(
        session.execute(select(AccountToken.__table__)).all())
    assert token_row.expires_at - token_row.created_at == timedelta(days=14)
    # Again: nobody is invited twice, nothing more is sent, and a delivery finds nothing left.
    again = send(runner, "--unit", "AGY-U1")
    assert again.exit_code == 0 and "0 queued, 2 skipped" in again.output
    deliver(runner.app, force=True)
    assert len(smtp.messages) == 2
    assert session.scalar(select(func.count()).select_from(OutboxMessage)
                          .where(OutboxMessage.kind == INVITATION, OutboxMessage.status == "sent")) == 2
    assert len(actions(session, "invitation.sent")) == 2


def test_each_target_and_the_refusals(runner, smtp, session, world):
    assert send(runner, "--officer", "N2").exit_code == 0
    assert [m["To"] for m in smtp.messages] == ["ben@agency.test"]
    agency = send(runner, "--agency", "AGY")
    assert agency.exit_code == 0 and "1 queued, 1 skipped" in agency.output
    assert sorted(m["To"] for m in smtp.messages) == ["ann@agency.test", "ben@agency.test"]
    refusals = {("--officer", "P1"): "can already sign in", ("--officer", "NOPE"): "nobody has employee id NOPE",
                ("--unit", "NOPE"): "no unit has code NOPE", ("--agency", "NOPE"): "no agency has code NOPE",
                (): "give exactly one of", ("--unit", "AGY-U1", "--agency", "AGY"): "give exactly one of"}
    for args, said in refusals.items():
        result = send(runner, *args)
        assert result.exit_code == 1 and said in result.output, (args, result.output)
    world["olga"].active = False
    session.commit()
    deactivated = send(runner, "--officer", "N3")
    assert deactivated.exit_code == 1 and "deactivated" in deactivated.output
    assert len(smtp.messages) == 2


def test_resend_replaces_the_link(runner, client, smtp, session, world):
    send(runner, "--officer", "N1")
    send(runner, "--officer", "N1", "--resend")
    first, second = links(smtp, "ann@agency.test")
    assert first != second
    assert client.get(first).status_code == 404
    assert client.get(second).status_code == 200
    refused = actions(session, "invitation.refused")
    assert [e.details["reason"] for e in refused] == ["replaced"] and refused[0].subject_id == world["ann"].id
    assert [e.details["resend"] for e in actions(session, "invitation.sent")] == [False, True]


def test_an_unreachable_mail_server_keeps_the_invitations(runner, app, session, world, unused_port):
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=unused_port)
    result = send(runner, "--officer", "N1")
    assert result.exit_code == 1 and "could not be reached" in result.output
    assert session.scalar(select(OutboxMessage.status).where(OutboxMessage.kind == INVITATION)) == "pending"


# Following the link


def test_an_invitation_sets_the_password_signs_in_and_opens_the_training(runner, client, smtp, session, world):
    send(runner, "--officer", "N1")
    path = links(smtp)[0]
    page = client.get(path)
    assert page.status_code == 200 and "Choose your password" in page.text and "ann@agency.test" in page.text
    assert page.headers["Cache-Control"] == "no-store"
    weak = choose(client, path, "password12345")
    assert weak.status_code == 422 and "most used" in weak.text
    done = choose(client, path)
    assert done.status_code == 302 and done.location == "/"
    assert "Sign out Nia NewN1" in client.get("/").text
    assert login(client.application.test_client(), "ann@agency.test", NEW_PASSWORD).status_code == 302
    # Used: the link opens nothing any more, and the account is no longer one to invite.
    client.post("/logout")
    assert client.get(path).status_code == 404
    assert choose(client, path, "another-password-entirely").status_code == 404
    assert [e.details["reason"] for e in actions(session, "invitation.refused")] == ["used", "used"]
    assert [e.actor_id for e in actions(session, "invitation.accepted")] == [world["ann"].id]
    assert send(runner, "--officer", "N1").exit_code == 1


def test_an_expired_invitation_opens_nothing(runner, client, smtp, session, world):
    send(runner, "--officer", "N1")
    token = session.scalar(select(AccountToken))
    token.expires_at = utcnow() - timedelta(minutes=1)
    session.commit()
    page = client.get(links(smtp)[0])
    assert page.status_code == 404 and "This link no longer works" in page.text
    assert actions(session, "invitation.refused")[0].details["reason"] == "expired"
    assert session.get(User, world["ann"].id).password_hash is None


def test_an_unknown_token_is_refused_and_recorded_once_per_window(client, session, world):
    for _ in range(3):
        assert client.get("/invitation/made-up-token").status_code == 404
    assert client.get("/password/reset/" + "x" * 500).status_code == 404
    assert len(actions(session, "invitation.refused")) == 1


def test_staff_give_their_second_factor_after_an_invitation(runner, client, smtp, session, world):
    newcomer(session, "new-coord@agency.test", world["agency"], world["unit"], "NC1", role="coordinator")
    session.commit()
    send(runner, "--officer", "NC1")
    done = choose(client, links(smtp)[0])
    assert done.location == "/login/enrol"
    assert client.get("/").status_code == 302   # no session until the authenticator is set up


def test_deactivation_and_a_password_change_void_the_links(runner, client, smtp, session, world):
    send(runner, "--unit", "AGY-U1")
    ann, ben = links(smtp, "ann@agency.test")[0], links(smtp, "ben@agency.test")[0]
    values = {k: getattr(world["ann"], k) for k in ("email", "first_name", "last_name", "employee_id", "role",
                                                    "agency_id", "unit_id", "scope_unit_id")}
    save_account(session, world["ann"], {**values, "active": False}, None, actor_id=world["coord"].id)
    session.commit()
    assert client.get(ann).status_code == 404
    save_account(session, world["ann"], {**values, "active": True}, None, actor_id=world["coord"].id)
    session.commit()
    assert client.get(ann).status_code == 404   # reactivating does not bring the link back
    # An administrator sets Ben's password: his invitation stops working.
    values = {k: getattr(world["ben"], k) for k in values} | {"active": True}
    save_account(session, world["ben"], values, "a-password-set-by-admin", actor_id=world["coord"].id)
    session.commit()
    assert client.get(ben).status_code == 404
    assert [e.details["reason"] for e in actions(session, "invitation.refused")] == \
        ["deactivated", "deactivated", "password changed"]


def test_a_password_change_voids_a_reset_link(client, smtp, session, world):
    ask_reset(client, "has-password@agency.test")
    path = links(smtp)[0]
    login(client, "has-password@agency.test")
    changed = client.post("/account/password", data={"current_password": PASSWORD,
                                                      "new_password": "a-brand-new-password",
                                                      "confirm": "a-brand-new-password"})
    assert changed.status_code == 302
    assert client.get(path).status_code == 404


# Password reset


def test_a_reset_ends_every_session_and_leads_to_sign_in(app, client, smtp, session, world):
    elsewhere = app.test_client()
    login(elsewhere, "has-password@agency.test")
    assert elsewhere.get("/").status_code == 200
    asked = ask_reset(client, "Has-Password@agency.test ")
    assert asked.status_code == 200 and "Check your email" in asked.text
    [message] = smtp.messages
    assert message["To"] == "has-password@agency.test" and message["Subject"] == "Rollcall: reset your password"
    text = message.get_body(("plain",)).get_content()
    assert "works once, and only until" in text and not re.search(r"(?<![\w/])Pat(?!\w)", text)
    token = session.scalar(select(AccountToken).where(AccountToken.purpose == RESET))
    assert token.expires_at - token.created_at == timedelta(minutes=60)
    path = links(smtp)[0]
    assert path.startswith("/password/reset/")
    done = choose(client, path)
    assert done.status_code == 302 and done.location == "/login"
    assert elsewhere.get("/").status_code == 302                 # signed out everywhere
    assert login(client, "has-password@agency.test").status_code == 401
    assert login(client, "has-password@agency.test", NEW_PASSWORD).status_code == 302
    assert client.get(path).status_code == 404                    # once only
    requested = actions(session, "password.reset_requested")
    assert requested[0].subject_id == world["set"].id and requested[0].details["mailed"] is True
    assert [e.actor_id for e in actions(session, "password.reset")] == [world["set"].id]


def test_an_unknown_address_gets_the_same_page_and_nothing_is_sent(client, smtp, session, world):
    known = ask_reset(client, "has-password@agency.test")
    unknown = ask_reset(client, "nobody@agency.test")
    assert known.status_code == unknown.status_code == 200
    assert known.text.replace("has-password@agency.test", "X") == unknown.text.replace("nobody@agency.test", "X")
    assert [m["To"] for m in smtp.messages] == ["has-password@agency.test"]
    event = actions(session, "password.reset_requested")[-1]
    assert event.subject_id is None and event.target == "nobody@agency.test" and event.details["mailed"] is False


def test_reset_requests_are_throttled_per_address_typed_and_per_client(app, client, smtp, session, world):
    for _ in range(3):
        assert ask_reset(client, "nobody@agency.test").status_code == 200
    held = ask_reset(client, "nobody@agency.test")
    assert held.status_code == 429 and "Too many requests; try again in" in held.text
    for _ in range(3):
        assert ask_reset(client, "has-password@agency.test").status_code == 200
    assert ask_reset(client, "has-password@agency.test").status_code == 429
    assert len(smtp.messages) == 3
    # Per client: other addresses from the same client reach the client's limit.
    app.config["PASSWORD_RESET_ADDRESS_LIMIT"] = 7
    assert ask_reset(client, "a@agency.test").status_code == 200
    assert ask_reset(client, "b@agency.test").status_code == 429
    throttled = actions(session, "password.reset_throttled")
    assert [e.details["held"] for e in throttled] == ["account", "account", "address"]
    assert throttled[1].subject_id == world["set"].id
    # The sign-in form is not held by reset requests.
    assert login(client, "has-password@agency.test").status_code == 302


def test_a_deactivated_account_is_sent_no_reset_link(client, smtp, session, world):
    world["set"].active = False
    session.commit()
    assert ask_reset(client, "has-password@agency.test").status_code == 200
    assert smtp.messages == []


def test_staff_give_their_code_after_a_reset(client, smtp, session, world):
    from tests.support.factories import set_authenticator
    from training.auth import second_factor

    staff = make_user(session, "staff@agency.test", role="coordinator", agency=world["agency"], employee_id="S9",
                      demo_account=False)
    set_authenticator(staff, second_factor.new_secret())
    session.commit()
    ask_reset(client, "staff@agency.test")
    assert choose(client, links(smtp)[0]).location == "/login"
    assert login(client, "staff@agency.test", NEW_PASSWORD).location == "/login/code"


def test_the_sign_in_page_offers_a_reset(client):
    assert 'href="/password/forgot"' in client.get("/login").text


# The unit page and the roster import


def test_the_unit_page_shows_who_never_signed_in_and_invites_them(client, smtp, session, world):
    login(client, "coord@agency.test")
    page = client.get("/units/AGY-U1")
    # The count at once; the list of who, with their invitations, only when asked for.
    assert "3 active accounts here have never signed in" in page.text and "Not invited" not in page.text
    listed = client.get("/units/AGY-U1?sign_in=1").text
    assert "New, " not in listed and "NewN1, Nia" in listed and "Not invited" in listed and "Has a password" in listed
    sent = client.post("/units/AGY-U1/invitations", data={"sub": "AGY-SUB"}, follow_redirects=True)
    assert "Invitation sent to 1 person." in sent.text
    assert [m["To"] for m in smtp.messages] == ["ben@agency.test"]
    sent = client.post("/units/AGY-U1/invitations", follow_redirects=True)
    assert "Invitation sent to 1 person. 1 already had an invitation" in sent.text
    listed = client.get("/units/AGY-U1?sign_in=1").text
    assert listed.count("Invited 20") == 2 and "good until" in listed
    again = client.post("/units/AGY-U1/invitations", data={"resend": "y"}, follow_redirects=True)
    assert "Invitation sent to 2 people." in again.text and len(smtp.messages) == 4
    event = actions(session, "invitation.sent")[0]
    assert event.actor_id == world["coord"].id and event.subject_id == world["ben"].id


def test_inviting_from_a_unit_page_is_within_scope(client, smtp, session, world):
    login(client, "coord@other.test")
    assert client.post("/units/AGY-U1/invitations").status_code == 404
    client.post("/logout")
    login(client, "comp@agency.test")
    assert client.post("/units/AGY-U1/invitations").status_code == 403
    assert "Invite those who cannot sign in yet" not in client.get("/units/AGY-U1").text
    # A coordinator does not invite staff accounts: only an administrator changes those.
    newcomer(session, "new-coord@agency.test", world["agency"], world["unit"], "NC1", role="coordinator")
    session.commit()
    client.post("/logout")
    login(client, "coord@agency.test")
    client.post("/units/AGY-U1/invitations")
    assert "new-coord@agency.test" not in [m["To"] for m in smtp.messages]
    assert smtp.messages and session.scalar(select(func.count()).select_from(AccountToken)) == 2


ROSTER = "employee_id,first_name,last_name,email,agency,unit,supervisor_employee_id\n"


def test_a_roster_upload_can_invite_the_newcomers(client, smtp, session, world):
    login(client, "coord@agency.test")
    data = ROSTER + "E-77,Ana,Reyes,ana@agency.test,AGY,AGY-U1,\nN1,Nia,NewN1,ann@agency.test,AGY,AGY-U1,\n"
    preview = client.post("/imports/roster", data={"file": (io.BytesIO(data.encode()), "r.csv"), "invite": "y"},
                          content_type="multipart/form-data")
    assert "then the officers in the file who cannot sign in yet are invited" in preview.text
    token = preview.text.split('name="token" value="')[1].split('"')[0]
    done = client.post("/imports/roster/confirm", data={"token": token, "filename": "r.csv", "invite": "y"},
                       follow_redirects=True)
    assert "Invitations sent to 2 officers" in done.text
    assert sorted(m["To"] for m in smtp.messages) == ["ana@agency.test", "ann@agency.test"]


def test_roster_import_invite_on_the_command_line(runner, smtp, session, world, tmp_path):
    file = tmp_path / "roster.csv"
    file.write_text(ROSTER + "E-88,Cy,Park,cy@agency.test,AGY,AGY-U1,\nP1,Pat,Doe,has-password@agency.test,"
                             "AGY,AGY-U1,\n")
    result = runner.invoke(args=["roster", "import", str(file), "--invite"])
    assert result.exit_code == 0, result.output
    assert "Invitations: 1 queued, 1 sent." in result.output
    assert [m["To"] for m in smtp.messages] == ["cy@agency.test"]
    again = runner.invoke(args=["roster", "import", str(file), "--invite"])
    assert "Invitations: 0 queued, 0 sent, 1 skipped" in again.output and len(smtp.messages) == 1


def test_no_password_reset_where_password_sign_in_is_off(app, client):
    app.config["PASSWORD_SIGN_IN"] = "off"
    page = client.get("/password/forgot")
    assert page.status_code == 404 and "Password sign-in is turned off" in page.text
    assert "Forgot your password?" not in client.get("/login").text
