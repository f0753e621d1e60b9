"""The officer's page as staff see it, and My training: the version signed of each module and the one in force."""
import re

import pytest

from tests.support.factories import make_user
from tests.support.pages import login
from tests.support.version_world import build_version_world


@pytest.fixture
def world(session, app, course, org):
    return build_version_world(session, app, course, org)


def module_rows(html: str) -> dict[str, list[str]]:
    """Each row of the modules table: its heading and the text of its cells."""
    body = html.split('id="modules-caption"', 1)[1].split("</table>", 1)[0]
    rows = {}
    for row in re.findall(r"<tr>(.*?)</tr>", body, re.S):
        head = re.search(r'<th scope="row"[^>]*>(.*?)</th>', row, re.S)
        if head:
            cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
            rows[head.group(1).strip()] = [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", c)).strip() for c in cells]
    return rows


def test_the_officer_page_shows_signed_and_current_versions(client, session, world):
    make_user(session, "coord@agency.test", role="coordinator", agency=world.ada.agency)
    session.commit()
    login(client, "coord@agency.test")
    html = client.get(f"/officers/{world.ada.id}").get_data(as_text=True)
    assert ">Version signed<" in html and ">Version in force<" in html
    ada = module_rows(html)["Test TEST-BASICS"]
    assert ada[1:3] == ["v1", "v2 (not signed, overdue)"]
    bo = module_rows(client.get(f"/officers/{world.bo.id}").get_data(as_text=True))["Test TEST-BASICS"]
    assert bo[1:3] == ["v2", "v2"]
    dee = module_rows(client.get(f"/officers/{world.dee.id}").get_data(as_text=True))
    assert dee["Test TEST-BASICS"][1:3] == ["None", "v2 (not signed yet)"]
    assert dee["Body-worn cameras directive"][1:3] == ["Directive 2026-01", "Directive 2026-01"]


def test_my_training_shows_the_version_i_signed_and_the_one_in_force(client, world):
    login(client, world.ada.email)
    rows = module_rows(client.get("/training").get_data(as_text=True))
    assert rows["Test TEST-BASICS"][1:3] == ["v1", "v2 (not signed yet)"]
    client.post("/logout")
    login(client, world.bo.email)
    rows = module_rows(client.get("/training").get_data(as_text=True))
    assert rows["Test TEST-BASICS"][1:3] == ["v2", "v2"]
