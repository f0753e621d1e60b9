"""Accounts: password hashing, sign-in checks, creating users."""
from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from training.auth.passwords import password_problem
from training.auth.sessions import vouched_for
from training.people.models import ROLES, User

_hasher = PasswordHasher()


class AccountError(ValueError):
    pass


class WrongPassword(AccountError):
    """The password given to confirm a change is not the account's: it counts in the sign-in throttle."""


def hash_password(password: str) -> str:
    return _hasher.hash(password)


@cache
def _dummy_hash() -> str:
    """Verified against when the email is unknown, so both failures take the same time.

    Made on first use: hashing takes Argon2's full memory cost, which every
    process (CLI commands included) would otherwise pay at import.
    """
    return _hasher.hash("rollcall-timing-equaliser")


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _dummy_hash(), password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def normalise_email(email: str) -> str:
    return email.strip().lower()


def find_by_email(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(func.lower(User.email) == normalise_email(email)))


def password_opens(user: User | None, password: str) -> bool:
    """Whether the password signs this account in (an active one); as slow for no account as for one."""
    if not verify_password(user.password_hash if user else None, password):
        return False
    return user is not None and user.active


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The active user with these credentials, or None (never saying which part was wrong)."""
    user = find_by_email(session, email)
    return user if password_opens(user, password) else None


def create_user(session: Session, *, email: str, password: str, first_name: str, last_name: str,
                role: str = "officer", **fields) -> User:
    email = normalise_email(email)
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}")
    if "@" not in email:
        raise AccountError("email must be an address like name@agency.gov")
    problem = password_problem(password, email)
    if problem:
        raise AccountError(problem)
    if find_by_email(session, email) is not None:
        raise AccountError(f"an account for {email} already exists")
    user = User(email=email, password_hash=hash_password(password), first_name=first_name,
                last_name=last_name, role=role, **fields)
    session.add(user)
    session.flush()
    return user


def load_user(user_id: str) -> User | None:
    """Flask-Login's user loader: only the account whose live server-side session this request carries.

    Flask-Login also calls it with the id a remember cookie names, when the session cookie holds none. Rollcall
    never issues that cookie, and with no live session behind it the id opens nothing, whoever signed it.
    """
    account = vouched_for()
    if account is None or not user_id.isdigit() or account.id != int(user_id):
        return None
    return account if account.active else None


def change_password(session: Session, user: User, current: str, new: str) -> None:
    """Set a new password after checking the current one and the rules."""
    if not verify_password(user.password_hash, current):
        raise WrongPassword("The current password is not right.")
    problem = password_problem(new, user.email)
    if problem:
        raise AccountError(problem)
    user.password_hash = hash_password(new)
