"""The site exactly as app.py builds it, with one fault tests/test_faults.py can set off.

A quiz submission sent with the header `X-Fault-Stall: before-commit` stops with
everything it writes flushed to the database but not committed; with
`X-Fault-Stall: after-commit` it stops just after the commit, before the answer
goes out. Either way the worker writes its process id to
`$FAULT_STALL_DIR/<where>.pid` and waits there to be killed. Every other request
is served as usual. Served by gunicorn: `gunicorn tests.support.fault_app:app`.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

from flask import has_request_context, request
from sqlalchemy import event
from sqlalchemy.orm import Session

from app import app  # noqa: F401 - the WSGI app gunicorn serves
from training.audit.models import AuditEvent

STALL_DIR = Path(os.environ["FAULT_STALL_DIR"])


def _stall_asked(where: str) -> bool:
    return has_request_context() and request.headers.get("X-Fault-Stall") == where


def _submitting(session: Session) -> bool:
    """The transaction holds a quiz submission (its audit event)."""
    return any(isinstance(o, AuditEvent) and o.action == "attempt.submitted" for o in session.identity_map.values())


def _wait_to_be_killed(where: str) -> None:
    marker = STALL_DIR / f"{where}.pid"
    partial = marker.with_suffix(".part")
    partial.write_text(str(os.getpid()))
    partial.replace(marker)
    time.sleep(120)


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    if _stall_asked("before-commit") and _submitting(session):
        session.flush()
        _wait_to_be_killed("before-commit")
    if _stall_asked("after-commit") and _submitting(session):
        session.info["fault_submission"] = True


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if session.info.pop("fault_submission", False):
        _wait_to_be_killed("after-commit")
