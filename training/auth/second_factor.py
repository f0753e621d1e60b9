"""The second factor: time-based one-time codes (RFC 6238) and single-use recovery codes."""
from __future__ import annotations

import calendar
import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping
from datetime import datetime

import pyotp
import segno
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from training.access import SECOND_FACTOR_REQUIRED
from training.auth.models import RecoveryCode
from training.people.models import User

ISSUER = "Rollcall"
STEP_SECONDS = 30
# A code from the step before or after the current one is accepted too: phones' clocks drift.
DRIFT_STEPS = 1
RECOVERY_CODE_COUNT = 10


def required(user: User, config: Mapping) -> bool:
    """Coordinators, compliance staff and administrators must use a second factor.

    The documented demo sign-ins are let off only where the settings allow it (never in production).
    """
    if user.role not in SECOND_FACTOR_REQUIRED:
        return False
    return not (user.demo_account and config.get("DEMO_SIGN_IN_WITHOUT_SECOND_FACTOR"))


def enrolled(user: User) -> bool:
    return user.totp_secret is not None


def new_secret() -> str:
    return pyotp.random_base32()


def grouped(secret: str) -> str:
    """The secret in groups of four, for typing into an authenticator by hand."""
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


def provisioning_uri(secret: str, email: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)


def qr_data_uri(uri: str) -> str:
    return segno.make(uri, error="m", micro=False).svg_data_uri(scale=4, border=4)


def time_step(now: datetime) -> int:
    """The TOTP time step of a naive UTC time."""
    return calendar.timegm(now.timetuple()) // STEP_SECONDS


def matching_step(secret: str, code: str, now: datetime, last_step: int | None) -> int | None:
    """The time step whose code this is, or None. A step at or before the last one accepted is refused,
    so a code seen over someone's shoulder cannot be used again."""
    code = re.sub(r"\s", "", code or "")
    if not re.fullmatch(r"\d{6}", code):
        return None
    totp, current = pyotp.TOTP(secret), time_step(now)
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if last_step is not None and step <= last_step:
            continue
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def enrol(session: Session, user: User, secret: str, code: str, now: datetime) -> list[str] | None:
    """Turn the second factor on once the authenticator has shown it holds `secret`; returns the recovery codes."""
    step = matching_step(secret, code, now, None)
    if step is None:
        return None
    user.totp_secret, user.totp_last_step = secret, step
    return new_recovery_codes(session, user)


def _recovery_hash(code: str) -> str:
    return hashlib.sha256(re.sub(r"[\s-]", "", code.lower()).encode()).hexdigest()


def new_recovery_codes(session: Session, user: User) -> list[str]:
    """Fresh recovery codes; the earlier ones stop working. Only their hashes are kept."""
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [f"{secrets.token_hex(3)}-{secrets.token_hex(3)}" for _ in range(RECOVERY_CODE_COUNT)]
    session.add_all(RecoveryCode(user_id=user.id, code_hash=_recovery_hash(code)) for code in codes)
    session.flush()
    return codes


def recovery_codes_left(session: Session, user: User) -> int:
    return session.scalar(select(func.count()).select_from(RecoveryCode)
                          .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)))


def check(session: Session, user: User, code: str, now: datetime) -> str | None:
    """Accept a current authenticator code or an unused recovery code; says which ("code" or
    "recovery code"), or None. Either is used up by being accepted."""
    if not enrolled(user):
        return None
    # Each acceptance is one UPDATE that only a still-unused code matches: two requests racing with the
    # same code cannot both pass.
    step = matching_step(user.totp_secret, code, now, user.totp_last_step)
    if step is not None:
        won = session.execute(update(User).where(User.id == user.id, or_(User.totp_last_step.is_(None),
                                                                         User.totp_last_step < step))
                              .values(totp_last_step=step).execution_options(synchronize_session=False))
        if won.rowcount == 1:
            set_committed_value(user, "totp_last_step", step)
            return "code"
        return None
    used = session.execute(update(RecoveryCode)
                           .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None),
                                  RecoveryCode.code_hash == _recovery_hash(code or ""))
                           .values(used_at=now))
    return "recovery code" if used.rowcount == 1 else None


def remove(session: Session, user: User) -> None:
    """No second factor any more: the authenticator and every recovery code stop working."""
    user.totp_secret = user.totp_last_step = None
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
