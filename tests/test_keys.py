"""The app's keys: none written in the code, one of the installation's own under instance/ outside production,
both required in production, and ENCRYPTION_KEYS rotated with `secrets rotate`."""
from __future__ import annotations

import stat
import threading

import pyotp
import pytest
from cryptography.fernet import Fernet, InvalidToken
from flask import Flask
from sqlalchemy import select

import config
import training
from tests.support.factories import KEYS, make_user, set_authenticator
from tests.support.pages import login
from training import create_app
from training.audit.models import AuditEvent
from training.auth import keys, second_factor
from training.auth.keys import Keyring, KeySettingError
from training.auth.models import RecoveryCode, SecondFactorSetup
from training.db import utcnow
from training.people.models import User

NEW_KEY, OTHER_KEY = Fernet.generate_key().decode(), Fernet.generate_key().decode()


def _bare_app(folder, **settings) -> Flask:
    app = Flask("keys-test", instance_path=str(folder))
    app.config.update({"SECRET_KEY": None, "ENCRYPTION_KEYS": None, **settings})
    return app


def test_without_keys_an_installation_makes_its_own_once_readable_by_its_owner_only(tmp_path):
    first, again, elsewhere = _bare_app(tmp_path / "a"), _bare_app(tmp_path / "a"), _bare_app(tmp_path / "b")
    for app in (first, again, elsewhere):
        keys.init_app(app)
    assert first.config["SECRET_KEY"] == again.config["SECRET_KEY"] != elsewhere.config["SECRET_KEY"]
    assert first.config["ENCRYPTION_KEYS"] == again.config["ENCRYPTION_KEYS"] != elsewhere.config["ENCRYPTION_KEYS"]
    assert len(first.config["SECRET_KEY"]) >= 64
    for name in ("secret_key", "encryption_keys"):
        assert stat.S_IMODE((tmp_path / "a" / name).stat().st_mode) == 0o600
    token = keys.keyring(first).encrypt("secret")
    assert keys.keyring(again).decrypt(token) == "secret"


def test_processes_starting_together_agree_on_one_key(tmp_path):
    found, start = [], threading.Barrier(8)

    def make():
        start.wait()
        found.append(keys.instance_secret(tmp_path, "secret_key", lambda: Fernet.generate_key().decode()))

    threads = [threading.Thread(target=make) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(found) == 8 and len(set(found)) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["secret_key"], "no temporary file is left behind"


def test_a_key_file_others_can_read_is_refused(tmp_path):
    keys.init_app(_bare_app(tmp_path))
    (tmp_path / "secret_key").chmod(0o644)
    with pytest.raises(KeySettingError, match="chmod 600"):
        keys.init_app(_bare_app(tmp_path))


def test_development_without_settings_uses_the_instance_folder(tmp_path, monkeypatch, database_url):
    """What `make run` gets: `create_app` with config.Config and neither key in the environment."""
    monkeypatch.setattr(training, "BASE_DIR", tmp_path)
    monkeypatch.setattr(config.Config, "SECRET_KEY", None)
    monkeypatch.setattr(config.Config, "ENCRYPTION_KEYS", None)
    app = create_app(config.Config, DATABASE_URL=database_url)
    assert app.config["SECRET_KEY"] == (tmp_path / "instance" / "secret_key").read_text().strip()
    assert app.config["ENCRYPTION_KEYS"] == (tmp_path / "instance" / "encryption_keys").read_text().strip()
    app.extensions["db_engine"].dispose()


@pytest.mark.parametrize("missing", ["SECRET_KEY", "ENCRYPTION_KEYS"])
def test_production_refuses_to_start_without_either_key(monkeypatch, tmp_path, missing):
    monkeypatch.setenv("SECRET_KEY", "a-production-secret")
    monkeypatch.setenv("ENCRYPTION_KEYS", NEW_KEY)
    monkeypatch.delenv(missing)
    with pytest.raises(RuntimeError, match=f"{missing} must be set in production"):
        config.ProductionConfig()
    with pytest.raises(KeySettingError, match=f"{missing} must be set in production"):
        keys.init_app(_bare_app(tmp_path, REQUIRE_CONFIGURED_KEYS=True,
                                **{"SECRET_KEY": "a-production-secret", "ENCRYPTION_KEYS": NEW_KEY, missing: None}))
    assert not (tmp_path / "secret_key").exists() and not (tmp_path / "encryption_keys").exists()


@pytest.mark.parametrize("setting, message", [
    (" , ", "ENCRYPTION_KEYS is empty"),
    (f"{NEW_KEY},not-a-key", "key 2 of 2 is not a Fernet key"),
    (NEW_KEY[:-2], "key 1 of 1 is not a Fernet key"),
])
def test_encryption_keys_that_are_not_keys_are_refused_by_name(setting, message):
    with pytest.raises(KeySettingError, match=message):
        Keyring.from_setting(setting)


def test_the_newest_key_encrypts_and_any_decrypts():
    old, both = Keyring.from_setting(OTHER_KEY), Keyring.from_setting(f"{NEW_KEY}, {OTHER_KEY}")
    token = old.encrypt("JBSWY3DPEHPK3PXP")
    assert both.decrypt(token) == "JBSWY3DPEHPK3PXP" and not both.is_newest(token)
    assert both.is_newest(both.encrypt("x")) and both.is_newest(both.rotate(token))


def _enrolled_staff(session, org, email="lead@agency.test"):
    agency, unit = org
    user = make_user(session, email, role="coordinator", agency=agency, unit=unit, demo_account=False)
    secret = pyotp.random_base32()
    set_authenticator(user, secret)
    codes = second_factor.new_recovery_codes(session, user, KEYS)
    session.commit()
    return user, secret, codes


def test_secrets_rotate_re_encrypts_everything_so_the_old_key_can_go(app, runner, client, session, org):
    user, secret, codes = _enrolled_staff(session, org)
    second_factor.start_setup(session, make_user(session, "other@agency.test"), utcnow(), KEYS)
    session.commit()
    app.extensions["keyring"] = Keyring.from_setting(f"{NEW_KEY},{config.TestConfig.ENCRYPTION_KEYS}")
    result = runner.invoke(args=["secrets", "rotate"])
    assert result.exit_code == 0, result.output
    assert "Re-encrypted 12 stored secrets with the newest key: 1 second-factor secret, 10 recovery codes, " \
           "1 set-up in progress; 12 had been encrypted with an older key." in result.output
    assert session.scalar(select(AuditEvent.details).where(AuditEvent.action == "secrets.rotated"))["secrets"] == 1

    # The old key is dropped: everything still opens, with the new key alone.
    app.extensions["keyring"] = Keyring.from_setting(NEW_KEY)
    session.expire_all()
    stored = session.get(User, user.id).totp_secret_encrypted
    with pytest.raises(InvalidToken):
        Fernet(config.TestConfig.ENCRYPTION_KEYS).decrypt(stored.encode())
    assert Fernet(NEW_KEY).decrypt(stored.encode()).decode() == secret
    login(client, user.email)
    assert client.post("/login/code", data={"code": pyotp.TOTP(secret).now()}).status_code == 302
    client.post("/logout")
    login(client, user.email)
    assert client.post("/login/code", data={"code": codes[0]}).status_code == 302


def test_secrets_rotate_refuses_when_a_key_is_missing_and_changes_nothing(app, runner, session, org):
    user, _, _ = _enrolled_staff(session, org)
    before = {c.id: c.code_hash for c in session.scalars(select(RecoveryCode))}
    app.extensions["keyring"] = Keyring.from_setting(NEW_KEY)
    result = runner.invoke(args=["secrets", "rotate"])
    assert result.exit_code == 1
    assert "11 stored secrets cannot be decrypted with any of the 1 key in ENCRYPTION_KEYS" in result.output
    assert f"user {user.id}'s second-factor secret" in result.output and "nothing was changed" in result.output
    session.expire_all()
    assert {c.id: c.code_hash for c in session.scalars(select(RecoveryCode))} == before
    assert session.scalars(select(SecondFactorSetup)).all() == []
