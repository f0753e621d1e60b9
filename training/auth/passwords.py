"""The password rules: length, and not a password everyone else uses."""
from __future__ import annotations

import re
from functools import cache
from pathlib import Path

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 128
COMMON_PASSWORDS = Path(__file__).with_name("common-passwords.txt")
# Digits and symbols people add around a common password to pass a length rule ("password12345!").
_PADDING = re.compile(r"^[\d\W_]+|[\d\W_]+$")


@cache
def common_passwords() -> frozenset[str]:
    lines = COMMON_PASSWORDS.read_text(encoding="utf-8").splitlines()
    return frozenset(line for line in lines[3:] if line)


def password_problem(password: str, email: str | None = None) -> str | None:
    """What is wrong with a new password, in a sentence, or None when it may be used."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"The password must be at least {MIN_PASSWORD_LENGTH} characters."
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"The password must be at most {MAX_PASSWORD_LENGTH} characters."
    lowered = password.lower()
    core = _PADDING.sub("", lowered)
    if lowered in common_passwords() or core in common_passwords() or len(set(lowered)) < 4:
        return "That password is one of the most used and easily guessed; choose another."
    local_part = (email or "").split("@")[0].lower()
    if "rollcall" in lowered or (len(local_part) >= 4 and local_part in lowered):
        return "The password must not contain your email address or the name of this site."
    return None
