"""An agency-scale organisation for the benchmark and for load: deterministic, bulk-inserted.

Nine agencies in their own time zones, about one unit per hundred officers in
three levels (where an agency is large enough, its first region holds just five
field units, a unit of about five hundred officers), a supervisor for every ten
officers, a coordinator and a compliance user per agency, eight required courses (the built-in modules plus
synthetic ones) and five years of completions ending in a realistic mix of
current, expiring, overdue, lapsed, assigned and exempt.

On PostgreSQL the officers and their histories are loaded with COPY (training/demo/bulk.py); elsewhere they are
inserted in batches. Both write the same rows, and leave the same required pairs and sequences.
"""
from __future__ import annotations

import functools
import math
import random
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from datetime import date, timedelta

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from training.catalog.content import CourseContent, LessonContent, QuestionContent
from training.catalog.models import Course, CourseVersion
from training.catalog.service import sync_course
from training.db import advance_sequences, utcnow
from training.demo import bulk
from training.people.models import Agency, Unit, User
from training.records.codes import new_codes
from training.records.models import Assignment, Completion, Exemption
from training.records.rules import expiry_date

AGENCIES = [  # code, name, time zone, share of officers
    ("CBP", "Border Protection (demo)", "America/Chicago", 0.30),
    ("ICE", "Immigration Enforcement (demo)", "America/New_York", 0.17),
    ("TSA", "Transportation Security (demo)", "America/Denver", 0.15),
    ("USSS", "Protective Service (demo)", "America/New_York", 0.10),
    ("FPS", "Federal Protective (demo)", "America/Los_Angeles", 0.08),
    ("USCG", "Coast Guard Law Enforcement (demo)", "America/Anchorage", 0.08),
    ("FAMS", "Air Marshals (demo)", "America/Phoenix", 0.05),
    ("FLETC", "Training Centers (demo)", "America/New_York", 0.04),
    ("OIG", "Inspector General (demo)", "Pacific/Honolulu", 0.03),
]
SYNTHETIC = [("FIREARMS-QUAL", "Firearms Qualification"), ("FIRST-AID", "Tactical First Aid"),
             ("LESS-LETHAL", "Less-Lethal Devices"), ("BODY-WORN-CAMERA", "Body-Worn Cameras")]
# Final state of each officer × course, with its weight.
MIX = [("current", 58), ("expiring", 8), ("overdue", 9), ("lapsed", 5), ("assigned", 12), ("new_overdue", 6),
       ("exempt", 2)]
BATCH = 20_000
# A few thousand (date, months) pairs stand for millions of completions.
_expiry_date = functools.lru_cache(maxsize=None)(expiry_date)
Progress = Callable[[str, int], None]


def synthetic_course(code: str, title: str) -> CourseContent:
    lessons = [LessonContent(f"0{i}-part-{i}", f"{title}: part {i}", f"Synthetic lesson {i} of {title}.\n")
               for i in range(1, 5)]
    questions = [QuestionContent(f"{code}-{n:02d}", lessons[n % 4].slug, f"{title}: question {n}?",
                                 [f"Answer {n} {c}" for c in "abcd"], n % 4, "Synthetic.", "Synthetic")
                 for n in range(1, 25)]
    return CourseContent(code, title, f"Synthetic course standing for {title.lower()}.", "Synthetic policy",
                         lessons=lessons, questions=questions)


def _write(session: Session, model, rows: Iterator[dict], progress: Progress, label: str) -> int:
    batch: list[dict] = []
    count = 0
    for row in rows:
        batch.append(row)
        if len(batch) == BATCH:
            session.execute(insert(model), batch)
            count += len(batch)
            progress(label, len(batch))
            batch = []
    if batch:
        session.execute(insert(model), batch)
        count += len(batch)
        progress(label, len(batch))
    return count


def seed_scale(session: Session, today: date, officers: int, password_hash: str, seed: int = 1,
               progress: Progress = lambda label, n: None, copy: bool | None = None) -> dict[str, int]:
    """Build the organisation; returns row counts. The caller has checked the database is empty.

    `copy`: load with COPY (PostgreSQL only); by default on PostgreSQL.
    """
    if copy is None:
        copy = session.get_bind().dialect.name == "postgresql"
    rng = random.Random(seed)
    for code, title in SYNTHETIC:
        sync_course(session, synthetic_course(code, title))
    courses = session.execute(select(Course.id, Course.recurrence_months, CourseVersion.id)
                              .join(CourseVersion, (CourseVersion.course_id == Course.id)
                                    & (CourseVersion.number == Course.current_version))
                              .where(Course.active.is_(True)).order_by(Course.code)).all()
    now = utcnow()

    # Agencies and a three-level unit tree sized to the officers.
    session.execute(insert(Agency), [{"code": c, "name": n, "time_zone": tz} for c, n, tz, _ in AGENCIES])
    agency_ids = dict(session.execute(select(Agency.code, Agency.id)).all())
    if officers < len(AGENCIES):
        raise ValueError(f"the agency-scale organisation needs at least {len(AGENCIES)} officers")
    sizes = [max(1, math.floor(officers * share)) for *_, share in AGENCIES]
    sizes[0] += officers - sum(sizes)   # the largest agency takes the rounding
    leaves: list[tuple[int, int, int]] = []     # (unit id, agency id, officers in it)
    next_id = 1
    unit_rows = []
    for (code, *_), size in zip(AGENCIES, sizes):
        agency_id = agency_ids[code]
        units = max(3, round(size / 100))
        regions = max(1, round(math.sqrt(units - 1)))
        fields = max(1, units - 1 - regions)
        hq = next_id
        unit_rows.append({"id": hq, "agency_id": agency_id, "parent_id": None, "code": f"{code}-HQ",
                          "name": f"{code} Headquarters", "path": f"/{hq}/"})
        next_id += 1
        region_ids = []
        for r in range(regions):
            unit_rows.append({"id": next_id, "agency_id": agency_id, "parent_id": hq, "code": f"{code}-R{r + 1:02d}",
                              "name": f"{code} Region {r + 1}", "path": f"/{hq}/{next_id}/"})
            region_ids.append(next_id)
            next_id += 1
        per_field = [size // fields + (1 if f < size % fields else 0) for f in range(fields)]
        for f in range(fields):
            parent = region_ids[_region_of(f, fields, regions)]
            unit_rows.append({"id": next_id, "agency_id": agency_id, "parent_id": parent,
                              "code": f"{code}-F{f + 1:03d}", "name": f"{code} Field Unit {f + 1}",
                              "path": f"/{hq}/{parent}/{next_id}/"})
            leaves.append((next_id, agency_id, per_field[f]))
            next_id += 1
    session.execute(insert(Unit), unit_rows)

    # Officers: the first of every ten in a unit supervises the next nine.
    first_names = ["Alex", "Blair", "Casey", "Dana", "Eli", "Frankie", "Gray", "Harper", "Jordan", "Kai",
                   "Lee", "Morgan", "Noor", "Oakley", "Parker", "Quinn", "Reese", "Sam", "Taylor", "Val"]
    last_names = ["Adams", "Baker", "Chen", "Diaz", "Evans", "Fox", "Garcia", "Hughes", "Ito", "Jones", "Khan",
                  "Lopez", "Moore", "Nguyen", "Okafor", "Patel", "Quinn", "Rossi", "Singh", "Turner", "Usman",
                  "Vega", "Walsh", "Xu", "Young", "Zhang"]

    def people() -> Iterator[dict]:
        user_id = 0
        for unit_id, agency_id, count in leaves:
            supervisor = None
            for k in range(count):
                user_id += 1
                if k % 10 == 0:
                    supervisor = user_id
                yield {"id": user_id, "email": f"o{user_id:06d}@officers.demo.test", "password_hash": password_hash,
                       "role": "officer", "first_name": first_names[user_id % 20],
                       "last_name": last_names[(user_id * 7) % 26], "employee_id": f"E{user_id:06d}",
                       "agency_id": agency_id, "unit_id": unit_id,
                       "supervisor_id": None if k % 10 == 0 else supervisor, "scope_unit_id": None,
                       "active": True, "created_at": now}

    staff = []
    for code, *_ in AGENCIES:
        for role in ("coordinator", "compliance"):
            staff.append({"email": f"{role}-{code.lower()}@demo.test", "password_hash": password_hash, "role": role,
                          "first_name": role.capitalize(), "last_name": code,
                          "employee_id": f"{role[:4].upper()}-{code}",
                          "agency_id": agency_ids[code], "unit_id": None, "supervisor_id": None,
                          "scope_unit_id": None, "active": True, "created_at": now, "demo_account": True})

    # Five years of history per officer and course, ending in the MIX.
    states, weights = zip(*MIX)

    def history() -> Iterator[tuple[str, dict]]:
        for user_id in range(1, officers + 1):
            if user_id % 1000 == 0:
                progress("history", 1000)
            for course_id, months, version_id in courses:
                state = rng.choices(states, weights)[0]
                if state in ("assigned", "new_overdue"):
                    due = today + timedelta(days=rng.randint(3, 90) if state == "assigned" else -rng.randint(1, 120))
                    yield "a", {"user_id": user_id, "course_id": course_id, "due_on": due, "reason": "new_hire",
                                "created_at": now}
                    continue
                age = {"current": (0, 330), "expiring": (336, 364), "overdue": (366, 520), "lapsed": (366, 700),
                       "exempt": (366, 700)}[state]
                last = today - timedelta(days=rng.randint(*age))
                years = rng.randint(1, 5)
                for k in range(years - 1, -1, -1):
                    done = last - timedelta(days=365 * k + rng.randint(-10, 10) * (k > 0))
                    yield "c", {"user_id": user_id, "course_id": course_id, "version_id": version_id,
                                "completed_on": done, "expires_on": _expiry_date(done, months),
                                "score": rng.choice((80, 90, 90, 100)), "source": "import", "created_at": now}
                expires = _expiry_date(last, months)
                if state in ("expiring", "overdue"):
                    yield "a", {"user_id": user_id, "course_id": course_id, "due_on": expires,
                                "reason": "annual_renewal", "created_at": now}
                if state == "exempt":
                    yield "e", {"user_id": user_id, "course_id": course_id, "starts_on": today - timedelta(days=30),
                                "ends_on": today + timedelta(days=rng.randint(30, 180)), "reason": "Deployed (demo)",
                                "created_at": now}

    with bulk.loading(session) if copy else nullcontext():
        if copy:
            counts = {"officers": bulk.copy_rows(session, User.__table__, people(),
                                                 _every(BATCH, lambda n: progress("officers", n)))}
            progress("officers", officers % BATCH)
        else:
            counts = {"officers": _write(session, User, people(), progress, "officers")}
        advance_sequences(session)   # units and officers were written with explicit ids
        session.execute(insert(User), staff)
        counts.update(_copy_history(session, history()) if copy else _insert_history(session, history()))
    progress("history", officers % 1000)
    counts["units"] = len(unit_rows)
    return counts


HISTORY = {"c": (Completion, "completions"), "a": (Assignment, "assignments"), "e": (Exemption, "exemptions")}


SMALL_REGION = 5   # field units in each agency's first region


def _region_of(field: int, fields: int, regions: int) -> int:
    """The region a field unit belongs to: the first SMALL_REGION fields to the first region, the rest in turn to
    the others, so a large agency has one region of about five hundred officers beside its larger ones; a small
    agency's fields go to its regions in turn."""
    if fields <= SMALL_REGION * regions:
        return field % regions
    if field < SMALL_REGION:
        return 0
    return 1 + (field - SMALL_REGION) % (regions - 1)


def _insert_history(session: Session, rows: Iterator[tuple[str, dict]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    buffers: dict[str, list[dict]] = {kind: [] for kind in HISTORY}
    for kind, row in rows:
        buffer = buffers[kind]
        buffer.append(row)
        if len(buffer) >= BATCH:
            model, label = HISTORY[kind]
            session.execute(insert(model), buffer)
            counts[label] = counts.get(label, 0) + len(buffer)
            buffer.clear()
    for kind, buffer in buffers.items():
        if buffer:
            model, label = HISTORY[kind]
            session.execute(insert(model), buffer)
            counts[label] = counts.get(label, 0) + len(buffer)
    return counts


def _copy_history(session: Session, rows: Iterator[tuple[str, dict]]) -> dict[str, int]:
    """Completions straight into a COPY, assignments and exemptions spooled and copied after it; each table's
    ids given in the order the rows come, as the inserts' sequences would give them."""
    spools = {kind: bulk.Spool(HISTORY[kind][0].__table__) for kind in ("a", "e")}
    ids = dict.fromkeys(HISTORY, 0)
    codes = new_codes()

    def completions() -> Iterator[dict]:
        for kind, row in rows:
            ids[kind] += 1
            row["id"] = ids[kind]
            if kind == "c":
                row["verification_code"] = next(codes)
                yield row
            else:
                spools[kind].add(row)

    counts = {"completions": bulk.copy_rows(session, Completion.__table__, completions())}
    for kind, spool in spools.items():
        counts[HISTORY[kind][1]] = spool.copy_into(session)
    return {label: n for label, n in counts.items() if n}


def _every(n: int, call: Callable[[int], None]) -> Callable[[], None]:
    """A callable that calls `call(n)` once every `n` calls."""
    seen = [0]

    def tick() -> None:
        seen[0] += 1
        if seen[0] % n == 0:
            call(n)
    return tick
