"""Uploads: a size limit and a type check, in the site and on the command line."""
import io

import pytest

from tests.support.factories import make_user
from tests.support.fuzz import row_counts
from tests.support.pages import login

HEADERS = {"roster": "employee_id,first_name,last_name,email,agency,unit,supervisor_employee_id\n",
           "completions": "employee_id,course_code,completed_on,score\n",
           "org": "agency_code,agency_name,time_zone,unit_code,unit_name,parent_unit_code\n"}
XLSX = b"PK\x03\x04\x14\x00\x06\x00" + b"\x00" * 64


@pytest.fixture
def admin(client, session, org):
    make_user(session, "admin@agency.test", role="admin", agency=org[0])
    session.commit()
    login(client, "admin@agency.test")


def post(client, name, data: bytes, filename="file.csv"):
    return client.post(f"/imports/{name}", data={"file": (io.BytesIO(data), filename)},
                       content_type="multipart/form-data")


@pytest.mark.parametrize("name", sorted(HEADERS))
def test_an_upload_over_the_limit_gets_the_file_too_large_page(app, client, connection, admin, name):
    app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024
    before = row_counts(connection)
    response = post(client, name, HEADERS[name].encode() + b"x" * (1024 * 1024 + 1))
    assert response.status_code == 413
    assert "File too large" in response.text and "larger than the 1 MB allowed" in response.text
    assert row_counts(connection) == before


@pytest.mark.parametrize("name", sorted(HEADERS))
@pytest.mark.parametrize("filename, data, said", [
    ("roster.xlsx", b"whatever", "The file must be a CSV file (ending in .csv)."),
    ("roster.csv", XLSX, "this is not a CSV text file: it looks like an Excel workbook (.xlsx)"),
    ("roster.csv", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "this is not a CSV text file: it looks like a PDF document"),
])
def test_a_file_that_is_not_csv_is_refused_by_extension_and_content(client, connection, admin, name, filename,
                                                                     data, said):
    before = row_counts(connection)
    response = post(client, name, data, filename)
    assert response.status_code == 422 and said in response.text
    assert row_counts(connection) == before


@pytest.mark.parametrize("command", [["roster", "import"], ["completions", "import"], ["org", "import"]])
def test_the_import_commands_refuse_a_file_over_their_limit(app, runner, connection, tmp_path, command):
    app.config["IMPORT_MAX_BYTES"] = 1024 * 1024
    path = tmp_path / "big.csv"
    path.write_bytes(b"x" * (2 * 1024 * 1024))
    before = row_counts(connection)
    result = runner.invoke(args=[*command, str(path)])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert f"{path} is 2 MB; at most 1 MB can be imported at once" in result.output
    assert row_counts(connection) == before


@pytest.mark.parametrize("command", [["roster", "import"], ["completions", "import"], ["org", "import"]])
def test_the_import_commands_refuse_a_workbook_by_its_content(runner, connection, tmp_path, command):
    path = tmp_path / "roster.csv"
    path.write_bytes(XLSX)
    result = runner.invoke(args=[*command, str(path)])
    assert result.exit_code == 1
    assert f"{path}:1: this is not a CSV text file: it looks like an Excel workbook (.xlsx)" in result.output
