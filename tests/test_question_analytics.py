"""Question analytics from quizzes officers take in the test: the figures, the strong-miss flag, scope, the period,
the CSV file, and the migration's back-fill of the answers."""
from __future__ import annotations

import csv
import io
from contextlib import contextmanager
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import select, update
from sqlalchemy.orm import Session

import config
from tests.support.databases import committed_database
from tests.support.factories import make_org, make_user, write_course
from tests.support.pages import login, table_rows
from tests.test_indexes import plan
from training import create_app, migrate
from training.audit.models import AuditEvent
from training.catalog.models import Question
from training.catalog.service import course_by_code, current_version, sync_courses
from training.clock import day_start, today_for
from training.db import make_engine
from training.learn.service import open_lesson, start_attempt, submit_attempt
from training.people.models import User
from training.records.models import Attempt, AttemptAnswer
from training.reports.questions import MIN_PER_THIRD, QUESTION_COLUMNS, answer_counts

CODE = "TEST-ITEMS"
A, RIGHT, C, D = 0, 1, 2, 3     # the choices write_course gives every question; b is right
HEADER = "course_code,question_id,lesson,attempts,missed,miss_rate,most_chosen_wrong,source"


def items_course(session, root, formula_choice: bool = False):
    """A module of four questions, all four in every quiz, so each attempt answers each question."""
    write_course(root, code=CODE, lessons=2, questions=4, per_attempt=4)
    if formula_choice:
        bank = root / "quizzes" / f"{CODE}.yaml"
        bank.write_text(bank.read_text(encoding="utf-8").replace("c: Wrong 4 c", "c: \"=HYPERLINK('x') 4 c\""),
                        encoding="utf-8")
    sync_courses(session, root / "courses", root / "quizzes")
    session.commit()
    return course_by_code(session, CODE)


def take(session, officer, course, picks: dict[str, int]) -> Attempt:
    """The officer opens every lesson, starts the quiz and submits the choices given (question key -> index of
    the choice in the quiz file), through the service the quiz page uses."""
    version = current_version(session, course)
    for lesson in version.lessons:
        open_lesson(session, officer, lesson)
    attempt = start_attempt(session, officer, version)
    keys = {q.id: q.key for q in version.questions}
    form = {f"q{item['question_id']}": str(item["order"].index(picks[keys[item["question_id"]]]))
            for item in attempt.items}
    assert submit_attempt(session, officer, attempt, form)
    session.commit()
    return attempt


# Ten officers of each kind. The weak miss T-01 to T-03 and get T-04 right (25%); the middle get T-01 and T-02
# right (50%); the strong miss only T-04 (75%). T-04 is missed by the whole top third and none of the bottom.
WEAK = {"T-01": A, "T-02": A, "T-03": C, "T-04": RIGHT}
MIDDLE = {"T-01": RIGHT, "T-02": RIGHT, "T-03": A, "T-04": C}
STRONG = [{"T-01": RIGHT, "T-02": RIGHT, "T-03": RIGHT, "T-04": C if n < 2 else A} for n in range(10)]


@pytest.fixture
def world(app, session):
    return build_world(session, app.config["COURSES_DIR"].parent)


def build_world(session, root) -> dict:
    """Thirty officers of agency AGY who took the quiz; one of agency OTH who missed everything; staff of both."""
    course = items_course(session, root)
    agency, unit = make_org(session)
    other, other_unit = make_org(session, "OTH")
    officers = []
    for n, picks in enumerate([WEAK] * 10 + [MIDDLE] * 10 + STRONG):
        officer = make_user(session, f"o{n}@agy.test", agency=agency, unit=unit)
        officers.append(officer)
        take(session, officer, course, picks)
    outsider = make_user(session, "o@oth.test", agency=other, unit=other_unit)
    take(session, outsider, course, {"T-01": D, "T-02": D, "T-03": D, "T-04": D})
    coordinator = make_user(session, "coord@agy.test", role="coordinator", agency=agency)
    make_user(session, "coord@oth.test", role="coordinator", agency=other, employee_id="C-OTH")
    admin = make_user(session, "admin@x.test", role="admin")
    session.commit()
    return {"course": course, "officers": officers, "outsider": outsider, "coordinator": coordinator,
            "admin": admin, "agency": agency}


def figures(client, **args) -> dict[str, list[str]]:
    response = client.get("/reports/questions", query_string={"course": CODE, **args})
    assert response.status_code == 200, response.get_data(as_text=True)
    return table_rows(response.get_data(as_text=True), f"questions-{CODE}")


def counted(rows: dict[str, list[str]]) -> list[list[str]]:
    """Each question's attempts and misses, as the page's table gives them."""
    return [[cells[1], cells[2].split(" ")[0]] for cells in rows.values()]


def csv_rows(client, **args) -> list[dict[str, str]]:
    response = client.get("/reports/questions.csv", query_string=args)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff" + HEADER + "\r\n")
    return list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))


def _thirds(top: int, bottom: int) -> str:
    return (f'<span class="rc-nowrap">Top: {top}% <span class="rc-meta">of 10</span></span><br>'
            f'<span class="rc-nowrap">Bottom: {bottom}% <span class="rc-meta">of 10</span></span>')


def test_the_figures_count_every_answer_and_flag_the_question_strong_officers_miss(client, world):
    login(client, world["coordinator"].email)
    rows = figures(client)
    assert list(rows) == ["T-01", "T-02", "T-03", "T-04"]
    attempts, missed, wrong, thirds, review = zip(*(rows[k][1:6] for k in rows))
    assert attempts == ("30",) * 4
    assert missed == ("10 (33%)", "10 (33%)", "20 (67%)", "20 (67%)")
    assert wrong[0] == 'Wrong 1 a <span class="rc-meta">(10 times, second to the right answer)</span>'
    # Of T-03's wrong answers a and c were each chosen ten times: the first in alphabetical order is shown.
    assert wrong[2] == 'Wrong 3 a <span class="rc-meta">(10 times, chosen as often as the right answer)</span>'
    assert wrong[3] == 'Wrong 4 c <span class="rc-meta">(12 times, chosen more often than the right answer)</span>'
    assert thirds == (_thirds(0, 100),) * 3 + (_thirds(100, 0),)
    assert rows["T-03"][0].endswith('<br><span class="rc-meta">Lesson 01-topic-1</span>')
    assert review == ("No", "No", "No", "<strong>Strong officers miss it more</strong>")
    page = client.get("/reports/questions", query_string={"course": CODE}).get_data(as_text=True)
    assert "30 quiz attempts;" in page and "4 questions, 1 flagged for review." in page
    assert "top third of the attempts missed it more often than the bottom third" in page


def test_the_csv_file_has_the_contract_header_and_the_page_figures(client, world):
    login(client, world["coordinator"].email)
    rows = csv_rows(client)
    assert [tuple(r.values()) for r in rows] == [
        (CODE, "T-01", "01-topic-1", "30", "10", "0.33", "Wrong 1 a", "Test source, p. 1"),
        (CODE, "T-02", "02-topic-2", "30", "10", "0.33", "Wrong 2 a", "Test source, p. 2"),
        (CODE, "T-03", "01-topic-1", "30", "20", "0.67", "Wrong 3 a", "Test source, p. 3"),
        (CODE, "T-04", "02-topic-2", "30", "20", "0.67", "Wrong 4 c", "Test source, p. 4"),
    ]
    assert tuple(rows[0]) == QUESTION_COLUMNS
    event = client.application.extensions["db_sessionmaker"]().scalar(
        select(AuditEvent).where(AuditEvent.action == "export.questions"))
    assert event.actor_id == world["coordinator"].id and event.details["rows"] == 4


def test_another_agencys_attempts_are_not_counted_and_an_administrator_sees_both(client, world):
    login(client, world["admin"].email)
    rows = figures(client)
    assert counted(rows) == [["31", "11"], ["31", "11"], ["31", "21"], ["31", "21"]]
    # The outsider's answer d of T-02 is one of eleven wrong answers; a is still the most chosen.
    assert rows["T-02"][3].startswith("Wrong 2 a ")
    client.post("/logout")
    login(client, "coord@oth.test")
    rows = figures(client)
    assert counted(rows) == [["1", "1"]] * 4
    assert all(rows[k][5] == "Too few attempts to judge" for k in rows)


def test_officers_are_refused(client, world):
    login(client, world["officers"][0].email)
    assert client.get("/reports/questions").status_code == 403
    assert client.get("/reports/questions.csv").status_code == 403


def test_the_period_counts_the_days_chosen_in_the_viewers_time_zone(client, session, world):
    strong = [o.id for o in world["officers"][20:]]
    today = today_for(world["coordinator"])
    then = today - timedelta(days=400)
    # Noon of that day in the viewer's zone, whatever the hour now and whether summer time differs then.
    session.execute(update(Attempt).where(Attempt.user_id.in_(strong))
                    .values(submitted_at=day_start(then, "America/New_York") + timedelta(hours=12)))
    session.commit()
    login(client, world["coordinator"].email)
    # The last 12 months by default: the strong third's quizzes, 400 days ago, are left out.
    rows = figures(client)
    assert counted(rows) == [["20", "10"], ["20", "10"], ["20", "20"], ["20", "10"]]
    assert all(rows[k][5] == "Too few attempts to judge" for k in rows)
    # Only that day: the strong third alone.
    rows = figures(client, **{"from": then.isoformat(), "to": then.isoformat()})
    assert counted(rows) == [["10", "0"], ["10", "0"], ["10", "0"], ["10", "10"]]
    rows = figures(client, **{"from": (today - timedelta(days=500)).isoformat()})
    assert counted(rows)[3] == ["30", "20"]
    before = client.get("/reports/questions", query_string={"to": (then - timedelta(days=1)).isoformat()})
    assert "No module quiz was submitted in this period by anyone in your scope." in before.get_data(as_text=True)
    page = client.get("/reports/questions", query_string={"from": today.isoformat(),
                                                           "to": (today - timedelta(days=1)).isoformat()})
    assert page.status_code == 400 and "The &#39;to&#39; day is before the &#39;from&#39; day." in page.get_data(
        as_text=True)
    assert client.get("/reports/questions.csv", query_string={"course": "NOPE"}).status_code == 400


def test_a_day_is_the_viewers_own_and_policy_update_quizzes_are_left_out(client, session, world):
    """The agency's day (America/New_York) starts at its own midnight; an update quiz's answers are not counted."""
    officers = world["officers"]
    today = today_for(world["coordinator"])
    midnight = day_start(today, "America/New_York")
    session.execute(update(Attempt).where(Attempt.user_id == officers[0].id).values(submitted_at=midnight))
    session.execute(update(Attempt).where(Attempt.user_id == officers[1].id)
                    .values(submitted_at=midnight - timedelta(seconds=1)))
    session.execute(update(Attempt).where(Attempt.user_id.in_([o.id for o in officers[2:10]]))
                    .values(submitted_at=midnight - timedelta(days=3)))
    session.execute(update(Attempt).where(Attempt.user_id.in_([o.id for o in officers[10:]])).values(kind="update"))
    session.commit()
    login(client, world["coordinator"].email)
    assert counted(figures(client, **{"from": today.isoformat()}))[0] == ["1", "1"]
    yesterday = (today - timedelta(days=1)).isoformat()
    assert counted(figures(client, **{"from": yesterday, "to": yesterday}))[0] == ["1", "1"]
    assert counted(figures(client))[0] == ["10", "10"]


def test_csv_cells_that_would_run_as_formulas_are_neutralised(app, client, session):
    course = items_course(session, app.config["COURSES_DIR"].parent, formula_choice=True)
    agency, unit = make_org(session)
    officer = make_user(session, "o@agy.test", agency=agency, unit=unit)
    take(session, officer, course, {"T-01": RIGHT, "T-02": RIGHT, "T-03": RIGHT, "T-04": C})
    make_user(session, "comp@agy.test", role="compliance", agency=agency)
    session.commit()
    login(client, "comp@agy.test")
    rows = csv_rows(client, course=CODE)
    assert rows[3]["most_chosen_wrong"] == "'=HYPERLINK('x') 4 c"
    assert rows[3]["miss_rate"] == "1.00" and rows[0]["miss_rate"] == "0.00"
    page = client.get("/reports/questions", query_string={"course": CODE}).get_data(as_text=True)
    assert "=HYPERLINK(&#39;x&#39;) 4 c" in page


def test_a_new_version_keeps_the_questions_key_and_its_answers_count_together(app, client, session):
    root = app.config["COURSES_DIR"].parent
    course = items_course(session, root)
    agency, unit = make_org(session)
    first = make_user(session, "one@agy.test", agency=agency, unit=unit)
    take(session, first, course, {"T-01": RIGHT, "T-02": RIGHT, "T-03": RIGHT, "T-04": C})
    bank = root / "quizzes" / f"{CODE}.yaml"
    bank.write_text(bank.read_text(encoding="utf-8").replace("a: Wrong 4 a", "a: Wrong 4 a, reworded"),
                    encoding="utf-8")
    from tests.support.factories import log_change
    log_change(root / "courses", CODE)
    sync_courses(session, root / "courses", root / "quizzes")
    session.commit()
    second = make_user(session, "two@agy.test", agency=agency, unit=unit)
    take(session, second, course, {"T-01": RIGHT, "T-02": RIGHT, "T-03": RIGHT, "T-04": C})
    third = make_user(session, "three@agy.test", agency=agency, unit=unit)
    take(session, third, course, {"T-01": RIGHT, "T-02": RIGHT, "T-03": RIGHT, "T-04": A})
    make_user(session, "comp@agy.test", role="compliance", agency=agency)
    session.commit()
    login(client, "comp@agy.test")
    rows = figures(client)
    assert rows["T-04"][0].endswith('<span class="rc-meta">Lesson 02-topic-2; versions 1, 2</span>')
    assert rows["T-04"][1:3] == ["3", "3 (100%)"]
    # Choice c kept its words through the new version: its two answers count as one choice.
    assert rows["T-04"][3] == 'Wrong 4 c <span class="rc-meta">(2 times, chosen more often than the right answer)</span>'
    assert rows["T-01"][0].endswith('; versions 1, 2</span>')


def test_the_page_shows_the_first_module_until_another_or_all_are_chosen(client, session, world):
    other = course_by_code(session, "TEST-BASICS")
    take(session, world["officers"][0], other, {q.key: q.answer_index for q in current_version(session, other).questions})
    login(client, world["coordinator"].email)
    first = client.get("/reports/questions").get_data(as_text=True)
    assert 'id="questions-TEST-BASICS"' in first and 'id="questions-TEST-ITEMS"' not in first
    assert "/reports/questions.csv?course=TEST-BASICS" in first
    assert f"at least {MIN_PER_THIRD} times" in first
    every = client.get("/reports/questions", query_string={"course": ""}).get_data(as_text=True)
    assert 'id="questions-TEST-BASICS"' in every and 'id="questions-TEST-ITEMS"' in every
    # The file without filters holds every module.
    assert {row["course_code"] for row in csv_rows(client)} == {"TEST-BASICS", CODE}


@contextmanager
def migrated(tmp_path, name: str, root):
    """An app on a committed database of the test's own, brought up to date by the migrations, and an engine on
    it; both disposed of afterwards."""
    with committed_database(tmp_path, name) as url:
        app = create_app(config.TestConfig, DATABASE_URL=url, COURSES_DIR=root / "courses",
                         QUIZZES_DIR=root / "quizzes")
        migrate.upgrade(app)
        engine = make_engine(url)
        try:
            yield app, engine
        finally:
            engine.dispose()
            app.extensions["db_engine"].dispose()


def test_the_migration_backfills_the_same_answers_as_submission_writes(tmp_path):
    """Attempts submitted through the service write their answers; the revision that made the table
    (f3b1c9d2a7e4) rebuilds them from the attempts alone, row for row."""
    root = tmp_path / "content"
    write_course(root, code=CODE, lessons=2, questions=4, per_attempt=4)
    with migrated(tmp_path, "migration_answers", root) as (app, engine):
        with Session(engine) as session:
            course = items_course(session, root)
            agency, unit = make_org(session)
            for n, picks in enumerate([WEAK, MIDDLE, STRONG[0], STRONG[5], WEAK]):
                officer = make_user(session, f"o{n}@agy.test", agency=agency, unit=unit)
                take(session, officer, course, picks)
            unfinished = make_user(session, "open@agy.test", agency=agency, unit=unit)
            for lesson in current_version(session, course).lessons:
                open_lesson(session, unfinished, lesson)
            start_attempt(session, unfinished, current_version(session, course))
            session.commit()
            columns = (AttemptAnswer.attempt_id, AttemptAnswer.question_id, AttemptAnswer.choice,
                       AttemptAnswer.correct)
            written = sorted(tuple(row) for row in session.execute(select(*columns)))
            keys = dict(session.execute(select(Question.id, Question.key)).all())
        assert len(written) == 20
        assert sum(1 for row in written if not row[3]) == 3 + 2 + 1 + 1 + 3
        assert {(keys[q], c, ok) for _, q, c, ok in written} >= {("T-04", C, False), ("T-04", RIGHT, True)}
        migrate.downgrade(app, "e2a7c4d91b36")
        migrate.upgrade(app)
        with Session(engine) as session:
            assert sorted(tuple(row) for row in session.execute(select(*columns))) == written
            assert session.scalar(select(sa.func.count()).select_from(Attempt)) == 6


def test_the_counting_reads_attempts_and_answers_from_their_indexes(tmp_path):
    """A year of a large agency's quizzes is gigabytes of attempts (each holds its draw and answers): the count
    finds a module's attempts of the period by their index, and on PostgreSQL the two indexes, as the migrations
    make them, hold every column it reads, so neither table's rows are read. On a database migrated and vacuumed
    as autovacuum leaves one; which plan the planner prefers at scale is in docs/performance.md."""
    root = tmp_path / "content"
    with migrated(tmp_path, "answer_indexes", root) as (_, engine):
        with Session(engine) as session:
            world = build_world(session, root)
            viewer_id, course_id = world["coordinator"].id, world["course"].id
        postgresql = engine.dialect.name == "postgresql"
        if postgresql:
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.execute(sa.text("VACUUM ANALYZE users, attempts, attempt_answers"))
        with Session(engine) as session:
            viewer = session.get(User, viewer_id)
            today = today_for(viewer)
            statement = answer_counts(session, viewer, course_id, today - timedelta(days=365), today)
            shown = plan(session, statement)
            if postgresql:
                assert "Index Only Scan using ix_attempts_module_submitted" in shown, shown
                assert "Index Only Scan using ix_attempt_answers_attempt_id" in shown, shown
            else:
                assert "ix_attempts_module_submitted" in shown, shown
            # The statement is the one the page counts with: the agency's 30 attempts of 4 answers each.
            rows = session.execute(statement).all()
            assert sum(n for _, _, _, n, _, _, _ in rows) == 30 * 4
