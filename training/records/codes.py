"""Verification codes: 80 random bits in base32, shown as four groups of four."""
from __future__ import annotations

import base64
import re
import secrets
from collections.abc import Iterator

CODE_LENGTH = 16   # base32 characters: 16 x 5 = 80 bits
_ALPHABET = re.compile(rf"[A-Z2-7]{{{CODE_LENGTH}}}")
# Characters people type for the base32 letters they resemble.
_LOOKALIKES = str.maketrans({"0": "O", "1": "I", "8": "B"})


def new_code() -> str:
    """A fresh code from the operating system's random source (stored without dashes)."""
    return base64.b32encode(secrets.token_bytes(CODE_LENGTH * 5 // 8)).decode("ascii")


def new_codes(batch: int = 4096) -> Iterator[str]:
    """Fresh codes without end, as new_code makes them, drawn from the random source `batch` at a time (for
    bulk loads): 80 bits are 16 base32 characters exactly, so one encoding of many draws cuts into codes."""
    size = CODE_LENGTH * 5 // 8
    while True:
        encoded = base64.b32encode(secrets.token_bytes(size * batch)).decode("ascii")
        for start in range(0, len(encoded), CODE_LENGTH):
            yield encoded[start:start + CODE_LENGTH]


def display(code: str) -> str:
    return "-".join(code[i:i + 4] for i in range(0, len(code), 4))


def normalise(text: str) -> str | None:
    """The stored form of a typed or scanned code, or None when it cannot be one."""
    cleaned = re.sub(r"[\s-]", "", text or "").upper().translate(_LOOKALIKES)
    return cleaned if _ALPHABET.fullmatch(cleaned) else None
