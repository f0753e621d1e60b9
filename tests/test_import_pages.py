"""Imports in the site: upload, preview, confirm; scope and problems."""
import io
from datetime import date, timedelta

from sqlalchemy import func, select

from tests.support.factories import make_org, make_user
from tests.support.pages import login
from training.people.models import Agency, Unit, User
from training.records.models import Assignment, Completion, StandingRule

ROSTER = "employee_id,first_name,last_name,email,agency,unit,supervisor_employee_id\n"


def upload(client, name, text, filename="file.csv", **extra):
    return client.post(f"/imports/{name}", data={"file": (io.BytesIO(text.encode()), filename), **extra},
                       content_type="multipart/form-data")


def confirm(client, name, preview):
    html = preview.get_data(as_text=True)
    token = html.split('name="token" value="')[1].split('"')[0]
    return client.post(f"/imports/{name}/confirm", data={"token": token, "filename": "file.csv"},
                       follow_redirects=True)


def test_roster_preview_then_confirm(client, session, org, course):
    agency, unit = org
    make_user(session, "coord@agency.test", role="coordinator", agency=agency)
    session.add(StandingRule(unit_id=unit.id, course_id=course.id, days_to_complete=30))
    session.commit()
    login(client, "coord@agency.test")
    preview = upload(client, "roster", ROSTER + "E-77,Ana,Reyes,ana@agency.test,AGY,AGY-U1,\n")
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "1 to add" in html and "E-77" in html
    assert session.scalar(select(User).where(User.employee_id == "E-77")) is None   # a preview writes nothing
    done = confirm(client, "roster", preview).get_data(as_text=True)
    assert "Roster imported from file.csv: 1 added" in done and "1 assigned by standing rules" in done
    officer = session.scalar(select(User).where(User.employee_id == "E-77"))
    assert officer.unit_id == unit.id
    assert session.scalar(select(Assignment).where(Assignment.user_id == officer.id)).reason == "standing_rule"
    again = client.post("/imports/roster/confirm", data={"token": "x" * 32, "filename": "file.csv"},
                        follow_redirects=True)
    assert "expired or was already imported" in again.get_data(as_text=True)


def test_roster_problems_are_listed_and_nothing_is_written(client, session, org):
    agency, _ = org
    make_user(session, "coord@agency.test", role="coordinator", agency=agency)
    session.commit()
    login(client, "coord@agency.test")
    response = upload(client, "roster", ROSTER + "E-1,Ana,Reyes,ana@agency.test,AGY,AGY-U1,\n"
                                                 "E-2,Bo,Li,not-an-email,AGY,NOPE,\n")
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "nothing was imported" in html
    assert "Line 3:" in html and 'name="token"' not in html
    assert session.scalar(select(func.count()).select_from(User).where(User.employee_id.in_(["E-1", "E-2"]))) == 0


def test_roster_rows_outside_the_coordinators_agency_are_refused(client, session, org):
    agency, _ = org
    make_org(session, "OTH")
    make_user(session, "coord@agency.test", role="coordinator", agency=agency)
    session.commit()
    login(client, "coord@agency.test")
    response = upload(client, "roster", ROSTER + "E-5,Cy,Ng,cy@oth.test,OTH,OTH-U1,\n")
    assert response.status_code == 422
    assert "Line 2: unit OTH-U1 of agency OTH is outside your scope" in response.get_data(as_text=True)


def test_completions_upload_certifies(client, session, org, course, officer):
    make_user(session, "coord@agency.test", role="coordinator", agency=org[0])
    session.commit()
    login(client, "coord@agency.test")
    done_on = date.today() - timedelta(days=20)
    preview = upload(client, "completions",
                     f"employee_id,course_code,completed_on,score\n{officer.employee_id},TEST-BASICS,{done_on},95\n")
    assert preview.status_code == 200 and "1 to add" in preview.get_data(as_text=True)
    # Each planned record names the officer and the module, not only their codes.
    assert (f"Line 2: Dana Cruz ({officer.employee_id}) completed Test TEST-BASICS (TEST-BASICS) "
            f"on {done_on.isoformat()}, score 95") in preview.get_data(as_text=True)
    confirm(client, "completions", preview)
    completion = session.scalar(select(Completion).where(Completion.user_id == officer.id))
    assert (completion.completed_on, completion.score, completion.source) == (done_on, 95, "import")
    html = client.get(f"/officers/{officer.id}").get_data(as_text=True)
    assert ">Current<" in html


def test_org_chart_is_for_administrators(client, session, org):
    agency, _ = org
    make_user(session, "coord@agency.test", role="coordinator", agency=agency)
    make_user(session, "root@agency.test", role="admin")
    session.commit()
    text = ("agency_code,agency_name,time_zone,unit_code,unit_name,parent_unit_code\n"
            "NEW,New Agency,America/Chicago,NEW-HQ,Headquarters,\nNEW,New Agency,America/Chicago,NEW-F1,Field,NEW-HQ\n")
    login(client, "coord@agency.test")
    assert upload(client, "org", text).status_code == 403
    client.post("/logout")
    login(client, "root@agency.test")
    preview = upload(client, "org", text)
    assert preview.status_code == 200
    confirm(client, "org", preview)
    assert session.scalar(select(Agency).where(Agency.code == "NEW")).time_zone == "America/Chicago"
    hq, field = (session.scalar(select(Unit).where(Unit.code == c)) for c in ("NEW-HQ", "NEW-F1"))
    assert field.path.startswith(hq.path) and field.parent_id == hq.id


def test_upload_must_be_a_csv_file(client, session, org):
    make_user(session, "coord@agency.test", role="coordinator", agency=org[0])
    session.commit()
    login(client, "coord@agency.test")
    response = upload(client, "roster", "%PDF-1.4", filename="roster.pdf")
    assert response.status_code == 422 and "must be a CSV file" in response.get_data(as_text=True)
    missing = client.post("/imports/roster", data={}, content_type="multipart/form-data")
    assert missing.status_code == 422 and "Choose a CSV file" in missing.get_data(as_text=True)
    binary = upload(client, "roster", "", filename="r.csv")
    assert binary.status_code == 422


def test_only_administrators_can_grant_roles_by_upload(client, session, org):
    agency, _ = org
    make_user(session, "coord@agency.test", role="coordinator", agency=agency)
    session.commit()
    login(client, "coord@agency.test")
    text = ("employee_id,first_name,last_name,email,agency,unit,supervisor_employee_id,role\n"
            "E-9,Max,Power,max@agency.test,AGY,AGY-U1,,admin\n")
    response = upload(client, "roster", text)
    assert response.status_code == 422
    assert "Line 2: only an administrator can give the role &#39;admin&#39;" in response.get_data(as_text=True)
    assert session.scalar(select(User).where(User.employee_id == "E-9")) is None
