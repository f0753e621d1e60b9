"""A small, fully known organisation for the roster and dashboard tests.

T is today (UTC); P = T - 200 days is the past day the as-of tests look at.

| officer | unit | course | records | today | on P |
| --- | --- | --- | --- | --- | --- |
| Ada =Cmd | AAA-U1 | TEST-BASICS | done T-465 (exp T-100), T-100 (exp T+265) | current | current (done T-465) |
| Ada =Cmd | AAA-U1 | FIRST-AID | done T-400 (exp T-35); assigned T-20, due T+10 | lapsed | current |
| Bo @Bee | AAA-SUB (under U1) | TEST-BASICS | done T-350 (exp T+15); renewal assigned T-45, due T+15 | expiring | current |
| Cy Cole | AAA-U2 | TEST-BASICS | assigned T-40, due T-5 | overdue | - |
| Ed Eng | AAA-U1 | TEST-BASICS | exempt T-5..T+30 | exempt | - |
| Fay Fox | AAA-U1 | TEST-BASICS | assigned T-300 due T-250, closed T-150 by done T-150 (exp T+215) | current | overdue |
| Di Dee | BBB-U1 | TEST-BASICS | done T-10 (exp T+355) | current | - |
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select

from tests.support.factories import make_org, make_user
from training.catalog.models import Course, CourseVersion
from training.catalog.service import sync_course
from training.demo.scale import synthetic_course
from training.people.models import Unit
from training.people.service import unit_path
from training.records.models import Assignment, Completion, Exemption


@dataclass
class World:
    today: date
    past: date
    users: dict
    units: dict
    basics_version: int
    aid_version: int


def at(day: date) -> datetime:
    return datetime.combine(day, time(12))


def build_world(session, course: Course) -> World:
    t = datetime.now(UTC).date()
    aaa, u1 = make_org(session, "AAA", tz="Etc/UTC")
    bbb, b1 = make_org(session, "BBB", tz="Etc/UTC")
    sub = Unit(agency_id=aaa.id, parent_id=u1.id, code="AAA-SUB", name="Sub-unit")
    u2 = Unit(agency_id=aaa.id, code="AAA-U2", name="Unit two")
    session.add_all([sub, u2])
    session.flush()
    sub.path, u2.path = unit_path(u1, sub.id), unit_path(None, u2.id)
    aid = sync_course(session, synthetic_course("FIRST-AID", "Tactical First Aid")).course
    session.flush()
    basics_v = session.scalar(select(CourseVersion).where(CourseVersion.course_id == course.id,
                                                          CourseVersion.number == course.current_version))
    aid_v = session.scalar(select(CourseVersion).where(CourseVersion.course_id == aid.id))
    users = {
        "ada": make_user(session, "ada@a.test", agency=aaa, unit=u1, first="Ada", last="=Cmd", employee_id="A-1"),
        "bo": make_user(session, "bo@a.test", agency=aaa, unit=sub, first="Bo", last="@Bee", employee_id="A-2"),
        "cy": make_user(session, "cy@a.test", agency=aaa, unit=u2, first="Cy", last="Cole", employee_id="A-3"),
        "ed": make_user(session, "ed@a.test", agency=aaa, unit=u1, first="Ed", last="Eng", employee_id="A-4"),
        "fay": make_user(session, "fay@a.test", agency=aaa, unit=u1, first="Fay", last="Fox", employee_id="A-5"),
        "di": make_user(session, "di@b.test", agency=bbb, unit=b1, first="Di", last="Dee", employee_id="B-1"),
        "compliance_a": make_user(session, "compliance@a.test", role="compliance", agency=aaa, employee_id="S-1"),
        "compliance_b": make_user(session, "compliance@b.test", role="compliance", agency=bbb, employee_id="S-2"),
        "compliance_sub": make_user(session, "compliance-sub@a.test", role="compliance", agency=aaa,
                                    scope_unit_id=sub.id, employee_id="S-3"),
        "coordinator_a": make_user(session, "coordinator@a.test", role="coordinator", agency=aaa, employee_id="S-4"),
        "admin": make_user(session, "admin@x.test", role="admin", employee_id="S-5"),
    }
    u = {k: v.id for k, v in users.items()}

    def done(user, c, v, days_ago, expires_in, score=90):
        row = Completion(user_id=u[user], course_id=c.id, version_id=v.id, completed_on=t - timedelta(days=days_ago),
                         expires_on=t + timedelta(days=expires_in), score=score, source="import")
        session.add(row)
        return row

    done("ada", course, basics_v, 465, -100, 80)
    done("ada", course, basics_v, 100, 265, 95)
    done("ada", aid, aid_v, 400, -35, 85)
    session.add(Assignment(user_id=u["ada"], course_id=aid.id, due_on=t + timedelta(days=10), reason="individual",
                           created_at=at(t - timedelta(days=20))))
    done("bo", course, basics_v, 350, 15, 100)
    session.add(Assignment(user_id=u["bo"], course_id=course.id, due_on=t + timedelta(days=15),
                           reason="annual_renewal", created_at=at(t - timedelta(days=45))))
    session.add(Assignment(user_id=u["cy"], course_id=course.id, due_on=t - timedelta(days=5), reason="unit",
                           created_at=at(t - timedelta(days=40))))
    session.add(Exemption(user_id=u["ed"], course_id=course.id, starts_on=t - timedelta(days=5),
                          ends_on=t + timedelta(days=30), reason="Deployed overseas"))
    fay_done = done("fay", course, basics_v, 150, 215, 88)
    session.flush()
    session.add(Assignment(user_id=u["fay"], course_id=course.id, due_on=t - timedelta(days=250), reason="unit",
                           created_at=at(t - timedelta(days=300)), closed_at=at(t - timedelta(days=150)),
                           completion_id=fay_done.id))
    done("di", course, basics_v, 10, 355, 70)
    session.commit()
    return World(t, t - timedelta(days=200), users, {"u1": u1, "sub": sub, "u2": u2, "b1": b1},
                 basics_v.number, aid_v.number)
