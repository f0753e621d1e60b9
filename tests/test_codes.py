"""Every way a completion is written gives it its own verification code."""
from datetime import date, timedelta
from itertools import islice

from sqlalchemy import func, select

from tests.support.factories import make_user
from training.demo.scale import seed_scale
from training.demo.service import seed_demo
from training.imports.completions import apply_completions_plan, parse_completions_csv
from training.records.codes import new_code, new_codes, normalise
from training.records.models import Completion


def assert_all_coded(session, expected_at_least: int) -> None:
    total, distinct, missing = session.execute(select(
        func.count(), func.count(func.distinct(Completion.verification_code)),
        func.count().filter(Completion.verification_code.is_(None)))).one()
    assert total >= expected_at_least and distinct == total and missing == 0
    assert all(normalise(code) == code for code in session.scalars(select(Completion.verification_code).limit(50)))


def test_new_codes_are_base32_80_bits():
    codes = {new_code() for _ in range(1000)}
    assert len(codes) == 1000 and all(len(c) == 16 and normalise(c) == c for c in codes)


def test_codes_drawn_many_at_a_time_are_like_single_ones():
    codes = list(islice(new_codes(batch=64), 1000))   # several batches
    assert len(set(codes)) == 1000 and all(len(c) == 16 and normalise(c) == c for c in codes)


def test_imported_completions_get_codes(session, course):
    make_user(session, "a@agency.test", employee_id="E1")
    make_user(session, "b@agency.test", employee_id="E2")
    today = date.today()
    rows = [f"E{n},TEST-BASICS,{(today - timedelta(days=400 * k + 1)).isoformat()},90"
            for n in (1, 2) for k in range(3)]
    data = ("employee_id,course_code,completed_on,score\r\n" + "\r\n".join(rows) + "\r\n").encode()
    plan = parse_completions_csv(session, data, today)
    assert apply_completions_plan(session, plan, "history.csv") == 6
    assert_all_coded(session, 6)


def test_demo_seeds_get_codes(session, course):
    seed_demo(session, date.today(), officers=12)
    assert_all_coded(session, 1)


def test_scale_seed_gets_codes(session, course):
    seed_scale(session, date(2026, 6, 1), 200, "x", seed=3)
    assert_all_coded(session, 500)
