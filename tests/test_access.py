"""The rules of training/access.py as a table: who (role and scope) may see or act on what.

Agency A has unit A-U1 with sub-unit A-SUB; agency B has B-U1. Each row reads: viewer, question, then the
answer for each object in OBJECTS order (Y allowed, . refused)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.support.factories import add_unit, make_org, make_user
from training import access
from training.audit.models import AuditEvent
from training.audit.service import record

OBJECTS = ("agency A", "agency B", "unit A-U1", "unit A-SUB", "unit B-U1", "officer A-U1", "officer A-SUB",
           "officer B", "themselves")

TABLE = """
admin              see        Y Y Y Y Y Y Y Y Y
admin              act        Y Y Y Y Y Y Y Y .
admin              revoke     . . . . . Y Y Y .
admin              event      Y Y Y Y Y Y Y Y Y
coordinator-A      see        Y . Y Y . Y Y . Y
coordinator-A      act        Y . Y Y . Y Y . .
coordinator-A      revoke     . . . . . . . . .
coordinator-A      event      Y . Y Y . Y Y . Y
coordinator-A-SUB  see        Y . . Y . . Y . Y
coordinator-A-SUB  act        . . . Y . . Y . .
coordinator-A-SUB  event      . . . Y . . Y . Y
compliance-A       see        Y . Y Y . Y Y . Y
compliance-A       act        . . . . . . . . .
compliance-A       revoke     . . . . . Y Y . .
compliance-A       event      Y . Y Y . Y Y . Y
compliance-dept    see        Y Y Y Y Y Y Y Y Y
compliance-dept    revoke     . . . . . Y Y Y .
compliance-dept    event      Y Y Y Y Y Y Y Y Y
officer-A          see        . . . . . . . . Y
officer-A          act        . . . . . . . . .
officer-A          event      . . . . . . . . Y
"""


@pytest.fixture
def world(session):
    a, a_u1 = make_org(session, "A")
    a_sub = add_unit(session, a, "A-SUB", a_u1)
    b, b_u1 = make_org(session, "B")
    viewers = {
        "admin": make_user(session, "admin@x.test", role="admin"),
        "coordinator-A": make_user(session, "ca@x.test", role="coordinator", agency=a),
        "coordinator-A-SUB": make_user(session, "cs@x.test", role="coordinator", agency=a, unit=a_sub,
                                       scope_unit_id=a_sub.id),
        "compliance-A": make_user(session, "pa@x.test", role="compliance", agency=a),
        "compliance-dept": make_user(session, "pd@x.test", role="compliance"),
        "officer-A": make_user(session, "oa@x.test", agency=a, unit=a_u1),
    }
    objects = {"agency A": a, "agency B": b, "unit A-U1": a_u1, "unit A-SUB": a_sub, "unit B-U1": b_u1,
               "officer A-U1": make_user(session, "o1@x.test", agency=a, unit=a_u1),
               "officer A-SUB": make_user(session, "o2@x.test", agency=a, unit=a_sub),
               "officer B": make_user(session, "o3@x.test", agency=b, unit=b_u1)}
    session.flush()
    return viewers, objects


def answer(session, viewer, question, thing) -> bool:
    kind = type(thing).__name__
    if question == "see":
        return {"Agency": lambda: access.may_see_agency(session, viewer, thing),
                "Unit": lambda: access.may_see_unit(session, viewer, thing),
                "User": lambda: access.may_see_records(session, viewer, thing)}[kind]()
    if question == "act":
        return {"Agency": lambda: access.may_act_on_agency(viewer, thing.id),
                "Unit": lambda: access.may_act_on_unit(session, viewer, thing),
                "User": lambda: access.may_act_on_officer(session, viewer, thing)}[kind]()
    if question == "revoke":
        return kind == "User" and access.may_revoke(session, viewer, thing)
    # An audit event done to the thing: does it appear on the viewer's audit trail?
    event = record(session, "test.done", actor_id=None, target=f"thing:{thing.id}", about=thing)
    session.flush()
    seen = session.scalar(select(AuditEvent.id).where(AuditEvent.id == event.id, *access.event_filter(
        session, viewer, agency_id=AuditEvent.agency_id, unit_id=AuditEvent.unit_id, subject_id=AuditEvent.subject_id)))
    return seen is not None


ROWS = [(who, question, " ".join(answers)) for who, question, *answers in
        (line.split() for line in TABLE.strip().splitlines())]


@pytest.mark.parametrize("who, question, expected", ROWS, ids=[f"{r[0]}-{r[1]}" for r in ROWS])
def test_the_access_rules(session, world, who, question, expected):
    viewers, objects = world
    viewer = viewers[who]
    things = {**objects, "themselves": viewer}
    got = ["Y" if answer(session, viewer, question, things[name]) else "." for name in OBJECTS]
    assert " ".join(got) == expected, dict(zip(OBJECTS, got, strict=True))


def test_agencies_in_scope_are_the_agencies_each_viewer_may_see(session, world):
    viewers, objects = world
    for who, viewer in viewers.items():
        expected = [code for code in ("A", "B")
                    if access.may_see_agency(session, viewer, objects[f"agency {code}"])]
        assert [a.code for a in access.agencies_in_scope(session, viewer)] == expected, who
    assert [a.code for a in access.agencies_in_scope(session, viewers["coordinator-A"])] == ["A"]
    assert [a.code for a in access.agencies_in_scope(session, viewers["officer-A"])] == []


# Who has a queue of requests for more time (the menu offers it to them): (role, supervises anyone, answer).
REQUEST_DECIDERS = [("officer", False, False), ("officer", True, True), ("compliance", False, False),
                    ("compliance", True, True), ("coordinator", False, True), ("admin", False, True)]


@pytest.mark.parametrize("role, has_reports, expected", REQUEST_DECIDERS)
def test_who_decides_requests_for_more_time(session, role, has_reports, expected):
    a, a_u1 = make_org(session, "A")
    user = make_user(session, f"{role}@x.test", role=role, agency=a, unit=a_u1)
    if has_reports:
        make_user(session, "report@x.test", agency=a, unit=a_u1, supervisor_id=user.id)
    session.flush()
    assert access.supervises(session, user) is has_reports
    assert access.may_decide_requests(user, access.supervises(session, user)) is expected
