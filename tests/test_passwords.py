"""Password rules: 12 to 128 characters, not among the most used, applied wherever a password is set."""
import pytest
from sqlalchemy import select

from tests.support.factories import make_user
from tests.support.pages import login
from training.auth.passwords import common_passwords, password_problem
from training.demo.service import DEMO_PASSWORD
from training.people.models import User


@pytest.mark.parametrize("password", ["a" * 3 + "bcd-efgh-ijk", ("blue-river-stone-" * 4)[:64], "Long passphrase " * 8,
                                      DEMO_PASSWORD, "correct-horse-battery"])
def test_long_uncommon_passwords_are_accepted(password):
    assert len(password) in range(12, 129)
    assert password_problem(password, "dana.cruz@agency.test") is None


@pytest.mark.parametrize("password, message", [
    ("eleven-char", "at least 12 characters"),
    ("x" * 120 + "-1234567y", "at most 128 characters"),
    ("qwertyuiop123", "most used"),
    ("Password123456!", "most used"),
    ("1qaz2wsx3edc", "most used"),
    ("zzzzzzzzzzzzzzzz", "most used"),
    ("dana.cruz-winter-2026", "must not contain your email"),
    ("my-rollcall-password", "name of this site"),
])
def test_short_long_common_or_personal_passwords_are_refused(password, message):
    assert message in password_problem(password, "dana.cruz@agency.test")


def test_the_list_holds_ten_thousand_passwords():
    common = common_passwords()
    assert len(common) == 10000 and {"123456", "password", "trustno1"} <= common


def test_users_create_refuses_a_common_password(runner, session):
    result = runner.invoke(args=["users", "create", "--email", "lee@agency.test", "--first-name", "Lee",
                                 "--last-name", "Park", "--password", "qwerty123456"])
    assert result.exit_code == 1 and "most used" in result.output
    assert session.scalar(select(User).where(User.email == "lee@agency.test")) is None


def test_the_account_form_refuses_a_common_password(client, session, org):
    agency, unit = org
    admin = make_user(session, "admin@agency.test", role="admin", agency=agency, unit=unit)
    session.commit()
    login(client, admin.email)
    response = client.post("/admin/users/new", data={
        "email": "new@agency.test", "first_name": "New", "last_name": "Person", "employee_id": "N-9",
        "role": "officer", "agency": "AGY", "unit": "", "scope_unit": "", "active": "y",
        "password": "password123456"})
    assert response.status_code == 422 and "most used" in response.get_data(as_text=True)
    assert session.scalar(select(User).where(User.email == "new@agency.test")) is None
