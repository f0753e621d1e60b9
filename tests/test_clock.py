"""One clock: every "today" comes from training/clock.py, and the daily job gives each agency its own calendar day.

Guam (Pacific/Guam, UTC+10) and Honolulu (Pacific/Honolulu, UTC-10) are twenty hours apart: for most of the UTC
day they are on different calendar days. The tests stand the clock at instants of their choosing.
"""
from __future__ import annotations

import ast
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.support.factories import make_org, make_user
from training import clock
from training.clock import (
    agency_today,
    describe,
    every_agency_on,
    local_days,
    server_today,
    today_for,
    zone_today,
)
from training.jobs import daily_sweep
from training.people.models import Agency, User
from training.records.models import Assignment, Completion, StandingRule
from training.reminders.models import OutboxMessage
from training.reminders.rules import Schedule
from training.reports.dashboard import dashboard, scope_of, status_counts
from training.scheduler import daily_job

ROOT = Path(__file__).resolve().parent.parent
# Guam's 27 November begins (06:00 there) while Honolulu is at 10:00 on the 26th.
GUAM_MORNING = datetime(2026, 11, 26, 20, 0, tzinfo=UTC)
# Honolulu's 27 November reaches 06:00 while Guam is at 02:00 on the 28th.
HONOLULU_MORNING = datetime(2026, 11, 27, 16, 0, tzinfo=UTC)
GU_DAY, HI_DAY = date(2026, 11, 27), date(2026, 11, 26)


@pytest.fixture
def at(monkeypatch):
    """Stand the clock at an instant: every "today" and every agency's day follow from it."""
    def stand(instant: datetime) -> None:
        monkeypatch.setattr(clock, "current_instant", lambda: instant)
    return stand


@pytest.fixture
def islands(session, course):
    """An agency in Guam and one in Honolulu, each with officers in its unit and their supervisor (in none)."""
    people = {}
    for code, tz in (("GU", "Pacific/Guam"), ("HI", "Pacific/Honolulu")):
        agency, unit = make_org(session, code, tz=tz)
        boss = make_user(session, f"boss@{code.lower()}.test", agency=agency, employee_id=f"{code}-B")
        people[code] = {"agency": agency, "unit": unit, "boss": boss, **{
            name: make_user(session, f"{name}@{code.lower()}.test", agency=agency, unit=unit, first=name.title(),
                            employee_id=f"{code}-{name}", supervisor_id=boss.id)
            for name in ("held", "newbie", "late")}}
    session.commit()
    return people


def assign(session, course, people, name: str, due_on: date) -> None:
    for code in ("GU", "HI"):
        session.add(Assignment(user_id=people[code][name].id, course_id=course.id, due_on=due_on, reason="agency"))
    session.commit()


def received(smtp, since: int = 0) -> list[tuple[str, str]]:
    return sorted((m["To"], m["Subject"]) for m in smtp.messages[since:])


def test_each_agency_has_its_own_day(session, islands):
    gu, hi = islands["GU"]["agency"], islands["HI"]["agency"]
    assert (agency_today(gu, GUAM_MORNING), agency_today(hi, GUAM_MORNING)) == (GU_DAY, HI_DAY)
    assert today_for(islands["GU"]["late"], GUAM_MORNING) == GU_DAY
    assert today_for(islands["HI"]["late"], GUAM_MORNING) == HI_DAY
    # A naive instant is UTC, as the database stores it.
    assert zone_today("Pacific/Guam", GUAM_MORNING.replace(tzinfo=None)) == GU_DAY
    # The server's day is the day of the server's own time zone; officers of no agency live on it.
    assert server_today(GUAM_MORNING) == GUAM_MORNING.astimezone().date()
    assert agency_today(None, GUAM_MORNING) == server_today(GUAM_MORNING)

    days = local_days(session, GUAM_MORNING)
    assert {code: day.on for day in days for _, code, _ in day.agencies} == {"GU": GU_DAY, "HI": HI_DAY}
    assert [day.on for day in days if day.server] == [server_today(GUAM_MORNING)]
    assert all(None in day.agency_ids for day in days if day.server)
    text = describe(days)
    assert "2026-11-27 (Pacific/Guam: GU" in text and "2026-11-26 (Pacific/Honolulu: HI" in text
    assert every_agency_on(GU_DAY).agency_ids is None
    assert describe([every_agency_on(GU_DAY)]) == "2026-11-27 (given, for every agency)"


def test_an_agency_is_left_out_of_the_daily_job_until_its_day_reaches_the_hour(session, islands):
    def codes(instant):
        return {code: day.on for day in local_days(session, instant, from_hour=6) for _, code, _ in day.agencies}

    # 05:30 in Guam: its 27th has not reached the hour, and its 26th was swept already.
    assert codes(GUAM_MORNING - timedelta(minutes=30)) == {"HI": HI_DAY}
    assert codes(GUAM_MORNING) == {"GU": GU_DAY, "HI": HI_DAY}
    # 02:00 on the 28th in Guam: left out again until 06:00; Honolulu has reached its 27th.
    assert codes(HONOLULU_MORNING) == {"HI": GU_DAY}


def test_reminders_run_reminds_each_agency_on_its_own_day(runner, smtp, islands, session, course, at):
    due = GU_DAY + timedelta(days=30)
    assign(session, course, islands, "late", due)
    at(GUAM_MORNING)
    first = runner.invoke(args=["reminders", "run", "--wait", "0"])
    assert first.exit_code == 0, first.output
    assert "Sweep for 2026-11-26 (Pacific/Honolulu: HI" in first.output
    assert "2026-11-27 (Pacific/Guam: GU" in first.output
    # Thirty days before the due date in Guam, counted in the letter from Guam's day; thirty-one in Honolulu.
    assert received(smtp) == [("late@gu.test", "Test TEST-BASICS: due in 30 days")]

    at(HONOLULU_MORNING)
    second = runner.invoke(args=["reminders", "run", "--wait", "0"])
    assert second.exit_code == 0, second.output
    assert "2026-11-27 (Pacific/Honolulu: HI" in second.output and "2026-11-28 (Pacific/Guam: GU" in second.output
    assert received(smtp, 1) == [("late@hi.test", "Test TEST-BASICS: due in 30 days")]
    again = runner.invoke(args=["reminders", "run", "--wait", "0"])
    assert "nothing new fell due" in again.output and len(smtp.messages) == 2
    assert len(session.scalars(select(OutboxMessage)).all()) == 2


def test_reminders_run_as_of_is_the_day_of_every_agency(runner, smtp, islands, session, course, at):
    assign(session, course, islands, "late", GU_DAY + timedelta(days=30))
    at(GUAM_MORNING)
    result = runner.invoke(args=["reminders", "run", "--as-of", "2026-11-27", "--wait", "0"])
    assert result.exit_code == 0, result.output
    assert "Sweep for 2026-11-27 (given, for every agency):" in result.output
    assert received(smtp) == [("late@gu.test", "Test TEST-BASICS: due in 30 days"),
                              ("late@hi.test", "Test TEST-BASICS: due in 30 days")]


def test_the_hourly_job_escalates_on_each_agency_s_own_day(app, smtp, islands, session, course, at):
    assert app.config["DAILY_JOB_HOUR"] == 6
    assign(session, course, islands, "late", GU_DAY - timedelta(days=7))
    overdue = "Overdue: Test TEST-BASICS was due on Friday 20 November 2026"
    digest = "Rollcall: 1 overdue training record in your team"

    at(GUAM_MORNING - timedelta(minutes=30))   # Guam 05:30 on the 27th, Honolulu 09:30 on the 26th
    daily_job(app)
    assert received(smtp) == [("late@hi.test", overdue)]

    at(GUAM_MORNING)   # Guam's 27th has begun: seven days overdue there, six in Honolulu
    daily_job(app)
    assert received(smtp, 1) == [("boss@gu.test", digest), ("late@gu.test", overdue)]
    daily_job(app)
    assert len(smtp.messages) == 3, "a second run on the same day sends nothing"

    at(HONOLULU_MORNING)   # Honolulu's 27th: seven days overdue there too
    daily_job(app)
    assert received(smtp, 3) == [("boss@hi.test", digest)]


def test_renewals_standing_rules_and_statuses_on_each_agency_s_own_day(app, session, islands, course, at):
    # A certification expiring sixty days after Guam's day: its renewal window opens on Guam's 27th.
    expires = GU_DAY + timedelta(days=course.renewal_window_days)
    for code in ("GU", "HI"):
        session.add(Completion(user_id=islands[code]["held"].id, course_id=course.id, score=100, source="import",
                               completed_on=expires - timedelta(days=365), expires_on=expires))
        session.add(StandingRule(unit_id=islands[code]["unit"].id, course_id=course.id, days_to_complete=30))
    session.commit()
    # Due on Honolulu's day: overdue in Guam, where that day is over; still assigned in Honolulu.
    assign(session, course, islands, "late", HI_DAY)
    at(GUAM_MORNING)
    days = local_days(session)
    daily_sweep(session, days, Schedule())
    session.commit()
    assigned = {(user.email, a.reason): a.due_on for a, user in session.execute(
        select(Assignment, User).join(User, User.id == Assignment.user_id)
        .where(Assignment.reason.in_(["annual_renewal", "standing_rule"])))}
    assert assigned == {("held@gu.test", "annual_renewal"): expires,
                        ("newbie@gu.test", "standing_rule"): GU_DAY + timedelta(days=30),
                        ("newbie@hi.test", "standing_rule"): HI_DAY + timedelta(days=30)}

    # The dashboard counts each agency's statuses on its own day, at the moment it is asked.
    admin = make_user(session, "root@x.test", role="admin")
    agencies = list(session.scalars(select(Agency).order_by(Agency.code)))

    def statuses() -> tuple[dict[str, date], dict[tuple[str, str], int]]:
        """The day of each agency, and its pairs by status, as the dashboard counts them now."""
        scope = scope_of(session, admin, agencies)
        days = {code: day.on for day in scope.days for _, code, _ in day.agencies}
        return days, {(c.agency, c.status): c.pairs for c in status_counts(session, scope)}

    assert statuses() == ({"GU": GU_DAY, "HI": HI_DAY}, {
        ("GU", "current"): 1, ("GU", "assigned"): 1, ("GU", "overdue"): 1, ("HI", "current"): 1, ("HI", "assigned"): 2})
    figures = dashboard(session, scope_of(session, admin, agencies))
    assert f"{GU_DAY.isoformat()} for GU" in figures.as_of and f"{HI_DAY.isoformat()} for HI" in figures.as_of
    assert dashboard(session, scope_of(session, admin, agencies, islands["HI"]["agency"])).as_of == HI_DAY.isoformat()

    # Honolulu's 27th: its late officer is overdue now; Guam is on its 28th, with nothing changed.
    at(HONOLULU_MORNING)
    assert statuses() == ({"GU": GU_DAY + timedelta(days=1), "HI": GU_DAY}, {
        ("GU", "current"): 1, ("GU", "assigned"): 1, ("GU", "overdue"): 1,
        ("HI", "current"): 1, ("HI", "assigned"): 1, ("HI", "overdue"): 1})


def test_commands_say_which_day_they_used(runner, session, islands, course, at, tmp_path):
    at(GUAM_MORNING)
    server_day = server_today(GUAM_MORNING)
    out = tmp_path / "roster.csv"
    exported = runner.invoke(args=["export", "roster", "--out", str(out)])
    assert exported.exit_code == 0, exported.output
    assert f"as of {server_day.isoformat()} (the server's day)" in exported.output
    as_of = runner.invoke(args=["export", "roster", "--out", str(out), "--as-of", "2026-06-30"])
    assert "as of 2026-06-30 (given)" in as_of.output

    past = (server_day - timedelta(days=1)).isoformat()
    refused = runner.invoke(args=["assign", "--course", "TEST-BASICS", "--agency", "GU", "--due", past])
    assert refused.exit_code == 1
    assert f"is in the past (today is {server_day.isoformat()}, the server's day)" in refused.output
    done = runner.invoke(args=["assign", "--course", "TEST-BASICS", "--agency", "GU",
                               "--due", (server_day + timedelta(days=40)).isoformat()])
    assert f"certifications checked as of {server_day.isoformat()} (the server's day)" in done.output

    completions = tmp_path / "completions.csv"
    completions.write_text("employee_id,course_code,completed_on,score\nHI-held,TEST-BASICS,2026-01-05,90\n",
                           encoding="utf-8")
    imported = runner.invoke(args=["completions", "import", str(completions)])
    assert imported.exit_code == 0, imported.output
    assert f"Completion dates checked against {server_day.isoformat()} (the server's day)." in imported.output

    session.add(StandingRule(unit_id=islands["HI"]["unit"].id, course_id=course.id, days_to_complete=30))
    session.commit()
    roster = tmp_path / "roster-in.csv"
    roster.write_text("employee_id,first_name,last_name,email,agency,unit,supervisor_employee_id\n"
                      "HI-NEW,Kai,Ono,kai@hi.test,HI,HI-U1,\n", encoding="utf-8")
    loaded = runner.invoke(args=["roster", "import", str(roster)])
    assert loaded.exit_code == 0, loaded.output
    # Kai, and Honolulu's newbie and late officers, who neither hold the course nor have it open.
    assert "1 added" in loaded.output and "3 assigned by standing rules" in loaded.output
    assert "Standing rules applied as of " in loaded.output and "2026-11-26 (Pacific/Honolulu: HI" in loaded.output
    newcomer = session.scalar(select(User).where(User.email == "kai@hi.test"))
    assert session.scalar(select(Assignment.due_on).where(Assignment.user_id == newcomer.id)) == (
        HI_DAY + timedelta(days=30))


def test_demo_seed_says_which_day_it_seeded_for(runner, at):
    at(GUAM_MORNING)
    runner.invoke(args=["courses", "sync"])
    result = runner.invoke(args=["demo", "seed", "--officers", "5"])
    assert result.exit_code == 0, result.output
    assert f"as of {server_today(GUAM_MORNING).isoformat()} (the server's day)" in result.output


def _reads_the_clock(node: ast.AST) -> str | None:
    """What, in a piece of source, would make a "today" of its own."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        name, owner = node.func.attr, node.func.value
        if name == "today":
            return "calls .today()"
        if name == "date" and not node.args and not node.keywords:
            return "turns an instant into a date with .date()"
        if name == "astimezone":
            return "converts an instant to a time zone with .astimezone()"
        if name in ("localtime", "gmtime") and isinstance(owner, ast.Name) and owner.id == "time":
            return f"reads time.{name}()"
    if isinstance(node, ast.Name) and node.id == "ZoneInfo":
        return "uses ZoneInfo"
    if isinstance(node, ast.ImportFrom) and node.module == "zoneinfo" and any(
            alias.name != "available_timezones" for alias in node.names):
        return "imports from zoneinfo"
    return None


def test_only_the_clock_module_knows_what_day_it_is():
    found = []
    for module in sorted((ROOT / "training").rglob("*.py")):
        if module == ROOT / "training" / "clock.py":
            continue
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            if (why := _reads_the_clock(node)) is not None:
                found.append(f"{module.relative_to(ROOT)}:{node.lineno}: {why}")
    assert found == [], "ask training/clock.py for the day instead:\n" + "\n".join(found)


def test_the_source_check_would_catch_the_old_ways():
    for source in ("date.today()", "datetime.today()", "datetime.now(UTC).date()", "utcnow().date()",
                   "now.astimezone(tz)", "ZoneInfo('Pacific/Guam')", "from zoneinfo import ZoneInfo",
                   "time.localtime()"):
        assert any(_reads_the_clock(node) for node in ast.walk(ast.parse(source))), source
    assert not any(_reads_the_clock(node) for node in ast.walk(ast.parse(
        "from zoneinfo import available_timezones\nserver_today()\ndatetime.now(UTC).strftime('%H')")))
