"""Bounded work for any input: a file of many bad lines keeps IMPORT_PROBLEMS_SHOWN problems with their lines and
counts the rest, in the site and on the command line, reads its lines as it goes, and still writes nothing."""
from __future__ import annotations

import io
import tracemalloc
from datetime import date

import pytest

from tests.support.factories import make_user
from tests.support.fuzz import row_counts
from tests.support.pages import login
from training.imports import parse_org_csv, parse_roster_csv
from training.imports.completions import parse_completions_csv
from training.imports.csvfile import LONGEST_LINE, ImportRefused, Problems, first_long_line

ROSTER = "employee_id,first_name,last_name,email,agency,unit,supervisor_employee_id\n"
COMPLETIONS = "employee_id,course_code,completed_on,score\n"
ORG = "agency_code,agency_name,time_zone,unit_code,unit_name,parent_unit_code\n"
BAD_AGENCY = "agency NOPE is not in Rollcall; check the code, or import the org chart first"


def bad_roster(lines: int) -> str:
    """A roster whose every row names an agency Rollcall does not have: one problem a line."""
    return ROSTER + "".join(f"E{n},Ana,Reyes,ana{n}@agency.test,NOPE,AGY-U1,\n" for n in range(lines))


# --- the list that keeps a bounded number ---------------------------------------------------------

def test_problems_keep_the_lowest_lines_and_count_the_rest():
    problems = Problems(keep=3)
    problems.extend([(5, "e"), (2, "b"), (9, "i"), (7, "g")])
    assert sorted(problems) == [(2, "b"), (5, "e"), (7, "g")] and problems.more == 1 and problems.total == 4
    problems.append((1, "a"))           # a check of the whole file may find an early line last
    problems.append((8, "h"))
    assert problems == [(1, "a"), (2, "b"), (5, "e")] and (problems.more, problems.total) == (3, 6)
    assert problems.overflowed and str(ImportRefused(problems)) == "6 problems found; nothing was imported"


def test_problems_only_counted_still_refuse_the_file():
    problems = Problems(keep=0)
    problems.append((2, "bad"))
    assert problems == [] and problems.total == 1 and bool(problems)
    assert not Problems(keep=5)


def test_the_bound_is_a_setting(app):
    with app.app_context():
        app.config["IMPORT_PROBLEMS_SHOWN"] = 7
        assert Problems().keep == 7
    assert Problems().keep == 200   # outside an app: the default


# --- parsing ---------------------------------------------------------------------------------------

def test_a_roster_of_many_bad_lines_keeps_the_first_problems_and_counts_all(app, session, org):
    app.config["IMPORT_PROBLEMS_SHOWN"] = 50
    with app.app_context():
        plan = parse_roster_csv(session, bad_roster(5000).encode())
    assert plan.problems == [(line, BAD_AGENCY) for line in range(2, 52)]
    assert (plan.problems.more, plan.problems.total, plan.rows) == (4950, 5000, 5000)
    assert not plan.ok and plan.to_add == []


def test_lines_after_the_bound_are_checked_on_their_own_only(app, session, org):
    """Past the bound nothing of a line is kept, so the checks across lines are left for the fixed file: made
    with lines missing, they would say that B1's supervisor, on such a line, is in neither the file nor Rollcall."""
    app.config["IMPORT_PROBLEMS_SHOWN"] = 3
    text = (ROSTER + "B1,Bo,Li,bo@agency.test,AGY,AGY-U1,B2\n" + bad_roster(4).removeprefix(ROSTER)
            + "B2,Cy,Ng,cy@agency.test,AGY,AGY-U1,\nB2,Cy,Ng,cy2@agency.test,AGY,AGY-U1,\n")
    with app.app_context():
        plan = parse_roster_csv(session, text.encode())
    assert plan.problems == [(line, BAD_AGENCY) for line in (3, 4, 5)]
    assert plan.problems.total == 4 and plan.to_add == [] and plan.to_change == []


def test_below_the_bound_every_check_still_runs(app, session, org):
    app.config["IMPORT_PROBLEMS_SHOWN"] = 3
    text = ROSTER + "E1,Ana,Reyes,ana@agency.test,NOPE,AGY-U1,\nB1,Bo,Li,bo@agency.test,AGY,AGY-U1,E999\n"
    with app.app_context():
        plan = parse_roster_csv(session, text.encode())
    assert plan.problems == [(2, BAD_AGENCY), (3, "supervisor_employee_id E999 is neither in this file nor an "
                                                   "officer in Rollcall")]


def test_completions_and_org_charts_are_bounded_too(app, session, org, course):
    app.config["IMPORT_PROBLEMS_SHOWN"] = 10
    completions = COMPLETIONS + "E1,TEST-BASICS,2024-01-01,\n" * 1000
    org_chart = ORG + "".join(f"A{n},Agency,Mars/Base,U{n},Unit,\n" for n in range(1000))
    with app.app_context():
        plans = [parse_completions_csv(session, completions.encode(), date(2025, 1, 1)),
                 parse_org_csv(org_chart.encode())]
    for plan in plans:
        assert len(plan.problems) == 10 and plan.problems.total == 1000 and [line for line, _ in plan.problems] == \
            list(range(2, 12))
    assert plans[0].records == [] and plans[1].units == {}


@pytest.mark.parametrize("make", [lambda n: "x\n" * n, lambda n: "x,,,,,,\n" * n,
                                  lambda n: "".join(f"E{i},a,b,a{i}@agency.test,NOPE,NOPE,\n" for i in range(n))])
def test_parsing_many_bad_lines_holds_no_more_than_a_few_lines(app, session, org, make):
    """The memory a parse takes does not grow with the number of bad lines (the benchmark measures the site's)."""
    app.config["IMPORT_PROBLEMS_SHOWN"] = 200
    peaks = []
    for lines in (10_000, 100_000):
        data = (ROSTER + make(lines)).encode()
        with app.app_context():
            tracemalloc.start()
            try:
                plan = parse_roster_csv(session, data)
                peaks.append(tracemalloc.get_traced_memory()[1])
            finally:
                tracemalloc.stop()
        assert plan.problems.total >= lines and len(plan.problems) == 200
        session.rollback()
    assert peaks[1] < peaks[0] + 256 * 1024, peaks   # ten times the lines, not ten times the memory


# --- lines too long, and where lines end -------------------------------------------------------------

def test_a_line_too_long_is_refused_at_its_line_without_reading_it(session, org):
    data = (ROSTER + "E1,Ana,Reyes,ana@agency.test,NOPE,AGY-U1,\r\n").encode() + b"x," * LONGEST_LINE + b"\n"
    plan = parse_roster_csv(session, data)
    assert plan.problems == [(2, BAD_AGENCY), (3, "this line is longer than 1 MB, which no line of an import needs; "
                                                  "nothing after it was checked")]
    header_only = parse_org_csv(b"x" * (LONGEST_LINE + 1))
    assert header_only.problems == [(1, "this line is longer than 1 MB, which no line of an import needs; "
                                        "nothing after it was checked")]


@pytest.mark.parametrize("end", [b"\n", b"\r\n", b"\r"])
def test_long_lines_are_numbered_as_the_csv_reader_numbers_them(end):
    short = b"a,b" + end
    assert first_long_line(short * 10 + b"y" * LONGEST_LINE + end + b"z" * (LONGEST_LINE + 1)) == 12
    assert first_long_line(short * 10 + b"y" * LONGEST_LINE + end) is None


# --- the site and the commands ----------------------------------------------------------------------

def upload(client, name: str, text: str):
    return client.post(f"/imports/{name}", data={"file": (io.BytesIO(text.encode()), "file.csv")},
                       content_type="multipart/form-data")


def test_the_preview_lists_the_first_problems_and_says_how_many_more(app, client, session, connection, org):
    make_user(session, "coord@agency.test", role="coordinator", agency=org[0])
    session.commit()
    login(client, "coord@agency.test")
    app.config["IMPORT_PROBLEMS_SHOWN"] = 20
    before = row_counts(connection)
    response = upload(client, "roster", bad_roster(5000))
    assert response.status_code == 422
    assert "5,000 problems: nothing was imported" in response.text
    assert response.text.count("<li>Line ") == 20 and "<li>Line 21: " in response.text
    assert "… and 4,980 more problems; fix these and upload again." in response.text
    assert 'name="token"' not in response.text and row_counts(connection) == before


@pytest.mark.parametrize("command, text", [
    (["roster", "import"], bad_roster(300)),
    (["completions", "import"], COMPLETIONS + "x\n" * 300),
    (["org", "import"], ORG + "".join(f"A{n},Agency,Mars/Base,U{n},Unit,\n" for n in range(300))),
])
def test_the_commands_print_the_first_problems_and_say_how_many_more(app, runner, connection, org, tmp_path,
                                                                      command, text):
    app.config["IMPORT_PROBLEMS_SHOWN"] = 25
    path = tmp_path / "bad.csv"
    path.write_text(text)
    before = row_counts(connection)
    result = runner.invoke(args=[*command, str(path)])
    assert result.exit_code == 1
    assert result.output.count(f"{path}:") == 25 and f"{path}:26: " in result.output
    assert "… and 275 more problems; fix these and run the import again." in result.output
    assert "Error: 300 problems found; nothing was imported." in result.output
    assert row_counts(connection) == before
