"""Calling the JSON API in tests: every answer is checked against training/api/openapi.json with openapi-core,
so a test that gets an answer the document does not describe fails, whatever it asserts itself."""
from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import cache

from openapi_core import Config, OpenAPI
from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest, WerkzeugOpenAPIResponse
from openapi_core.templating.paths.exceptions import OperationNotFound, PathNotFound
from openapi_schema_validator import OAS31Validator
from referencing import Registry
from referencing.jsonschema import DRAFT202012
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from training.api.tokens import create_token
from training.api.views import DESCRIPTION

PROBLEM = "application/problem+json"


@cache
def document() -> dict:
    return json.loads(DESCRIPTION.read_text(encoding="utf-8"))


@cache
def _openapi() -> OpenAPI:
    # Problem details are JSON under their own media type (RFC 9457).
    return OpenAPI.from_dict(document(), config=Config(extra_media_type_deserializers={PROBLEM: _json}))


def _json(data, **_parameters):
    return json.loads(data)


def _problem_validator() -> OAS31Validator:
    spec = document()
    registry = Registry().with_resource("urn:rollcall-api", DRAFT202012.create_resource(spec))
    return OAS31Validator({"$ref": "urn:rollcall-api#/components/schemas/Problem"}, registry=registry)


def checked(response, request=None):
    """The response, once it is found to be what the document says: the status listed for the operation, the
    headers it requires and a body of its schema. An address or method the document has no operation for (a
    404 or 405) must answer a problem of the document's Problem schema. `request`: the request as sent, when
    the app read its body (the one the response holds can then not be read again)."""
    try:
        _openapi().validate_response(WerkzeugOpenAPIRequest(request or response.request),
                                     WerkzeugOpenAPIResponse(response))
    except (PathNotFound, OperationNotFound):
        assert response.status_code in (404, 405), response.status_code
        assert response.mimetype == PROBLEM, response.mimetype
        _problem_validator().validate(response.get_json())
    if response.status_code >= 400:
        assert response.mimetype == PROBLEM, (response.status_code, response.mimetype)
    return response


class Api:
    """A test client that sends the token (when one is given) and checks every answer against the document."""

    def __init__(self, client, token: str | None = None):
        self.client, self.token = client, token

    def open(self, method: str, path: str, *, token: str | None = None, headers: dict | None = None, **kwargs):
        token = self.token if token is None else token
        sent = {**({"Authorization": f"Bearer {token}"} if token else {}), **(headers or {})}
        sending = dict(path=f"/api/v1{path}", method=method, headers=sent, **kwargs)
        return checked(self.client.open(**sending), Request(EnvironBuilder(**sending).get_environ()))

    def get(self, path: str, **kwargs):
        return self.open("GET", path, **kwargs)

    def post(self, path: str, **kwargs):
        return self.open("POST", path, **kwargs)

    def every_page(self, path: str, **kwargs) -> list[dict]:
        """The officers of every page of a listing, following next_cursor to the end."""
        officers, cursor, query = [], None, dict(kwargs.pop("query_string", {}))
        while True:
            page = self.get(path, query_string={**query, **({"cursor": cursor} if cursor else {})}, **kwargs)
            assert page.status_code == 200, page.get_json()
            officers += page.get_json()["officers"]
            cursor = page.get_json()["next_cursor"]
            if cursor is None:
                return officers


def make_token(session, agency, unit=None, *, write: bool = False, expires_on=None, name: str = "Test system",
               actor_id=None) -> tuple[int, str]:
    """A token made as the command makes one, committed; (its number, its text)."""
    token, raw = create_token(session, name, agency, unit, can_write=write, expires_on=expires_on,
                              actor_id=actor_id, now=datetime.now(UTC).replace(tzinfo=None), via="test")
    session.commit()
    return token.id, raw
