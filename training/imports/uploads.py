"""Uploaded files kept between a preview and its confirmation."""
from __future__ import annotations

import re
import secrets
from pathlib import Path

_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")


def _path(folder: Path, user_id: int, token: str) -> Path | None:
    return folder / f"{user_id}-{token}.csv" if _TOKEN.match(token or "") else None


def save_upload(folder: Path, user_id: int, data: bytes) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(24)
    _path(folder, user_id, token).write_bytes(data)
    return token


def read_upload(folder: Path, user_id: int, token: str) -> bytes | None:
    """The file this user uploaded under `token`, or None (unknown, expired or someone else's)."""
    path = _path(folder, user_id, token)
    return path.read_bytes() if path is not None and path.is_file() else None


def discard_upload(folder: Path, user_id: int, token: str) -> None:
    path = _path(folder, user_id, token)
    if path is not None:
        path.unlink(missing_ok=True)
