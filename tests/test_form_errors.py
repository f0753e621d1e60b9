"""Every form with two or more fields reports all its problems at once: two wrong fields, two messages, and a
summary at the top of the form linking each to its field."""
from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest

from tests.support.factories import make_user
from tests.support.pages import login
from training.clock import today_for
from training.records.models import Assignment

PAST = "2001-01-01"


@pytest.fixture
def world(session, org, course, officer):
    agency, _ = org
    make_user(session, "coord@agency.test", role="coordinator", agency=agency, employee_id="C-1")
    make_user(session, "admin@agency.test", role="admin", employee_id="ADM-1")
    make_user(session, "audit@agency.test", role="compliance", agency=agency, employee_id="AUD-1")
    assignment = Assignment(user_id=officer.id, course_id=course.id, reason="individual",
                            due_on=today_for(officer) + timedelta(days=20))
    session.add(assignment)
    session.commit()
    return {"officer": officer, "assignment": assignment}


def officer_path(world, action):
    return f"/officers/{world['officer'].id}/assignments/{world['assignment'].id}/{action}"


# (who, how, where, what is sent, the messages that must all appear)
CASES = {
    "assign": ("coord@agency.test", "post", lambda w: "/assign",
               {"courses": "TEST-BASICS", "target": "officer", "unit": "", "officer": "", "due_on": PAST},
               ["Officer: Choose an officer.", "Due date: The due date 2001-01-01 is in the past."]),
    "standing rule": ("coord@agency.test", "post", lambda w: "/rules",
                      {"unit": "NOPE", "course": "TEST-BASICS", "days": "0"},
                      ["Unit (with its sub-units): Not a valid choice.", "Days a newcomer has to complete it: Number must be between 1 and 365."]),
    "extend": ("coord@agency.test", "post", lambda w: officer_path(w, "extend"),
               {"due_on": PAST, "reason": "x"},
               ["New due date: The due date 2001-01-01 is in the past.", "Reason: Give a reason of at least a few words"]),
    "correct the due date": ("coord@agency.test", "post", lambda w: officer_path(w, "due"),
                             {"due_on": "not a day", "reason": ""},
                             ["New due date: 'not a day' is not a date", "Reason: Give a reason."]),
    "exempt": ("coord@agency.test", "post", lambda w: f"/officers/{w['officer'].id}/exemptions",
               {"course": "TEST-BASICS", "starts_on": "2027-01-10", "ends_on": "2027-01-01", "reason": "x"},
               ["Until: The exemption must end on or after the day it starts.", "Reason: Give a reason of at least a few words"]),
    "bulk change": ("coord@agency.test", "post", lambda w: "/assignments/bulk",
                    {"action": "extend", "course": "TEST-BASICS", "whole_unit": "y", "unit": "AGY-U1", "due_on": PAST,
                     "reason": "", "next": "/units/AGY-U1"},
                    ["exemption: The due date 2001-01-01 is in the past.", "Reason: Give a reason."]),
    "ask for more time": ("officer@agency.test", "post",
                          lambda w: f"/my/assignments/{w['assignment'].id}/more-time",
                          {"asked_due_on": PAST, "reason": "x"},
                          ["the due date 2001-01-01 is in the past", "give a reason of at least a few words"]),
    "ask for more time, a date unread": ("officer@agency.test", "post",
                                         lambda w: f"/my/assignments/{w['assignment'].id}/more-time",
                                         {"asked_due_on": "next week", "reason": ""},
                                         ["'next week' is not a date", "give a reason of at least a few words"]),
    "account": ("admin@agency.test", "post", lambda w: "/admin/users/new",
                {"email": "not-an-email", "first_name": "", "last_name": "Nova", "role": "officer", "agency": "AGY",
                 "unit": "NOPE", "password": "a-sufficiently-long-one"},
                ["Email: ", "is not a valid address", "First name: This field is required.", "Unit code: No unit has code NOPE."]),
    "agency": ("admin@agency.test", "post", lambda w: "/admin/org/agencies/new",
               {"code": "", "name": "New", "time_zone": ""},
               ["Code: This field is required.", "Time zone: This field is required."]),
    "unit": ("admin@agency.test", "post", lambda w: "/admin/org/units/new",
             {"agency": "AGY", "code": "", "name": "", "parent": ""},
             ["Code: This field is required.", "Name: This field is required."]),
    "password": ("officer@agency.test", "post", lambda w: "/account/password",
                 {"current_password": "wrong-password-here", "new_password": "password1234",
                  "confirm": "password1234"},
                 ["Current password: The current password is not right.", "New password: ", "commonly used"]),
    "password too short": ("officer@agency.test", "post", lambda w: "/account/password",
                           {"current_password": "", "new_password": "short", "confirm": "other"},
                           ["Current password: This field is required.", "must be 12 to 128 characters",
                            "New password again: The two new passwords are not the same."]),
    "roster export": ("audit@agency.test", "get", lambda w: "/reports/roster/download",
                      {"completed_from": "someday", "as_of": "2026-13-45"}, ["Completed on or after: 'someday' is not a date",
                       "As it stood on: '2026-13-45' is not a date"]),
}


def text_of(response) -> str:
    return html.unescape(re.sub(r"\s+", " ", response.get_data(as_text=True)))


@pytest.mark.parametrize("name", list(CASES))
def test_two_wrong_fields_are_both_reported(client, session, world, name):
    who, how, where, data, messages = CASES[name]
    login(client, who)
    if how == "post":
        response = client.post(where(world), data=data, follow_redirects=True)
    else:
        response = client.get(where(world), query_string=data)
    page = text_of(response)
    for message in messages:
        assert message in page, (message, page[page.find("<main"):][:3000])
    assert response.status_code in (200, 400, 401, 422)


# The forms shown again with their problems (the others go back to the page they were sent from, with one
# message naming every problem).
SHOWN_AGAIN = ["assign", "standing rule", "account", "agency", "unit", "password", "password too short",
               "roster export"]


@pytest.mark.parametrize("name", SHOWN_AGAIN)
def test_a_form_shown_again_summarises_its_problems_with_links_to_the_fields(client, session, world, name):
    who, how, where, data, messages = CASES[name]
    login(client, who)
    response = (client.post(where(world), data=data) if how == "post"
                else client.get(where(world), query_string=data))
    page = response.get_data(as_text=True)
    summary = page[page.index("data-error-summary"):]
    summary = summary[:summary.index("</ul>")]
    links = re.findall(r'<a class="usa-link" href="#([\w-]+)">', summary)
    assert len(links) >= 2, summary
    for field_id in links:
        assert f'id="{field_id}"' in page, field_id
    assert "to correct" in summary and "tabindex=\"-1\"" in page[page.index("rc-error-summary") - 200:][:400]


DATE_PAGES = [("coord@agency.test", lambda w: "/assign"), ("coord@agency.test", lambda w: "/units/AGY-U1"),
              ("coord@agency.test", lambda w: f"/officers/{w['officer'].id}"),
              ("officer@agency.test", lambda w: "/"), ("audit@agency.test", lambda w: "/reports/roster")]


def test_every_date_field_is_the_date_picker_with_one_hint_saying_what_it_takes(client, world):
    from training.forms import DATE_HINT

    seen = 0
    for who, where in DATE_PAGES:
        login(client, who)
        page = client.get(where(world)).get_data(as_text=True)
        inputs = re.findall(r"<input[^>]*\btype=\"date\"[^>]*>", page)
        assert inputs, where(world)
        for tag in inputs:
            field_id = re.search(r'\bid="([^"]+)"', tag).group(1)
            assert f'aria-describedby="{field_id}-hint' in tag, tag
            hint = re.search(rf'<div class="usa-hint" id="{re.escape(field_id)}-hint">([^<]*)</div>', page).group(1)
            assert html.unescape(hint).endswith(DATE_HINT), hint
            assert 'max="2999-12-31"' in tag
        # No other way of writing a date is suggested on the page.
        assert not re.search(r"YYYY|for example 20\d\d-|like 20\d\d-\d\d-\d\d|Year first", page), where(world)
        seen += len(inputs)
        client.post("/logout")
    assert seen >= 8


@pytest.mark.parametrize("typed", ["2027-01-15", "01/15/2027", " 1/15/2027 "])
def test_a_date_is_read_as_the_picker_sends_it_or_as_typed_month_first(client, session, world, typed):
    login(client, "coord@agency.test")
    client.post(officer_path(world, "extend"), data={"due_on": typed, "reason": "Court all week"})
    session.refresh(world["assignment"])
    assert world["assignment"].due_on.isoformat() == "2027-01-15"
