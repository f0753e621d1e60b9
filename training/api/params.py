"""Reading what a request to the API sends: query parameters, cursors and JSON bodies, each problem named with
the parameter or field it is about, so that one answer lists them all."""
from __future__ import annotations

import json

from flask import current_app, request
from itsdangerous import BadSignature, URLSafeSerializer

from training.api.problems import Problem

PAGE_DEFAULT, PAGE_MAX = 50, 200
NOT_A_CURSOR = "not a cursor this API gave; start again without it"


def args(allowed: tuple[str, ...]) -> tuple[dict[str, str], list[dict]]:
    """The query's parameters, and a problem for each one this address does not take or that is given twice."""
    errors = [{"field": name, "message": f"unknown parameter; this address takes {', '.join(allowed) or 'none'}"}
              for name in request.args if name not in allowed]
    errors += [{"field": name, "message": "given more than once"}
               for name in allowed if len(request.args.getlist(name)) > 1]
    return {name: request.args[name] for name in allowed if name in request.args}, errors


def refuse_parameters(errors: list[dict]) -> None:
    if errors:
        raise Problem(400, "Some query parameters are not right: " + "; ".join(
            f"{e['field']}: {e['message']}" for e in errors) + ".", kind="invalid-parameters", errors=errors)


def limit(args: dict[str, str], errors: list[dict]) -> int:
    text = args.get("limit")
    if text is None:
        return PAGE_DEFAULT
    if not text.isdigit() or not 1 <= int(text) <= PAGE_MAX:
        errors.append({"field": "limit", "message": f"a whole number from 1 to {PAGE_MAX}"})
        return PAGE_DEFAULT
    return int(text)


def cursors(kind: str) -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=f"rollcall-api-cursor:{kind}")


def read_cursor(kind: str, name: str, text: str | None, errors: list[dict]):
    if text is None:
        return None
    try:
        return cursors(kind).loads(text)
    except (BadSignature, ValueError):
        errors.append({"field": name, "message": NOT_A_CURSOR})
        return None


def body_problem(errors: list[dict]) -> Problem:
    return Problem(422, "The request's content has problems: " + "; ".join(
        (f"{e['field']}: " if e.get("field") else "") + e["message"] for e in errors[:20]) + ".",
        kind="invalid-body", errors=errors)


def json_body(what: str) -> dict:
    """The body as a JSON object; `what` names it in the refusal of another media type."""
    if request.mimetype != "application/json":
        raise Problem(415, f"Send {what} as JSON, with Content-Type: application/json.")
    try:
        body = json.loads(request.get_data(cache=False) or b"null")
    except ValueError as exc:
        raise Problem(400, f"The body is not valid JSON: {exc}.") from None
    if not isinstance(body, dict):
        raise body_problem([{"field": None, "message": "the body must be a JSON object"}])
    return body


def text(body: dict, name: str, errors: list[dict]) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or "\x00" in value or len(value) > 200:
        errors.append({"field": name, "message": "a non-empty text of at most 200 characters"})
        return None
    return value.strip()
