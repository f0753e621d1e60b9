"""One unit of work per request: what a view changed is committed when it answers, and nothing of a request
that fails is kept, whichever way it fails."""
from __future__ import annotations

import pytest
from flask import abort
from sqlalchemy import func, select, text

from tests.support.databases import committed_database, on_postgresql
from training.audit.models import AuditEvent
from training.audit.service import record
from training.db import db, make_engine


@pytest.fixture
def probe_app(app):
    app.config["PROPAGATE_EXCEPTIONS"] = False

    def write(then: str):
        record(db(), "probe.written", target=then)
        if then == "abort":
            abort(400)
        if then == "not-found":
            abort(404)
        if then == "method":
            abort(405)
        if then == "crash":
            raise RuntimeError("the view failed after writing")
        return "written", 422 if then == "refuse" else 200

    app.add_url_rule("/probe/<then>", "probe", write)
    return app


def written(session, then: str) -> int:
    return session.scalar(select(func.count()).where(AuditEvent.action == "probe.written",
                                                     AuditEvent.target == then))


@pytest.mark.parametrize("then, status, kept", [
    ("answer", 200, 1),      # no commit in the view: the request commits
    ("refuse", 422, 1),      # a refusal the view answers itself is kept (an audit event of it, say)
    ("abort", 400, 0),
    ("not-found", 404, 0),
    ("method", 405, 0),
    ("crash", 500, 0),
])
def test_a_request_commits_what_it_changed_only_when_it_succeeds(probe_app, session, then, status, kept):
    response = probe_app.test_client().get(f"/probe/{then}")
    assert response.status_code == status
    assert written(session, then) == kept


@pytest.mark.skipif(not on_postgresql(), reason="a PostgreSQL setting: the PostgreSQL pass")
def test_the_sites_postgresql_connections_never_jit_compile(engine, tmp_path):
    """The compliance dashboard's statement spent most of its time at a million officers compiling (see
    docs/performance.md): the site's connections run with PostgreSQL's JIT off, and keep the server options their
    address gives (here a schema of a test's own)."""
    with engine.connect() as connection:
        assert connection.scalar(text("SHOW jit")) == "off"
    with committed_database(tmp_path, "jit_and_options") as url:
        own = make_engine(url)
        try:
            with own.connect() as connection:
                assert connection.scalar(text("SHOW jit")) == "off"
                assert connection.scalar(text("SHOW search_path")) == "jit_and_options"
        finally:
            own.dispose()
