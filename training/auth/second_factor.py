"""The second factor: time-based one-time codes (RFC 6238) and single-use recovery codes.

At rest nothing here is in the clear. The TOTP secret is encrypted with ENCRYPTION_KEYS (training/auth/keys.py).
A key being set up waits on the server (`SecondFactorSetup`, encrypted), never in the browser's cookie.
A recovery code is kept as its SHA-256, encrypted with ENCRYPTION_KEYS: the codes hold 48 random bits, few
enough that a bare or salted hash could be reversed by trying them all, so what is stored must be useless
without a key the database does not hold. An encrypted hash rather than a keyed one (an HMAC) because
`secrets rotate` can re-encrypt it under a new key, so an old key can be retired at once; an HMAC could
not be re-keyed without the codes. The hash inside means that even with the keys the codes are not shown,
and the migration could take the bare hashes of earlier releases as they were: no code stopped working.
"""
from __future__ import annotations

import calendar
import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pyotp
import segno
from sqlalchemy import ColumnElement, delete, func, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from training.access import SECOND_FACTOR_REQUIRED
from training.auth.keys import Keyring, UnreadableSecret
from training.auth.models import RecoveryCode, SecondFactorSetup
from training.auth.sessions import digest
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


def missing_where_required(config: Mapping) -> list[ColumnElement[bool]]:
    """SQL conditions on User: the accounts `required` holds to a second factor that have not enrolled one."""
    conditions = [User.role.in_(SECOND_FACTOR_REQUIRED), User.totp_secret_encrypted.is_(None)]
    if config.get("DEMO_SIGN_IN_WITHOUT_SECOND_FACTOR"):
        conditions.append(User.demo_account.is_(False))
    return conditions


def enrolled(user: User) -> bool:
    return user.totp_secret_encrypted is not None


def new_secret() -> str:
    return pyotp.random_base32()


def secret_of(user: User, keys: Keyring) -> str:
    """The account's TOTP secret, decrypted (UnreadableSecret when no key in ENCRYPTION_KEYS opens it)."""
    return keys.decrypt(user.totp_secret_encrypted)


def set_secret(user: User, secret: str, keys: Keyring) -> None:
    user.totp_secret_encrypted = keys.encrypt(secret)


def start_setup(session: Session, user: User, now: datetime, keys: Keyring) -> tuple[str, str]:
    """A new key for this browser's authenticator, kept on the server; returns (token for the cookie, secret)."""
    token, secret = secrets.token_urlsafe(32), new_secret()
    session.add(SecondFactorSetup(token_hash=digest(token), user_id=user.id, secret_encrypted=keys.encrypt(secret),
                                  created_at=now))
    session.flush()
    return token, secret


def setup_secret(session: Session, token: str | None, user: User, now: datetime, minutes: int,
                 keys: Keyring) -> str | None:
    """The key offered under this token to this account, while it is good; else None."""
    if not isinstance(token, str) or not token:
        return None
    row = session.get(SecondFactorSetup, digest(token))
    if row is None or row.user_id != user.id or now - row.created_at >= timedelta(minutes=minutes):
        return None
    return keys.decrypt(row.secret_encrypted)


def end_setups(session: Session, user: User) -> None:
    """Keys offered to this account and not confirmed are forgotten."""
    session.execute(delete(SecondFactorSetup).where(SecondFactorSetup.user_id == user.id))


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


def enrol(session: Session, user: User, secret: str, code: str, now: datetime, keys: Keyring) -> list[str] | None:
    """Turn the second factor on once the authenticator has shown it holds `secret`; returns the recovery codes."""
    step = matching_step(secret, code, now, None)
    if step is None:
        return None
    set_secret(user, secret, keys)
    user.totp_last_step = step
    end_setups(session, user)
    return new_recovery_codes(session, user, keys)


def _recovery_digest(code: str) -> str | None:
    """The SHA-256 of a recovery code as typed (any case, spaces or dashes), or None when it cannot be one."""
    bare = re.sub(r"[\s-]", "", (code or "").lower())
    if not re.fullmatch(r"[0-9a-f]{12}", bare):
        return None
    return hashlib.sha256(bare.encode()).hexdigest()


def new_recovery_codes(session: Session, user: User, keys: Keyring) -> list[str]:
    """Fresh recovery codes; the earlier ones stop working. Only their hashes are kept, encrypted."""
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [f"{secrets.token_hex(3)}-{secrets.token_hex(3)}" for _ in range(RECOVERY_CODE_COUNT)]
    session.add_all(RecoveryCode(user_id=user.id, code_hash=keys.encrypt(_recovery_digest(code))) for code in codes)
    session.flush()
    return codes


def recovery_codes_left(session: Session, user: User) -> int:
    return session.scalar(select(func.count()).select_from(RecoveryCode)
                          .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)))


def check(session: Session, user: User, code: str, now: datetime, keys: Keyring) -> str | None:
    """Accept a current authenticator code or an unused recovery code; says which ("code" or
    "recovery code"), or None. Either is used up by being accepted."""
    if not enrolled(user):
        return None
    # Each acceptance is one UPDATE that only a still-unused code matches: two requests racing with the
    # same code cannot both pass.
    step = matching_step(secret_of(user, keys), code, now, user.totp_last_step)
    if step is not None:
        won = session.execute(update(User).where(User.id == user.id, or_(User.totp_last_step.is_(None),
                                                                         User.totp_last_step < step))
                              .values(totp_last_step=step).execution_options(synchronize_session=False))
        if won.rowcount == 1:
            set_committed_value(user, "totp_last_step", step)
            return "code"
        return None
    wanted = _recovery_digest(code)
    if wanted is None:
        return None
    # The stored hashes are encrypted with a random IV each, so they are compared here, not in SQL.
    unused = session.execute(select(RecoveryCode.id, RecoveryCode.code_hash)
                             .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))).all()
    match = next((row.id for row in unused if hmac.compare_digest(keys.decrypt(row.code_hash), wanted)), None)
    if match is None:
        return None
    used = session.execute(update(RecoveryCode).where(RecoveryCode.id == match, RecoveryCode.used_at.is_(None))
                           .values(used_at=now))
    return "recovery code" if used.rowcount == 1 else None


def remove(session: Session, user: User) -> None:
    """No second factor any more: the authenticator and every recovery code stop working."""
    user.totp_secret_encrypted = user.totp_last_step = None
    end_setups(session, user)
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))


@dataclass
class Rotation:
    """What `rotate_keys` re-encrypted, how many of those an older key had encrypted, and what no key opens."""
    secrets: int = 0
    recovery_codes: int = 0
    setups: int = 0
    under_older_keys: int = 0
    unreadable: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.secrets + self.recovery_codes + self.setups


def rotate_keys(session: Session, keys: Keyring) -> Rotation:
    """Re-encrypt every stored secret (TOTP secrets, recovery codes, keys being set up) with the newest key.

    When some secret cannot be decrypted with any key, `unreadable` names them and the caller must not commit:
    the key they need is missing from ENCRYPTION_KEYS, and dropping it for good would lock those accounts out.
    """
    done = Rotation()
    stored = [(user, "totp_secret_encrypted", "secrets", f"user {user.id}'s second-factor secret")
              for user in session.scalars(select(User).where(User.totp_secret_encrypted.is_not(None))
                                          .order_by(User.id))]
    stored += [(code, "code_hash", "recovery_codes", f"a recovery code of user {code.user_id}")
               for code in session.scalars(select(RecoveryCode).order_by(RecoveryCode.id))]
    stored += [(setup, "secret_encrypted", "setups", f"a key being set up for user {setup.user_id}")
               for setup in session.scalars(select(SecondFactorSetup))]
    for row, column, kind, described in stored:
        token = getattr(row, column)
        try:
            rotated = keys.rotate(token)
        except UnreadableSecret:
            done.unreadable.append(described)
            continue
        done.under_older_keys += not keys.is_newest(token)
        setattr(row, column, rotated)
        setattr(done, kind, getattr(done, kind) + 1)
    session.flush()
    return done
