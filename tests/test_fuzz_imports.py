"""Arbitrary files at the roster, completions and org-chart imports, in the site and on the command line:
never a crash, all or nothing, and every problem named with its line."""
from __future__ import annotations

import io
from datetime import date

import pytest
from hypothesis import event, example, given, settings
from hypothesis import strategies as st

from tests.support.fuzz import FUZZ, NASTY, TEXT, build_world, rolled_back, row_counts
from tests.support.pages import login
from training.imports import apply_org_plan, apply_roster_plan, check_org_plan, parse_org_csv, parse_roster_csv
from training.imports.completions import HEADER as COMPLETIONS_HEADER
from training.imports.completions import apply_completions_plan, parse_completions_csv
from training.imports.org import ORG_HEADER
from training.imports.roster import ROSTER_HEADER

PLAUSIBLE = st.sampled_from(["AGY", "admin", "OFFICER ", "AGY-U1", "AGY-U2", "E-2", "E-9", "OFFICER", "TEST-BASICS", "Ana", "Reyes",
                             "ana@agency.test", "officer@agency.test", "2024-02-29", "2025-01-31", "80", "100",
                             "UTC", "America/New_York", "officer", "coordinator", ""])
CELL = st.one_of(PLAUSIBLE, PLAUSIBLE, NASTY, TEXT)
LINE_END = st.sampled_from(["\n", "\r\n", "\r"])


VALID_ROWS = {  # {n} makes each row's keys its own
    ROSTER_HEADER: ["E-5{n}", "Ana", "Reyes", "ana5{n}@agency.test", "AGY", "AGY-U1", "E-2"],
    COMPLETIONS_HEADER: ["E-2", "TEST-BASICS", "2024-02-2{n}", "80"],
    ORG_HEADER: ["AGY", "Agency AGY", "America/New_York", "AGY-U9{n}", "Unit nine", "AGY-U1"],
}


def spoilt_rows(header: tuple[str, ...]) -> st.SearchStrategy[bytes]:
    """A few rows the import accepts, maybe with one cell replaced by something odd."""
    @st.composite
    def rows(draw):
        count = draw(st.integers(1, 4))
        table = [[cell.format(n=n) for cell in VALID_ROWS[header]] for n in range(count)]
        for _ in range(draw(st.integers(0, 1))):
            table[draw(st.integers(0, count - 1))][draw(st.integers(0, len(header) - 1))] = draw(CELL)
        lines = [",".join(header)] + [",".join('"' + c.replace('"', '""') + '"' for c in row) for row in table]
        return ("\n".join(lines) + "\n").encode("utf-8")
    return rows()


def csv_bytes(header: tuple[str, ...]) -> st.SearchStrategy[bytes]:
    """Random bytes, random text, the right header with rows of plausible and nasty cells, or good rows spoilt."""
    @st.composite
    def with_header(draw):
        columns = draw(st.sampled_from([header, header, (*header, "role"), (*header, "notes")]))
        width = len(columns)
        rows = draw(st.lists(st.lists(CELL, min_size=width - 1, max_size=width + 1), max_size=6))
        end = draw(LINE_END)
        quote = draw(st.booleans())
        cell = (lambda c: '"' + c.replace('"', '""') + '"') if quote else (lambda c: c)
        text = end.join([",".join(columns)] + [",".join(cell(c) for c in row) for row in rows]) + draw(
            st.sampled_from(["", end]))
        data = text.encode(draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "latin-1"])), errors="replace")
        return data
    return st.one_of(spoilt_rows(header), spoilt_rows(header), with_header(), st.binary(max_size=200),
                     TEXT.map(lambda t: t.encode("utf-8")),
                     st.just(",".join(header).encode() + b"\n" + b"x" * 200_000 + b"\n"))


def assert_named(problems) -> None:
    assert problems and all(isinstance(line, int) and line >= 0 and message for line, message in problems)


def all_or_nothing(session, connection, parse, apply, written: str, check=lambda plan: []) -> None:
    """Parse (then check) a file: problems are each named with a line and nothing is written; a clean plan applies."""
    with rolled_back(connection):
        before = row_counts(connection)
        plan = parse()
        problems = plan.problems or check(plan)
        if problems:
            assert_named(problems)
        else:
            event(written)
            apply(session, plan, source="fuzz.csv")
            session.flush()
        session.rollback()
        if problems:
            assert row_counts(connection) == before


@pytest.fixture
def world(session, org, course):
    return build_world(session, org, course)


@FUZZ
@given(data=csv_bytes(ROSTER_HEADER), full=st.booleans())
@example(data=b"employee_id,first_name,last_name,email,agency,unit,supervisor_employee_id\nE-1,A\x00,B,\x00\n",
         full=False)
@example(data=b"employee_id,first_name,last_name,email,agency,unit,supervisor_employee_id\r"
              b"E-9,A\x00na,Reyes,ana@agency.test,AGY,AGY-U1,\r", full=False)
def test_roster_import(session, connection, world, data, full):
    all_or_nothing(session, connection, lambda: parse_roster_csv(session, data, full=full), apply_roster_plan,
                   "roster written")


@FUZZ
@given(data=csv_bytes(COMPLETIONS_HEADER))
@example(data=b"employee_id,course_code,completed_on,score\nE-2,TEST-BASICS,0001-01-01,\n")
@example(data=b"employee_id,course_code,completed_on,score\nE-2,TEST-BASICS,9999-12-31,\n")
def test_completions_import(session, connection, world, data):
    all_or_nothing(session, connection, lambda: parse_completions_csv(session, data, date.today()),
                   apply_completions_plan, "completions written")


DEEP = ",".join(ORG_HEADER) + "\n" + "".join(f"AGY,Agency AGY,America/New_York,D{n},Unit {n},{f'D{n - 1}' if n else ''}\n"
                                            for n in range(200))


@FUZZ
@given(data=csv_bytes(ORG_HEADER))
@example(data=(",".join(ORG_HEADER) + "\nAGY,Agency AGY,America/New_York,U\x00,Unit,\n").encode())
@example(data=DEEP.encode())
def test_org_import(session, connection, world, data):
    all_or_nothing(session, connection, lambda: parse_org_csv(data), apply_org_plan, "org chart written",
                   check=lambda plan: check_org_plan(session, plan))


@pytest.mark.parametrize("name, header", [("roster", ROSTER_HEADER), ("completions", COMPLETIONS_HEADER),
                                          ("org", ORG_HEADER)])
def test_uploads_in_the_site(client, connection, world, name, header):
    login(client, "admin@agency.test")

    @settings(FUZZ, max_examples=15)
    @given(data=csv_bytes(header))
    def upload(data):
        with rolled_back(connection):
            before = row_counts(connection)
            response = client.post(f"/imports/{name}", data={"file": (io.BytesIO(data), "fuzz.csv")},
                                   content_type="multipart/form-data")
            assert response.status_code in (200, 422)
            assert row_counts(connection) == before, "a preview wrote something"
            if response.status_code == 422:
                assert "nothing was imported" in response.text
                assert "Line " in response.text or "the file" in response.text
                return
            token = response.text.split('name="token" value="')[1].split('"')[0]
            done = client.post(f"/imports/{name}/confirm", data={"token": token, "filename": "fuzz.csv"})
            assert done.status_code in (302, 422)

    upload()


@pytest.mark.parametrize("command, header", [(["roster", "import"], ROSTER_HEADER),
                                             (["completions", "import"], COMPLETIONS_HEADER),
                                             (["org", "import"], ORG_HEADER)])
def test_imports_on_the_command_line(runner, connection, world, tmp_path, command, header):
    path = tmp_path / "fuzz.csv"

    @settings(FUZZ, max_examples=15)
    @given(data=csv_bytes(header))
    def run(data):
        path.write_bytes(data)
        with rolled_back(connection):
            before = row_counts(connection)
            result = runner.invoke(args=[*command, str(path)])
            assert result.exception is None or isinstance(result.exception, SystemExit), result.output
            if result.exit_code != 0:
                assert row_counts(connection) == before
                assert f"{path}:" in result.output and "nothing was imported" in result.output

    run()


def test_a_nul_character_in_a_file_is_named_with_its_line():
    rows = "".join(f"AGY,Agency,UTC,U{n},Unit,\n" for n in range(200))
    plan = parse_org_csv((",".join(ORG_HEADER) + "\n" + rows + "AGY,Agency,UTC,U-NUL,Un\x00it,\n").encode())
    assert plan.problems == [(202, "this line contains a NUL character (\\x00), which Rollcall cannot store; save it "
                                   "from Excel as 'CSV UTF-8 (Comma delimited)' and try again")]


@pytest.mark.parametrize("start, kind", [(b"PK\x03\x04", "an Excel workbook (.xlsx)"), (b"%PDF-1.7", "a PDF document"),
                                         (b"\xff\xfee\x00m\x00", "UTF-16 text"), (b"a\x00b\x00", "a binary file")])
def test_a_file_that_is_not_csv_text_is_refused_by_its_content(start, kind):
    problems = parse_org_csv(start + b"\x00" * 20).problems
    assert len(problems) == 1 and problems[0][0] == 1 and f"not a CSV text file: it looks like {kind}" in problems[0][1]


def test_an_org_chart_too_deep_for_the_unit_paths_is_refused(session, connection, world):
    before = row_counts(connection)
    plan = parse_org_csv(DEEP.encode())
    problems = check_org_plan(session, plan)
    assert problems == [(42, "unit D40 would put units more than 40 levels deep; an org chart may be at most 40 "
                             "levels deep")]
    assert row_counts(connection) == before
