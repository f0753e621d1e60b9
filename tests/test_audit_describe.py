"""Audit events in plain words (training/audit/describe.py): every action the site records has a sentence,
people are named by name (by role outside the reader's scope), and a page's names cost a query per kind."""
from __future__ import annotations

import ast
import re
from datetime import date

import pytest
from sqlalchemy import select

from tests.support.factories import make_org, make_user
from tests.support.paths import ROOT
from tests.support.statements import count_statements
from training.audit.describe import ACTIONS, SECURITY, describe_all, kind_of
from training.audit.models import AuditEvent
from training.audit.service import record, record_many, record_refusal

DOTTED = re.compile(r"[a-z_]+\.[a-z_]+")
# Dotted words in training/ that are not audit actions: foreign keys ("users.id"), file names, settings.
NOT_ACTIONS = re.compile(r"[a-z_]+\.id|.+\.(yaml|html|csv|txt|md|json|py|pdf|zip)|sqlalchemy\.url")


def dotted_words() -> set[str]:
    found = set()
    for path in (ROOT / "training").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and DOTTED.fullmatch(node.value):
                found.add(node.value)
    return found


def test_every_action_recorded_anywhere_has_a_sentence(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    recorded = {word for word in dotted_words() - endpoints if not NOT_ACTIONS.fullmatch(word)}
    assert {"auth.signed_in", "assignment.extended", "completion.revoked", "secrets.rotated"} <= recorded
    missing = sorted(recorded - set(ACTIONS))
    assert not missing, f"give these actions a sentence in training/audit/describe.py: {missing}"


@pytest.fixture
def people(session, org, course):
    agency, unit = org
    other, other_unit = make_org(session, "OTH")
    return {
        "coordinator": make_user(session, "jordan@agency.test", role="coordinator", agency=agency,
                                 first="Jordan", last="Reyes"),
        "officer": make_user(session, "sam@agency.test", agency=agency, unit=unit, first="Sam", last="Ortiz"),
        "outsider": make_user(session, "olga@oth.test", role="coordinator", agency=other, unit=other_unit,
                              first="Olga", last="Out"),
        "admin": make_user(session, "ada@agency.test", role="admin", first="Ada", last="Admin"),
        "course": course,
    }


def sentences(session, viewer, events):
    return [d.sentence for d in describe_all(session, viewer, events)]


def test_sentences_name_people_modules_dates_and_reasons(session, people):
    jordan, sam, ada, course = people["coordinator"], people["officer"], people["admin"], people["course"]
    record_many(session, "assignment.extended", [{"target": f"user:{sam.id}", "details": {
        "assignment_id": 7, "course_id": course.id, "course": course.code, "reason": "court duty",
        "previous_due_on": "2026-12-01", "due_on": "2027-01-15"}}], actor_id=jordan.id)
    record(session, "auth.signed_in", actor_id=sam.id, target=f"user:{sam.id}", ip="10.0.0.1")
    record(session, "auth.sign_in_failed", target="nobody@agency.test", ip="10.0.0.1")
    record(session, "completion.recorded", actor_id=sam.id, target=f"user:{sam.id}", course=course.code,
           completed_on="2026-11-02", expires_on="2027-11-02", source="quiz", completion_id=1)
    record(session, "user.role_changed", actor_id=ada.id, target=f"user:{jordan.id}", before="coordinator",
           after="compliance")
    record_refusal(session, jordan.id, jordan, "extension", "you cannot grant an extension for yourself")
    record(session, "assignment.renewals_created", target="courses", on="2026-11-27", created=1)
    record(session, "secrets.rotated", via="cli", secrets=3, recovery_codes=20, setups=0, under_older_keys=0, keys=2)
    session.flush()
    events = session.scalars(select(AuditEvent).where(AuditEvent.action != "content.sync")
                             .order_by(AuditEvent.id)).all()
    assert sentences(session, ada, events) == [
        f"Jordan Reyes extended {course.title} for Sam Ortiz to 2027-01-15: court duty.",
        "Sam Ortiz signed in.",
        "A sign-in as the address nobody@agency.test failed: wrong email address or password.",
        f"Sam Ortiz completed {course.title} on 2026-11-02, certified through 2027-11-02.",
        "Ada Admin changed Jordan Reyes's role from training coordinator to compliance staff member.",
        "Jordan Reyes was refused an extension on their own records: you cannot grant an extension for yourself.",
        "System created 1 renewal assignment for 2026-11-27.",
        "An operator at the command line re-encrypted the stored secrets with the newest key: "
        "3 second-factor secrets, 20 recovery codes.",
    ]
    assert [kind_of(e.action) for e in events[:3]] == ["records", SECURITY, SECURITY]


def test_people_outside_the_readers_scope_are_named_by_role(session, people):
    sam, olga = people["officer"], people["outsider"]
    record(session, "assignment.withdrawn", actor_id=olga.id, target=f"user:{sam.id}", course=people["course"].code,
           reason="wrong unit")
    session.flush()
    compliance = make_user(session, "pc@agency.test", role="compliance", agency=people["coordinator"].agency)
    event = session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1)).one()
    said = sentences(session, compliance, [event])[0]
    assert said.startswith("A training coordinator outside your scope withdrew") and "Olga" not in said
    assert "from Sam Ortiz: wrong unit." in said


def test_an_unknown_action_reads_as_a_sentence_and_details_as_words(session, people):
    sam = people["officer"]
    event = record(session, "legacy.thing_done", actor_id=sam.id, target=f"user:{sam.id}",
                   changes={"unit_id": [1, 2]}, resend=True, left=None)
    session.flush()
    described = describe_all(session, people["admin"], [event])[0]
    assert described.sentence == "Sam Ortiz: legacy thing done, concerning Sam Ortiz."
    assert described.details == [("Changes", "unit id: 1, 2"), ("Left", "none"), ("Resend", "yes")]


def test_a_page_of_names_costs_a_query_per_kind_whatever_its_size(session, people, connection):
    officers = [make_user(session, f"o{n}@agency.test", agency=people["officer"].agency, first="O", last=str(n))
                for n in range(30)]
    course = people["course"]

    def events(n):
        for officer in officers[:n]:
            record(session, "exemption.granted", actor_id=people["coordinator"].id, target=f"user:{officer.id}",
                   course_id=course.id, reason="leave", starts_on=str(date(2026, 1, 1)), ends_on="2026-02-01")
            record(session, "standing_rule.created", actor_id=officer.id, target="unit:AGY-U1", course=course.code,
                   days=30)
        session.flush()
        return [e.id for e in session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(2 * n))]

    def cost(ids):
        session.expire_all()   # nothing already loaded: every name is looked up
        page = session.scalars(select(AuditEvent).where(AuditEvent.id.in_(ids)).order_by(AuditEvent.id.desc())).all()
        return count_statements(connection, lambda: describe_all(session, viewer, page))

    few, many = events(1), events(30)
    viewer = make_user(session, "pc2@agency.test", role="compliance", agency=people["officer"].agency)
    session.flush()
    cost_few, cost_many = cost(few), cost(many)
    assert cost_many == cost_few
    assert cost_many <= 8
    said = sentences(session, viewer, session.scalars(select(AuditEvent).where(AuditEvent.id.in_(many))
                                                      .order_by(AuditEvent.id.desc())).all())
    assert f"exempted O 29 from {course.title} from 2026-01-01 to 2026-02-01: leave." in said[1]
