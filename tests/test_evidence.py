"""The evidence packet per officer: what it holds, that it checks out, that it is the same every time, and who
may make one, from the officer's page and from the command line."""
from __future__ import annotations

import hashlib
import io
import json
import re
import subprocess
import sys
import zipfile
from datetime import timedelta

import pypdf
import pytest
from sqlalchemy import select

from tests.support.factories import certify, make_org, make_user
from tests.support.pages import answer_form, latest_attempt, login, open_all_lessons
from training.assignments.manage import manage_assignments
from training.assignments.service import assign_course, extend_assignment, grant_exemption
from training.audit.models import AuditEvent
from training.catalog.models import Question
from training.clock import today_for
from training.evidence.service import build_packet, record_packet
from training.people.models import User
from training.records.models import Assignment, Attempt
from training.records.proof import revoke

BASE = "https://rollcall.example.gov"


def unpack(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def readme_hash(event: dict) -> str:
    """The hash of an audit event recomputed exactly as the packet's README.txt says; None when its details do not
    match their digest."""
    def text(value):
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    if hashlib.sha256(text(event["details"]).encode("utf-8")).hexdigest() != event["details_sha256"]:
        return None
    canonical = text({k: event[k] for k in ("id", "at", "actor_id", "action", "target", "details_sha256")})
    return hashlib.sha256((event["prev_hash"] + canonical).encode("utf-8")).hexdigest()


def pdf_text(data: bytes) -> str:
    return " ".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages)


@pytest.fixture
def staff(session, officer):
    people = {role: make_user(session, f"{role}@agency.test", role=role, agency=officer.agency, first=role.title(),
                              last="Staff", employee_id=f"S-{role}")
              for role in ("coordinator", "compliance")}
    people["admin"] = make_user(session, "admin@agency.test", role="admin", first="Ada", last="Admin",
                                employee_id="S-admin")
    session.commit()
    return people


@pytest.fixture
def history(client, session, officer, course, staff):
    """An officer with a whole year's worth of record: assigned, extended, a failed and a passed quiz, signed,
    a second assignment withdrawn and an exemption, each by a coordinator with a reason."""
    coordinator = staff["coordinator"]
    today = today_for(officer)
    just_officer = select(User.id).where(User.id == officer.id)
    assign_course(session, course, just_officer, today + timedelta(days=20), today, reason="individual",
                  actor_id=coordinator.id)
    first = session.scalar(select(Assignment).where(Assignment.user_id == officer.id))
    extend_assignment(session, first, today + timedelta(days=40), "Court duty all week", actor_id=coordinator.id,
                      today=today)
    session.commit()
    login(client, officer.email)
    open_all_lessons(client, "TEST-BASICS")
    client.post("/courses/TEST-BASICS/quiz")
    failed = latest_attempt(session, officer)
    client.post(f"/attempts/{failed.id}", data=answer_form(session, failed, correct=2))
    client.post("/courses/TEST-BASICS/quiz")
    passed = latest_attempt(session, officer)
    client.post(f"/attempts/{passed.id}", data=answer_form(session, passed, correct=9))
    client.post(f"/attempts/{passed.id}/result", data={"full_name": "Dana Cruz"})
    client.get("/logout")
    session.add(Assignment(user_id=officer.id, course_id=course.id, due_on=today + timedelta(days=90),
                           reason="individual", assigned_by_id=coordinator.id))
    session.flush()
    manage_assignments(session, "withdraw", course, just_officer, reason="Moved to a desk post", today=today,
                       actor_id=coordinator.id)
    grant_exemption(session, officer.id, course.id, today + timedelta(days=100), today + timedelta(days=120),
                    "Medical leave, note on file", actor_id=coordinator.id, max_days=90)
    session.commit()
    # The quiz was taken through the site, in sessions of its own: read what it wrote afresh.
    session.expire_all()
    return {"failed": failed.id, "passed": passed.id}


def test_the_packet_holds_every_record_and_each_file_checks_out(app, session, officer, history, tmp_path):
    built = build_packet(session, officer, None, BASE)
    files = unpack(built.data)

    manifest = json.loads(files["manifest.json"])
    listed = {f["path"]: f for f in manifest["files"]}
    assert sorted(files) == sorted([*listed, "manifest.json"]) and list(listed) == sorted(listed)
    for path, entry in listed.items():
        assert hashlib.sha256(files[path]).hexdigest() == entry["sha256"] and len(files[path]) == entry["size"]
    assert manifest["as_of"] == today_for(officer).isoformat() and manifest["employee_id"] == officer.employee_id

    # Attempts: the questions in the order drawn, their choices in the order shown, the answers given.
    attempts = json.loads(files["attempts.json"])["attempts"]
    assert [a["id"] for a in attempts] == [history["failed"], history["passed"]]
    for shown in attempts:
        stored = session.get(Attempt, shown["id"])
        assert [q["question_id"] for q in shown["questions"]] == [i["question_id"] for i in stored.items]
        for q, item in zip(shown["questions"], stored.items):
            question = session.get(Question, item["question_id"])
            assert [c["text"] for c in q["choices_shown"]] == [question.choices[i] for i in item["order"]]
            picked = stored.answers[str(question.id)]
            assert q["answer_given"] == "ABCDEFGH"[item["order"].index(picked)]
            assert q["right"] == (picked == question.answer_index)
    failed, passed = attempts
    assert (failed["score"], failed["right"], failed["state"]) == (20, 2, "not passed")
    assert (passed["score"], passed["right"], passed["state"]) == (90, 9, "passed")
    assert failed["started_at"] <= failed["submitted_at"] < passed["started_at"]
    text = files["attempts.txt"].decode()
    first = failed["questions"][0]
    assert first["stem"] in text and f"Answer given: {first['answer_given']}" in text
    assert text.count("<- answer given") == 20 and "Score 20% (2 of 10 right): not passed" in text

    signed = json.loads(files["acknowledgements.json"])["acknowledgements"]
    assert [(a["course_code"], a["version"], a["kind"], a["name_signed"]) for a in signed] == \
        [("TEST-BASICS", 1, "module", "Dana Cruz")]
    assert re.fullmatch(r"[0-9a-f]{64}", signed[0]["version_content_sha256"])

    record = json.loads(files["assignments.json"])
    done, withdrawn = record["assignments"]
    assert done["state"] == "completed" and withdrawn["state"] == "withdrawn"
    extended = next(h for h in done["history"] if h["what"] == "Extended")
    assert (extended["reason"], extended["by"]) == ("Court duty all week", "Coordinator Staff (coordinator)")
    assert [h["what"] for h in withdrawn["history"]] == ["Assigned", "Withdrawn"]
    assert withdrawn["history"][1]["reason"] == "Moved to a desk post"
    assert [(e["reason"], e["granted_by"]) for e in record["exemptions"]] == \
        [("Medical leave, note on file", "Coordinator Staff (coordinator)")]

    # Audit events: every one about the officer, each hash recomputed by the README's method and the trail's own.
    events = json.loads(files["audit-events.json"])["events"]
    stored = {e.id: e for e in session.scalars(select(AuditEvent).where(AuditEvent.subject_id == officer.id))}
    assert [e["id"] for e in events] == sorted(stored)
    assert {"attempt.submitted", "exemption.granted", "assignment.extended", "completion.recorded"} <= \
        {e["action"] for e in events}
    for event in events:
        assert readme_hash(event) == event["hash"] == stored[event["id"]].hash
    tampered = {**events[0], "details": {**events[0]["details"], "reason": "changed"}}
    assert readme_hash(tampered) != events[0]["hash"]
    readme = files["README.txt"].decode()
    assert 'sort_keys=True, separators=(",", ":")' in readme and "evidence.created" in readme

    [certificate] = [name for name in files if name.startswith("certificates/")]
    completions = json.loads(files["completions.json"])["completions"]
    assert completions[0]["certificate"] == certificate and completions[0]["state"] == "valid"
    assert completions[0]["verification_code"] in pdf_text(files[certificate])
    transcript = pdf_text(files["transcript.pdf"])
    assert all(words in transcript for words in ("Training transcript", "Dana Cruz", "Court duty all week",
                                                 "Moved to a desk post", "Medical leave", "not passed"))

    # The packet's own script agrees, and finds a changed file.
    folder = tmp_path / "packet"
    for name, data in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    check = subprocess.run([sys.executable, "check_packet.py"], cwd=folder, capture_output=True, text=True)
    assert check.returncode == 0 and "no problems" in check.stdout, check.stdout
    (folder / "attempts.txt").write_text(text.replace("not passed", "passed"))
    check = subprocess.run([sys.executable, "check_packet.py"], cwd=folder, capture_output=True, text=True)
    assert check.returncode == 1 and "attempts.txt: its SHA-256 or size differs" in check.stdout

    # Details changed in the file no longer match their digest; details the retention purge redacted are counted.
    listed = json.loads(files["audit-events.json"])
    listed["events"][0]["details"] = {**listed["events"][0]["details"], "reason": "changed"}
    listed["events"][1]["details"] = {"redacted": True}
    (folder / "audit-events.json").write_text(json.dumps(listed), encoding="utf-8")
    check = subprocess.run([sys.executable, "check_packet.py"], cwd=folder, capture_output=True, text=True)
    assert f"audit event {listed['events'][0]['id']}: its details do not match their digest" in check.stdout
    assert f"audit event {listed['events'][1]['id']}" not in check.stdout
    assert "(1 with personal data removed)" in check.stdout


def test_the_same_day_gives_the_same_bytes_and_later_records_stay_out(session, officer, course, history, staff):
    old = certify(session, officer, course, days_ago=400, source="import")
    old.created_at -= timedelta(days=3)
    session.commit()
    today = today_for(officer)
    first = build_packet(session, officer, today, BASE)
    record_packet(session, first, actor_id=staff["compliance"].id, via="web")
    session.commit()
    again = build_packet(session, officer, None, BASE)
    assert again.data == first.data and again.sha256 == first.sha256
    with zipfile.ZipFile(io.BytesIO(first.data)) as archive:
        infos = archive.infolist()
    assert [i.filename for i in infos] == sorted(i.filename for i in infos)
    assert {i.date_time for i in infos} == {(today.year, today.month, today.day, 0, 0, 0)}
    assert b"/CreationDate (D:" + today.strftime("%Y%m%d").encode() in unpack(first.data)["transcript.pdf"]

    # Yesterday's packet: only the import recorded three days ago; today's quiz, signature and events are absent,
    # and the revocation made today does not show.
    revoke(session, old, staff["compliance"], "Entered for the wrong officer")
    session.commit()
    yesterday = build_packet(session, officer, today - timedelta(days=1), BASE)
    files = unpack(yesterday.data)
    completions = json.loads(files["completions.json"])["completions"]
    assert [(c["id"], c["state"], c["revoked_on"]) for c in completions] == [(old.id, "expired", None)]
    assert json.loads(files["attempts.json"])["attempts"] == []
    assert json.loads(files["acknowledgements.json"])["acknowledgements"] == []
    assert json.loads(files["assignments.json"])["assignments"] == []
    assert json.loads(files["audit-events.json"])["events"] == []
    assert yesterday.data == build_packet(session, officer, today - timedelta(days=1), BASE).data
    # Today's packet now shows the revocation, and no certificate for it.
    now = json.loads(unpack(build_packet(session, officer, today, BASE).data)["completions.json"])["completions"]
    assert [(c["state"], c["certificate"]) for c in now if c["id"] == old.id] == [("revoked", None)]


def test_an_extension_made_after_the_day_leaves_that_days_due_date(session, officer, course, staff):
    today = today_for(officer)
    assign_course(session, course, select(User.id).where(User.id == officer.id), today + timedelta(days=10), today,
                  reason="individual", actor_id=staff["coordinator"].id)
    assignment = session.scalar(select(Assignment).where(Assignment.user_id == officer.id))
    assignment.created_at -= timedelta(days=2)
    session.commit()
    extend_assignment(session, assignment, today + timedelta(days=30), "Training academy week",
                      actor_id=staff["coordinator"].id, today=today)
    session.commit()
    then = json.loads(unpack(build_packet(session, officer, today - timedelta(days=1), BASE).data)
                      ["assignments.json"])["assignments"]
    assert [(a["state"], a["due_on"], len(a["history"])) for a in then] == \
        [("open", (today + timedelta(days=10)).isoformat(), 1)]
    now = json.loads(unpack(build_packet(session, officer, today, BASE).data)["assignments.json"])["assignments"]
    assert now[0]["due_on"] == (today + timedelta(days=30)).isoformat()
    assert now[0]["history"][1]["reason"] == "Training academy week"


def test_people_outside_the_makers_scope_are_named_by_role(session, officer, course, staff):
    """A compliance user limited to the officer's unit does not learn who, above it, extended the assignment; the
    operator at the command line does."""
    today = today_for(officer)
    assign_course(session, course, select(User.id).where(User.id == officer.id), today + timedelta(days=10), today,
                  reason="individual", actor_id=staff["coordinator"].id)
    assignment = session.scalar(select(Assignment).where(Assignment.user_id == officer.id))
    extend_assignment(session, assignment, today + timedelta(days=30), "Training academy week",
                      actor_id=staff["coordinator"].id, today=today)
    unit_compliance = make_user(session, "unit-compliance@agency.test", role="compliance", agency=officer.agency,
                                scope_unit_id=officer.unit_id, employee_id="S-unit")
    session.commit()

    def extended_by(viewer) -> tuple[str, str]:
        files = unpack(build_packet(session, officer, today, BASE, viewer).data)
        story = json.loads(files["assignments.json"])["assignments"][0]["history"]
        sentences = " ".join(e["sentence"] for e in json.loads(files["audit-events.json"])["events"])
        return next(h["by"] for h in story if h["what"] == "Extended"), sentences

    by, sentences = extended_by(unit_compliance)
    assert by == "coordinator outside your scope" and "Coordinator Staff" not in sentences
    by, sentences = extended_by(None)
    assert by == "Coordinator Staff (coordinator)" and "Coordinator Staff extended" in sentences


@pytest.mark.parametrize("role, agency_code, status", [
    ("compliance", "AGY", 200), ("admin", None, 200), ("coordinator", "AGY", 403), ("officer", "AGY", 403),
    ("compliance", "OTH", 404),
])
def test_who_may_download_a_packet(client, session, officer, course, role, agency_code, status):
    certify(session, officer, course, days_ago=30)
    agency = officer.agency if agency_code == "AGY" else make_org(session, agency_code)[0] if agency_code else None
    viewer = make_user(session, "viewer@elsewhere.test", role=role, agency=agency, employee_id="V-1")
    session.commit()
    login(client, viewer.email)
    page = client.get(f"/officers/{officer.id}").get_data(as_text=True)
    assert ("Download the evidence packet" in page) == (status == 200)
    response = client.post(f"/officers/{officer.id}/evidence", data={"as_of": ""})
    assert response.status_code == status
    events = session.scalars(select(AuditEvent).where(AuditEvent.action == "evidence.created")).all()
    if status != 200:
        assert "PK" not in response.get_data(as_text=True)[:2] and events == []
        return
    assert response.mimetype == "application/zip"
    assert f'filename="evidence-{officer.employee_id}-{today_for(officer).isoformat()}.zip"' in \
        response.headers["Content-Disposition"]
    [event] = events
    assert (event.actor_id, event.subject_id) == (viewer.id, officer.id)
    assert event.details["sha256"] == hashlib.sha256(response.data).hexdigest()
    assert event.details["as_of"] == today_for(officer).isoformat()
    # A second download the same day is the same file: the first one's event is not part of it.
    assert client.post(f"/officers/{officer.id}/evidence", data={"as_of": ""}).data == response.data


def test_the_form_refuses_a_future_day_and_ones_own_records(client, session, officer, staff):
    login(client, staff["compliance"].email)
    tomorrow = (today_for(officer) + timedelta(days=1)).isoformat()
    response = client.post(f"/officers/{officer.id}/evidence", data={"as_of": tomorrow})
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "is in the future" in page and 'href="#as_of"' in page
    response = client.post(f"/officers/{officer.id}/evidence", data={"as_of": "31/31/2026"})
    assert response.status_code == 422 and "is not a date" in response.get_data(as_text=True)
    own = client.post(f"/officers/{staff['compliance'].id}/evidence", data={"as_of": ""})
    assert own.status_code == 403 and "for yourself" in own.get_data(as_text=True)
    assert "Download the evidence packet" not in client.get(f"/officers/{staff['compliance'].id}").get_data(
        as_text=True)
    actions = session.scalars(select(AuditEvent.action).where(AuditEvent.action.in_(
        ["evidence.created", "access.refused"]))).all()
    assert actions == ["access.refused"]
    past = (today_for(officer) - timedelta(days=3)).isoformat()
    response = client.post(f"/officers/{officer.id}/evidence", data={"as_of": past})
    assert response.status_code == 200 and json.loads(unpack(response.data)["manifest.json"])["as_of"] == past


def test_the_command_writes_the_packet_and_records_it(runner, session, officer, history, tmp_path):
    tmp_path = tmp_path / "out"
    tmp_path.mkdir()
    out = tmp_path / "dana.zip"
    result = runner.invoke(args=["evidence", "--officer", officer.employee_id, "--out", str(out)])
    assert result.exit_code == 0, result.output
    data = out.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    assert f"SHA-256 {digest}" in result.output and "Dana Cruz" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dana.zip"]
    [event] = session.scalars(select(AuditEvent).where(AuditEvent.action == "evidence.created")).all()
    assert (event.actor_id, event.subject_id, event.details["sha256"], event.details["via"]) == \
        (None, officer.id, digest, "cli")
    # The same day again: the same bytes, whatever the page made in between.
    again = tmp_path / "again.zip"
    assert runner.invoke(args=["evidence", "--officer", officer.employee_id, "--out", str(again),
                               "--as-of", today_for(officer).isoformat()]).exit_code == 0
    assert again.read_bytes() == data


@pytest.mark.parametrize("args, message", [
    (["--officer", "NOBODY-1"], "no officer has the employee id 'NOBODY-1'"),
    (["--as-of", "2999-12-31"], "2999-12-31 is in the future"),
    (["--as-of", "yesterday"], "'yesterday' is not a date like 2026-09-30"),
    (["--out", "{tmp}/missing/dana.zip"], "missing does not exist"),
    (["--out", "{tmp}"], "is a folder"),
    (["--out", "/sys/dana.zip"], "cannot write in /sys: Permission denied"),
])
def test_the_command_refuses_with_a_clear_message_and_writes_nothing(runner, session, officer, tmp_path, args,
                                                                     message):
    tmp_path = tmp_path / "out"
    tmp_path.mkdir()
    given = {"--officer": officer.employee_id, "--out": str(tmp_path / "dana.zip")}
    for flag, value in zip(args[::2], args[1::2]):
        given[flag] = value.replace("{tmp}", str(tmp_path))
    result = runner.invoke(args=["evidence", *[part for pair in given.items() for part in pair]])
    assert result.exit_code != 0 and message in result.output
    assert list(tmp_path.iterdir()) == []
    assert session.scalars(select(AuditEvent).where(AuditEvent.action == "evidence.created")).all() == []
