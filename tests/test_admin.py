"""Administrators manage accounts and roles in the site."""
import pytest
from sqlalchemy import select

from tests.support.factories import make_user
from tests.support.pages import login
from training.audit.models import AuditEvent
from training.people.models import User


@pytest.fixture
def admin(session, org):
    user = make_user(session, "root@agency.test", role="admin", agency=org[0], employee_id="ROOT")
    session.commit()
    return user


def form(**values):
    base = {"email": "new@agency.test", "first_name": "Nia", "last_name": "Nova", "employee_id": "N-1",
            "role": "officer", "agency": "AGY", "unit": "AGY-U1", "scope_unit": "", "active": "y",
            "password": "a-sufficiently-long-one"}
    return {k: v for k, v in {**base, **values}.items() if v is not None}


def test_admin_creates_an_account_that_can_sign_in(client, session, admin):
    login(client, admin.email)
    response = client.post("/admin/users/new", data=form())
    assert response.status_code == 302
    user = session.scalar(select(User).where(User.email == "new@agency.test"))
    assert (user.role, user.employee_id, user.agency.code, user.unit.code) == ("officer", "N-1", "AGY", "AGY-U1")
    client.post("/logout")
    assert login(client, "new@agency.test", "a-sufficiently-long-one").status_code == 302


def test_role_change_and_deactivation_are_audited_and_take_effect(client, session, admin, officer):
    login(client, admin.email)
    response = client.post(f"/admin/users/{officer.id}", data=form(
        email=officer.email, employee_id=officer.employee_id, role="coordinator", active=None, password=""))
    assert response.status_code == 302
    session.expire_all()
    changed = session.get(User, officer.id)
    assert changed.role == "coordinator" and not changed.active
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "user.role_changed"))
    assert (event.actor_id, event.details["before"], event.details["after"]) == (admin.id, "officer", "coordinator")
    client.post("/logout")
    assert login(client, officer.email).status_code == 401


@pytest.mark.parametrize("values, message", [
    ({"email": "officer@agency.test"}, "already used by another account"),
    ({"unit": "NOPE"}, "No unit has code NOPE."),
    ({"agency": "", "unit": "AGY-U1"}, "not part of the chosen agency"),
    ({"password": "short"}, "must be 12 to 128 characters"),
    ({"password": ""}, "needs a password"),
    ({"email": "not-an-email"}, "is not a valid address"),
])
def test_bad_account_input_is_refused_and_nothing_saved(client, session, admin, officer, values, message):
    login(client, admin.email)
    response = client.post("/admin/users/new", data=form(**values))
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert session.scalar(select(User).where(User.employee_id == "N-1")) is None


def test_admin_cannot_demote_themselves(client, session, admin):
    login(client, admin.email)
    response = client.post(f"/admin/users/{admin.id}", data=form(
        email=admin.email, employee_id="ROOT", role="officer", password=""))
    assert response.status_code == 422 and "cannot remove your own" in response.get_data(as_text=True)
    session.expire_all()
    assert session.get(User, admin.id).role == "admin"


def test_search_and_access(client, session, admin, officer):
    login(client, admin.email)
    html = client.get("/admin/users?q=cruz").get_data(as_text=True)
    assert "officer@agency.test" in html and "root@agency.test" not in html
    client.post("/logout")
    login(client, officer.email)
    assert client.get("/admin/users").status_code == 403
    assert client.post(f"/admin/users/{officer.id}", data=form(role="admin")).status_code == 403


def test_admin_adds_and_edits_agencies_and_units_in_the_site(client, session, admin, org):
    from training.people.models import Agency, Unit
    from training.people.service import subtree_ids
    login(client, admin.email)
    assert client.post("/admin/org/agencies/new", data={"code": "NEW", "name": "New Agency",
                                                        "time_zone": "America/Denver"}).status_code == 302
    for code, name, parent in [("NEW-HQ", "Headquarters", ""), ("NEW-F1", "Field one", "NEW-HQ"),
                               ("NEW-T1", "Team one", "NEW-F1")]:
        response = client.post("/admin/org/units/new", data={"agency": "NEW", "code": code, "name": name,
                                                             "parent": parent})
        assert response.status_code == 302, response.get_data(as_text=True)
    session.expire_all()
    hq, f1, t1 = (session.scalar(select(Unit).where(Unit.code == c)) for c in ("NEW-HQ", "NEW-F1", "NEW-T1"))
    assert set(subtree_ids(session, hq)) == {hq.id, f1.id, t1.id}
    html = client.get("/admin/org").get_data(as_text=True)
    assert "New Agency (NEW)" in html and "Team one" in html
    # Rename the agency, and move the team (with nothing below it) straight under headquarters.
    assert client.post("/admin/org/agencies/NEW", data={"name": "Renamed Agency",
                                                        "time_zone": "America/Denver"}).status_code == 302
    assert client.post("/admin/org/units/NEW-T1", data={"agency": "NEW", "name": "Team one",
                                                        "parent": "NEW-HQ"}).status_code == 302
    session.expire_all()
    assert session.scalar(select(Agency).where(Agency.code == "NEW")).name == "Renamed Agency"
    assert set(subtree_ids(session, f1)) == {f1.id}
    assert session.get(Unit, t1.id).parent_id == hq.id
    events = session.scalars(select(AuditEvent).where(AuditEvent.action == "org.changed")).all()
    assert len(events) == 6 and all(e.actor_id == admin.id for e in events)


@pytest.mark.parametrize("path, values, message", [
    ("/admin/org/agencies/new", {"code": "BAD", "name": "Bad", "time_zone": "Mars/Olympus"},
     "Time_zone &#39;Mars/Olympus&#39; is not a time zone name"),
    ("/admin/org/units/AGY-U1", {"agency": "AGY", "name": "Unit one", "parent": "AGY-SUB"},
     "Parent units go round in a loop: AGY-U1 → AGY-SUB → AGY-U1"),
    ("/admin/org/units/new", {"agency": "AGY", "code": "X-1", "name": "Stray", "parent": "OTH-U1"},
     "Parent unit OTH-U1 belongs to agency OTH, but unit X-1 is in agency AGY"),
    ("/admin/org/units/new", {"agency": "AGY", "code": "AGY-SUB", "name": "Again", "parent": ""},
     "A unit with code AGY-SUB already exists"),
    ("/admin/org/agencies/new", {"code": "OTH", "name": "Taken", "time_zone": "UTC"},
     "An agency with code OTH already exists"),
])
def test_bad_org_changes_are_refused_and_nothing_saved(client, session, admin, org, path, values, message):
    from tests.support.factories import add_unit, make_org
    from training.people.models import Agency, Unit
    add_unit(session, org[0], "AGY-SUB", org[1])
    make_org(session, "OTH")
    session.commit()
    before = (session.scalars(select(Agency.code)).all(), session.execute(select(Unit.code, Unit.parent_id)).all())
    login(client, admin.email)
    response = client.post(path, data=values)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    session.expire_all()
    assert (session.scalars(select(Agency.code)).all(),
            session.execute(select(Unit.code, Unit.parent_id)).all()) == before
    assert session.scalar(select(AuditEvent).where(AuditEvent.action == "org.changed")) is None


def test_only_administrators_reach_the_org_pages(client, session, org):
    make_user(session, "coord@agency.test", role="coordinator", agency=org[0])
    session.commit()
    login(client, "coord@agency.test")
    for path in ("/admin/org", "/admin/org/agencies/AGY", "/admin/org/units/AGY-U1"):
        assert client.get(path).status_code == 403
    assert client.post("/admin/org/agencies/AGY", data={"name": "Taken", "time_zone": "UTC"}).status_code == 403
