"""Errors of the API as RFC 9457 problem details (application/problem+json), never the site's HTML pages."""
from __future__ import annotations

import json
from http import HTTPStatus

from flask import Response, current_app, request
from werkzeug.exceptions import HTTPException

PREFIX = "/api/"
MEDIA_TYPE = "application/problem+json"
# The problem types Rollcall names; any other error is "about:blank", its title the HTTP status's.
TYPES = {
    "unauthorized": "urn:rollcall:api:unauthorized",
    "invalid-parameters": "urn:rollcall:api:invalid-parameters",
    "invalid-body": "urn:rollcall:api:invalid-body",
    "rate-limited": "urn:rollcall:api:rate-limited",
}
# What each error says when the code raising it said nothing more particular.
DETAILS = {
    400: "The request could not be understood.",
    401: "Send a working API token: Authorization: Bearer <token>.",
    403: "The token does not allow this.",
    404: "There is nothing at this address.",
    405: "This address does not answer that method.",
    413: "The body is larger than allowed.",
    415: "The body is not of a media type this address accepts.",
    422: "The request's content has problems.",
    429: "Too many requests for this token.",
    500: "Something went wrong; nothing was saved. Try again, and tell an administrator if it keeps happening.",
}


class Problem(Exception):
    """Raised by the API's views and answered as problem details; whatever the request wrote is discarded."""

    def __init__(self, status: int, detail: str, *, kind: str | None = None, errors: list[dict] | None = None,
                 headers: dict[str, str] | None = None, title: str | None = None, **extra):
        super().__init__(detail)
        self.status, self.detail, self.kind, self.errors = status, detail, kind, errors
        self.headers, self.title, self.extra = headers or {}, title, extra


def is_api_request() -> bool:
    return request.path.startswith(PREFIX)


def problem_response(status: int, detail: str, *, kind: str | None = None, errors: list[dict] | None = None,
                     headers: dict[str, str] | None = None, title: str | None = None, **extra) -> Response:
    body = {"type": TYPES.get(kind, "about:blank"), "title": title or HTTPStatus(status).phrase, "status": status,
            "detail": detail, **extra}
    if errors is not None:
        body["errors"] = errors
    response = Response(json.dumps(body), status=status, mimetype=MEDIA_TYPE)
    response.headers.update(headers or {})
    return response


def answer(problem: Problem) -> Response:
    return problem_response(problem.status, problem.detail, kind=problem.kind, errors=problem.errors,
                            headers=problem.headers, title=problem.title, **problem.extra)


def from_error(error: BaseException) -> Response:
    """Any error of an API request as problem details: an HTTP error keeps its status, its own words when a view
    gave some, and headers such as Allow; anything else is a 500 that says nothing of its cause."""
    if isinstance(error, Problem):
        return answer(error)
    if not isinstance(error, HTTPException) or error.code is None or error.code >= 500:
        return problem_response(500, DETAILS[500])
    said = error.description if error.description != type(error).description else None
    if error.code == 413 and not said:
        from training.commands import megabytes
        said = (f"The body is larger than the {megabytes(current_app.config['MAX_CONTENT_LENGTH'])} allowed; "
                f"split it into smaller requests.")
    headers = {k: v for k, v in error.get_headers() if k.lower() != "content-type"}
    return problem_response(error.code, said or DETAILS.get(error.code, HTTPStatus(error.code).phrase),
                            headers=headers)
