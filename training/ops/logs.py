"""One log line per request: its request id, the route (never the raw path, which may hold a token), the status,
the time taken and who asked; the same counted for /metrics. LOG_FORMAT says json or text."""
from __future__ import annotations

import json
import logging
import sys
import time
from datetime import UTC, datetime

from flask import Flask, g, got_request_exception, request

from training import telemetry

LOGGER = "training"              # the app's logger (Flask's app.logger) and the parent of every module's own
REQUEST_ID_HEADER = "X-Request-ID"
ENVIRON_KEY = "rollcall_request_id"
log = logging.getLogger(f"{LOGGER}.requests")   # each request's line

# Attributes every LogRecord has; anything else given in `extra=` is a field of the line.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "taskName"}


def fields_of(record: logging.LogRecord) -> dict:
    """The fields a record carries beyond the standard ones (`extra=`), with the current request id."""
    fields = {key: value for key, value in vars(record).items() if key not in _STANDARD}
    fields.setdefault("request_id", telemetry.request_id())
    return fields


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the record's fields, and a traceback once."""

    def format(self, record: logging.LogRecord) -> str:
        line = {"time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
                "level": record.levelname, "logger": record.name, "message": record.getMessage()}
        line.update({key: value for key, value in fields_of(record).items() if value is not None})
        if record.exc_info:
            line["traceback"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """For a person at a terminal: time, level, logger, message, then the fields as key=value."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        first, _, rest = text.partition("\n")   # the traceback, if any, after the fields
        extra = " ".join(f"{key}={value}" for key, value in fields_of(record).items() if value is not None)
        return f"{first} {extra}".rstrip() + (f"\n{rest}" if rest else "")


class _Stderr(logging.StreamHandler):
    """Writes to whatever sys.stderr is when a line is written (a test's captured stream, gunicorn's)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


def configure(log_format: str) -> None:
    """One handler on the app's logger, in the format asked for: made once per process, its format the last
    app's. gunicorn keeps its own loggers; the app's lines are not written twice through them."""
    logger = logging.getLogger(LOGGER)
    handler = next((h for h in logger.handlers if isinstance(h, _Stderr)), None)
    if handler is None:
        handler = _Stderr()
        logger.addHandler(handler)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    if logger.level == logging.NOTSET:
        logger.setLevel(logging.INFO)


class RequestIds:
    """WSGI middleware: the request id (a sane X-Request-ID, or a new one) is current while the app answers and
    while its answer is sent and closed, where work done after the answer (mail sent on close) still names it."""

    def __init__(self, app) -> None:
        self.app = app

    def __call__(self, environ, start_response):
        rid = environ[ENVIRON_KEY] = telemetry.sane_request_id(environ.get("HTTP_X_REQUEST_ID"))
        token = telemetry.set_request_id(rid)
        try:
            answer = self.app(environ, start_response)
        finally:
            telemetry.reset_request_id(token)
        return _Answer(answer, rid)


class _Answer:
    """The app's answer, each chunk written and the close done with the request id current."""

    def __init__(self, inner, rid: str) -> None:
        self.inner, self.rid, self.chunks = inner, rid, None

    def __iter__(self):
        return self

    def __next__(self):
        return self._as_request(lambda: next(self.chunks if self.chunks is not None else self._start()))

    def _start(self):
        self.chunks = iter(self.inner)
        return self.chunks

    def close(self) -> None:
        if hasattr(self.inner, "close"):
            self._as_request(self.inner.close)

    def _as_request(self, step):
        token = telemetry.set_request_id(self.rid)
        try:
            return step()
        finally:
            telemetry.reset_request_id(token)


def _started() -> None:
    g.request_started = time.perf_counter()


def _remember_error(_sender, exception: BaseException, **_extra) -> None:
    g.request_error = exception


def _answered(response):
    """The request's line and counts, once its answer is final (after the unit of work committed)."""
    elapsed = time.perf_counter() - g.pop("request_started", time.perf_counter())
    endpoint = request.endpoint or "unmatched"
    rid = request.environ.get(ENVIRON_KEY)
    if rid:
        response.headers[REQUEST_ID_HEADER] = rid
    telemetry.REQUESTS.labels(endpoint, request.method, str(response.status_code)).inc()
    telemetry.LATENCY.labels(endpoint, request.method).observe(elapsed)
    error = g.pop("request_error", None)
    # The account the request was vouched for, if it looked (Flask-Login keeps the user it loaded): the line
    # neither reads the session nor queries for it, so a page that needs no account costs nothing more.
    user = g.get("_login_user")
    route = request.url_rule.rule if request.url_rule is not None else None
    fields = {"request_id": rid, "method": request.method, "endpoint": endpoint, "route": route,
              "status": response.status_code, "duration_ms": round(elapsed * 1000, 1),
              "user_id": user.id if user is not None and user.is_authenticated else None,
              "api_token_id": caller.id if (caller := g.get("api_caller")) is not None else None}
    if error is not None:
        log.error("%s %s %s", request.method, route or endpoint, response.status_code, extra=fields,
                  exc_info=(type(error), error, error.__traceback__))
    else:
        log.info("%s %s %s", request.method, route or endpoint, response.status_code, extra=fields)
    return response


def init_app(app: Flask) -> None:
    """Before every other hook, so that the line times the whole request and is written after its commit."""
    configure(app.config.get("LOG_FORMAT", "text"))
    app.wsgi_app = RequestIds(app.wsgi_app)
    app.before_request(_started)
    app.after_request(_answered)   # after-request hooks run last registered first: this one runs last
    got_request_exception.connect(_remember_error, app)
    # Flask's own record of an error names the raw path (a calendar token, say) and would repeat the traceback
    # the request's line carries.
    app.log_exception = lambda exc_info: None
