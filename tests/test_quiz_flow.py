"""An officer takes a module end to end through the test client."""
import re
from datetime import timedelta

from sqlalchemy import func, select

from tests.support.factories import log_change, make_user
from tests.support.pages import answer_form, latest_attempt, login, open_all_lessons
from training.audit.models import AuditEvent
from training.catalog.models import Question
from training.clock import today_for
from training.records.models import Assignment, Attempt, Completion
from training.records.rules import expiry_date

CODE = "TEST-BASICS"


def assign(session, user, course, due_on):
    session.add(Assignment(user_id=user.id, course_id=course.id, due_on=due_on, reason="individual"))
    session.commit()


def start(client, session, officer):
    open_all_lessons(client, CODE)
    response = client.post(f"/courses/{CODE}/quiz")
    assert response.status_code == 302
    return latest_attempt(session, officer)


def test_dashboard_lists_modules_with_status_soonest_first(client, session, officer, course, app):
    from tests.support.factories import write_course
    from training.catalog.service import sync_courses
    root = app.config["COURSES_DIR"].parent
    write_course(root, code="TEST-OTHER")
    sync_courses(session, app.config["COURSES_DIR"], app.config["QUIZZES_DIR"])
    other = session.scalar(select(course.__class__).where(course.__class__.code == "TEST-OTHER"))
    today = today_for(officer)
    assign(session, officer, course, today + timedelta(days=40))
    assign(session, officer, other, today - timedelta(days=2))
    login(client, officer.email)
    page = client.get("/").get_data(as_text=True)
    assert page.index("Test TEST-OTHER") < page.index("Test TEST-BASICS")
    assert "Overdue" in page and "Assigned" in page
    assert (today + timedelta(days=40)).isoformat() in page


def test_quiz_is_locked_until_every_lesson_is_opened(client, session, officer, course):
    login(client, officer.email)
    page = client.get(f"/courses/{CODE}").get_data(as_text=True)
    assert "0 of 3 opened" in page and "Start the quiz" not in page
    refused = client.post(f"/courses/{CODE}/quiz", follow_redirects=True)
    assert "Open every lesson" in refused.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(Attempt)) == 0
    client.get(f"/courses/{CODE}/lessons/01-topic-1")
    client.get(f"/courses/{CODE}/lessons/02-topic-2")
    assert "2 of 3 opened" in client.get(f"/courses/{CODE}").get_data(as_text=True)
    client.get(f"/courses/{CODE}/lessons/03-topic-3")
    assert "Start the quiz" in client.get(f"/courses/{CODE}").get_data(as_text=True)


def test_lesson_markdown_is_rendered_and_raw_html_is_not(client, session, officer, app, course):
    lesson = app.config["COURSES_DIR"] / "test-basics" / "lessons" / "01-topic-1.md"
    lesson.write_text("# Topic 1\n\nSome **bold** advice.\n\n<script>alert(1)</script>\n", encoding="utf-8")
    log_change(app.config["COURSES_DIR"])
    from training.catalog.service import sync_courses
    sync_courses(session, app.config["COURSES_DIR"], app.config["QUIZZES_DIR"])
    login(client, officer.email)
    page = client.get(f"/courses/{CODE}/lessons/01-topic-1").get_data(as_text=True)
    assert "<strong>bold</strong>" in page
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page


def test_quiz_page_holds_no_answers(client, session, officer, course):
    login(client, officer.email)
    attempt = start(client, session, officer)
    assert len(attempt.items) == 10
    page = client.get(f"/attempts/{attempt.id}").get_data(as_text=True)
    for item in attempt.items:
        question = session.get(Question, item["question_id"])
        assert question.explanation not in page
        # Radio values are shown positions; the label under value i is choice order[i].
        for position, original in enumerate(item["order"]):
            pattern = (rf'name="q{question.id}"\s+value="{position}"[^>]*>\s*'
                       rf'<label[^>]*>{re.escape(question.choices[original])}</label>')
            assert re.search(pattern, page), (question.key, position)
    assert "answer_index" not in page and "Right 1<" not in page.replace("Right 1</label>", "")


def test_failing_shows_missed_questions_and_a_new_draw(client, session, officer, course):
    login(client, officer.email)
    attempt = start(client, session, officer)
    response = client.post(f"/attempts/{attempt.id}", data=answer_form(session, attempt, correct=7))
    assert response.status_code == 302
    session.refresh(attempt)
    assert (attempt.score, attempt.passed) == (70, False)
    page = client.get(f"/attempts/{attempt.id}/result").get_data(as_text=True)
    assert "You scored 70%" in page and "did not pass" in page
    for item in attempt.items[7:]:
        question = session.get(Question, item["question_id"])
        picked = attempt.answers[str(question.id)]
        assert question.stem in page and question.explanation in page
        # Beside the explanation, why the choice the officer picked is wrong, and not why the others are.
        assert f"<strong>Your answer:</strong> {question.choices[picked]}</p>" in page
        assert question.why_wrong(picked) in page
        others = [n for n in range(len(question.choices)) if n not in (picked, question.answer_index)]
        assert not any(question.why_wrong(n) in page for n in others)
    for item in attempt.items[:7]:
        question = session.get(Question, item["question_id"])
        assert question.stem not in page
    assert "Revisit:" in page and "Acknowledge" not in page
    client.post(f"/courses/{CODE}/quiz")
    retake = latest_attempt(session, officer)
    assert retake.id != attempt.id
    first = {i["question_id"] for i in attempt.items}
    assert not first & {i["question_id"] for i in retake.items}  # bank of 24 allows a fresh draw
    assert session.scalar(select(func.count()).select_from(Completion)) == 0


def test_passing_and_acknowledging_certifies_and_closes_the_assignment(client, session, officer, course):
    today = today_for(officer)
    assign(session, officer, course, today + timedelta(days=10))
    login(client, officer.email)
    attempt = start(client, session, officer)
    client.post(f"/attempts/{attempt.id}", data=answer_form(session, attempt, correct=8))
    page = client.get(f"/attempts/{attempt.id}/result").get_data(as_text=True)
    assert "You scored 80%" in page and "You passed" in page and "Acknowledge" in page

    wrong = client.post(f"/attempts/{attempt.id}/result", data={"full_name": "Someone Else"})
    assert wrong.status_code == 422 and "Dana Cruz" in wrong.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(Completion)) == 0

    client.post(f"/attempts/{attempt.id}/result", data={"full_name": "dana cruz"})
    completion = session.scalar(select(Completion))
    assert completion.attempt_id == attempt.id and completion.score == 80
    assert completion.expires_on == expiry_date(today, 12)
    # Kept as the account writes the name, not as typed.
    assert completion.acknowledged_name == "Dana Cruz" and completion.acknowledged_at is not None
    assignment = session.scalar(select(Assignment))
    assert assignment.closed_at is not None and assignment.completion_id == completion.id
    assert "Current" in client.get("/").get_data(as_text=True)
    # Acknowledging again adds nothing.
    client.post(f"/attempts/{attempt.id}/result", data={"full_name": "Dana Cruz"})
    assert session.scalar(select(func.count()).select_from(Completion)) == 1
    actions = set(session.scalars(select(AuditEvent.action)))
    assert {"attempt.submitted", "completion.recorded", "auth.signed_in"} <= actions


def test_submitting_twice_changes_nothing(client, session, officer, course):
    login(client, officer.email)
    attempt = start(client, session, officer)
    client.post(f"/attempts/{attempt.id}", data=answer_form(session, attempt, correct=10))
    again = client.post(f"/attempts/{attempt.id}", data=answer_form(session, attempt, correct=0),
                        follow_redirects=True)
    assert "already submitted" in again.get_data(as_text=True)
    session.refresh(attempt)
    assert attempt.score == 100 and attempt.passed
    count = session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "attempt.submitted"))
    assert count == 1


def test_another_officers_attempt_is_not_found_and_unchanged(client, session, officer, course, org):
    agency, unit = org
    other = make_user(session, "other@agency.test", agency=agency, unit=unit)
    session.commit()
    login(client, officer.email)
    attempt = start(client, session, officer)
    form = answer_form(session, attempt, correct=10)
    client.post("/logout")
    login(client, other.email)
    assert client.get(f"/attempts/{attempt.id}").status_code == 404
    assert client.post(f"/attempts/{attempt.id}", data=form).status_code == 404
    assert client.post(f"/attempts/{attempt.id}/result", data={"full_name": "Pat Doe"}).status_code == 404
    session.refresh(attempt)
    assert attempt.submitted_at is None


def test_tampered_or_incomplete_answers_are_refused(client, session, officer, course):
    login(client, officer.email)
    attempt = start(client, session, officer)
    good = answer_form(session, attempt, correct=10)
    first = next(iter(good))
    cases = [
        ({**good, first: "7"}, "does not match your quiz"),
        ({**good, first: "-1"}, "does not match your quiz"),
        ({**good, "q999999": "0"}, "does not match your quiz"),
        ({k: v for k, v in good.items() if k != first}, "Unanswered: 1."),
    ]
    for form, message in cases:
        response = client.post(f"/attempts/{attempt.id}", data=form)
        assert response.status_code == 422
        assert message in response.get_data(as_text=True)
        session.refresh(attempt)
        assert attempt.submitted_at is None
    # The unanswered case keeps the officer's other answers checked.
    response = client.post(f"/attempts/{attempt.id}", data=cases[3][0])
    assert response.get_data(as_text=True).count(" checked") == 9


def test_reloading_a_started_quiz_keeps_its_draw(client, session, officer, course):
    login(client, officer.email)
    attempt = start(client, session, officer)
    client.post(f"/courses/{CODE}/quiz")
    assert latest_attempt(session, officer).id == attempt.id


def test_history_lists_attempts_and_completions_with_versions(client, session, officer, course):
    login(client, officer.email)
    failed = start(client, session, officer)
    client.post(f"/attempts/{failed.id}", data=answer_form(session, failed, correct=2))
    client.post(f"/courses/{CODE}/quiz")
    passed = latest_attempt(session, officer)
    client.post(f"/attempts/{passed.id}", data=answer_form(session, passed, correct=9))
    client.post(f"/attempts/{passed.id}/result", data={"full_name": "Dana Cruz"})
    page = client.get("/history").get_data(as_text=True)
    assert "Not passed" in page and "Passed" in page
    assert "20%" in page and "90%" in page
    completions = page.split("Quiz attempts")[0]
    assert f"version {course.current_version}</span>" in completions


def test_unknown_course_or_lesson_is_404(client, officer, course):
    login(client, officer.email)
    unknown = client.get("/courses/NOPE")
    assert unknown.status_code == 404 and "No module has the code NOPE." in unknown.get_data(as_text=True)
    assert client.post("/courses/NOPE/quiz").status_code == 404
    lesson = client.get(f"/courses/{CODE}/lessons/99-nothing")
    assert lesson.status_code == 404 and "has no lesson called 99-nothing" in lesson.get_data(as_text=True)
    assert "There is nothing at this address" in client.get("/no/such/page").get_data(as_text=True)
    assert client.get("/attempts/424242").status_code == 404


def test_new_version_keeps_old_completions_pointing_at_theirs(client, session, officer, course, app):
    from training.catalog.service import sync_courses
    login(client, officer.email)
    attempt = start(client, session, officer)
    client.post(f"/attempts/{attempt.id}", data=answer_form(session, attempt, correct=10))
    client.post(f"/attempts/{attempt.id}/result", data={"full_name": "Dana Cruz"})
    old_version = session.scalar(select(Completion)).version_id
    lesson = app.config["COURSES_DIR"] / "test-basics" / "lessons" / "02-topic-2.md"
    lesson.write_text("# Topic 2\n\nRevised guidance.\n", encoding="utf-8")
    log_change(app.config["COURSES_DIR"])
    result = sync_courses(session, app.config["COURSES_DIR"], app.config["QUIZZES_DIR"])
    assert result.created == ["TEST-BASICS v2"]
    session.expire_all()
    assert session.scalar(select(Completion)).version_id == old_version
    assert "course version 2" in client.get(f"/courses/{CODE}").get_data(as_text=True)


def test_an_expired_session_or_form_changes_nothing(client, session, officer, course, app):
    login(client, officer.email)
    attempt = start(client, session, officer)
    answers = answer_form(session, attempt, correct=10)
    app.config["WTF_CSRF_ENABLED"] = True
    stale = client.post(f"/attempts/{attempt.id}", data={**answers, "csrf_token": "stale-token"})
    assert stale.status_code == 400 and "Form expired" in stale.get_data(as_text=True)
    app.config["WTF_CSRF_ENABLED"] = False
    client.post("/logout")
    signed_out = client.post(f"/attempts/{attempt.id}", data=answers)
    assert signed_out.status_code == 302 and signed_out.location.startswith("/login")
    session.refresh(attempt)
    assert attempt.submitted_at is None and attempt.score is None
    assert session.scalar(select(func.count()).select_from(AuditEvent)
                          .where(AuditEvent.action == "attempt.submitted")) == 0


def test_question_markdown_is_rendered_on_the_quiz_and_result_pages_and_html_is_not(client, session, officer, app):
    from tests.support.factories import question_stem, write_course
    from training.catalog.service import sync_courses
    root = app.config["COURSES_DIR"].parent
    write_course(root, code="TEST-MARKDOWN", questions=10)    # every question drawn
    bank = app.config["QUIZZES_DIR"] / "TEST-MARKDOWN.yaml"
    text = bank.read_text(encoding="utf-8")
    for old, new in [
        (f"stem: {question_stem('TEST-MARKDOWN', 1)}",
         'stem: "Under *Graham v. Connor*, is <script>alert(1)</script> a **seizure**?"'),
        ("a: Wrong 1 a", "a: Only under `42 U.S.C. 1983` <b>law</b>"),
        ("c: Wrong 1 c", "c: Only under *Tennessee v. Garner*"),
        ("explanation: Because of reason 1.", 'explanation: "Read *Graham*:\\n\\n- the stop\\n- the force"'),
        ("a: Choice a of question 1 misreads the rule.", 'a: "A **statute** is not the test <img src=x>."'),
    ]:
        assert old in text
        text = text.replace(old, new, 1)
    bank.write_text(text, encoding="utf-8")
    sync_courses(session, app.config["COURSES_DIR"], app.config["QUIZZES_DIR"])
    question = session.scalar(select(Question).where(Question.key == "T-01", Question.stem.contains("Graham")))
    login(client, officer.email)
    open_all_lessons(client, "TEST-MARKDOWN")
    client.post("/courses/TEST-MARKDOWN/quiz")
    attempt = latest_attempt(session, officer)
    quiz = client.get(f"/attempts/{attempt.id}").get_data(as_text=True)
    assert "Under <em>Graham v. Connor</em>, is &lt;script&gt;alert(1)&lt;/script&gt; a <strong>seizure</strong>?" \
        in quiz
    assert "<script>alert(1)" not in quiz
    assert "Only under <code>42 U.S.C. 1983</code> &lt;b&gt;law&lt;/b&gt;</label>" in quiz
    assert "Only under <em>Tennessee v. Garner</em></label>" in quiz
    # The stem names the radio group, with the question's number.
    assert (f'aria-labelledby="q{question.id}-number q{question.id}-stem"' in quiz
            and f'id="q{question.id}-stem"><p>Under <em>Graham' in quiz)

    # Every answer wrong; T-01's pick is choice a.
    form = answer_form(session, attempt, correct=0)
    item = next(i for i in attempt.items if i["question_id"] == question.id)
    form[f"q{question.id}"] = str(item["order"].index(0))
    client.post(f"/attempts/{attempt.id}", data=form)
    result = client.get(f"/attempts/{attempt.id}/result").get_data(as_text=True)
    assert "Under <em>Graham v. Connor</em>, is &lt;script&gt;alert(1)&lt;/script&gt; a <strong>seizure</strong>?" \
        in result
    assert "<strong>Your answer:</strong> Only under <code>42 U.S.C. 1983</code> &lt;b&gt;law&lt;/b&gt;" in result
    assert "<p>A <strong>statute</strong> is not the test &lt;img src=x&gt;.</p>" in result
    assert "<p>Read <em>Graham</em>:</p>\n<ul>\n<li>the stop</li>\n<li>the force</li>\n</ul>" in result
    assert "<script>alert(1)" not in result and "<img src=x" not in result and "<b>law" not in result


def test_the_module_page_says_when_its_content_was_last_reviewed(client, session, officer, course, app):
    login(client, officer.email)
    page = client.get(f"/courses/{CODE}").get_data(as_text=True)
    assert f"Content last reviewed against its sources on {course.reviewed_on.isoformat()}." in page


def test_the_pass_page_links_the_new_certificate(client, session, officer, course):
    login(client, officer.email)
    attempt = start(client, session, officer)
    client.post(f"/attempts/{attempt.id}", data=answer_form(session, attempt, correct=10))
    client.post(f"/attempts/{attempt.id}/result", data={"full_name": "Dana Cruz"})
    completion = session.scalar(select(Completion))
    page = client.get(f"/attempts/{attempt.id}/result").get_data(as_text=True)
    link = f'href="/completions/{completion.id}/certificate.pdf"'
    assert link in page and "Download your certificate (PDF)" in page
    pdf = client.get(f"/completions/{completion.id}/certificate.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")


def test_a_typed_name_matching_but_for_accents_case_and_spaces_keeps_the_account_name(client, session, org, course):
    agency, unit = org
    officer = make_user(session, "zoe@agency.test", agency=agency, unit=unit, first="Zoë", last="Nguyễn-Ó Briain")
    session.commit()
    login(client, officer.email)
    attempt = start(client, session, officer)
    client.post(f"/attempts/{attempt.id}", data=answer_form(session, attempt, correct=10))
    # Another name is refused as before, and nothing is recorded.
    refused = client.post(f"/attempts/{attempt.id}/result", data={"full_name": "Zoe Nguyen"})
    assert refused.status_code == 422 and "Zoë Nguyễn-Ó Briain" in refused.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(Completion)) == 0
    client.post(f"/attempts/{attempt.id}/result", data={"full_name": "  zoe   NGUYEN-o briain "})
    assert session.scalar(select(Completion.acknowledged_name)) == "Zoë Nguyễn-Ó Briain"


def checked_on(page: str) -> dict[str, str]:
    """The quiz fields shown checked on a quiz page, and the value of each."""
    return dict(re.findall(r'name="(q\d+)"\s+value="(\d+)" checked', page))


def test_answers_picked_survive_a_reload_and_count_at_submission(client, session, officer, course):
    login(client, officer.email)
    attempt = start(client, session, officer)
    sheet = answer_form(session, attempt, correct=10)
    first_three = dict(list(sheet.items())[:3])
    # Without script: the "Save answers" button posts the form to the saving address.
    saved = client.post(f"/attempts/{attempt.id}/answers", data=first_three)
    assert saved.status_code == 302 and saved.headers["Location"].endswith(f"/attempts/{attempt.id}")
    reloaded = client.get(f"/attempts/{attempt.id}").get_data(as_text=True)
    assert "3 of 10 questions answered" in reloaded
    assert checked_on(reloaded) == first_three
    # With script: each pick is saved as it is made, and the page is told how far the officer got.
    fourth = dict(list(sheet.items())[3:4])
    answer = client.post(f"/attempts/{attempt.id}/answers", data=fourth, headers={"Accept": "application/json"})
    assert answer.status_code == 200 and answer.json == {"saved": 4, "questions": 10}
    assert checked_on(client.get(f"/attempts/{attempt.id}").get_data(as_text=True)) == {**first_three, **fourth}
    # Submitting sends only the rest: the saved answers count with them, and are then cleared.
    rest = dict(list(sheet.items())[4:])
    assert client.post(f"/attempts/{attempt.id}", data=rest).status_code == 302
    session.refresh(attempt)
    assert attempt.score == 100 and attempt.saved_answers is None
    late = client.post(f"/attempts/{attempt.id}/answers", data=fourth, headers={"Accept": "application/json"})
    assert late.status_code == 409 and "already submitted" in late.json["error"]


def test_a_submission_missing_answers_names_those_neither_saved_nor_sent(client, session, officer, course):
    login(client, officer.email)
    attempt = start(client, session, officer)
    sheet = list(answer_form(session, attempt, correct=10).items())
    client.post(f"/attempts/{attempt.id}/answers", data=dict(sheet[:2]))
    refused = client.post(f"/attempts/{attempt.id}", data=dict(sheet[2:8]))
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "Unanswered: 9, 10." in page
    # What was saved and what was just sent stay checked on the page shown again.
    assert checked_on(page) == dict(sheet[:8])


def test_only_the_attempts_owner_may_save_its_answers(client, session, officer, course, org):
    login(client, officer.email)
    attempt = start(client, session, officer)
    sheet = answer_form(session, attempt, correct=10)
    client.post("/logout")
    make_user(session, "other@agency.test", agency=org[0], unit=org[1], employee_id="E-OTHER")
    session.commit()
    login(client, "other@agency.test")
    refused = client.post(f"/attempts/{attempt.id}/answers", data=sheet)
    assert refused.status_code == 403
    session.refresh(attempt)
    assert attempt.saved_answers is None
    assert client.post("/attempts/999999/answers", data=sheet).status_code == 404


def test_answers_the_quiz_never_offered_are_not_saved(client, session, officer, course):
    login(client, officer.email)
    attempt = start(client, session, officer)
    refused = client.post(f"/attempts/{attempt.id}/answers", data={"q999999": "0"},
                          headers={"Accept": "application/json"})
    assert refused.status_code == 422 and "does not match your quiz" in refused.json["error"]
    session.refresh(attempt)
    assert attempt.saved_answers is None
