"""Alembic, configured from the app rather than an ini file."""
from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from alembic import command
from alembic.config import Config as AlembicConfig
from flask import Flask

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(app: Flask) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    # Named by date and time, so the files sort in the order they apply.
    cfg.set_main_option("file_template",
                        "%%(year)d_%%(month).2d_%%(day).2d_%%(hour).2d%%(minute).2d_%%(rev)s_%%(slug)s")
    cfg.set_main_option("sqlalchemy.url", app.config["DATABASE_URL"].replace("%", "%%"))
    # Migrations that encrypt or decrypt stored secrets use the app's ENCRYPTION_KEYS (training/auth/keys.py).
    cfg.attributes["keyring"] = app.extensions.get("keyring")
    return cfg


def upgrade(app: Flask, revision: str = "head") -> None:
    command.upgrade(alembic_config(app), revision)


def downgrade(app: Flask, revision: str) -> None:
    command.downgrade(alembic_config(app), revision)


def revision(app: Flask, message: str) -> None:
    command.revision(alembic_config(app), message=message, autogenerate=True)


def revision_module(revision_id: str) -> ModuleType:
    """The migration script of `revision_id`, loaded as a module: for code that applies a rule a migration
    keeps (the required pairs' settles_on), so the rule has one home."""
    path = next((MIGRATIONS / "versions").glob(f"*_{revision_id}_*.py"))
    spec = importlib.util.spec_from_file_location(f"revision_{revision_id}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
