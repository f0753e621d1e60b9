"""What a person does through the test client: sign in, open a module's lessons, fill in a quiz."""
from __future__ import annotations

import re

from sqlalchemy import select

from tests.support.factories import PASSWORD
from training.people.models import User
from training.records.models import Attempt


def login(client, email: str, password: str = PASSWORD):
    return client.post("/login", data={"email": email, "password": password})


def answer_form(session, attempt: Attempt, correct: int) -> dict[str, str]:
    """A filled answer sheet with the first `correct` answers right and the rest wrong."""
    from training.catalog.models import Question

    form = {}
    for n, item in enumerate(attempt.items):
        question = session.get(Question, item["question_id"])
        right = item["order"].index(question.answer_index)
        form[f"q{question.id}"] = str(right if n < correct else (right + 1) % len(item["order"]))
    return form


def latest_attempt(session, user: User) -> Attempt:
    return session.scalar(select(Attempt).where(Attempt.user_id == user.id).order_by(Attempt.id.desc()).limit(1))


def open_all_lessons(client, code: str) -> None:
    page = client.get(f"/courses/{code}").get_data(as_text=True)
    for href in re.findall(rf'href="(/courses/{code}/lessons/[^"]+)"', page):
        assert client.get(href).status_code == 200


def table_rows(page: str, table_id: str) -> dict[str, list[str]]:
    """The rows of the table with id `table_id`: each row's heading cell, and its data cells' text."""
    body = page.split(f'id="{table_id}"', 1)[1].split("</table>", 1)[0]
    rows = {}
    for row in re.findall(r"<tr>(.*?)</tr>", body, re.S):
        head = re.search(r'<th scope="row">(.*?)</th>', row)
        if head:
            rows[head.group(1)] = re.findall(r"<td[^>]*>(.*?)</td>", row)
    return rows
