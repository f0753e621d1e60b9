"""Administrators manage accounts and roles in the site."""
import pytest
from sqlalchemy import select

from tests.helpers import login, make_user
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
    ({"unit": "NOPE"}, "no unit has code NOPE"),
    ({"agency": "", "unit": "AGY-U1"}, "not part of the chosen agency"),
    ({"password": "short"}, "must be 12 to 256 characters"),
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
