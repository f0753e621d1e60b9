"""`flask --app app retention run` and the daily job: personal data of long-deactivated accounts is removed, their
training records and the audit chain stay."""
import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

import config
from tests.support.factories import certify, make_user
from tests.support.pages import login
from training.admin.service import save_account
from training.audit.chain import walk
from training.audit.models import AuditEvent
from training.audit.service import record
from training.auth.models import UserSession
from training.auth.sessions import open_session
from training.catalog.service import current_version
from training.jobs import run_daily
from training.people.models import User
from training.records.models import Acknowledgement, Completion, Exemption
from training.reminders.models import OutboxMessage
from training.retention.service import RetentionRefused, retention_years

AS_OF = date(2026, 11, 27)
YEARS = 7


@dataclass
class World:
    admin: User
    gone: User          # an officer deactivated more than seven years before AS_OF
    gone_staff: User    # a coordinator, likewise, who left an upload behind
    exactly: User       # deactivated seven years before AS_OF to the day: kept
    day_short: User     # seven years minus a day: kept
    active: User
    uploads: Path


def deactivate(session, user: User, at: datetime) -> User:
    user.active, user.deactivated_at = False, at
    return user


@pytest.fixture
def world(app, session, org, course, officer, tmp_path) -> World:
    agency, unit = org
    app.instance_path = str(tmp_path / "instance")
    uploads = tmp_path / "instance" / "uploads"
    uploads.mkdir(parents=True)
    admin = make_user(session, "admin@agency.test", role="admin", agency=agency, first="Ada", last="Admin")
    gone = make_user(session, "gale.winter@agency.test", agency=agency, unit=unit, first="Gale", last="Winter",
                     employee_id="E-7001")
    gone_staff = make_user(session, "cora.lind@agency.test", role="coordinator", agency=agency, first="Cora",
                           last="Lind", employee_id="C-7002")
    exactly = make_user(session, "ed.exact@agency.test", agency=agency, unit=unit, first="Ed", last="Exact")
    day_short = make_user(session, "sam.short@agency.test", agency=agency, unit=unit, first="Sam", last="Short")
    session.flush()
    gone.supervisor_id = exactly.id
    deactivate(session, gone, datetime(2019, 11, 26, 23, 59))
    deactivate(session, gone_staff, datetime(2018, 3, 1, 9))
    deactivate(session, exactly, datetime(2019, 11, 27, 0, 0))
    deactivate(session, day_short, datetime(2019, 11, 28, 8))
    session.commit()
    for person in (gone, exactly, officer):
        completion = certify(session, person, course, days_ago=3000)
        completion.acknowledged_name = person.full_name
        version = current_version(session, course)
        session.add(Acknowledgement(user_id=person.id, course_id=course.id, version_id=version.id,
                                    version_number=version.number, kind="module", name=person.full_name,
                                    acknowledged_on=completion.completed_on, completion_id=completion.id))
    session.add(Exemption(user_id=gone.id, course_id=course.id, starts_on=date(2018, 1, 1),
                          ends_on=date(2018, 6, 1), reason="Medical leave: knee surgery", granted_by_id=admin.id))
    record(session, "user.updated", actor_id=admin.id, target=f"user:{gone.id}",
           changes={"last_name": ["Frost", "Winter"], "active": [True, False]})
    record(session, "exemption.granted", actor_id=admin.id, target=f"user:{gone.id}", course="TEST-BASICS",
           reason="Medical leave: knee surgery", ends_on="2018-06-01")
    record(session, "roster.imported", actor_id=admin.id, target="roster", rows=3, full=False,
           role_changes=[["E-7001", "officer", "coordinator"]])
    record(session, "course.synced", actor_id=admin.id, target="course:TEST-BASICS", note="nobody in particular")
    open_session(session, gone.id, datetime(2019, 1, 1))
    open_session(session, exactly.id, datetime(2019, 1, 1))
    session.commit()
    (uploads / f"{gone_staff.id}-{'a' * 32}.csv").write_text("employee_id,first_name\nE-9,Someone\n")
    (uploads / f"{admin.id}-{'b' * 32}.csv").write_text("employee_id,first_name\nE-8,Other\n")
    app.config["RETENTION_YEARS"] = YEARS
    return World(admin, gone, gone_staff, exactly, day_short, officer, uploads)


def people(session) -> list[tuple]:
    session.expire_all()
    return session.execute(select(User.id, User.first_name, User.last_name, User.email, User.employee_id,
                                  User.password_hash, User.active, User.supervisor_id).order_by(User.id)).all()


def trail(session) -> list[tuple]:
    return session.execute(select(AuditEvent.id, AuditEvent.details, AuditEvent.hash).order_by(AuditEvent.id)).all()


def roster_export(runner, tmp_path, name: str) -> bytes:
    out = tmp_path / name
    result = runner.invoke(args=["export", "roster", "--format", "csv", "--out", str(out), "--as-of",
                                 AS_OF.isoformat()])
    assert result.exit_code == 0, result.output
    return out.read_bytes()


def test_a_dry_run_lists_what_would_go_and_changes_nothing(runner, session, world):
    before = (people(session), trail(session), sorted(p.name for p in world.uploads.iterdir()))
    result = runner.invoke(args=["retention", "run", "--as-of", AS_OF.isoformat(), "--dry-run"])
    assert result.exit_code == 0, result.output
    ids = sorted([world.gone.id, world.gone_staff.id])
    assert (f"Dry run: 2 accounts deactivated more than 7 years before 2026-11-27 would be anonymised "
            f"(account ids: {ids[0]}, {ids[1]}); nothing was changed.") in result.output
    assert (people(session), trail(session), sorted(p.name for p in world.uploads.iterdir())) == before


def test_a_run_anonymises_exactly_the_accounts_past_the_period_and_keeps_their_records(runner, client, session,
                                                                                        world, tmp_path):
    gone, staff = world.gone, world.gone_staff
    export_before = roster_export(runner, tmp_path, "before.csv")
    completions_before = session.scalar(select(func.count()).select_from(Completion))
    kept_before = [row for row in people(session) if row.id not in (gone.id, staff.id)]
    for person in (gone, world.exactly):
        session.add(OutboxMessage(key=f"nudge:{person.id}", kind="nudge", user_id=person.id,
                                  decided_on=date(2019, 1, 2), subject=f"{person.full_name}: Test basics is due",
                                  status="failed", last_error=f"550 <{person.email}> mailbox unavailable"))
    session.commit()

    result = runner.invoke(args=["retention", "run", "--as-of", AS_OF.isoformat()])
    assert result.exit_code == 0, result.output
    assert "2 accounts deactivated more than 7 years before 2026-11-27 anonymised" in result.output

    rows = {row.id: row for row in people(session)}
    for person in (gone, staff):
        assert rows[person.id][1:] == ("Removed", f"account {person.id}", f"removed-{person.id}@invalid", None, None,
                                       False, None)
    # Not a day early, and nobody else.
    assert [row for row in people(session) if row.id not in (gone.id, staff.id)] == kept_before

    # The records stay, the words go.
    assert session.scalar(select(func.count()).select_from(Completion)) == completions_before
    assert session.scalars(select(Completion.acknowledged_name).where(Completion.user_id == gone.id)).all() == [None]
    assert session.scalars(select(Acknowledgement.name).where(Acknowledgement.user_id == gone.id)).all() == [
        "Removed"]
    assert session.scalars(select(Acknowledgement.name).where(Acknowledgement.user_id == world.exactly.id)).all() \
        == ["Ed Exact"]
    assert session.scalar(select(Exemption.reason).where(Exemption.user_id == gone.id)) == "(removed)"
    # The messages sent to them: what they said of the person, and the mail server's words naming the address.
    messages = {m.user_id: (m.subject, m.last_error) for m in session.scalars(select(OutboxMessage))}
    assert messages[gone.id] == ("(removed)", "(removed)")
    assert messages[world.exactly.id] == ("Ed Exact: Test basics is due",
                                          "550 <ed.exact@agency.test> mailbox unavailable")
    assert roster_export(runner, tmp_path, "after.csv") == export_before

    # Sessions and uploads of the purged accounts only.
    assert session.scalar(select(func.count()).select_from(UserSession).where(UserSession.user_id == gone.id)) == 0
    assert session.scalar(select(func.count()).select_from(UserSession)
                          .where(UserSession.user_id == world.exactly.id)) == 1
    assert [p.name.split("-")[0] for p in world.uploads.iterdir()] == [str(world.admin.id)]

    # The trail: events about them redacted (numbers and keys kept), a mention elsewhere scrubbed, the rest as it
    # was; one event says what was done, with counts and ids, no names; the chain verifies.
    events = {e.action: e for e in session.scalars(select(AuditEvent).order_by(AuditEvent.id))}
    assert events["user.updated"].details == {"changes": {"last_name": ["(removed)", "(removed)"],
                                                          "active": [True, False]}, "redacted": True}
    recorded = session.scalar(select(AuditEvent.details).where(AuditEvent.action == "completion.recorded",
                                                                 AuditEvent.target == f"user:{gone.id}"))
    assert recorded["course"] == "TEST-BASICS" and "redacted" not in recorded   # nothing personal in it
    assert events["roster.imported"].details["role_changes"] == [["(removed)", "officer", "coordinator"]]
    assert events["roster.imported"].details["rows"] == 3 and events["roster.imported"].details["redacted"]
    assert events["course.synced"].details == {"note": "nobody in particular"}
    purged = events["retention.purged"].details
    assert purged["accounts"] == 2 and purged["sessions"] == 1 and purged["upload files"] == 1
    assert purged["messages"] == 1
    assert events["exemption.granted"].details == {"course": "TEST-BASICS", "reason": "(removed)",
                                                   "ends_on": "2018-06-01", "redacted": True}
    assert purged["audit events redacted"] == 3 and sorted(purged["account_ids"]) == sorted([gone.id, staff.id])
    assert purged["deactivated_before"] == "2019-11-27" and purged["as_of"] == "2026-11-27"
    text = json.dumps([e.details for e in events.values()])
    assert not any(word in text for word in ("Winter", "Frost", "gale.winter", "E-7001", "Lind", "knee"))
    report = walk(session)
    assert report.broken is None and report.redacted == 3
    verified = runner.invoke(args=["audit", "verify"])
    assert verified.exit_code == 0 and "(3 redacted by the retention purge), chain intact" in verified.output

    # The audit trail page's verification says so too.
    login(client, world.admin.email)
    page = client.post("/audit/verify", follow_redirects=True).get_data(as_text=True)
    assert "Intact." in page and "(3 with personal data removed by the retention purge)" in page

    # A second run finds nothing more to do, and writes nothing.
    again = runner.invoke(args=["retention", "run", "--as-of", AS_OF.isoformat()])
    assert again.exit_code == 0 and "0 accounts" in again.output and "account ids: none" in again.output
    assert session.scalar(select(func.count()).select_from(AuditEvent)
                          .where(AuditEvent.action == "retention.purged")) == 1


def test_a_later_day_reaches_the_accounts_deactivated_later(runner, session, world):
    result = runner.invoke(args=["retention", "run", "--as-of", "2026-11-29"])
    assert result.exit_code == 0, result.output
    assert "4 accounts" in result.output
    assert {row.first_name for row in people(session) if row.id != world.active.id and row.id != world.admin.id} \
        == {"Removed"}


@pytest.mark.parametrize("value, said", [
    (0, "RETENTION_YEARS must be at least 1 year, not 0"),
    (-2, "RETENTION_YEARS must be at least 1 year, not -2"),
    ("seven", "RETENTION_YEARS must be a whole number of years, not 'seven'"),
    (None, "RETENTION_YEARS is not set, so nothing is purged"),
])
def test_a_missing_or_bad_period_is_refused_and_nothing_happens(app, runner, session, world, value, said):
    app.config["RETENTION_YEARS"] = value
    before = (people(session), trail(session))
    result = runner.invoke(args=["retention", "run", "--as-of", AS_OF.isoformat()])
    assert result.exit_code != 0 and said in result.output
    assert (people(session), trail(session)) == before


@pytest.mark.parametrize("value", ["0", "-1", "7.5", "seven"])
def test_a_bad_period_stops_the_start_up(monkeypatch, value):
    monkeypatch.setenv("RETENTION_YEARS", value)
    with pytest.raises(RuntimeError, match="RETENTION_YEARS must be a whole number of years, at least 1"):
        config._years("RETENTION_YEARS")
    with pytest.raises(RetentionRefused):
        retention_years(value)
    monkeypatch.setenv("RETENTION_YEARS", " 10 ")
    assert config._years("RETENTION_YEARS") == 10 and retention_years(" 10 ") == 10


def test_the_daily_job_purges_only_when_configured(app, session, world):
    app.config["RETENTION_YEARS"] = None
    run_daily(app, AS_OF, via="command")
    assert session.get(User, world.gone.id).first_name == "Gale"
    app.config["RETENTION_YEARS"] = YEARS
    counts_before = session.scalar(select(func.count()).select_from(AuditEvent)
                                   .where(AuditEvent.action == "retention.purged"))
    run_daily(app, AS_OF, via="command")
    session.expire_all()
    assert session.get(User, world.gone.id).first_name == "Removed"
    assert session.get(User, world.exactly.id).first_name == "Ed"
    assert session.scalar(select(func.count()).select_from(AuditEvent)
                          .where(AuditEvent.action == "retention.purged")) == counts_before + 1
    assert walk(session).broken is None


def test_deactivating_an_account_notes_when_and_reactivating_clears_it(runner, session, org, tmp_path):
    agency, unit = org
    admin = make_user(session, "admin@agency.test", role="admin", agency=agency)
    person = make_user(session, "lee@agency.test", agency=agency, unit=unit, employee_id="E100")
    session.commit()
    values = {k: getattr(person, k) for k in ("email", "first_name", "last_name", "employee_id", "role",
                                              "agency_id", "unit_id", "scope_unit_id", "active")}
    save_account(session, person, {**values, "active": False}, None, actor_id=admin.id)
    session.commit()
    assert person.deactivated_at is not None and datetime.utcnow() - person.deactivated_at < timedelta(minutes=1)
    save_account(session, person, {**values, "active": True}, None, actor_id=admin.id)
    session.commit()
    assert person.deactivated_at is None

    # A full roster import deactivates those missing from it, and one naming them again brings them back.
    other = make_user(session, "kim@agency.test", agency=agency, unit=unit, employee_id="E200")
    session.commit()
    header = "employee_id,first_name,last_name,email,agency,unit,supervisor_employee_id\n"
    path = tmp_path / "roster.csv"
    path.write_text(header + f"E100,Pat,Doe,lee@agency.test,{agency.code},{unit.code},\n")
    result = runner.invoke(args=["roster", "import", str(path), "--full"])
    assert result.exit_code == 0, result.output
    session.expire_all()
    assert not other.active and other.deactivated_at is not None
    path.write_text(header + f"E200,Pat,Doe,kim@agency.test,{agency.code},{unit.code},\n")
    result = runner.invoke(args=["roster", "import", str(path)])
    assert result.exit_code == 0, result.output
    session.expire_all()
    assert other.active and other.deactivated_at is None
