"""Each role's home page: what it counts, within whose scope, and the lists its figures lead to."""
from __future__ import annotations

import io
import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from tests.support.factories import add_unit, certify, make_org, make_user
from tests.support.pages import login
from tests.support.statements import count_statements
from training.auth.models import ThrottleRefusal
from training.clock import today_for
from training.db import utcnow
from training.home.figures import officers_by_unit_and_status
from training.jobs import count_tallies, run_daily, run_delivery
from training.people.models import User
from training.records.models import Assignment, Exemption, ExtensionRequest
from training.records.status import course_states
from training.reminders.models import JobRun, OutboxMessage


def words(page: str) -> str:
    """The page's text, tags removed and spaces collapsed: what a reader reads."""
    return re.sub(r" ([,.;:)])", r"\1", " ".join(re.sub(r"<[^>]+>", " ", page).split()))


def hrefs(page: str) -> set[str]:
    return {href.replace("&amp;", "&") for href in re.findall(r'href="([^"]+)"', page)}


@pytest.fixture
def world(session, course):
    """Agency AGY with two sibling units and a coordinator scoped to the first; agency BBB elsewhere."""
    agency, u1 = make_org(session, "AGY")
    u2 = add_unit(session, agency, "AGY-U2")
    other, elsewhere = make_org(session, "BBB")
    coord = make_user(session, "coord@agy.test", role="coordinator", agency=agency, unit=u1, first="Casey",
                      last="Coord", scope_unit_id=u1.id)
    wide = make_user(session, "wide@agy.test", role="coordinator", agency=agency, first="Wade", last="Wide")
    overdue = make_user(session, "ovie@agy.test", agency=agency, unit=u1, first="Ovie", last="Late")
    expiring = make_user(session, "eve@agy.test", agency=agency, unit=u1, first="Eve", last="Soon")
    newcomer = make_user(session, "nora@agy.test", agency=agency, unit=u1, first="Nora", last="New")
    outside = make_user(session, "otto@agy.test", agency=agency, unit=u2, first="Otto", last="Yonder")
    far = make_user(session, "bo@bbb.test", agency=other, unit=elsewhere, first="Bo", last="Faraway")
    today = today_for(overdue)
    for person in (overdue, outside, far):
        session.add(Assignment(user_id=person.id, course_id=course.id, due_on=today - timedelta(days=3),
                               reason="individual"))
    session.commit()
    certify(session, expiring, course, days_ago=350)     # valid for 12 months: expires within 30 days
    return {"agency": agency, "u1": u1, "u2": u2, "coord": coord, "wide": wide, "overdue": overdue,
            "expiring": expiring, "newcomer": newcomer, "outside": outside, "far": far, "today": today,
            "course": course}


def home(client, email: str) -> str:
    login(client, email)
    response = client.get("/")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_a_coordinator_sees_what_needs_attention_in_their_unit_only(client, world):
    page = home(client, "coord@agy.test")
    text = words(page)
    assert "What needs attention in Unit one (AGY-U1) and its sub-units" in text
    assert "1 officer overdue" in text and "1 officer with a module expiring within 30 days" in text
    # Ovie, Eve and Nora have never signed in; the coordinator has.
    assert "3 accounts have never signed in" in text
    assert "1 newcomer with nothing assigned" in text and "New, Nora" in text
    # Otto (the sibling unit) and Bo (another agency) are out of scope: neither their names nor their unit.
    assert "Yonder" not in text and "Faraway" not in text and "AGY-U2" not in text
    links = hrefs(page)
    assert "/units/AGY-U1?status=overdue" in links and "/units/AGY-U1?status=expiring" in links
    assert "/units/AGY-U1?sign_in=1" in links
    assert f"/assign?target=officer&unit=AGY-U1&officer={world['newcomer'].employee_id}" in links
    assert "/training" in links     # their own training


def test_the_figures_lead_to_lists_of_exactly_those_officers(client, world):
    page = home(client, "coord@agy.test")
    overdue = words(client.get("/units/AGY-U1?status=overdue").get_data(as_text=True))
    assert "Late, Ovie" in overdue and "Soon, Eve" not in overdue and "New, Nora" not in overdue
    expiring = words(client.get("/units/AGY-U1?status=expiring").get_data(as_text=True))
    assert "Soon, Eve" in expiring and "Late, Ovie" not in expiring
    never = words(client.get("/units/AGY-U1?sign_in=1").get_data(as_text=True))
    assert all(name in never for name in ("Late, Ovie", "Soon, Eve", "New, Nora"))
    assign = client.get(f"/assign?target=officer&unit=AGY-U1&officer={world['newcomer'].employee_id}")
    assert assign.status_code == 200
    assert f'<option selected value="{world["newcomer"].employee_id}">' in assign.get_data(as_text=True), \
        "the newcomer is chosen on the assign page"
    assert "Assign modules" in page


def test_an_agency_coordinator_sees_each_unit_with_links_to_its_lists(client, world):
    page = home(client, "wide@agy.test")
    text = words(page)
    assert "What needs attention in Agency AGY (AGY)" in text
    assert "2 officers overdue" in text
    rows = re.findall(r'<th scope="row" data-label="Unit"><a class="usa-link" href="/units/([^"]+)">', page)
    assert rows == ["AGY-U1", "AGY-U2"]     # the more overdue first, then by name
    assert "/units/AGY-U2?status=overdue" in hrefs(page)
    assert "Faraway" not in text


def test_requests_and_undelivered_mail_are_counted_in_scope(client, session, world):
    assignment = session.scalar(select(Assignment).where(Assignment.user_id == world["overdue"].id))
    session.add(ExtensionRequest(assignment_id=assignment.id, user_id=world["overdue"].id,
                                 course_id=world["course"].id, reason="Court all week"))
    for n, person in enumerate((world["overdue"], world["outside"])):
        session.add(OutboxMessage(key=f"k{n}", kind="overdue-1", user_id=person.id, decided_on=world["today"],
                                  status="failed", last_error="550 mailbox unavailable"))
    session.commit()
    page = home(client, "coord@agy.test")
    text = words(page)
    assert "1 request for an extension waiting for your decision" in text and "/requests" in hrefs(page)
    assert "1 message could not be delivered" in text and "Late, Ovie, queued" in text
    assert "550 mailbox unavailable" in text and "Yonder" not in text
    assert "Late, Ovie" in words(client.get("/requests").get_data(as_text=True))


def test_an_empty_scope_says_nothing_needs_doing(client, session, world):
    empty = add_unit(session, world["agency"], "AGY-EMPTY")
    make_user(session, "calm@agy.test", role="coordinator", agency=world["agency"], unit=empty,
              scope_unit_id=empty.id)
    session.commit()
    text = words(home(client, "calm@agy.test"))
    for said in ("Nothing overdue", "Nothing expiring within 30 days", "No requests for an extension waiting",
                 "Everyone has signed in", "No newcomers waiting for an assignment", "All mail delivered",
                 "Your own training: nothing is assigned to you"):
        assert said in text


@pytest.mark.parametrize("email", ["wide@agy.test", "coord@agy.test", "audit@agy.test", "admin@agy.test",
                                   "boss@agy.test"])
def test_each_home_costs_the_same_statements_for_more_officers(app, client, session, connection, world, email):
    make_user(session, "audit@agy.test", role="compliance", agency=world["agency"], employee_id="AUDIT")
    make_user(session, "admin@agy.test", role="admin", employee_id="ADMIN")
    boss = make_user(session, "boss@agy.test", agency=world["agency"], unit=world["u1"], employee_id="BOSS")
    session.commit()
    login(client, email)
    client.get("/reports/roster.csv").get_data()     # an export to count changes since, for compliance staff

    def grow(n: int) -> None:
        for i in range(n):
            person = make_user(session, f"extra{n}-{i}@agy.test", agency=world["agency"],
                               unit=world["u1" if i % 2 else "u2"], employee_id=f"X{n}-{i}", supervisor_id=boss.id)
            session.add(Assignment(user_id=person.id, course_id=world["course"].id,
                                   due_on=world["today"] - timedelta(days=i % 3), reason="individual"))
            session.add(OutboxMessage(key=f"x{n}-{i}", kind="overdue-1", user_id=person.id,
                                      decided_on=world["today"], status="failed"))
        session.commit()

    grow(2)
    before = count_statements(connection, lambda: client.get("/"))
    grow(40)
    response = []
    assert count_statements(connection, lambda: response.append(client.get("/"))) == before
    assert response[0].status_code == 200


def test_officers_keep_my_training_and_supervisors_see_their_team(client, session, world):
    boss = make_user(session, "boss@agy.test", agency=world["agency"], unit=world["u1"], first="Sam",
                     last="Boss", employee_id="BOSS")
    world["overdue"].supervisor_id = boss.id
    world["expiring"].supervisor_id = boss.id
    session.commit()
    page = home(client, "boss@agy.test")
    text = words(page)
    assert "<h1>My training</h1>" in page and "Nothing is assigned to you" in text
    assert "Your team" in text and "2 officers report to you" in text
    assert "1 officer overdue" in text and "1 officer with a module expiring within 30 days" in text
    team = words(client.get("/team?status=overdue").get_data(as_text=True))
    assert "Late, Ovie" in team and "Soon, Eve" not in team
    assert client.get("/training").status_code == 200
    # Another supervisor's home, the same day, counts their own team only.
    other = make_user(session, "chief@agy.test", agency=world["agency"], unit=world["u2"], first="Cy",
                      last="Chief", employee_id="CHIEF")
    world["newcomer"].supervisor_id = other.id
    session.commit()
    client.post("/logout")
    text = words(home(client, "chief@agy.test"))
    assert "1 officer reports to you" in text and "Nobody overdue" in text and "Nothing expiring" in text


def test_an_officer_without_reports_sees_no_team(client, world):
    page = home(client, "ovie@agy.test")
    assert "<h1>My training</h1>" in page and "Your team" not in page


def test_whether_someone_supervises_is_read_with_their_session(client, session, connection, world):
    """The menu and the home ask whether anyone reports to the person signed in; the statement that checks the
    session answers it, so an officer's home costs no statement of its own for it, and one who gains a report
    sees their team on the next page."""
    home(client, "ovie@agy.test")
    served = []
    plain = count_statements(connection, lambda: served.append(client.get("/").get_data(as_text=True)))
    assert "Your team" not in served[0] and 'href="/team"' not in served[0]
    assert plain <= 6 + 2           # and the test's SAVEPOINT and RELEASE around each request
    world["expiring"].supervisor_id = world["overdue"].id
    session.commit()
    served.clear()
    boss = count_statements(connection, lambda: served.append(client.get("/").get_data(as_text=True)))
    assert "1 officer reports to you" in words(served[0]) and 'href="/team"' in served[0]
    assert boss == plain + 2        # the team: how many, and how many by status


def test_compliance_home_shows_the_rate_changes_since_the_last_export_and_the_exports(client, session, world):
    make_user(session, "audit@agy.test", role="compliance", agency=world["agency"], first="Ada", last="Audit")
    session.commit()
    text = words(home(client, "audit@agy.test"))
    # Eve holds hers; Ovie and Otto are overdue: 1 of 3 in agency AGY (Bo's agency is another).
    assert "33.3% of the required modules are held: 1 of 3 modules required of officers" in text
    assert "You have not exported a roster yet" in text and "You have not exported anything yet" in text

    export = client.get("/reports/roster.csv?status=overdue")
    assert export.get_data(as_text=True).count("\n") == 3     # the header and Ovie's and Otto's rows
    certify(session, world["overdue"], world["course"], days_ago=0)
    certify(session, world["far"], world["course"], days_ago=0)   # another agency: not counted
    page = client.get("/").get_data(as_text=True)
    text = words(page)
    assert "1 completion" in text and "No new assignments" in text and "No revoked certificates" in text
    assert "Roster CSV 2 status: overdue Download again" in text
    again = next(h for h in hrefs(page) if h.startswith("/reports/roster/download"))
    assert "status=overdue" in again and "format=csv" in again
    response = client.get(again)
    assert response.status_code == 200 and response.get_data(as_text=True).count("\n") == 2   # Ovie is done now
    completions = next(h for h in hrefs(page) if "action=completion.recorded" in h)
    assert f"date_from={world['today'].isoformat()}" in completions or "date_from=" in completions
    assert client.get(completions).status_code == 200


def test_admin_home_shows_jobs_outbox_content_and_accounts(app, client, session, world):
    admin = make_user(session, "admin@agy.test", role="admin", first="Avery", last="Admin")
    session.add(Assignment(user_id=admin.id, course_id=world["course"].id, due_on=world["today"] + timedelta(days=9),
                           reason="individual"))
    strict = make_user(session, "strict@agy.test", role="compliance", agency=world["agency"], first="Stella",
                       last="Strict", demo_account=False)
    session.add(ThrottleRefusal(key=f"account:{world['expiring'].email}", window_start=utcnow(), count=4,
                                last_at=utcnow()))
    session.add(OutboxMessage(key="k1", kind="overdue-1", user_id=world["overdue"].id, decided_on=world["today"],
                              status="failed", last_error="550 mailbox unavailable"))
    session.commit()
    text = words(home(client, "admin@agy.test"))
    assert text.count("Never run") == 4 and "Has not run for more than a day" not in text
    assert "Your own training: 1 module (1 assigned). Open My training" in text
    assert "1 message failed" in text
    assert "Test TEST-BASICS TEST-BASICS 1" in text
    assert "Staff without the second factor they need 1 account: Stella Strict, compliance" in text
    assert "Sign-ins refused in the last day 1 account: Eve Soon, officer" in text
    assert "Staff who have never signed in" in text and "Stella Strict" in text
    assert strict.id

    run_daily(app, world["today"])
    session.add(JobRun(job="delivery", via="scheduler", started_at=utcnow() - timedelta(days=2),
                       finished_at=utcnow() - timedelta(days=2), outcome="succeeded", counts={"sent": 1}))
    session.commit()
    page = client.get("/").get_data(as_text=True)
    text = words(page)
    assert re.search(r"Renewals, standing rules and reminders \d{4}-\d\d-\d\d \d\d:\d\d, by the scheduler "
                     r"Succeeded: 1 renewal assigned; 1 reminder 14 days before the due date; 1 reminder 30 days before the "
                     r"due date; 3 overdue reminders "
                     r"Compliance", text), text
    assert re.search(r"Mail delivery [\d-]+ [\d:]+, by the scheduler Has not run for more than a day\. "
                     r"Succeeded: 1 message sent", text), text
    assert text.count("Never run") == 2 and "/admin/outbox?status=failed" in hrefs(page)
    count_tallies(app)
    text = words(client.get("/").get_data(as_text=True))
    assert re.search(r"Compliance dashboard counts kept ahead [\d-]+ [\d:]+, by the scheduler Succeeded: \d", text), text
    assert text.count("Never run") == 1


def test_each_job_run_is_recorded_with_its_outcome(app, session, runner, world, unused_port, monkeypatch):
    run_daily(app, world["today"], via="command")
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=unused_port)
    session.add(OutboxMessage(key="k1", kind="overdue-1", user_id=world["overdue"].id, decided_on=world["today"]))
    session.commit()
    run_delivery(app, force=True)
    runs = {run.job: run for run in session.scalars(select(JobRun).order_by(JobRun.id))}
    daily, delivery = runs["daily"], runs["delivery"]
    assert daily.outcome == "succeeded" and daily.via == "command" and daily.finished_at >= daily.started_at
    assert daily.counts["overdue"] == 3      # reminders to Ovie, Otto and Bo, overdue
    assert delivery.outcome == "failed" and "could not be reached" in delivery.error

    def broken(*_args, **_kwargs):
        raise RuntimeError("the database went away")
    monkeypatch.setattr("training.jobs.daily_sweep", broken)
    with pytest.raises(RuntimeError):
        run_daily(app, date(2030, 1, 1))
    failed = session.scalar(select(JobRun).where(JobRun.job == "daily").order_by(JobRun.id.desc()).limit(1))
    assert failed.outcome == "failed" and failed.error == "RuntimeError: the database went away"


def test_reminders_run_records_its_runs_as_the_command(app, session, runner, world, smtp):
    result = runner.invoke(args=["reminders", "run", "--as-of", world["today"].isoformat()])
    assert result.exit_code == 0, result.output
    runs = session.execute(select(JobRun.job, JobRun.via, JobRun.outcome).order_by(JobRun.id)).all()
    assert runs == [("daily", "command", "succeeded"), ("delivery", "command", "succeeded")]


def test_a_refused_upload_waits_on_the_home_page_until_a_corrected_file_is_imported(app, client, session, world,
                                                                                     tmp_path):
    app.instance_path = str(tmp_path)   # the uploads folder of this test
    make_user(session, "coord@bbb.test", role="coordinator", agency=world["far"].agency, first="Bea",
              last="Elsewhere", employee_id="BEA")
    session.commit()
    login(client, "wide@agy.test")
    header = "employee_id,first_name,last_name,email,agency,unit,supervisor_employee_id\n"
    refused = upload(client, header + "E-1,Ana,Reyes,not-an-email,AGY,NOPE,\n", "new_hires.csv")
    assert refused.status_code == 422
    page = client.get("/").get_data(as_text=True)
    text = words(page)
    assert "1 upload was refused for problems in the file" in text
    assert re.search(r"Wade Wide uploaded new_hires\.csv on [\d-]+ [\d:]+ UTC: 2 problems\.", text), text
    assert "/imports/roster" in hrefs(page)
    other = app.test_client()
    assert "No refused uploads waiting for a corrected file" in words(home(other, "coord@bbb.test"))

    preview = upload(client, header + "E-1,Ana,Reyes,ana@agy.test,AGY,AGY-U1,\n", "new_hires.csv")
    token = preview.get_data(as_text=True).split('name="token" value="')[1].split('"')[0]
    done = client.post("/imports/roster/confirm", data={"token": token, "filename": "new_hires.csv"},
                       follow_redirects=True)
    assert "1 added" in done.get_data(as_text=True)
    assert "No refused uploads waiting for a corrected file" in words(client.get("/").get_data(as_text=True))



def upload(client, text: str, filename: str):
    """A roster file uploaded on the import page."""
    return client.post("/imports/roster", data={"file": (io.BytesIO(text.encode()), filename)},
                       content_type="multipart/form-data")


@pytest.mark.parametrize("tallied", [False, True], ids=["from the records", "from the tallies"])
def test_the_counts_agree_with_the_status_rule_for_every_officer(app, session, world, tallied):
    """The counts are those of `course_states`: a valid certification or an exemption outweighs an overdue
    assignment; a revoked one does not count. So they are when the tally job has counted them ahead, and when a
    write since has touched a cell, until the job counts it again."""
    course, today = world["course"], world["today"]
    held = make_user(session, "held@agy.test", agency=world["agency"], unit=world["u1"], employee_id="HELD")
    exempt = make_user(session, "exempt@agy.test", agency=world["agency"], unit=world["u2"], employee_id="EXEMPT")
    revoked = make_user(session, "revoked@agy.test", agency=world["agency"], unit=world["u2"], employee_id="REV")
    certify(session, held, course, days_ago=100)
    gone = certify(session, revoked, course, days_ago=340)        # would be expiring, but it is revoked
    gone.revoked_on, gone.revoked_at, gone.revoked_reason = today, utcnow(), "Recorded in error"
    for person in (held, exempt, revoked):
        session.add(Assignment(user_id=person.id, course_id=course.id, due_on=today - timedelta(days=1),
                               reason="individual"))
    session.add(Exemption(user_id=exempt.id, course_id=course.id, starts_on=today - timedelta(days=5),
                          ends_on=today + timedelta(days=5), reason="Medical leave"))
    unplaced = make_user(session, "unplaced@agy.test", agency=world["agency"], employee_id="NONE")
    session.add(Assignment(user_id=unplaced.id, course_id=course.id, due_on=today - timedelta(days=2),
                           reason="individual"))
    session.commit()

    def agree() -> dict:
        expected: dict = {}
        for state in course_states(session, today, User.agency_id == world["agency"].id):
            if state.status in ("overdue", "expiring"):
                expected.setdefault(state.unit_code, {}).setdefault(state.status, set()).add(state.user_id)
        counted = officers_by_unit_and_status(session, world["wide"], today)
        assert {unit: dict(c) for unit, c in counted.items()} == \
            {unit: {s: len(ids) for s, ids in by.items()} for unit, by in expected.items()}
        assert officers_by_unit_and_status(session, world["coord"], today) == {"AGY-U1": counted["AGY-U1"]}
        return counted

    if tallied:
        assert count_tallies(app)["agency days counted"] > 0
    counted = agree()
    assert counted["AGY-U1"] == {"overdue": 1, "expiring": 1} and counted["AGY-U2"] == {"overdue": 2}
    assert counted[None] == {"overdue": 1}
    # Ovie (AGY-U1) and the officer of no unit are certified: their cells show it before the job runs again.
    for person in (world["overdue"], unplaced):
        certify(session, person, course, days_ago=1)
    session.commit()
    counted = agree()
    assert counted["AGY-U1"] == {"expiring": 1} and None not in counted
    if tallied:
        count_tallies(app)
        assert agree() == counted


def test_an_agency_with_one_top_unit_leads_to_that_unit_s_lists(client, session, world):
    make_user(session, "coord@bbb.test", role="coordinator", agency=world["far"].agency, employee_id="BEA")
    session.commit()
    page = home(client, "coord@bbb.test")
    assert "1 officer overdue" in words(page) and "/units/BBB-U1?status=overdue" in hrefs(page)
    listed = words(client.get("/units/BBB-U1?status=overdue").get_data(as_text=True))
    assert "Faraway, Bo" in listed and "Late, Ovie" not in listed
