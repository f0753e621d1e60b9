"""Whole databases a test makes and drops itself, for work that needs real commits and empty databases (a backup
and its restore): SQLite files, or on PostgreSQL databases beside the suite's, named by a prefix the test gives."""
from __future__ import annotations

import os
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

import config
from tests.support.databases import on_postgresql
from training import create_app, migrate


class Scratch:
    """Makes databases: `migrated()` at the latest schema, with nothing in it; `blank()` with no schema at all."""

    def __init__(self, folder: Path, prefix: str, postgresql: bool | None = None):
        self.folder, self.prefix = folder, prefix
        self.postgresql = on_postgresql() if postgresql is None else postgresql
        self.made: list[str] = []
        self.template: str | None = None
        if self.postgresql:
            self.base = make_url(os.environ["TEST_DATABASE_URL"])
            self.admin = create_engine(self.base, isolation_level="AUTOCOMMIT")

    def _name(self) -> str:
        return f"{self.prefix}_{uuid.uuid4().hex[:10]}"

    def blank(self) -> str:
        name = self._name()
        if not self.postgresql:
            return f"sqlite:///{self.folder / (name + '.db')}"
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        self.made.append(name)
        return self.base.set(database=name).render_as_string(hide_password=False)

    def migrated(self, revision: str = "head") -> str:
        """A database migrated to `revision`; at head, a copy of a template migrated once."""
        if revision != "head":
            url = self.blank()
            migrate.upgrade(create_app(config.TestConfig, DATABASE_URL=url), revision)
            return url
        if self.template is None:
            self.template = self.blank()
            migrate.upgrade(create_app(config.TestConfig, DATABASE_URL=self.template))
        name = self._name()
        if not self.postgresql:
            target = self.folder / (name + ".db")
            source = make_url(self.template).database
            with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
                src.backup(dst)
            return f"sqlite:///{target}"
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{make_url(self.template).database}"'))
        self.made.append(name)
        return self.base.set(database=name).render_as_string(hide_password=False)

    def drop(self) -> None:
        if not self.postgresql:
            return
        with self.admin.connect() as conn:
            for name in self.made:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.admin.dispose()


@contextmanager
def scratch_databases(folder: Path, prefix: str, postgresql: bool | None = None) -> Iterator[Scratch]:
    """Databases made in `folder` (SQLite) or on the test server (PostgreSQL: named `prefix`_...), all dropped
    afterwards."""
    scratch = Scratch(folder, prefix, postgresql)
    try:
        yield scratch
    finally:
        scratch.drop()


@contextmanager
def apps_on() -> Iterator:
    """`app_for(url, **settings)`: an app of the test configuration on a scratch database; their engines are
    closed at the end, so the databases can be dropped."""
    made = []

    def app_for(url: str, **settings):
        made.append(create_app(config.TestConfig, DATABASE_URL=url, **settings))
        return made[-1]
    try:
        yield app_for
    finally:
        for app in made:
            app.extensions["db_engine"].dispose()
