"""What the running site counts for /metrics, and the id of the request or job run under way.

The lowest layer, so that any package counts what it does where it does it; training/ops/metrics.py serves the
counts. Under several gunicorn workers prometheus_client keeps them in files under PROMETHEUS_MULTIPROC_DIR
(set before the app is imported), one set per worker, added together at each scrape.
"""
from __future__ import annotations

import re
import uuid
from contextvars import ContextVar

from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics

# No `_created` series beside each counter: a restart shows as a counter going back to zero.
disable_created_metrics()
# The counts of this process. Under PROMETHEUS_MULTIPROC_DIR they live in that directory's files as well.
REGISTRY = CollectorRegistry(auto_describe=True)

REQUESTS = Counter("rollcall_http_requests", "Requests answered, by route (endpoint name), method and status.",
                   ("endpoint", "method", "status"), registry=REGISTRY)
LATENCY = Histogram("rollcall_http_request_duration_seconds", "Time to answer a request, by route and method.",
                    ("endpoint", "method"), registry=REGISTRY,
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
SIGN_IN_FAILURES = Counter("rollcall_sign_in_failures", "Wrong passwords and codes, by check (the audit action).",
                           ("check",), registry=REGISTRY)
THROTTLED = Counter("rollcall_throttle_refusals", "Requests refused because an account or address failed too often, "
                    "by refusal (the audit action).", ("action",), registry=REGISTRY)
QUIZ_SUBMISSIONS = Counter("rollcall_quiz_submissions", "Quiz attempts submitted, by result.", ("result",),
                           registry=REGISTRY)
COMPLETIONS = Counter("rollcall_completions", "Completions recorded, by source (quiz, import, api...).", ("source",),
                      registry=REGISTRY)
JOB_RUNS = Counter("rollcall_job_runs", "Runs of the scheduled jobs that ended, by job and outcome.",
                   ("job", "outcome"), registry=REGISTRY)

# The request id of the request or job run under way: logged with each line, kept in audit events' details and
# sent as the X-Request-ID header of the mail it sends.
_current: ContextVar[str | None] = ContextVar("request_id", default=None)
SANE_ID = re.compile(r"[A-Za-z0-9._:-]{8,128}")


def new_request_id() -> str:
    return uuid.uuid4().hex


def sane_request_id(offered: str | None) -> str:
    """An incoming X-Request-ID kept when it is a plain token of 8 to 128 characters, else a new one: a header
    that could break a log line or a mail header is never copied into either."""
    return offered if offered and SANE_ID.fullmatch(offered) else new_request_id()


def request_id() -> str | None:
    return _current.get()


def set_request_id(value: str | None):
    """Make `value` the current request id; returns the token `reset_request_id` takes to restore the one before."""
    return _current.set(value)


def reset_request_id(token) -> None:
    _current.reset(token)
