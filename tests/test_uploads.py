"""Uploads: a size limit and a type check, in the site and on the command line; previews that expire."""
import io
import os
import time
from datetime import date, timedelta
from pathlib import Path

import pytest

from tests.support.factories import make_user
from tests.support.fuzz import row_counts
from tests.support.pages import login
from training import clock
from training.imports.uploads import UploadExpired, read_upload, save_upload
from training.jobs import run_daily

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


# --- previews expire ---------------------------------------------------------------------------------

ORG_CHART = HEADERS["org"] + "NEW,New Agency,America/Chicago,NEW-HQ,Headquarters,\n"


@pytest.fixture
def uploads(app, tmp_path) -> Path:
    """The folder this test's uploads are kept in, its own (the app's instance folder is the project's)."""
    app.instance_path = str(tmp_path / "instance")
    return tmp_path / "instance" / "uploads"


def stand_clock_after(monkeypatch, hours: float) -> None:
    later = clock.current_instant() + timedelta(hours=hours)
    monkeypatch.setattr(clock, "current_instant", lambda: later)


def preview_token(client) -> str:
    response = post(client, "org", ORG_CHART.encode())
    assert response.status_code == 200, response.text
    return response.text.split('name="token" value="')[1].split('"')[0]


def test_a_preview_confirmed_after_its_hours_has_expired_and_imports_nothing(app, client, connection, admin, uploads,
                                                                           monkeypatch):
    app.config["UPLOAD_PREVIEW_HOURS"] = 24
    token = preview_token(client)
    assert len(list(uploads.iterdir())) == 1
    before = row_counts(connection)
    stand_clock_after(monkeypatch, 24.1)
    done = client.post("/imports/org/confirm", data={"token": token, "filename": "file.csv"}, follow_redirects=True)
    assert "That preview has expired: an upload can be imported for 24 hours after it is checked" in done.text
    assert "Nothing was imported. Upload the file again." in done.text
    assert row_counts(connection) == before and list(uploads.iterdir()) == []   # and its personal data is gone


def test_a_preview_confirmed_within_its_hours_imports(app, client, connection, admin, uploads, monkeypatch):
    app.config["UPLOAD_PREVIEW_HOURS"] = 2
    token = preview_token(client)
    stand_clock_after(monkeypatch, 1.9)
    done = client.post("/imports/org/confirm", data={"token": token, "filename": "file.csv"}, follow_redirects=True)
    assert "Org chart imported from file.csv: 1 agencies_added" in done.text
    assert list(uploads.iterdir()) == []


def test_the_daily_job_deletes_the_uploads_whose_previews_expired(app, connection, uploads):
    app.config["UPLOAD_PREVIEW_HOURS"] = 24
    stale, fresh = save_upload(uploads, 7, b"employee_id\n"), save_upload(uploads, 7, b"employee_id\n")
    day_old = time.time() - 24 * 3600 - 60
    os.utime(uploads / f"7-{stale}.csv", (day_old, day_old))
    (uploads / "README.txt").write_text("not an upload")
    run_daily(app, date.today())
    assert sorted(path.name for path in uploads.iterdir()) == ["7-" + fresh + ".csv", "README.txt"]
    with pytest.raises(UploadExpired):   # had it been confirmed just before the job ran
        save_aged = save_upload(uploads, 7, b"x")
        os.utime(uploads / f"7-{save_aged}.csv", (day_old, day_old))
        read_upload(uploads, 7, save_aged, timedelta(hours=24))
    assert read_upload(uploads, 7, fresh, timedelta(hours=24)) == b"employee_id\n"
    assert read_upload(uploads, 7, stale, timedelta(hours=24)) is None


def test_an_upload_also_deletes_the_expired_ones_of_its_host(app, client, admin, uploads):
    """A host of the site that the scheduler does not run on still deletes what it kept."""
    app.config["UPLOAD_PREVIEW_HOURS"] = 24
    stale = save_upload(uploads, 7, b"employee_id\n")
    day_old = time.time() - 24 * 3600 - 60
    os.utime(uploads / f"7-{stale}.csv", (day_old, day_old))
    token = preview_token(client)
    assert [path.name.split("-", 1)[1] for path in uploads.iterdir()] == [f"{token}.csv"]
