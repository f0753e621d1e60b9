"""`make bench`: seed an agency-scale database once, then measure pages, export, sweep and a hostile upload.

Requests go through the real WSGI app with the Flask test client and a signed-in
session (no network in between). Each timing is the median of several runs after
a warm-up. Figures are printed and written to bench-results.json, each step's
beside the database, the officer count and the load average at its start and end.

The database: BENCH_DATABASE_URL when set; else the local PostgreSQL when it is
reachable (pg_isready on 127.0.0.1:5432), database rollcall_bench_<officers>,
made when missing; else, or with BENCH_DATABASE=sqlite, a SQLite file.

`python -m bench.run STEP ...` runs only the named steps (e.g. `hostile_upload`)
and prints their figures without writing the file (BENCH_RESULTS=PATH writes
them there).
"""
from __future__ import annotations

import gc
import json
import logging
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, delete, event, func, insert, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

import config
from bench.load import stop, wait_until_serving
from bench.officer import Site, csrf_token
from tests.support.net import free_port
from tests.support.servers import GUNICORN, Gunicorn
from training import create_app, migrate
from training.api.models import ApiToken
from training.api.params import PAGE_MAX
from training.api.tokens import create_token, revoke_token
from training.catalog.models import Course, CourseVersion, Question
from training.catalog.service import sync_courses
from training.db import advance_sequences, unit_of_work, utcnow
from training.demo.scale import seed_scale
from training.demo.service import DEMO_PASSWORD, seed_demo
from training.jobs import count_compliance, count_tallies, daily_sweep, run_daily
from training.people.models import Agency, Unit, User
from training.records.models import Assignment, Attempt, AttemptAnswer, Completion
from training.records.status import course_states_query
from training.reminders.delivery import deliver
from training.reminders.models import OutboxMessage
from training.reminders.rules import Schedule
from training.reminders.sweep import READ_ALL_EVERY
from training.reports.models import ComplianceSnapshot, TallyMark
from training.updates.service import publish_update

ROOT = Path(__file__).resolve().parent.parent

OFFICERS = int(os.environ.get("BENCH_OFFICERS", "100000"))
LOCAL_POSTGRESQL = ("127.0.0.1", 5432)


def bench_database_url() -> str:
    """BENCH_DATABASE_URL; else the local PostgreSQL when it answers (unless BENCH_DATABASE=sqlite); else SQLite."""
    if url := os.environ.get("BENCH_DATABASE_URL"):
        return url
    kind = os.environ.get("BENCH_DATABASE", "").lower()
    if kind not in ("", "sqlite", "postgresql"):
        sys.exit(f"BENCH_DATABASE={kind}: say sqlite or postgresql (or set BENCH_DATABASE_URL)")
    if kind != "sqlite":
        host, port = LOCAL_POSTGRESQL
        ready = shutil.which("pg_isready") and subprocess.run(
            ["pg_isready", "-q", "-h", host, "-p", str(port)], check=False).returncode == 0
        if ready:
            return f"postgresql+psycopg://postgres@{host}:{port}/rollcall_bench_{OFFICERS}"
        if kind == "postgresql":
            sys.exit(f"BENCH_DATABASE=postgresql, but no PostgreSQL answers on {host}:{port}")
    return f"sqlite:///{ROOT / 'instance' / f'bench-{OFFICERS}.db'}"


URL = bench_database_url()
RUNS = 5
COMPLIANCE_RUNS = 20


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


@contextmanager
def statements(engine):
    counter = {"n": 0}

    def count(*_args):
        counter["n"] += 1
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield counter
    finally:
        event.remove(engine, "before_cursor_execute", count)


@contextmanager
def rolled_back(app, engine):
    """The app's units of work inside one outer transaction on a connection of its own, rolled back at the end, so
    the kept database stays as seeded; yields the connection."""
    connection = engine.connect()
    outer = connection.begin()
    production = app.extensions["db_sessionmaker"]
    app.extensions["db_sessionmaker"] = sessionmaker(bind=connection, join_transaction_mode="create_savepoint",
                                                     expire_on_commit=False)
    try:
        yield connection
    finally:
        app.extensions["db_sessionmaker"] = production
        outer.rollback()
        connection.close()


@contextmanager
def mail_sink(app):
    """aiosmtpd's discarding SMTP server on loopback, offering PIPELINING (tests/support/mail.py), in a process of
    its own, as the app's mail server; yields the process once it answers."""
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}",
                               "-c", "tests.support.mail.PipeliningSink"], cwd=ROOT)
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=port)
    try:
        wait_for_port(port)
        yield server
    finally:
        server.terminate()
        server.wait()


def ensure_database() -> None:
    """A PostgreSQL database named by URL is made when it is missing."""
    url = make_url(URL)
    if url.get_backend_name() != "postgresql":
        return
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        if not connection.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": url.database}):
            connection.execute(text(f'CREATE DATABASE "{url.database}"'))
    admin.dispose()


def load_average() -> float:
    """The machine's load average over the last minute."""
    return round(os.getloadavg()[0], 2)


def ensure_seeded(app) -> float | None:
    migrate.upgrade(app)
    with unit_of_work(app) as session:
        seeded = session.scalar(select(func.count()).select_from(User).where(User.role == "officer"))
    if seeded >= OFFICERS:
        return None
    if seeded:
        sys.exit(f"{URL} holds {seeded} officers, not {OFFICERS}: remove it or set BENCH_DATABASE_URL")
    started = time.perf_counter()
    print(f"... seeding {OFFICERS} officers into {make_url(URL).render_as_string()}", flush=True)
    with unit_of_work(app) as session:
        sync_courses(session, ROOT / "courses", ROOT / "quizzes")
        seed_demo(session, date.today(), officers=OFFICERS, seed=1)
    return time.perf_counter() - started


def sign_in(client, email: str) -> None:
    client.post("/logout")
    response = client.post("/login", data={"email": email, "password": DEMO_PASSWORD})
    assert response.status_code == 302, (email, response.status_code)


def samples_ms(client, path: str, runs: int, headers: dict | None = None) -> list[float]:
    """Milliseconds of each of `runs` requests for `path` (body read), after a warm-up."""
    client.get(path, headers=headers).get_data()  # warm-up
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(path, headers=headers)
        response.get_data()
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (path, response.status_code)
    return samples


def time_get(client, path: str) -> float:
    return statistics.median(samples_ms(client, path, RUNS))


def bench_dashboard(app, engine) -> dict:
    client = app.test_client()
    with unit_of_work(app) as session:
        emails = list(session.scalars(select(User.email).where(User.role == "officer").order_by(User.id)))
    sample = random.Random(7).sample(emails, min(100, len(emails)))
    medians = []
    for email in sample:
        sign_in(client, email)
        medians.append(time_get(client, "/"))
    with statements(engine) as counted:
        client.get("/")
    return {"dashboard_p50_ms": round(percentile(medians, 50), 2),
            "dashboard_p95_ms": round(percentile(medians, 95), 2),
            "dashboard_statements": counted["n"], "dashboard_officers_sampled": len(sample)}


def unit_of_about(session, size: int) -> tuple[Unit, int]:
    counts = []
    for unit in session.scalars(select(Unit)):
        n = session.scalar(select(func.count()).select_from(User).where(
            User.unit_id.in_(select(Unit.id).where(Unit.path.startswith(unit.path)))))
        counts.append((abs(n - size), n, unit.id))
    _, n, unit_id = min(counts)
    return session.get(Unit, unit_id), n


def bench_unit_view(app, engine) -> dict:
    client = app.test_client()
    with unit_of_work(app) as session:
        unit, size = unit_of_about(session, 500)
        code, agency = unit.code, session.get(Agency, unit.agency_id).code.lower()
    sign_in(client, f"coordinator-{agency}@demo.test")
    times = []
    for _ in range(4):
        times.append(time_get(client, f"/units/{code}"))
    samples = samples_ms(client, f"/units/{code}", 20)
    with statements(engine) as counted:
        client.get(f"/units/{code}")
    return {"unit_view_unit": code, "unit_view_officers": size,
            "unit_view_p50_ms": round(percentile(samples, 50), 2),
            "unit_view_p95_ms": round(percentile(samples, 95), 2),
            "unit_view_statements": counted["n"]}


def bench_compliance(app, engine) -> dict:
    """The compliance dashboard and its CSV for the largest agency's compliance user, after the tally job counted
    every agency's day (its first run timed, and a run with nothing to do); its coordinator's home and the
    administrator's dashboard of every agency; the dashboard with units marked since the job ran; and the daily
    count of the monthly trend behind it (rolled back, so every run counts the months anew)."""
    client = app.test_client()
    with unit_of_work(app) as session:
        code, officers = session.execute(
            select(Agency.code, func.count(User.id)).join(User, User.agency_id == Agency.id)
            .where(User.role == "officer").group_by(Agency.code).order_by(func.count(User.id).desc()).limit(1)).one()
    count_compliance(app, date.today())   # the month ends not counted yet, as the daily job would have
    # The tallies, as the tally job keeps them: every agency's day and the next counted (the first run), then a
    # run with nothing marked (every later run when nothing was written since).
    started = time.perf_counter()
    first = count_tallies(app, via="bench")
    tallies_s = time.perf_counter() - started
    started = time.perf_counter()
    count_tallies(app, via="bench")
    tallies_again_s = time.perf_counter() - started
    sign_in(client, f"compliance-{code.lower()}@demo.test")
    load_before = os.getloadavg()[0]
    figures = {}
    for name, path in (("compliance_dashboard", "/reports/compliance"), ("compliance_csv", "/reports/compliance.csv")):
        samples = samples_ms(client, path, COMPLIANCE_RUNS)
        with statements(engine) as counted:
            client.get(path).get_data()
        figures.update({f"{name}_p50_ms": round(percentile(samples, 50), 1),
                        f"{name}_p95_ms": round(percentile(samples, 95), 1), f"{name}_statements": counted["n"]})
    # The same live figures elsewhere: the agency coordinator's home, and the dashboard of every agency.
    for name, email, path, runs in (("coordinator_home", f"coordinator-{code.lower()}@demo.test", "/", 10),
                                    ("all_agencies_dashboard", "admin@demo.test", "/reports/compliance", 5)):
        sign_in(client, email)
        samples = samples_ms(client, path, runs)
        figures.update({f"{name}_p50_ms": round(percentile(samples, 50), 1),
                        f"{name}_max_ms": round(max(samples), 1)})
    figures.update(marked_units(app, client, code))
    with rolled_back(app, engine):
        with unit_of_work(app) as session:
            session.execute(delete(ComplianceSnapshot).where(ComplianceSnapshot.kind == "month"))
        started = time.perf_counter()
        count_compliance(app, date.today())
        counted_s = time.perf_counter() - started
    return {"compliance_dashboard_agency": code, "compliance_dashboard_officers": officers,
            "tallies_first_count_s": round(tallies_s, 1), "tallies_days_counted": first["agency days counted"],
            "tallies_next_run_s": round(tallies_again_s, 2), **figures,
            "compliance_load_before": round(load_before, 2), "compliance_load_after": round(os.getloadavg()[0], 2),
            "compliance_trend_count_s": round(counted_s, 2)}


MARKED_UNITS = 30


def marked_units(app, client, code: str) -> dict:
    """The agency's dashboard when writes have touched MARKED_UNITS of its units since the tally job last ran
    (their cells counted from the records at each request), then the job's run that counts them again."""
    with unit_of_work(app) as session:
        agency = session.scalar(select(Agency).where(Agency.code == code))
        units = list(session.scalars(select(Unit.id).where(Unit.agency_id == agency.id)
                                     .order_by(Unit.id).limit(MARKED_UNITS)))
        session.execute(insert(TallyMark), [{"agency_key": agency.id, "unit_key": u} for u in units])
    sign_in(client, f"compliance-{code.lower()}@demo.test")
    samples = samples_ms(client, "/reports/compliance", COMPLIANCE_RUNS)
    started = time.perf_counter()
    count_tallies(app, via="bench")
    return {"compliance_marked_units": len(units),
            "compliance_dashboard_marked_p50_ms": round(percentile(samples, 50), 1),
            "compliance_dashboard_marked_p95_ms": round(percentile(samples, 95), 1),
            "tallies_marked_run_s": round(time.perf_counter() - started, 2)}


def run_export(kind: str) -> tuple[int, float, int]:
    """`flask export KIND` of everyone to CSV in a process of its own: (rows, seconds, peak resident KB)."""
    out = ROOT / "instance" / f"bench-{kind}.csv"
    env = {**os.environ, "DATABASE_URL": URL}
    started = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "export", kind, "--format", "csv",
                              "--out", str(out)], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    peak_kb = 0
    while child.poll() is None:   # the child's own high-water mark of resident memory
        peak_kb = max(peak_kb, high_water_kb(child.pid))
        time.sleep(0.1)
    seconds = time.perf_counter() - started
    output = child.stdout.read()
    if child.returncode:
        sys.exit(f"export failed: {output}")
    return int(output.split("Wrote ")[1].split(" ")[0]), seconds, peak_kb


def bench_export(app, engine) -> dict:
    rows, seconds, peak_kb = run_export("roster")
    first_byte_s, first_row_s = first_bytes(app)
    baseline_s = baseline_dump(app, engine)
    return {"export_rows": rows, "export_s": round(seconds, 2), "export_rows_per_s": round(rows / seconds),
            "export_baseline_rows_per_s": round(rows / baseline_s) if baseline_s else None,
            "export_baseline_s": round(baseline_s, 2) if baseline_s else None,
            "export_peak_mb": round(peak_kb / 1024, 1), "export_first_byte_s": round(first_byte_s, 3),
            "export_first_row_s": round(first_row_s, 3)}


def first_bytes(app) -> tuple[float, float]:
    """Seconds from the request for /reports/roster.csv of every officer (as administrator, through the site) to
    its first chunk (the header), and to the first chunk holding rows; the download is then dropped, and its
    audit event says so."""
    client = app.test_client()
    sign_in(client, "admin@demo.test")
    started = time.perf_counter()
    response = client.get("/reports/roster.csv", buffered=False)
    try:
        chunks = iter(response.response)
        next(chunks)
        first_byte_s = time.perf_counter() - started
        next(chunks)
        return first_byte_s, time.perf_counter() - started
    finally:
        response.close()


def bench_acknowledgements(app, engine) -> dict:
    """The acknowledgements export of everyone, and a policy change published to the module the most officers
    hold: one update assignment per certified officer, in one statement (rolled back afterwards)."""
    rows, seconds, peak_kb = run_export("acknowledgements")
    connection = engine.connect()
    outer = connection.begin()
    try:
        session = Session(bind=connection)
        course_id = session.scalar(select(Completion.course_id).group_by(Completion.course_id)
                                   .order_by(func.count().desc()).limit(1))
        course = session.get(Course, course_id)
        version = course.versions[-1]
        started = time.perf_counter()
        assigned = publish_update(session, course, version, date.today())
        session.flush()
        publish_s = time.perf_counter() - started
    finally:
        outer.rollback()
        connection.close()
    return {"acknowledgements_export_rows": rows, "acknowledgements_export_s": round(seconds, 2),
            "acknowledgements_export_rows_per_s": round(rows / seconds),
            "acknowledgements_export_peak_mb": round(peak_kb / 1024, 1),
            "policy_update_assignments": assigned, "policy_update_s": round(publish_s, 2)}


def bench_api(app, engine) -> dict:
    """The API's officers list, as an HR system walks it: every page of the largest agency's officers with the
    cursor, at the largest page the API gives, through a token of the whole agency (revoked afterwards)."""
    now = utcnow()
    with unit_of_work(app) as session:
        agency_id = session.scalar(select(User.agency_id).where(User.role == "officer").group_by(User.agency_id)
                                   .order_by(func.count().desc()).limit(1))
        agency = session.get(Agency, agency_id)
        token, raw = create_token(session, "bench", agency, None, can_write=False, expires_on=None,
                                  actor_id=None, now=now, via="bench")
        token_id = token.id
    try:
        figures = walk_officers(app, engine, {"Authorization": f"Bearer {raw}"}, PAGE_MAX)
    finally:
        with unit_of_work(app) as session:
            revoke_token(session, session.get(ApiToken, token_id), actor_id=None, now=utcnow(), via="bench")
    return figures


def walk_officers(app, engine, headers: dict, limit: int) -> dict:
    client = app.test_client()
    path = f"/api/v1/officers?limit={limit}"
    client.get(path, headers=headers).get_data()   # warm-up
    samples, officers, cursor = [], 0, None
    walk_started = time.perf_counter()
    while True:
        url = path + (f"&cursor={cursor}" if cursor else "")
        started = time.perf_counter()
        response = client.get(url, headers=headers)
        body = response.get_json()
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code, body)
        officers += len(body["officers"])
        cursor = body["next_cursor"]
        if not cursor:
            break
    walk_s = time.perf_counter() - walk_started
    with statements(engine) as counted:
        client.get(path, headers=headers).get_data()
    filtered = samples_ms(client, f"{path}&status=overdue", RUNS, headers)
    return {"api_officers_pages": len(samples), "api_officers_per_page": limit, "api_officers_listed": officers,
            "api_officers_p50_ms": round(percentile(samples, 50), 2),
            "api_officers_p95_ms": round(percentile(samples, 95), 2),
            "api_officers_walk_s": round(walk_s, 1), "api_officers_statements": counted["n"],
            "api_overdue_page_ms": round(statistics.median(filtered), 2)}


def high_water_kb(pid: int) -> int:
    return memory_kb(pid, "VmHWM")


def memory_kb(pid: int, kind: str) -> int:
    """A process's resident memory now (VmRSS) or at its highest (VmHWM), in kB; 0 once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{kind}:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def baseline_dump(app, engine) -> float | None:
    """The database's own CSV dump of the same query: sqlite3's .mode csv, or PostgreSQL's COPY."""
    query = course_states_sql(engine)
    target = ROOT / "instance" / "bench-baseline.csv"
    started = time.perf_counter()
    if engine.dialect.name == "sqlite":
        db_file = URL.split("sqlite:///", 1)[1]
        subprocess.run(["sqlite3", db_file], input=f".mode csv\n.headers on\n.output {target}\n{query};\n",
                       text=True, check=True)
    else:
        raw = engine.raw_connection()
        try:
            with raw.cursor() as cursor, open(target, "wb") as handle, \
                    cursor.copy(f"COPY ({query}) TO STDOUT WITH CSV HEADER") as copy:
                for block in copy:
                    handle.write(block)
        finally:
            raw.close()
    return time.perf_counter() - started


def course_states_sql(engine) -> str:
    """The roster query with its parameters inlined, as the export runs it."""
    return str(course_states_query(date.today()).compile(dialect=engine.dialect,
                                                         compile_kwargs={"literal_binds": True}))


def bench_sweep(app, engine) -> dict:
    """The daily sweep (renewals, standing rules, reminders, escalations) and the delivery of what it queued.

    The first sweep catches up five years of history at once: the worst case for
    the sweep. The next day's sweep queues what a normal day brings, and that is
    delivered in full. Then the sweep a week after the catch-up, which reads every
    open assignment again (READ_ALL_EVERY). Everything runs inside one outer
    transaction that is rolled back, so the kept database stays as seeded. Mail
    goes to an SMTP server on loopback, in a process of its own, that accepts and
    discards.
    """
    today, tomorrow = date.today(), date.today() + timedelta(days=1)
    with rolled_back(app, engine), mail_sink(app):
        started = time.perf_counter()
        caught_up = run_daily(app, today)
        sweep_s = time.perf_counter() - started
        # As if the catch-up had been delivered.
        with unit_of_work(app) as session:
            session.execute(update(OutboxMessage).where(OutboxMessage.status == "pending").values(status="sent"))
        started = time.perf_counter()
        next_day = run_daily(app, tomorrow)
        next_sweep_s = time.perf_counter() - started
        started = time.perf_counter()
        report = deliver(app, on=tomorrow, force=True)
        delivery_s = time.perf_counter() - started
        started = time.perf_counter()
        read_all = run_daily(app, today + READ_ALL_EVERY)
        read_all_s = time.perf_counter() - started
    return {"sweep_s": round(sweep_s, 2), "sweep_queued_messages": messages(caught_up),
            "sweep_created_assignments": sum(n for kind, n in caught_up.items() if kind.startswith("assignments")),
            "next_day_sweep_s": round(next_sweep_s, 2), "next_day_messages": messages(next_day),
            "read_all_sweep_s": round(read_all_s, 2), "read_all_messages": messages(read_all),
            "delivery_s": round(delivery_s, 2), "delivery_sent": report.counts["sent"],
            "delivery_per_s": round(report.counts["sent"] / delivery_s) if delivery_s else None,
            **sweep_statements()}


DELIVERY_MESSAGES = int(os.environ.get("BENCH_DELIVERY_MESSAGES", "20000"))


def cpu_s(pid: int) -> float:
    """CPU seconds (user and system) a process has used so far, all its threads (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bench_delivery(app, engine) -> dict:
    """One delivery of DELIVERY_MESSAGES due-date reminders (each with its calendar entry), one per officer.

    The reminders are queued inside an outer transaction that is rolled back, as
    the sweep's step does, with whatever else was pending set aside, and sent to
    aiosmtpd's discarding server on loopback in a process of its own. Beside the
    rate: the CPU each message cost this process (all its threads), the mail
    server and the database's backend.
    """
    today = date.today()
    with rolled_back(app, engine) as connection, mail_sink(app) as server:
        backend = connection.scalar(text("SELECT pg_backend_pid()")) if engine.dialect.name == "postgresql" else None
        with unit_of_work(app) as session:
            session.execute(update(OutboxMessage).where(OutboxMessage.status == "pending").values(status="sent"))
            chosen: dict[int, tuple[int, date]] = {}
            # As a day's reminders are: a few due dates, each shared by many officers (the nearest ones).
            for user_id, course_id, due_on in session.execute(
                    select(Assignment.user_id, Assignment.course_id, Assignment.due_on)
                    .join(User, User.id == Assignment.user_id)
                    .where(Assignment.closed_at.is_(None), Assignment.due_on > today, User.active.is_(True))
                    .order_by(Assignment.due_on, Assignment.user_id)).yield_per(10_000):
                chosen.setdefault(user_id, (course_id, due_on))
                if len(chosen) >= DELIVERY_MESSAGES:
                    break
            session.execute(insert(OutboxMessage), [
                {"key": f"bench:{user_id}:{course_id}:{due_on}", "kind": "due-in-7", "user_id": user_id,
                 "course_id": course_id, "due_on": due_on, "decided_on": today, "status": "pending",
                 "attempts": 0, "created_at": utcnow()} for user_id, (course_id, due_on) in chosen.items()])
        cpu = {"client": cpu_s(os.getpid()), "server": cpu_s(server.pid),
               "database": cpu_s(backend) if backend else 0.0}
        started = time.perf_counter()
        report = deliver(app, on=today, force=True)
        delivery_s = time.perf_counter() - started
        cpu = {"client": cpu_s(os.getpid()) - cpu["client"], "server": cpu_s(server.pid) - cpu["server"],
               "database": cpu_s(backend) - cpu["database"] if backend else 0.0}
    sent = report.counts["sent"]
    # SQLite has no server process of its own: its work is in the client's figure.
    per_message = {f"delivery_{who}_cpu_ms_per_message": round(1000 * s / sent, 2) if sent and (backend or
                   who != "database") else None for who, s in cpu.items()}
    return {"delivery_queued": len(chosen), "delivery_sent": sent, "delivery_s": round(delivery_s, 2),
            "delivery_per_s": round(sent / delivery_s) if delivery_s else None,
            "delivery_connections": int(app.config.get("MAIL_CONNECTIONS") or 1), **per_message}


def messages(queued) -> int:
    return sum(n for kind, n in queued.items() if not kind.startswith(("assignments", "escalated")))


def wait_for_port(port: int, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    sys.exit(f"the loopback SMTP server did not start on port {port}")


def sweep_statements() -> dict:
    """Statements the sweep issues over 10 and 1,000 officers: it must not grow with the population."""
    figures = {}
    for n in (10, 1000):
        path = ROOT / "instance" / f"bench-sweep-{n}.db"
        path.unlink(missing_ok=True)
        app = create_app(config.Config, DATABASE_URL=f"sqlite:///{path}")
        migrate.upgrade(app)
        engine = app.extensions["db_engine"]
        with unit_of_work(app) as session:
            sync_courses(session, ROOT / "courses", ROOT / "quizzes")
            seed_scale(session, date.today(), n, "x", seed=3)
        with unit_of_work(app) as session, statements(engine) as counted:
            daily_sweep(session, date.today(), Schedule())
        figures[f"sweep_statements_{n}"] = counted["n"]
        engine.dispose()
        path.unlink(missing_ok=True)
    return figures


def reset_high_water(pid: int) -> None:
    """Start a process's VmHWM again from its resident memory now (Linux: clear_refs 5)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


HOSTILE_BYTES = 30 * 1024 * 1024
ROSTER_HEADER = "employee_id,first_name,last_name,email,agency,unit,supervisor_employee_id\n"
# Files of about 30 MB, under the site's 32 MB limit, in which every line fails: (import, header, line n).
HOSTILE = {
    "bad_agency": ("roster", ROSTER_HEADER, lambda n: f"E{n},x,y,x{n}@y.test,NOPE,NOPE,\n"),
    "short_lines": ("roster", ROSTER_HEADER, lambda n: "x\n"),
    "empty_fields": ("roster", ROSTER_HEADER, lambda n: f"E{n},,,,,,\n"),
    "one_line": ("roster", ROSTER_HEADER, lambda n: "x," * 4096),
    "non_ascii_line": ("roster", ROSTER_HEADER, lambda n: "\U0001F600," * 4096),
    "completions": ("completions", "employee_id,course_code,completed_on,score\n",
                    lambda n: f"E{n},NOPE,2024-13-01,x\n"),
    "org": ("org", "agency_code,agency_name,time_zone,unit_code,unit_name,parent_unit_code\n",
            lambda n: f"A{n},Agency,Mars/Base,U{n},Unit,U{n}\n"),
}


def hostile_file(name: str) -> tuple[str, Path]:
    """Write the named hostile file (once) and return its import and path."""
    kind, header, line = HOSTILE[name]
    path = ROOT / "instance" / f"bench-hostile-{name}.csv"
    if not path.exists() or path.stat().st_size > HOSTILE_BYTES:
        with path.open("w", encoding="utf-8", newline="") as out:
            out.write(header)
            size, n = len(header), 0
            while (size := size + len(piece := line(n).encode())) <= HOSTILE_BYTES:
                out.write(piece.decode())
                n += 1
    return kind, path


def upload(site: Site, kind: str, path: Path) -> tuple[int, str, float]:
    """Post a file to the import's upload form, as a browser does: status, page, seconds."""
    token = csrf_token(site.get("upload_form", f"/imports/{kind}").body)
    boundary = "rollcall-bench-boundary"
    body = (f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{token}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{path.name}"\r\n'
            f"Content-Type: text/csv\r\n\r\n").encode() + path.read_bytes() + f"\r\n--{boundary}--\r\n".encode()
    answer = site.request("upload", "POST", f"/imports/{kind}", body=body, expect=(200, 422),
                          headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    return answer.status, answer.body, answer.seconds


def bench_hostile_upload(_app, _engine) -> dict:
    """Peak memory of the site for uploads of about 30 MB whose every line is bad.

    Each file goes to a fresh gunicorn worker (development settings, one sync
    worker, the bench database) signed in as the demo administrator: after a
    small upload of the same kind as a warm-up, the worker's high-water mark is
    reset (the sign-in's password hash alone takes tens of MB for a moment) and
    its resident memory is the idle figure; its high-water mark after the big
    upload, less that, is the upload's. The figure is the largest of the files;
    each is printed too.
    """
    figures: dict = {"hostile_upload_load_before": round(os.getloadavg()[0], 2)}
    worst = 0.0
    for name in HOSTILE:
        kind, path = hostile_file(name)
        small = path.with_suffix(".small.csv")
        small.write_bytes(b"".join(path.read_bytes()[:4096].splitlines(keepends=True)[:20]))
        port = free_port()
        log = ROOT / "instance" / "bench-hostile-gunicorn.log"
        process = subprocess.Popen(
            [str(GUNICORN), "--workers", "1", "--worker-class", "sync", "--timeout", "900",
             "--bind", f"127.0.0.1:{port}", "--no-control-socket", "app:app"],
            cwd=ROOT, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True,
            env={**os.environ, "DATABASE_URL": URL, "SECRET_KEY": "bench", "ROLLCALL_ENV": "development"})
        try:
            server = Gunicorn(f"http://127.0.0.1:{port}", process, log)
            wait_until_serving(server.base_url, process, log)
            (worker,) = server.workers()
            site = Site(server.base_url, timeout=900)
            page = site.get("login_form", "/login").body
            site.post("sign_in", "/login", {"email": "admin@demo.test", "password": DEMO_PASSWORD,
                                            "csrf_token": csrf_token(page)}, expect=(302,))
            upload(site, kind, small)
            reset_high_water(worker)
            idle_kb = memory_kb(worker, "VmRSS")
            status, page, seconds = upload(site, kind, path)
            peak_kb = memory_kb(worker, "VmHWM")
        finally:
            stop(process)
        said = page.split('usa-alert__heading">', 1)[-1].split("<", 1)[0].strip() if status == 422 else page[:200]
        above = round(max(peak_kb - idle_kb, 0) / 1024, 1)
        worst = max(worst, above)
        figures[f"hostile_upload_{name}"] = f"{above} MB, {seconds:.1f} s"
        print(f"    {name}: {path.stat().st_size / 1024 / 1024:.1f} MB {kind} file, HTTP {status} in {seconds:.1f} s, "
              f"idle {idle_kb / 1024:.0f} MB, peak {peak_kb / 1024:.0f} MB: {said}", flush=True)
    figures["hostile_upload_peak_mb"] = worst
    figures["hostile_upload_load_after"] = round(os.getloadavg()[0], 2)
    return figures


def seed_answers(app) -> int:
    """A year of module quizzes, once: about one attempt per officer and module (a fifth of them retaken), each of
    ten questions drawn from the module's bank and answered by an officer of a steady ability, so strong officers
    score high; written in batches with explicit ids. Returns the answers written (0 when already there)."""
    with unit_of_work(app) as session:
        if session.scalar(select(func.count()).select_from(Attempt).where(Attempt.kind == "module")) > 0:
            return 0
        officers = list(session.scalars(select(User.id).where(User.role == "officer").order_by(User.id)))
        banks = [(course_id, version_id, [(q.id, q.answer_index, len(q.choices)) for q in
                                          session.scalars(select(Question).where(Question.version_id == version_id)
                                                          .order_by(Question.id))])
                 for course_id, version_id in session.execute(
                     select(Course.id, CourseVersion.id).join(CourseVersion, (CourseVersion.course_id == Course.id)
                                                              & (CourseVersion.number == Course.current_version))
                     .where(Course.kind == "course"))]
        next_id = (session.scalar(select(func.max(Attempt.id))) or 0) + 1
    rng = random.Random(19)
    now = datetime.now(UTC).replace(tzinfo=None)
    written = 0
    attempts: list[dict] = []
    answers: list[dict] = []

    def flush() -> None:
        with unit_of_work(app) as session:
            session.execute(insert(Attempt), attempts)
            session.execute(insert(AttemptAnswer), answers)
        attempts.clear()
        answers.clear()

    for user_id in officers:
        ability = rng.betavariate(5, 2)
        for course_id, version_id, bank in banks:
            for _ in range(1 + (rng.random() < 0.2)):
                drawn = rng.sample(bank, min(10, len(bank)))
                given = {q: a if rng.random() < ability else (a + rng.randint(1, n - 1)) % n for q, a, n in drawn}
                right = sum(given[q] == a for q, a, _ in drawn)
                score = round(100 * right / len(drawn))
                at = now - timedelta(minutes=rng.randint(10, 365 * 24 * 60))
                attempts.append({"id": next_id, "user_id": user_id, "course_id": course_id, "version_id": version_id,
                                 "items": [{"question_id": q, "order": list(range(n))} for q, _, n in drawn],
                                 "answers": {str(q): c for q, c in given.items()}, "started_at": at,
                                 "submitted_at": at, "score": score, "passed": score >= 80, "kind": "module"})
                answers.extend({"attempt_id": next_id, "question_id": q, "choice": given[q], "correct": given[q] == a}
                               for q, a, _ in drawn)
                written += len(drawn)
                next_id += 1
        if len(answers) >= 50_000:
            flush()
    if attempts:
        flush()
    with unit_of_work(app) as session:
        advance_sequences(session)
    if app.extensions["db_engine"].dialect.name == "postgresql":
        with app.extensions["db_engine"].connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE attempts"))
            connection.execute(text("VACUUM ANALYZE attempt_answers"))
    return written


def bench_questions(app, engine) -> dict:
    """Question analytics over a year of module quizzes: the page (its first module, then all modules) and the CSV
    of all modules for the largest agency's compliance user; the administrator's page over every agency."""
    started = time.perf_counter()
    written = seed_answers(app)
    seeded_s = time.perf_counter() - started
    client = app.test_client()
    with unit_of_work(app) as session:
        code = session.execute(
            select(Agency.code).join(User, User.agency_id == Agency.id).where(User.role == "officer")
            .group_by(Agency.code).order_by(func.count(User.id).desc()).limit(1)).scalar_one()
        answers = session.scalar(select(func.count()).select_from(AttemptAnswer))
    figures = {"questions_answers": answers, "questions_seed_s": round(seeded_s, 1) if written else None}
    compliance = f"compliance-{code.lower()}@demo.test"
    for name, email, path in (("questions_page", compliance, "/reports/questions"),
                              ("questions_all_modules", compliance, "/reports/questions?course="),
                              ("questions_csv", compliance, "/reports/questions.csv"),
                              ("questions_all_agencies", "admin@demo.test", "/reports/questions"),
                              ("questions_all_agencies_all_modules", "admin@demo.test", "/reports/questions?course=")):
        sign_in(client, email)
        samples = samples_ms(client, path, RUNS)
        with statements(engine) as counted:
            client.get(path).get_data()
        figures.update({f"{name}_p50_ms": round(percentile(samples, 50), 1),
                        f"{name}_p95_ms": round(percentile(samples, 95), 1), f"{name}_statements": counted["n"]})
    return figures


STEPS = (bench_dashboard, bench_unit_view, bench_compliance, bench_export, bench_acknowledgements, bench_api,
         bench_sweep, bench_delivery, bench_hostile_upload, bench_questions)


def main(names: list[str]) -> None:
    chosen = [step for step in STEPS if not names or step.__name__.removeprefix("bench_") in names]
    if not chosen:
        sys.exit(f"no such step: {', '.join(names)} (steps: "
                 f"{', '.join(step.__name__.removeprefix('bench_') for step in STEPS)})")
    ensure_database()
    logging.basicConfig(format="    %(message)s")
    logging.getLogger("training.demo").setLevel(logging.INFO)   # the phases of a COPY load
    # The API step walks every page of an agency within a minute: no rate limit.
    app = create_app(config.Config, DATABASE_URL=URL, SECRET_KEY="bench", WTF_CSRF_ENABLED=False,
                     API_RATE_LIMIT=10**9)
    engine = app.extensions["db_engine"]
    (ROOT / "instance").mkdir(exist_ok=True)
    seed_load = load_average()
    seed_s = ensure_seeded(app)
    with unit_of_work(app) as session:
        officers = session.scalar(select(func.count()).select_from(User).where(User.role == "officer"))
    if engine.dialect.name == "postgresql":
        # As autovacuum leaves a database after a bulk load: statistics, and the visibility map index-only scans use.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE"))
    gc.freeze()   # as app.py does once the app is loaded
    database = f"{engine.dialect.name} {make_url(URL).database or ''}".strip()
    results = {"officers": officers, "database": engine.dialect.name, "client": "Flask test client (in-process WSGI)",
               "seed_s": round(seed_s, 1) if seed_s else None}
    steps = {}
    if seed_s:
        steps["seed"] = {"database": database, "officers": officers, "load_start": seed_load,
                         "load_end": load_average(), "figures": {"seed_s": round(seed_s, 1)}}
    for step in chosen:
        print(f"... {step.__name__}", flush=True)
        name, load_start = step.__name__.removeprefix("bench_"), load_average()
        figures = step(app, engine)
        steps[name] = {"database": database, "officers": officers, "load_start": load_start,
                       "load_end": load_average(), "figures": figures}
        print(f"    load average {load_start} at the start, {steps[name]['load_end']} at the end", flush=True)
        results.update(figures)
    results["steps"] = steps
    target = os.environ.get("BENCH_RESULTS") or (None if names else ROOT / "bench-results.json")
    if target:
        Path(target).write_text(json.dumps(results, indent=2) + "\n")
    goals = {"dashboard_p95_ms": "<= 20", "unit_view_p95_ms": "<= 150", "compliance_dashboard_p95_ms": "<= 300",
             "export_peak_mb": "<= 150", "acknowledgements_export_peak_mb": "<= 150",
             "sweep_s": "<= 10", "sweep_statements_1000": "= sweep_statements_10",
             "hostile_upload_peak_mb": "<= 100", "questions_page_p95_ms": "<= 1000"}
    if officers >= 1_000_000:   # a national deployment's goals (issue 20)
        goals.update({"dashboard_p95_ms": "<= 10", "unit_view_p95_ms": "<= 50 (500 officers)", "sweep_s": "<= 60",
                      "next_day_sweep_s": "<= 10", "delivery_per_s": ">= 1000"})
    print(f"\n{'measure':34} {'value':>14}  goal")
    for key, value in results.items():
        if key != "steps":
            print(f"{key:34} {str(value):>14}  {goals.get(key, '')}")
    if results.get("export_baseline_rows_per_s"):
        print(f"\nexport speed vs the database's own CSV dump: "
              f"{results['export_rows_per_s'] / results['export_baseline_rows_per_s']:.2f} (goal >= 0.5)")


if __name__ == "__main__":
    main(sys.argv[1:])
