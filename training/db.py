"""Database engine, sessions and the declarative base."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from flask import Flask, current_app, g
from sqlalchemy import Integer, MetaData, create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.sql.functions import FunctionElement

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_conn, _record):
            # Let SQLAlchemy, not pysqlite, issue BEGIN, so savepoints work.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):
            conn.exec_driver_sql("BEGIN")

        return engine
    # PostgreSQL's JIT compiles a statement whose estimated cost is high: the compliance dashboard's, whose
    # estimate counts rows an empty marks table does not hold, took 0.6 s to compile in each parallel worker to
    # read a few thousand rows (docs/performance.md). No statement here runs long enough on the CPU to repay it.
    # The URL's own server options (a test's search_path, say) are kept beside it.
    address = make_url(url)
    if address.get_backend_name() == "postgresql":
        options = " ".join(filter(None, (address.query.get("options"), "-c jit=off")))
        address = address.update_query_dict({"options": options})
    return create_engine(address, pool_pre_ping=True)


def init_app(app: Flask) -> None:
    engine = make_engine(app.config["DATABASE_URL"])
    app.extensions["db_engine"] = engine
    app.extensions["db_sessionmaker"] = sessionmaker(bind=engine, expire_on_commit=False)
    app.after_request(_commit_request)
    app.teardown_appcontext(_close_session)


def sessionmaker_for(app: Flask) -> sessionmaker[Session]:
    return app.extensions["db_sessionmaker"]


def db() -> Session:
    """The session of the current request or app context."""
    if "db_session" not in g:
        g.db_session = sessionmaker_for(current_app)()
    return g.db_session


def _commit_request(response):
    """The request's unit of work: what a view changed is committed before its answer goes out.

    A view that fails (an exception, or an abort to an error page) has its changes
    discarded first by the error handler (`discard_request_changes`), so nothing is
    half written.
    """
    session = g.get("db_session")
    if session is not None:
        session.commit()
    return response


def discard_request_changes() -> None:
    """Roll back what the current request changed: it is answering with an error."""
    session = g.get("db_session")
    if session is not None:
        session.rollback()


def _close_session(exc: BaseException | None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        if exc is not None:
            session.rollback()
        session.close()


@contextmanager
def unit_of_work(app: Flask | None = None) -> Iterator[Session]:
    """A session for a job or a command: commits on success, rolls back on error."""
    maker = sessionmaker_for(app or current_app)
    session = maker()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def advance_sequences(session: Session) -> None:
    """After rows were inserted with explicit ids, move PostgreSQL's id sequences past them."""
    if session.get_bind().dialect.name != "postgresql":
        return
    from sqlalchemy import text

    for table in Base.metadata.sorted_tables:
        if "id" in table.c:
            session.execute(text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                                 f"COALESCE((SELECT max(id) FROM {table.name}), 0) + 1, false)"))


def analyze(session: Session, *models) -> None:
    """Refresh PostgreSQL's planner statistics of these models' tables, in the session's transaction: for tables a
    job has just rewritten in bulk, so that statements read them by the plan their rows call for, not by the rows
    autovacuum last sampled, which may be minutes behind. Nothing on SQLite."""
    if session.get_bind().dialect.name != "postgresql":
        return
    from sqlalchemy import text

    session.flush()
    for model in models:
        session.execute(text(f"ANALYZE {model.__tablename__}"))


class days_between(FunctionElement):
    """Whole days from the second date to the first, in SQL (negative when the first is earlier)."""

    type = Integer()
    inherit_cache = True


@compiles(days_between, "sqlite")
def _days_between_sqlite(element, compiler, **kw):
    later, earlier = list(element.clauses)
    return f"CAST(julianday({compiler.process(later, **kw)}) - julianday({compiler.process(earlier, **kw)}) AS INTEGER)"


@compiles(days_between, "postgresql")
def _days_between_postgresql(element, compiler, **kw):
    later, earlier = list(element.clauses)
    return f"({compiler.process(later, **kw)} - {compiler.process(earlier, **kw)})"


def insert_ignoring_conflicts(session: Session, model):
    """An INSERT for `model` in the session's dialect, to be finished with `.on_conflict_do_nothing(...)`."""
    from sqlalchemy.dialects.postgresql import insert as pg_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return (pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert)(model)
