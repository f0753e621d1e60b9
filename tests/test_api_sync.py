"""Incremental sync of completions (GET /api/v1/completions?since=...), and the cost of a page of officers."""
from __future__ import annotations

from datetime import UTC, timedelta

import pytest
from sqlalchemy import update

from tests.support.api import Api, make_token
from tests.support.dates import today as today_of
from tests.support.factories import add_unit, certify, make_org, make_user
from tests.support.statements import count_statements
from training import clock
from training.db import utcnow
from training.records.models import Completion
from training.records.proof import revoke


@pytest.fixture
def world(app, session, course):
    app.config["API_SYNC_SETTLE_MINUTES"] = 0
    agency, u1 = make_org(session, "AGY")
    other, other_unit = make_org(session, "OTH")
    u2 = add_unit(session, agency, "AGY-U2")
    people = [make_user(session, f"p{n}@agy.test", agency=agency, unit=u1 if n % 2 else u2, employee_id=f"E{n}")
              for n in range(6)]
    stranger = make_user(session, "x@oth.test", agency=other, unit=other_unit, employee_id="X1")
    admin = make_user(session, "admin@agy.test", role="admin")
    session.commit()
    return {"agency": agency, "u1": u1, "people": people, "stranger": stranger, "admin": admin, "course": course,
            "token": make_token(session, agency)[1], "unit_token": make_token(session, agency, u1)[1]}


@pytest.fixture
def api(client):
    return Api(client)


def _sync(api, token, since=None, limit=None):
    """Every change after `since`, page by page: (the completions in order, the cursor to keep)."""
    changes, cursor = [], since
    while True:
        query = {**({"since": cursor} if cursor else {}), **({"limit": limit} if limit else {})}
        page = api.get("/completions", token=token, query_string=query).get_json()
        changes += page["completions"]
        cursor = page["next_cursor"]
        if not page["more"]:
            return changes, cursor


def test_a_first_sync_gives_every_completion_in_scope_page_by_page_then_only_changes(api, session, world):
    people, course = world["people"], world["course"]
    made = [certify(session, person, course, days_ago=10 * n) for n, person in enumerate(people)]
    certify(session, world["stranger"], course, days_ago=1)
    changes, cursor = _sync(api, world["token"], limit=4)
    assert sorted(c["id"] for c in changes) == sorted(c.id for c in made)
    assert len({c["id"] for c in changes}) == len(changes)
    assert {c["employee_id"] for c in changes} == {f"E{n}" for n in range(6)}
    assert changes[0]["status"] == "valid" and changes[0]["course_code"] == "TEST-BASICS"

    assert _sync(api, world["token"], since=cursor)[0] == []          # nothing changed since

    revoke(session, made[2], world["admin"], "Recorded for the wrong officer.")
    newer = certify(session, people[3], course, days_ago=0)
    session.commit()
    changes, cursor = _sync(api, world["token"], since=cursor)
    assert [(c["id"], c["status"]) for c in changes] == [(newer.id, "valid"), (made[2].id, "revoked")]
    assert _sync(api, world["token"], since=cursor)[0] == []


def test_a_unit_token_syncs_its_units_completions_only(api, session, world):
    for person in world["people"]:
        certify(session, person, world["course"], days_ago=3)
    changes, _ = _sync(api, world["unit_token"])
    assert {c["employee_id"] for c in changes} == {"E1", "E3", "E5"}


def test_recorded_completions_wait_until_settled_and_the_cursor_never_passes_one_that_is_not(
        app, api, session, world, monkeypatch):
    """A completion is given once it is API_SYNC_SETTLE_MINUTES old, and the cursor stops before the first one
    that is not: ids are taken at insert, so a transaction that took a lower id may still be committing."""
    app.config["API_SYNC_SETTLE_MINUTES"] = 10
    people, course = world["people"], world["course"]

    def stamped(person, minutes_ago):
        completion = certify(session, person, course, days_ago=1)
        session.execute(update(Completion).where(Completion.id == completion.id)
                        .values(created_at=utcnow() - timedelta(minutes=minutes_ago)))
        session.commit()
        return completion

    early, unsettled, behind = stamped(people[0], 30), stamped(people[1], 0), stamped(people[2], 20)
    changes, cursor = _sync(api, world["token"])
    assert [c["id"] for c in changes] == [early.id]
    assert _sync(api, world["token"], since=cursor)[0] == []
    ahead = clock.current_instant() + timedelta(minutes=11)
    monkeypatch.setattr(clock, "current_instant", lambda: ahead)
    changes, cursor = _sync(api, world["token"], since=cursor)
    assert [c["id"] for c in changes] == [unsettled.id, behind.id]
    page = api.get("/completions", token=world["token"], query_string={"since": cursor}).get_json()
    assert page["completions"] == [] and page["more"] is False
    assert page["settled_before"] == (ahead - timedelta(minutes=10)).astimezone(UTC).replace(
        tzinfo=None).isoformat() + "Z"


def test_a_revocation_is_given_by_its_audit_event_whenever_it_commits(api, session, world):
    """Revocations follow the audit trail, whose writers commit one after another: a revocation is given as soon
    as it is committed, however old the completion, and once only."""
    course = world["course"]
    old = certify(session, world["people"][0], course, days_ago=300)
    _, cursor = _sync(api, world["token"])
    revoke(session, old, world["admin"], "Recorded for the wrong officer.")
    session.commit()
    changes, cursor = _sync(api, world["token"], since=cursor)
    assert [(c["id"], c["status"], c["revoked_on"]) for c in changes] == [
        (old.id, "revoked", today_of(world["people"][0]).isoformat())]
    assert _sync(api, world["token"], since=cursor)[0] == []


def test_a_page_of_officers_costs_the_same_statements_however_many_officers(api, connection, session, world):
    """One page: a fixed number of statements (the token's check and count, the page's people, their statuses),
    not one per officer."""
    agency, u1, course = world["agency"], world["u1"], world["course"]

    def page_cost(limit):
        return count_statements(connection, lambda: api.get("/officers", token=world["token"],
                                                            query_string={"limit": limit}))
    for person in world["people"]:
        certify(session, person, course, days_ago=5)
    page_cost(5)   # the token's first use of the minute also notes when it was last used
    small = page_cost(5)
    for n in range(40):
        person = make_user(session, f"more{n}@agy.test", agency=agency, unit=u1, employee_id=f"M{n:02d}")
        certify(session, person, course, days_ago=n * 20)
    session.commit()
    assert page_cost(45) == small
    filtered = count_statements(connection, lambda: api.get("/officers", token=world["token"],
                                                            query_string={"limit": 45, "status": "lapsed"}))
    assert filtered <= small + 2
    print(f"statements for one page of officers: {small}; with a status filter: {filtered}")
