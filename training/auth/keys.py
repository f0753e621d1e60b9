"""The app's own secrets: the key that signs cookies and the keys that encrypt secrets at rest.

`SECRET_KEY` signs the session cookie. `ENCRYPTION_KEYS` are Fernet keys (AES-128-CBC with HMAC-SHA-256,
from `cryptography`), comma-separated, newest first: the newest encrypts, any of them decrypts, so a new key
is put in front, `flask --app app secrets rotate` re-encrypts what is stored, and then the old key is dropped.

In production both must be set (config.ProductionConfig refuses to start without them). Elsewhere an unset
one is made once per installation, at random, under `instance/` (readable by its owner only), so that no
key anyone can read (a default written in the code) ever signs a cookie or encrypts a secret.
"""
from __future__ import annotations

import os
import secrets
import stat
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import Flask, current_app

# Development defaults of earlier releases, published with the code: a cookie signed with one proves nothing.
PUBLISHED_SECRET_KEYS = frozenset({"dev-only-secret-key-change-me"})
SECRET_KEY_FILE, ENCRYPTION_KEYS_FILE = "secret_key", "encryption_keys"


class KeySettingError(RuntimeError):
    """A key setting that cannot be used; the message says which and why."""


class UnreadableSecret(ValueError):
    """A stored secret that none of ENCRYPTION_KEYS decrypts (the key it was encrypted with was dropped)."""


class Keyring:
    """ENCRYPTION_KEYS, newest first: encrypts with the newest, decrypts with any."""

    def __init__(self, keys: Sequence[bytes]) -> None:
        if not keys:
            raise KeySettingError("ENCRYPTION_KEYS holds no key")
        self._newest = Fernet(keys[0])
        self._all = MultiFernet([Fernet(key) for key in keys])
        self.size = len(keys)

    @classmethod
    def from_setting(cls, value: str) -> Keyring:
        """Parse ENCRYPTION_KEYS; a key that is not a Fernet key is refused, naming its place in the list."""
        keys = [part.strip() for part in (value or "").split(",") if part.strip()]
        if not keys:
            raise KeySettingError("ENCRYPTION_KEYS is empty: give one or more Fernet keys, comma-separated, "
                                  "newest first")
        for place, key in enumerate(keys, start=1):
            try:
                Fernet(key)
            except ValueError:
                raise KeySettingError(f"ENCRYPTION_KEYS: key {place} of {len(keys)} is not a Fernet key (32 bytes in "
                                f"url-safe base64, 44 characters); make one with "
                                f"`python -c 'from cryptography.fernet import Fernet; "
                                f"print(Fernet.generate_key().decode())'`") from None
        return cls([key.encode() for key in keys])

    @staticmethod
    def new_key() -> str:
        return Fernet.generate_key().decode()

    def encrypt(self, text: str) -> str:
        return self._all.encrypt(text.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._all.decrypt(token.encode()).decode()
        except InvalidToken:
            raise UnreadableSecret("a stored secret cannot be decrypted with any of ENCRYPTION_KEYS") from None

    def is_newest(self, token: str) -> bool:
        """Whether the newest key encrypted this token."""
        try:
            self._newest.decrypt(token.encode())
        except InvalidToken:
            return False
        return True

    def rotate(self, token: str) -> str:
        """The same secret encrypted with the newest key."""
        try:
            return self._all.rotate(token.encode()).decode()
        except InvalidToken:
            raise UnreadableSecret("a stored secret cannot be decrypted with any of ENCRYPTION_KEYS") from None


def instance_secret(folder: Path, name: str, make: Callable[[], str]) -> str:
    """The secret kept in `folder/name`, made with `make` on first use.

    The file is written whole under a temporary name (mode 0600) and linked into place, so processes
    starting together (gunicorn workers, two commands) all end up with the one that was linked first.
    A file that others may read is refused rather than trusted.
    """
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    if not path.exists():
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{name}.")   # created with mode 0600
        try:
            with os.fdopen(handle, "w", encoding="ascii") as out:
                out.write(make() + "\n")
            os.link(temporary, path)
        except FileExistsError:
            pass
        finally:
            os.unlink(temporary)
    if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeySettingError(f"{path} may be read by others than its owner: `chmod 600 {path}`, or set "
                        f"{name.upper()} in the environment")
    value = path.read_text(encoding="ascii").strip()
    if not value:
        raise KeySettingError(f"{path} is empty: delete it to have a new one made, or set {name.upper()}")
    return value


def init_app(app: Flask) -> None:
    """Fill in the keys left unset (outside production) from instance/, check them, and build the keyring."""
    config = app.config
    folder = Path(app.instance_path)
    for setting, file_name, make in (("SECRET_KEY", SECRET_KEY_FILE, lambda: secrets.token_urlsafe(48)),
                                     ("ENCRYPTION_KEYS", ENCRYPTION_KEYS_FILE, Keyring.new_key)):
        if not config.get(setting):
            if config.get("REQUIRE_CONFIGURED_KEYS"):
                raise KeySettingError(f"{setting} must be set in production")
            config[setting] = instance_secret(folder, file_name, make)
    if config["SECRET_KEY"] in PUBLISHED_SECRET_KEYS:
        raise KeySettingError("SECRET_KEY is the development key published with earlier releases: unset it (a key "
                        "of this installation's own is then made under instance/) or set one of your own")
    app.extensions["keyring"] = Keyring.from_setting(config["ENCRYPTION_KEYS"])


def keyring(app: Flask | None = None) -> Keyring:
    """The app's keyring (the current app's by default)."""
    return (app or current_app).extensions["keyring"]
