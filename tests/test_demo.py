"""The agency-scale demo organisation."""
from datetime import date

from sqlalchemy import func, select, text

from tests.support.factories import make_user
from training.demo.scale import AGENCIES, seed_scale
from training.people.models import Agency, Unit, User
from training.records.status import course_states


def test_scale_seed_builds_the_organisation_and_leaves_ids_for_new_rows(session, course):
    if session.get_bind().dialect.name == "postgresql":
        # As on a fresh database: the id sequences start at 1.
        for table in ("users", "units", "agencies"):
            session.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), 1, false)"))
    counts = seed_scale(session, date(2026, 6, 1), 300, "x", seed=2)
    assert counts["officers"] == 300
    assert session.scalar(select(func.count()).select_from(Agency)) == len(AGENCIES)
    depths = {path.count("/") - 1 for path in session.scalars(select(Unit.path))}
    assert depths == {1, 2, 3}
    staff = session.scalar(select(func.count()).select_from(User).where(User.role.in_(["coordinator", "compliance"])))
    assert staff == 2 * len(AGENCIES)
    statuses = {s.status for s in course_states(session, date(2026, 6, 1))}
    assert {"current", "expiring", "overdue", "lapsed", "assigned", "exempt"} <= statuses
    make_user(session, "after-seed@agency.test")   # new rows get fresh ids
    session.flush()


def test_the_demo_officers_certified_have_signed_the_version_they_passed(session, course):
    from training.demo.service import seed_demo
    from training.records.models import Acknowledgement, Completion, RequiredPair

    seed_demo(session, date.today(), officers=12)
    completions = session.scalar(select(func.count()).select_from(Completion))
    assert completions > 0
    signed = session.execute(select(Acknowledgement.completion_id, Acknowledgement.version_number)).all()
    assert len(signed) == completions and {number for _, number in signed} == {1}
    # The dashboard's share on the version in force counts them.
    assert session.scalar(select(func.count()).select_from(RequiredPair)
                          .where(RequiredPair.acknowledged_version == 1)) == completions


def test_each_demo_certification_was_passed_in_a_quiz_whose_answers_the_question_analytics_count(session, course):
    from training.demo.service import seed_demo
    from training.records.models import Attempt, AttemptAnswer, Completion
    from training.reports.questions import QuestionFilters, question_analytics

    today = date.today()
    seed_demo(session, today, officers=12)
    completions = session.scalars(select(Completion)).all()
    for completion in completions:
        attempt = session.get(Attempt, completion.attempt_id)
        assert attempt.passed and attempt.score == completion.score and attempt.user_id == completion.user_id
        assert attempt.submitted_at.date() == completion.completed_on
    attempts = session.scalars(select(Attempt)).all()
    assert any(not a.passed for a in attempts), "some officers fail a first try"
    answers = session.scalar(select(func.count()).select_from(AttemptAnswer))
    assert answers == sum(len(a.items) for a in attempts)
    counted = question_analytics(session, None, QuestionFilters(), today)
    recent = [a for a in attempts if (today - a.submitted_at.date()).days < 365]
    assert sum(m.attempts for m in counted.modules) == len(recent)
    assert sum(q.missed for m in counted.modules for q in m.questions) > 0
