"""Uploaded files kept between a preview and its confirmation, for a limited time.

An upload holds personal data (a roster: names and email addresses), so it is
kept only while its preview may be confirmed (UPLOAD_PREVIEW_HOURS): after
that, confirming it says it expired, and the daily job deletes it.
"""
from __future__ import annotations

import re
import secrets
from datetime import timedelta
from pathlib import Path

from training import clock

_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
_NAME = re.compile(r"^\d+-[A-Za-z0-9_-]{20,64}\.csv$")


class UploadExpired(Exception):
    """The upload was kept longer than a preview lives; it has been deleted."""


def _path(folder: Path, user_id: int, token: str) -> Path | None:
    return folder / f"{user_id}-{token}.csv" if _TOKEN.match(token or "") else None


def _age(path: Path) -> timedelta:
    """How long ago the file was saved, by the clock the rest of Rollcall reads."""
    return timedelta(seconds=clock.current_instant().timestamp() - path.stat().st_mtime)


def save_upload(folder: Path, user_id: int, data: bytes) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(24)
    _path(folder, user_id, token).write_bytes(data)
    return token


def read_upload(folder: Path, user_id: int, token: str, lives: timedelta) -> bytes | None:
    """The file this user uploaded under `token`, or None (unknown, already imported, deleted or someone else's).

    Raises UploadExpired, and deletes the file, when it was saved more than `lives` ago.
    """
    path = _path(folder, user_id, token)
    try:
        if path is None or not path.is_file():
            return None
        if _age(path) > lives:
            path.unlink(missing_ok=True)
            raise UploadExpired(token)
        return path.read_bytes()
    except FileNotFoundError:   # deleted by the daily job in the meantime
        return None


def discard_upload(folder: Path, user_id: int, token: str) -> None:
    path = _path(folder, user_id, token)
    if path is not None:
        path.unlink(missing_ok=True)


def delete_expired_uploads(folder: Path, lives: timedelta) -> int:
    """Delete the uploads saved more than `lives` ago (their previews can no longer be confirmed); how many."""
    deleted = 0
    for path in folder.glob("*.csv") if folder.is_dir() else ():
        try:
            if _NAME.match(path.name) and _age(path) > lives:
                path.unlink()
                deleted += 1
        except FileNotFoundError:   # confirmed or deleted by another process meanwhile
            continue
    return deleted
