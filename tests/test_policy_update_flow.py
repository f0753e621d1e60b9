"""A certified officer takes a policy update: what changed, a short quiz on it, and the signature."""
import re
from datetime import timedelta

from sqlalchemy import func, select

from tests.support.factories import make_user
from tests.support.pages import answer_form, latest_attempt, login
from tests.support.policy_change import publish_policy_change as publish
from training.catalog.models import Question
from training.catalog.service import course_by_code
from training.clock import server_today, today_for
from training.learn.rules import names_match
from training.records.models import Acknowledgement, Assignment, Attempt, Completion, RequiredPair
from training.records.service import record_completion
from training.updates.service import publish_update
from training.updates.versions import version_book

CODE = "TEST-BASICS"
LESSON_2 = "02-topic-2.md"


def certify(session, user, course, days_ago: int = 20, signed: bool = True) -> Completion:
    """A completion of the module's current version, signed in Rollcall (or, unsigned, as an import makes)."""
    version = course.versions[-1]
    completion = record_completion(session, user, course, today_for(user) - timedelta(days=days_ago),
                                   version_id=version.id, score=90, source="quiz" if signed else "import",
                                   acknowledged_name=user.full_name if signed else None)
    session.commit()
    return completion


def publish_policy_change(app, session, text: str = "Officers must now warn twice before acting.") -> int:
    """Add to lesson 2, publish the new version as a policy change; how many update assignments it made."""
    published = publish(session, app.config["COURSES_DIR"], app.config["QUIZZES_DIR"], "test-basics", LESSON_2,
                        on=server_today(),
                        new=text, summary="Two warnings before force.")
    session.commit()
    return published.updates.get(CODE, 0)


def test_a_policy_change_assigns_the_update_to_certified_officers_only(app, session, course, officer, org):
    agency, unit = org
    lapsed = make_user(session, "lapsed@agency.test", agency=agency, unit=unit, first="Lee", last="Park")
    learner = make_user(session, "new@agency.test", agency=agency, unit=unit, first="Ada", last="Stone")
    session.add(Assignment(user_id=learner.id, course_id=course.id, due_on=server_today() + timedelta(days=9),
                           reason="individual"))
    certify(session, officer, course)
    certify(session, lapsed, course, days_ago=400)
    assert publish_policy_change(app, session) == 1
    update = session.scalar(select(Assignment).where(Assignment.user_id == officer.id,
                                                     Assignment.closed_at.is_(None)))
    assert update.reason == "policy_update" and update.version.number == 2
    assert update.due_on == server_today() + timedelta(days=30)
    assert session.scalar(select(func.count()).select_from(Assignment).where(
        Assignment.user_id.in_([lapsed.id, learner.id]), Assignment.version_id.is_not(None))) == 0
    assert version_book(session, [course.id]).required_of(course.id) == 2


def test_the_officer_reads_only_what_changed_passes_a_short_quiz_and_signs(app, client, session, course, officer):
    completion = certify(session, officer, course)
    expires_on = completion.expires_on
    publish_policy_change(app, session)
    login(client, officer.email)
    home = client.get("/training").get_data(as_text=True)
    assert f'href="/courses/{CODE}/update"' in home and "(policy update)" in home

    page = client.get(f"/courses/{CODE}/update").get_data(as_text=True)
    assert "Topic 2" in page and "Topic 1" not in page and "Topic 3" not in page
    assert re.search(r'<ins class="diff-added">.*Officers must now warn twice', page, re.S)
    assert "Two warnings before force." in page

    assert client.post(f"/courses/{CODE}/update/quiz").status_code == 302
    attempt = latest_attempt(session, officer)
    assert attempt.kind == "update" and len(attempt.items) == 5
    lessons = {session.get(Question, item["question_id"]).lesson_slug for item in attempt.items}
    assert lessons == {"02-topic-2"}

    client.post(f"/attempts/{attempt.id}", data=answer_form(session, attempt, correct=5))
    result = client.get(f"/attempts/{attempt.id}/result").get_data(as_text=True)
    assert "Sign the new version" in result and "Download your certificate" not in result
    refused = client.post(f"/attempts/{attempt.id}/result", data={"full_name": "Somebody Else"})
    assert refused.status_code == 422 and "Dana Cruz" in refused.get_data(as_text=True)

    signed = client.post(f"/attempts/{attempt.id}/result", data={"full_name": "dana  cruz"}, follow_redirects=True)
    assert "Policy update signed" in signed.get_data(as_text=True)
    session.expire_all()
    acknowledgement = session.scalar(select(Acknowledgement).where(Acknowledgement.kind == "update"))
    assert (acknowledgement.user_id, acknowledgement.version_number, acknowledgement.name) == (officer.id, 2, "Dana Cruz")
    assert session.scalar(select(RequiredPair.acknowledged_version).where(RequiredPair.user_id == officer.id)) == 2
    assert session.scalar(select(func.count()).select_from(Assignment).where(Assignment.closed_at.is_(None))) == 0
    # The certification is the one they held: no new completion, the same expiry.
    assert session.scalar(select(func.count()).select_from(Completion)) == 1
    assert session.get(Completion, completion.id).expires_on == expires_on
    assert 'href="/courses/TEST-BASICS/update"' not in client.get("/training").get_data(as_text=True)
    again = client.get(f"/courses/{CODE}/update", follow_redirects=True).get_data(as_text=True)
    assert "no policy update to take" in again


def test_a_failed_update_quiz_is_retaken_as_an_update_quiz(app, client, session, course, officer):
    certify(session, officer, course)
    publish_policy_change(app, session)
    login(client, officer.email)
    refused = client.post(f"/courses/{CODE}/update/quiz", follow_redirects=True).get_data(as_text=True)
    assert "Read what changed before taking the quiz." in refused
    client.get(f"/courses/{CODE}/update")
    client.post(f"/courses/{CODE}/update/quiz")
    attempt = latest_attempt(session, officer)
    client.post(f"/attempts/{attempt.id}", data=answer_form(session, attempt, correct=1))
    result = client.get(f"/attempts/{attempt.id}/result").get_data(as_text=True)
    assert f'action="/courses/{CODE}/update/quiz"' in result
    assert client.post(f"/attempts/{attempt.id}/result", data={"full_name": "Dana Cruz"}).status_code == 422
    assert session.scalar(select(func.count()).select_from(Acknowledgement).where(
        Acknowledgement.kind == "update")) == 0
    # Trying again draws a new update quiz, not the whole module's.
    client.post(f"/courses/{CODE}/update/quiz")
    second = latest_attempt(session, officer)
    assert second.kind == "update" and second.id != attempt.id


def test_taking_the_whole_module_instead_also_closes_the_update(app, client, session, course, officer):
    certify(session, officer, course)
    publish_policy_change(app, session)
    login(client, officer.email)
    page = client.get(f"/courses/{CODE}").get_data(as_text=True)
    assert "The policy has changed" in page
    for href in re.findall(rf'href="(/courses/{CODE}/lessons/[^"]+)"', page):
        client.get(href)
    client.post(f"/courses/{CODE}/quiz")
    attempt = latest_attempt(session, officer)
    assert attempt.kind == "module" and len(attempt.items) == 10
    client.post(f"/attempts/{attempt.id}", data=answer_form(session, attempt, correct=10))
    client.post(f"/attempts/{attempt.id}/result", data={"full_name": "Dana Cruz"})
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Assignment).where(Assignment.closed_at.is_(None))) == 0
    assert session.scalar(select(func.max(Acknowledgement.version_number)).where(
        Acknowledgement.user_id == officer.id)) == 2


def test_an_officer_certified_by_an_import_takes_the_next_version_in_full(app, client, session, course, officer):
    certify(session, officer, course, signed=False)
    assert publish_policy_change(app, session) == 1
    login(client, officer.email)
    page = client.get(f"/courses/{CODE}/update").get_data(as_text=True)
    assert "Topic 1" in page and "Topic 2" in page and "Topic 3" in page   # never signed: every lesson is new


def test_publishing_twice_never_gives_an_officer_two_open_updates(app, session, course, officer):
    certify(session, officer, course)
    publish_policy_change(app, session)
    version = course_by_code(session, CODE).versions[-1]
    assert publish_update(session, version.course, version, server_today()) == 0
    assert session.scalar(select(func.count()).select_from(Assignment)) == 1
    assert session.scalar(select(func.count()).select_from(Attempt)) == 0
    assert names_match("DANA CRUZ", officer.first_name, officer.last_name)


def test_update_assignments_are_reminded_and_escalated_like_any_assignment(app, runner, smtp, session, course, org):
    agency, unit = org
    boss = make_user(session, "boss@agency.test", agency=agency, unit=unit, first="Sam", last="Boss")
    officer = make_user(session, "dana@agency.test", agency=agency, unit=unit, first="Dana", last="Cruz",
                        supervisor_id=boss.id)
    certify(session, officer, course)
    publish_policy_change(app, session)
    due_on = session.scalar(select(Assignment.due_on).where(Assignment.version_id.is_not(None)))

    def run(day):
        result = runner.invoke(args=["reminders", "run", "--as-of", day.isoformat(), "--wait", "0"])
        assert result.exit_code == 0, result.output
        return [(m["To"], m["Subject"], m) for m in smtp.messages]

    sent = run(due_on - timedelta(days=7))
    assert [(to, subject) for to, subject, _ in sent] == [
        ("dana@agency.test", "Policy update to Test TEST-BASICS: due in 7 days")]
    body = sent[0][2].get_body(("plain",)).get_content()
    assert "has changed. You stay certified" in body and f"/courses/{CODE}/update" in body
    sent = run(due_on + timedelta(days=7))
    assert ("boss@agency.test", "Rollcall: 1 overdue training record in your team") in [
        (to, subject) for to, subject, _ in sent]
