"""The databases the tests run on: the suite's own (SQLite, or PostgreSQL with ROLLCALL_TEST_DB=postgresql),
databases of a test's own whose commits are real, and a PostgreSQL server of a test's own."""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

import config
from tests.support.net import free_port
from training import create_app, migrate
from training.db import make_engine


def on_postgresql() -> bool:
    """This run is the PostgreSQL pass: ROLLCALL_TEST_DB=postgresql, the database at TEST_DATABASE_URL."""
    return os.environ.get("ROLLCALL_TEST_DB") == "postgresql"


def suite_database_url(tmp_path_factory) -> str:
    """The URL of the run's database: TEST_DATABASE_URL in the PostgreSQL pass, else a SQLite file of the run's own."""
    if on_postgresql():
        url = os.environ.get("TEST_DATABASE_URL")
        if not url:
            pytest.exit("ROLLCALL_TEST_DB=postgresql needs TEST_DATABASE_URL", returncode=2)
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


def reset_database(url: str) -> None:
    """An empty database at the latest migration."""
    engine = make_engine(url)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    migrate.upgrade(create_app(config.TestConfig, DATABASE_URL=url))


@contextmanager
def committed_database(tmp_path: Path, name: str) -> Iterator[str]:
    """The URL of a database of the test's own whose commits are real, for other connections and processes to see:
    a SQLite file in `tmp_path`, or on PostgreSQL the schema `name` of the test database, dropped afterwards."""
    if not on_postgresql():
        yield f"sqlite:///{tmp_path / (name + '.db')}"
        return
    base = os.environ["TEST_DATABASE_URL"]
    admin = make_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {name} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {name}"))
    try:
        yield make_url(base).update_query_dict({"options": f"-csearch_path={name}"}).render_as_string(
            hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {name} CASCADE"))
        admin.dispose()


def database_of_its_own(tmp_path_factory, name: str) -> str:
    """The URL of a whole database beside the suite's, for a server that commits for real: a SQLite file, or on
    PostgreSQL the database `<test database>_<name>`, made when it is missing. Empty it with reset_database."""
    if on_postgresql():
        url = make_url(os.environ["TEST_DATABASE_URL"])
        database = f"{url.database}_{name}"
        admin = create_engine(url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            if not conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": database}):
                conn.execute(text(f'CREATE DATABASE "{database}"'))
        admin.dispose()
        return url.set(database=database).render_as_string(hide_password=False)
    return f"sqlite:///{tmp_path_factory.mktemp(name) / (name + '.db')}"


# Debian's PostgreSQL server programs, newest last: none without the postgresql package.
PG_BIN = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))


@dataclass
class PrivatePostgres:
    """A running server of a test's own: its URL, pg_ctl with the server's folder and settings, its log."""
    url: str
    pg_ctl: Callable[..., None]
    log: Path


@contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    """A PostgreSQL server of the test's own, in a temporary folder, on a free port; removed afterwards.

    initdb refuses to run as root: as root, the server runs as the postgres user.
    """
    bin_dir = PG_BIN[-1].parent
    as_owner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    root = Path(tempfile.mkdtemp(prefix="rollcall-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    data, log, port = root / "data", root / "server.log", free_port()
    options = f"-c port={port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={root}"

    def run(*args: str) -> None:
        done = subprocess.run(as_owner + [*args], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"{args}: {done.stdout}{done.stderr}"

    def pg_ctl(*args: str) -> None:
        run(str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", *args)

    try:
        run(str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
            "--locale=C", "--no-sync")
        pg_ctl("start")
        yield PrivatePostgres(f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres", pg_ctl, log)
    finally:
        if (data / "postmaster.pid").exists():
            subprocess.run(as_owner + [str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                           capture_output=True, timeout=60)
        shutil.rmtree(root, ignore_errors=True)
