"""The coordinator's and supervisor's pages, and scope refusals."""
import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, insert, select

from tests.support.factories import add_unit, make_org, make_user
from tests.support.pages import login
from training.clock import today_for
from training.records.models import Assignment, Completion, Exemption, StandingRule
from training.reminders.models import OutboxMessage


@pytest.fixture
def world(session, course):
    """Agency A (A-U1 > A-MID > A-LEAF) and agency B, officers in each, a coordinator per scope."""
    a, a_top = make_org(session, "A")
    a_mid = add_unit(session, a, "A-MID", a_top)
    a_leaf = add_unit(session, a, "A-LEAF", a_mid)
    b, b_top = make_org(session, "B")
    coord = make_user(session, "coord@a.test", role="coordinator", agency=a, employee_id="C-A")
    sub_coord = make_user(session, "sub@a.test", role="coordinator", agency=a, employee_id="C-SUB",
                          scope_unit_id=a_mid.id)
    boss = make_user(session, "boss@a.test", agency=a, unit=a_top, first="Sam", last="Boss", employee_id="BOSS")
    people = {
        "top": make_user(session, "top@a.test", agency=a, unit=a_top, first="Tia", last="Top", employee_id="A1"),
        "mid": make_user(session, "mid@a.test", agency=a, unit=a_mid, first="Mo", last="Mid", employee_id="A2",
                         supervisor_id=boss.id),
        "leaf": make_user(session, "leaf@a.test", agency=a, unit=a_leaf, first="Lee", last="Leaf", employee_id="A3",
                          supervisor_id=boss.id),
        "b": make_user(session, "b@b.test", agency=b, unit=b_top, first="Bea", last="Bee", employee_id="B1"),
    }
    today = today_for(coord)
    session.add(Assignment(user_id=people["top"].id, course_id=course.id, due_on=today - timedelta(days=3),
                           reason="agency"))
    session.add(Assignment(user_id=people["mid"].id, course_id=course.id, due_on=today + timedelta(days=20),
                           reason="agency"))
    session.add(Completion(user_id=people["leaf"].id, course_id=course.id, completed_on=today - timedelta(days=10),
                           expires_on=today + timedelta(days=355), score=100, source="import"))
    session.add(Assignment(user_id=people["b"].id, course_id=course.id, due_on=today, reason="agency"))
    session.commit()
    return {"a": a, "b": b, "coord": coord, "sub_coord": sub_coord, "boss": boss, "today": today,
            "units": {"top": a_top, "mid": a_mid, "leaf": a_leaf, "b": b_top}, **people}


def page(client, path):
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return response.get_data(as_text=True)


def test_unit_view_shows_officers_modules_and_counts(client, world):
    login(client, "coord@a.test")
    html = page(client, "/units/A-U1")
    for name in ("Top, Tia", "Mid, Mo", "Leaf, Lee"):
        assert name in html
    assert "Bee, Bea" not in html
    # Every officer of the unit is listed, Sam Boss too, though nothing is required of him yet.
    assert "Boss, Sam" in html and "4 active officers in Unit one (A-U1) and its sub-units." in html
    # The counts say what they count: required modules, one for each officer and module, by status.
    assert ("Required modules of the active officers in Unit one (A-U1) and its sub-units, by status "
            "(each officer counts once for each module):") in html
    for status, count in [("Overdue", "1 module"), ("Assigned", "1 module"), ("Current", "1 module"),
                          ("Lapsed", "0 modules")]:
        assert f">{status}</span> {count}<" in html
    only_overdue = page(client, "/units/A-U1?status=overdue")
    assert "Top, Tia" in only_overdue and "Mid, Mo" not in only_overdue
    assert "1 active officer in Unit one (A-U1) and its sub-units with a module overdue." in only_overdue
    sub = page(client, "/units/A-U1?sub=A-MID")
    assert "Mid, Mo" in sub and "Leaf, Lee" in sub and "Top, Tia" not in sub
    by_boss = page(client, f"/units/A-U1?supervisor={world['boss'].id}")
    assert "Mid, Mo" in by_boss and "Top, Tia" not in by_boss
    attention = page(client, "/units/A-U1?sort=attention")
    assert attention.index("Top, Tia") < attention.index("Leaf, Lee")


def test_unit_view_sorts_by_name_or_unit(client, session, world, course):
    able = make_user(session, "able@a.test", agency=world["a"], unit=world["units"]["top"], first="Zed",
                     last="Able", employee_id="A0")
    session.add(Assignment(user_id=able.id, course_id=course.id, due_on=world["today"], reason="unit"))
    session.commit()
    login(client, "coord@a.test")

    def order(html):
        return sorted(["Able, Zed", "Leaf, Lee", "Mid, Mo", "Top, Tia"], key=html.index)
    assert order(page(client, "/units/A-U1?sort=name")) == ["Able, Zed", "Leaf, Lee", "Mid, Mo", "Top, Tia"]
    assert order(page(client, "/units/A-U1?sort=unit")) == ["Leaf, Lee", "Mid, Mo", "Able, Zed", "Top, Tia"]


def test_supervisor_sees_direct_reports_only(client, world):
    login(client, "boss@a.test")
    html = page(client, "/team")
    assert "Mid, Mo" in html and "Leaf, Lee" in html and "Top, Tia" not in html
    assert "My team" in html and "Send a reminder" not in html
    assert client.get(f"/officers/{world['mid'].id}").status_code == 200
    assert client.get(f"/officers/{world['top'].id}").status_code == 404
    assert client.get("/units/A-U1").status_code == 403


def test_assign_in_the_site(client, session, world, course):
    login(client, "coord@a.test")
    due = world["today"] + timedelta(days=30)
    response = client.post("/assign", data={"courses": ["TEST-BASICS"], "target": "unit", "unit": "A-U1",
                                            "due_on": due.isoformat()})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "assigned to 1 officer" in html   # the supervisor
    assert "1 officer already holds a valid certification" in html and "2 officers already have it open" in html
    assert session.scalar(select(Assignment).where(Assignment.user_id == world["boss"].id)).reason == "unit"
    new = make_user(session, "new@a.test", agency=world["a"], unit=world["units"]["leaf"], employee_id="A9")
    session.commit()
    html = client.post("/assign", data={"courses": ["TEST-BASICS"], "target": "officer", "officer": "A9",
                                        "due_on": due.isoformat()}).get_data(as_text=True)
    assert "assigned to 1 officer" in html
    assert session.scalar(select(Assignment).where(Assignment.user_id == new.id)).due_on == due
    missing = client.post("/assign", data={"target": "unit", "unit": "A-U1", "due_on": due.isoformat()})
    assert missing.status_code == 422 and "Choose at least one module" in missing.get_data(as_text=True)


def test_the_assign_form_lists_only_what_is_in_scope(client, session, world, course):
    login(client, "sub@a.test")
    html = page(client, "/assign")
    units = re.search(r'<select[^>]*id="unit".*?</select>', html, re.S).group(0)
    # A-MID and, indented beneath it, A-LEAF: never A-U1 above the scope, nor agency B's units.
    assert re.findall(r'value="([^"]*)"', units) == ["", "A-MID", "A-LEAF"]
    assert "&nbsp;&nbsp;A-LEAF (A-LEAF)" in units.replace("\u00a0", "&nbsp;")
    assert 'id="agency"' not in html and 'value="agency"' not in html   # no whole agency for a unit's coordinator
    # Listing a unit's officers assigns nothing and keeps what was chosen.
    due = (world["today"] + timedelta(days=30)).isoformat()
    listed = client.post("/assign", data={"courses": ["TEST-BASICS"], "target": "officer", "unit": "A-MID",
                                          "due_on": due, "list": "officers"})
    html = listed.get_data(as_text=True)
    assert listed.status_code == 200 and "Nothing was assigned yet" in html
    officers = re.search(r'<select[^>]*id="officer".*?</select>', html, re.S).group(0)
    assert re.findall(r'value="([^"]*)"', officers) == ["", "A3", "A2"]     # Leaf, Lee then Mid, Mo
    assert re.search(r'<input[^>]*checked[^>]*value="TEST-BASICS"', html) and f'value="{due}"' in html
    assert session.scalar(select(func.count()).select_from(Assignment)) == 3
    # An officer is then picked from the list; one outside the scope is refused in the server's words.
    done = client.post("/assign", data={"courses": ["TEST-BASICS"], "target": "officer", "unit": "A-MID",
                                        "officer": "A2", "due_on": due})
    assert done.status_code == 200 and "1 officer already has it open" in done.get_data(as_text=True)
    refused = client.post("/assign", data={"courses": ["TEST-BASICS"], "target": "officer", "officer": "A1",
                                           "due_on": due})
    assert refused.status_code == 422 and "No officer with code A1 is within your scope" in refused.text
    nothing = client.post("/assign", data={"courses": ["TEST-BASICS"], "target": "unit", "due_on": due})
    assert nothing.status_code == 422 and "Choose a unit." in nothing.text


def test_an_agency_coordinator_may_assign_the_whole_agency_from_a_list(client, world, course):
    login(client, "coord@a.test")
    html = page(client, "/assign?target=officer&unit=A-LEAF&officer=A3")
    agencies = re.search(r'<select[^>]*id="agency".*?</select>', html, re.S).group(0)
    assert re.findall(r'value="([^"]*)"', agencies) == ["A"]
    assert re.search(r'<option selected value="A3">|<option value="A3" selected>', html), "the officer is chosen"


def test_extend_and_exempt_in_the_site(client, session, world, course):
    login(client, "coord@a.test")
    top = world["top"]
    assignment = session.scalar(select(Assignment).where(Assignment.user_id == top.id))
    new_due = world["today"] + timedelta(days=14)
    no_reason = client.post(f"/officers/{top.id}/assignments/{assignment.id}/extend",
                            data={"due_on": new_due.isoformat(), "reason": ""}, follow_redirects=True)
    assert "Not extended: Reason: Give a reason." in no_reason.get_data(as_text=True)
    html = client.post(f"/officers/{top.id}/assignments/{assignment.id}/extend",
                       data={"due_on": new_due.isoformat(), "reason": "Court appearance all week"},
                       follow_redirects=True).get_data(as_text=True)
    assert f"Due date moved to {new_due.isoformat()}" in html and ">Assigned<" in html
    ends = world["today"] + timedelta(days=90)
    html = client.post(f"/officers/{top.id}/exemptions",
                       data={"course": "TEST-BASICS", "starts_on": world["today"].isoformat(),
                             "ends_on": ends.isoformat(), "reason": "Deployed overseas"},
                       follow_redirects=True).get_data(as_text=True)
    assert ">Exempt<" in html and ends.isoformat() in html
    # Both grants stay on the officer's page with their reason and who gave them.
    grants = page(client, f"/officers/{top.id}").split("Extensions and exemptions")[1]
    assert "Court appearance all week" in grants and "Deployed overseas" in grants
    assert f"Extension: due {assignment.due_on.isoformat()} moved to {new_due.isoformat()}" in grants
    assert f"Exemption: exempt {world['today'].isoformat()} to {ends.isoformat()}" in grants
    assert grants.count(f"<td>{world['coord'].full_name}</td>") == 2


def test_coordinator_cannot_reach_outside_scope(client, session, world, course):
    login(client, "coord@a.test")
    b_officer = world["b"]
    b_assignment = session.scalar(select(Assignment).where(Assignment.user_id == b_officer.id))
    due = (world["today"] + timedelta(days=30)).isoformat()
    assert client.get("/units/B-U1").status_code == 404
    assert client.get(f"/officers/{b_officer.id}").status_code == 404
    for target, code in [("unit", "B-U1"), ("officer", "B1"), ("agency", "B")]:
        response = client.post("/assign", data={"courses": ["TEST-BASICS"], "target": target, target: code,
                                                "due_on": due})
        assert response.status_code == 422 and "within your scope" in response.get_data(as_text=True)
    assert client.post(f"/officers/{b_officer.id}/assignments/{b_assignment.id}/extend",
                       data={"due_on": due, "reason": "Because I say so"}).status_code == 404
    assert client.post(f"/officers/{b_officer.id}/exemptions",
                       data={"course": "TEST-BASICS", "starts_on": due, "ends_on": due,
                             "reason": "Because I say so"}).status_code == 404
    response = client.post("/remind", data={"officer": [str(b_officer.id)]}, follow_redirects=True)
    assert "Select at least one officer" in response.get_data(as_text=True)
    rule = client.post("/rules", data={"unit": "B-U1", "course": "TEST-BASICS", "days": "30"})
    assert rule.status_code == 422
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Assignment)
                          .where(Assignment.user_id == b_officer.id)) == 1
    assert session.get(Assignment, b_assignment.id).due_on == world["today"]
    for model in (Exemption, OutboxMessage, StandingRule):
        assert session.scalar(select(func.count()).select_from(model)) == 0


def test_unit_scoped_coordinator_cannot_act_on_the_agency_or_above(client, session, world):
    login(client, "sub@a.test")
    due = (world["today"] + timedelta(days=30)).isoformat()
    assert client.get("/units/A-U1").status_code == 404
    assert client.get("/units/A-MID").status_code == 200
    assert client.get(f"/officers/{world['top'].id}").status_code == 404
    refused = client.post("/assign", data={"courses": ["TEST-BASICS"], "target": "agency", "agency": "A",
                                           "due_on": due})
    assert refused.status_code == 422


def test_compliance_reads_but_does_not_act(client, session, world):
    make_user(session, "comp@a.test", role="compliance", agency=world["a"])
    session.commit()
    login(client, "comp@a.test")
    html = page(client, "/units/A-U1")
    assert "Top, Tia" in html and "Send a reminder" not in html
    assert client.get("/assign").status_code == 403
    assert client.post("/remind", data={"officer": [str(world["top"].id)]}).status_code == 403


def test_standing_rule_in_the_site_assigns_at_once(client, session, world, course):
    login(client, "coord@a.test")
    response = client.post("/rules", data={"unit": "A-MID", "course": "TEST-BASICS", "days": "45"},
                           follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "everyone in A-MID must hold TEST-BASICS" in html and "0 officers assigned now" in html
    newcomer = make_user(session, "newbie@a.test", agency=world["a"], unit=world["units"]["leaf"], employee_id="A7")
    session.commit()
    from training.assignments.service import apply_standing_rules
    assert apply_standing_rules(session, world["today"]) == {"A-MID:TEST-BASICS": 1}
    assignment = session.scalar(select(Assignment).where(Assignment.user_id == newcomer.id))
    assert assignment.due_on == world["today"] + timedelta(days=45)
    duplicate = client.post("/rules", data={"unit": "A-MID", "course": "TEST-BASICS", "days": "10"})
    assert duplicate.status_code == 422 and "already has a rule" in duplicate.get_data(as_text=True)


def test_reminder_now_reaches_selected_officers_once_a_day(client, session, world, smtp):
    login(client, "coord@a.test")
    selected = [str(world["top"].id), str(world["mid"].id), str(world["leaf"].id)]
    html = client.post("/remind", data={"officer": selected, "next": "/units/A-U1"},
                       follow_redirects=True).get_data(as_text=True)
    assert "Reminder sent to 2 officers" in html and "1 had nothing due" in html
    assert sorted(m["To"] for m in smtp.messages) == ["mid@a.test", "top@a.test"]
    message = next(m for m in smtp.messages if m["To"] == "top@a.test")
    text = message.get_body(("plain",)).get_content()
    assert "Test TEST-BASICS: overdue" in text and "/courses/TEST-BASICS" in text
    assert message.get_body(("html",)) is not None
    again = client.post("/remind", data={"officer": selected}, follow_redirects=True).get_data(as_text=True)
    assert "2 had already been reminded today" in again
    assert len(smtp.messages) == 2


def test_reminder_kept_for_retry_when_mail_is_refused(client, session, world, smtp):
    smtp.refuse = True
    login(client, "coord@a.test")
    html = client.post("/remind", data={"officer": [str(world["top"].id)]}, follow_redirects=True).get_data(as_text=True)
    assert "could not be sent now and will be retried" in html
    row = session.scalar(select(OutboxMessage))
    assert row.status == "pending" and row.attempts == 1 and "451" in row.last_error


def upload(client, name, text, **extra):
    return client.post(f"/imports/{name}", data={"file": (io.BytesIO(text.encode()), "file.csv"), **extra},
                       content_type="multipart/form-data")


ROSTER = "employee_id,first_name,last_name,email,agency,unit,supervisor_employee_id\n"
A_ROSTER = (ROSTER + "BOSS,Sam,Boss,boss@a.test,A,A-U1,\nA2,Momo,Mid,mid@a.test,A,A-MID,BOSS\n"
            "A3,Lee,Leaf,leaf@a.test,A,A-LEAF,BOSS\nA10,Nia,New,nia@a.test,A,A-LEAF,BOSS\n")


def test_full_roster_upload_previews_additions_changes_and_deactivations(client, session, world):
    login(client, "coord@a.test")
    preview = upload(client, "roster", A_ROSTER, full="y")
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200, html
    assert "1 to deactivate" in html and "A1 Tia Top" in html    # staff accounts are not the roster's to end
    assert "A10 Nia New" in html and "A2 Momo Mid: first_name" in html
    assert session.get(type(world["top"]), world["top"].id).active      # a preview writes nothing
    token = html.split('name="token" value="')[1].split('"')[0]
    client.post("/imports/roster/confirm", data={"token": token, "filename": "file.csv", "full": "y"})
    session.expire_all()
    top = session.get(type(world["top"]), world["top"].id)
    assert top is not None and not top.active                            # deactivated, not deleted
    assert session.scalar(select(func.count()).select_from(Assignment).where(Assignment.user_id == top.id)) == 1
    assert session.get(type(world["mid"]), world["mid"].id).first_name == "Momo"


def test_unit_scoped_coordinator_is_refused_on_uploads_and_rules_outside_scope(client, session, world, course):
    from training.people.models import User
    rule = StandingRule(unit_id=world["units"]["top"].id, course_id=course.id, days_to_complete=30)
    session.add(rule)
    session.commit()
    before = {u.id: (u.first_name, u.active) for u in session.scalars(select(User))}
    login(client, "sub@a.test")
    done_on = (world["today"] - timedelta(days=5)).isoformat()
    refused = upload(client, "completions", f"employee_id,course_code,completed_on,score\nA1,TEST-BASICS,{done_on},90\n")
    assert refused.status_code == 422 and "Line 2: no officer in your scope has employee_id &#39;A1&#39;" in refused.get_data(as_text=True)
    renamed = upload(client, "roster", ROSTER + "A1,Tina,Top,top@a.test,A,A-U1,\n")
    assert renamed.status_code == 422 and "outside your scope" in renamed.get_data(as_text=True)
    full = upload(client, "roster", ROSTER + "A2,Mo,Mid,mid@a.test,A,A-MID,\n", full="y")
    # A full roster covers the uploader's scope only: nobody outside it would be deactivated, or is named.
    assert full.status_code == 200 and not re.search(r"\bTia\b|\bA1\b", full.get_data(as_text=True))
    assert client.post(f"/rules/{rule.id}/delete").status_code == 404
    assert client.post(f"/officers/{world['top'].id}/exemptions",
                       data={"course": "TEST-BASICS", "starts_on": done_on, "ends_on": done_on,
                             "reason": "Out of my subtree"}).status_code == 404
    session.expire_all()
    assert {u.id: (u.first_name, u.active) for u in session.scalars(select(User))} == before
    assert session.get(StandingRule, rule.id) is not None
    assert session.scalar(select(func.count()).select_from(Completion).where(
        Completion.user_id == world["top"].id)) == 0
    assert session.scalar(select(func.count()).select_from(Exemption)) == 0


def test_agency_coordinator_cannot_import_or_delete_rules_in_another_agency(client, session, world, course):
    rule = StandingRule(unit_id=world["units"]["b"].id, course_id=course.id, days_to_complete=30)
    session.add(rule)
    session.commit()
    login(client, "coord@a.test")
    done_on = (world["today"] - timedelta(days=5)).isoformat()
    refused = upload(client, "completions", f"employee_id,course_code,completed_on,score\nB1,TEST-BASICS,{done_on},90\n")
    assert refused.status_code == 422 and "Line 2: no officer in your scope has employee_id &#39;B1&#39;" in refused.get_data(as_text=True)
    assert client.post(f"/rules/{rule.id}/delete").status_code == 404
    assert client.get("/units").get_data(as_text=True).count("B-U1") == 0
    session.expire_all()
    assert session.get(StandingRule, rule.id) is not None
    assert session.scalar(select(func.count()).select_from(Completion).where(
        Completion.user_id == world["b"].id)) == 0


def test_a_coordinator_cannot_change_a_staff_account_by_roster(client, session, world):
    make_user(session, "comp@a.test", role="compliance", agency=world["a"], unit=world["units"]["top"],
              employee_id="COMP")
    session.commit()
    login(client, "coord@a.test")
    response = upload(client, "roster", ROSTER + "COMP,Pat,Doe,mine@a.test,A,A-U1,\n")
    assert response.status_code == 422
    assert "COMP has the role &#39;compliance&#39;; only an administrator" in response.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(type(world["top"]))
                          .where(type(world["top"]).email == "mine@a.test")) == 0


def test_unit_view_shows_the_version_each_officer_signed(client, session, app, course):
    from tests.support.version_world import build_version_world
    world = build_version_world(session, app, course, make_org(session))
    make_user(session, "coord@agency.test", role="coordinator", agency=world.ada.agency)
    session.commit()
    login(client, "coord@agency.test")
    html = page(client, "/units/AGY-U1")
    cells = {name: re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip()
             for name, row in re.findall(r'<th scope="row"><a[^>]*>([^<]+)</a></th>(.*?)</tr>', html, re.S)}
    module, directive = "Test TEST-BASICS", "Body-worn cameras directive"
    assert html.index(directive) < html.index(module)    # the columns: the document, then the module
    assert "signed v1; v2 waits" in cells["Adason, Ada"]
    assert "signed v2" in cells["Boson, Bo"] and "waits" not in cells["Boson, Bo"]
    assert "signed" not in cells["Cyson, Cy"]            # exempt: nothing to sign
    assert "signed Directive 2026-01" in cells["Deeson, Dee"] and "not signed; v2 waits" in cells["Deeson, Dee"]
    assert 'class="rc-version--waits"' in html


def test_unit_view_counts_filters_and_sorts_every_officer_not_only_the_page(client, session, world, course):
    """The page shows 100 officers; its counts, its status filter and its most-overdue-first order take in every
    officer of the unit, and the cells of the page shown give the dates behind each status."""
    from training.people.models import User
    leaf, today = world["units"]["leaf"], world["today"]
    session.execute(insert(User), [
        {"email": f"zz{n:03d}@a.test", "role": "officer", "first_name": "Zed", "last_name": f"Zz{n:03d}",
         "employee_id": f"Z{n:03d}", "agency_id": world["a"].id, "unit_id": leaf.id} for n in range(120)])
    many = dict(session.execute(select(User.last_name, User.id).where(User.last_name.like("Zz%"))).all())
    session.add_all(Assignment(user_id=user_id, course_id=course.id, reason="unit",
                               due_on=today - timedelta(days=40) if name == "Zz119" else today + timedelta(days=9))
                    for name, user_id in many.items())
    session.commit()
    login(client, "coord@a.test")

    first = page(client, "/units/A-U1")
    assert "124 active officers in Unit one (A-U1) and its sub-units, page 1 of 2." in first
    assert ">Overdue</span> 2 modules<" in first and ">Assigned</span> 120 modules<" in first
    assert "Zz119, Zed" not in first            # by name it is on the second page
    assert "Zz119, Zed" in page(client, "/units/A-U1?page=2")
    past_the_end = page(client, "/units/A-U1?page=7")
    assert "page 2 of 2." in past_the_end and "Zz119, Zed" in past_the_end
    by_unit = page(client, "/units/A-U1?sort=unit&page=2")
    assert "page 2 of 2." in by_unit and by_unit.count('name="officer"') == 24
    # The pages' links keep the sort chosen.
    assert 'href="/units/A-U1?sort=unit&amp;page=1">Previous page</a>' in by_unit
    assert 'href="/units/A-U1?sort=unit&amp;page=1" aria-label="Page 1">1</a>' in by_unit
    # Arguments the site does not read stay out of the links, those url_for would act on above all.
    odd = page(client, "/units/A-U1?sort=unit&page=2&_scheme=https&_anchor=x&_external=1")
    assert 'href="/units/A-U1?sort=unit&amp;page=1">Previous page</a>' in odd

    overdue = page(client, "/units/A-U1?status=overdue")
    assert "2 active officers in Unit one (A-U1) and its sub-units with a module overdue." in overdue
    assert "Zz119, Zed" in overdue and "Top, Tia" in overdue and "Zz000, Zed" not in overdue
    assert f"due {today - timedelta(days=40)}" in overdue

    attention = page(client, "/units/A-U1?sort=attention")
    assert attention.index("Top, Tia") < attention.index("Zz000, Zed")
    assert attention.index("Zz119, Zed") < attention.index("Zz000, Zed")
    assert f"due {today + timedelta(days=9)}" in attention


def test_a_list_of_thousands_of_pages_links_the_ends_and_the_neighbours_only(app):
    """A region of 300,000 officers is 3,000 pages: the pager shows seven of them, and what lies between as gaps."""
    template = app.jinja_env.from_string('{% from "_macros.html" import pager %}'
                                         '{{ pager("people.unit", page, 3000, code="R1", sort="unit") }}')
    with app.test_request_context():
        middle, first, last = (template.render(page=n) for n in (50, 1, 3000))
    pages = re.compile(r'page=(\d+)" aria-label="Page \d+[^"]*"')
    assert pages.findall(middle) == ["1", "49", "50", "51", "3000"] and middle.count("…") == 2
    assert 'aria-current="page">50<' in middle and 'aria-label="Page 3000, the last"' in middle
    assert 'href="/units/R1?sort=unit&amp;page=49">Previous page' in middle
    assert 'href="/units/R1?sort=unit&amp;page=51">Next page' in middle
    assert pages.findall(first) == ["1", "2", "3000"] and "Previous page" not in first and first.count("…") == 1
    assert pages.findall(last) == ["1", "2999", "3000"] and "Next page" not in last
