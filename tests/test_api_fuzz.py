"""Arbitrary input at the JSON API: query strings, path values, JSON bodies and roster files. Never a server
error; every answer is one the OpenAPI document describes (tests/support/api.py checks each); nothing is
written on a refusal."""
from __future__ import annotations

from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.api import Api, make_token
from tests.support.factories import make_org, make_user
from tests.support.fuzz import FUZZ, NASTY, TEXT, VALUE, rolled_back, row_counts

JSON_VALUE = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), NASTY, TEXT),
                          lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                  st.dictionaries(TEXT, inner, max_size=3)), max_leaves=8)
FIELD = st.sampled_from(["course_code", "due_on", "employee_id", "unit", "agency", "allow_far"])
ROSTER_HEADER = "employee_id,first_name,last_name,email,agency,unit,supervisor_employee_id"


@pytest.fixture
def world(app, session, course):
    agency, unit = make_org(session, "AGY")
    make_user(session, "a@agy.test", agency=agency, unit=unit, employee_id="E1")
    session.commit()
    app.config["API_RATE_LIMIT"] = 10**6
    return {"read": make_token(session, agency)[1], "write": make_token(session, agency, write=True)[1]}


def _refused_wrote_nothing(response, before, after) -> None:
    assert response.status_code < 500, response.get_json()
    if response.status_code >= 400:
        assert before == after, "a refused request wrote something"


def test_arbitrary_query_strings_and_path_values(client, connection, world):
    api = Api(client, world["read"])
    keys = st.one_of(st.sampled_from(["cursor", "limit", "unit", "module", "status", "since"]), TEXT)

    @settings(FUZZ, max_examples=60)
    @given(path=st.sampled_from(["/officers", "/completions", "/officers/{}"]),
           args=st.dictionaries(keys, VALUE, max_size=4), value=TEXT.filter(lambda s: s not in (".", "..")))
    def get(path, args, value):
        with rolled_back(connection):
            response = api.get(path.format(quote(value, safe="")) if "{}" in path else path, query_string=args)
            assert response.status_code in (200, 400, 404), response.get_json()

    get()


def test_arbitrary_assignment_bodies(client, connection, world):
    api = Api(client, world["write"])
    valid = {"course_code": "TEST-BASICS", "employee_id": "E1", "due_on": "2099-01-01"}
    body = st.one_of(
        st.dictionaries(FIELD, JSON_VALUE, max_size=4).map(lambda changes: {**valid, **changes}),
        st.dictionaries(st.one_of(FIELD, TEXT), JSON_VALUE, max_size=5),
        JSON_VALUE)

    @FUZZ
    @given(body=body)
    def post(body):
        with rolled_back(connection):
            before = row_counts(connection)
            response = api.post("/assignments", json=body)
            _refused_wrote_nothing(response, before, row_counts(connection))

    post()


def test_arbitrary_roster_files(client, connection, world):
    api = Api(client, world["write"])
    cell = st.one_of(NASTY, TEXT.filter(lambda s: "," not in s and "\n" not in s and "\r" not in s and '"' not in s))
    row = st.lists(cell, min_size=0, max_size=8).map(",".join)
    text = st.one_of(st.lists(row, max_size=4).map(lambda rows: "\n".join([ROSTER_HEADER, *rows])), TEXT)

    @settings(FUZZ, max_examples=40)
    @given(text=text, dry_run=st.sampled_from([{}, {"dry_run": "true"}, {"full": "true"}, {"full": "maybe"}]))
    def post(text, dry_run):
        with rolled_back(connection):
            before = row_counts(connection)
            response = api.post("/roster", data=text.encode("utf-8", "surrogatepass"), content_type="text/csv",
                                query_string=dry_run)
            _refused_wrote_nothing(response, before, row_counts(connection))

    post()
