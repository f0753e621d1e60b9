"""`make load`: officers at the site at once, over HTTP, against gunicorn and PostgreSQL.

Prepares the database (the schema of LOAD_DATABASE_URL is dropped and made
again: migrations, courses sync, a demo organisation of LOAD_OFFICERS officers
with the demo password and their assignments), starts the site under gunicorn
in production settings and the scheduler beside it (its mail goes to a loopback
SMTP server here), then lets every officer sign in and, until LOAD_DURATION
runs out, read the dashboard, open a module and its lessons, start a quiz,
answer it, submit it, read the result and acknowledge a pass.

It prints requests, requests per second, p50/p95/p99 latency per kind of
request and overall, and the errors; then checks in the database that every
quiz submission, acknowledgement and sign-in the officers were told succeeded
is recorded exactly once, and nothing else. Exits non-zero on any error or
mismatch. Figures are written to load-results.json.

Settings (environment): LOAD_DATABASE_URL, LOAD_OFFICERS (200), LOAD_DURATION
(seconds, 180), LOAD_RAMP (seconds over which the officers arrive, 60),
LOAD_THINK (mean seconds an officer pauses between two requests, 5; 0 for none:
then each officer clicks as fast as the site answers, which finds the site's ceiling),
LOAD_WORKERS (gunicorn workers, 4), LOAD_THREADS (threads per worker, 4).
"""
from __future__ import annotations

import json
import os
import random
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.fernet import Fernet
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from bench.officer import Officer, Site
from tests.support.net import free_port
from training.demo.service import DEMO_PASSWORD

ROOT = Path(__file__).resolve().parent.parent

BIN = Path(sys.executable).parent
URL = os.environ.get("LOAD_DATABASE_URL") or "postgresql+psycopg://postgres@127.0.0.1:5432/rc_load"
OFFICERS = int(os.environ.get("LOAD_OFFICERS", "200"))
DURATION = float(os.environ.get("LOAD_DURATION", "180"))
RAMP = float(os.environ.get("LOAD_RAMP", "60"))
THINK = float(os.environ.get("LOAD_THINK", "5"))
WORKERS = int(os.environ.get("LOAD_WORKERS", "4"))
THREADS = int(os.environ.get("LOAD_THREADS", "4"))
KEEP_ALIVE = 5
LOGS = ROOT / "instance" / "load"


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] if ordered else 0.0


# --- the database -------------------------------------------------------------------------------

def prepare_database(env: dict[str, str]) -> None:
    url = make_url(URL)
    if url.get_backend_name() != "postgresql":
        sys.exit(f"LOAD_DATABASE_URL must be a PostgreSQL database, not {url.get_backend_name()}")
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": url.database}):
            conn.execute(text(f'CREATE DATABASE "{url.database}"'))
    admin.dispose()
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    for args in (["db", "upgrade"], ["courses", "sync"], ["demo", "seed", "--officers", str(OFFICERS)]):
        done = subprocess.run([str(BIN / "flask"), "--app", "app", *args], cwd=ROOT, env=env,
                              capture_output=True, text=True)
        if done.returncode:
            sys.exit(f"flask {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
        print(f"  flask {' '.join(args)}: {done.stdout.strip().splitlines()[-1] if done.stdout.strip() else 'done'}")


def officer_emails(engine) -> list[str]:
    from training.people.models import User

    with engine.connect() as conn:
        return list(conn.scalars(select(User.email).where(User.role == "officer", User.active.is_(True))
                                 .order_by(User.id)))[:OFFICERS]


# --- what the officers were told ------------------------------------------------------------------

@dataclass
class Ledger:
    lock: threading.Lock = field(default_factory=threading.Lock)
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    # (when it was sent, seconds) of every request
    timeline: list[tuple[float, float]] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    signed_in: int = 0
    # attempt id -> the score the officer's answers should get, for each submission the site accepted
    submitted: dict[int, int] = field(default_factory=dict)
    # submissions that got no clear answer: recorded or not, the check allows either
    unsure: set[int] = field(default_factory=set)
    acknowledged: set[int] = field(default_factory=set)

    def record(self, kind: str, status: int | None, seconds: float, error: str | None) -> None:
        with self.lock:
            self.latencies[kind].append(seconds)
            self.timeline.append((time.monotonic() - seconds, seconds))
            self.statuses[status] += 1
            if error:
                self.errors.append(f"{kind}: {error}")

    def problem(self, message: str) -> None:
        with self.lock:
            self.errors.append(message)


def visit(email: str, base_url: str, answers: dict[str, set[str]], ledger: Ledger, start_at: float,
          deadline: float, seed: int) -> None:
    rng = random.Random(seed)
    # A connection idle for a second less than gunicorn's keep-alive is used again, as a browser would.
    site = Site(base_url, record=ledger.record, fresh_after=KEEP_ALIVE - 1)
    officer = Officer(site, email, DEMO_PASSWORD, answers, rng=rng)

    def pause() -> None:
        if THINK:
            time.sleep(rng.uniform(0, 2 * THINK))

    time.sleep(max(0.0, start_at - time.monotonic()))
    read: set[str] = set()
    try:
        officer.sign_in()
        with ledger.lock:
            ledger.signed_in += 1
        codes = officer.dashboard() or sorted(answers)
    except Exception as exc:  # noqa: BLE001 - the error is the finding
        if not getattr(exc, "recorded", False):
            ledger.problem(f"{email}: {type(exc).__name__}: {exc}")
        site.close()
        return
    codes = codes + [c for c in sorted(answers) if c not in codes]
    round_ = 0
    while time.monotonic() < deadline:
        code = codes[round_ % len(codes)]
        round_ += 1
        sheet = None
        try:
            pause()
            if code in read:
                site.get("course", f"/courses/{code}")
                pause()
            else:
                officer.read_lessons(code)
                read.add(code)
            pause()
            attempt_id = officer.start_quiz(code)
            pause()
            sheet = officer.answer_sheet(code, attempt_id)
            pause()
            if time.monotonic() >= deadline:
                break
            try:
                officer.submit(sheet)
            except Exception:
                with ledger.lock:
                    ledger.unsure.add(attempt_id)
                raise
            with ledger.lock:
                ledger.submitted[attempt_id] = sheet.percent
            score, page = officer.result(attempt_id)
            if score != sheet.percent:
                ledger.problem(f"{email}: attempt {attempt_id} scored {score}%, its answers make {sheet.percent}%")
            if score >= 80:
                pause()
                officer.acknowledge(attempt_id, page)
                with ledger.lock:
                    ledger.acknowledged.add(attempt_id)
            pause()
            officer.dashboard()
        except Exception as exc:  # noqa: BLE001 - any failure is a finding; the officer carries on
            if not getattr(exc, "recorded", False):
                ledger.problem(f"{email}: {type(exc).__name__}: {exc}")
            time.sleep(1)
    site.close()


# --- the processes ------------------------------------------------------------------------------

class Mailbox:
    def __init__(self):
        self.count = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.count += 1
        return "250 OK"


def start(name: str, args: list[str], env: dict[str, str]) -> tuple[subprocess.Popen, Path]:
    log = LOGS / f"{name}.log"
    process = subprocess.Popen(args, cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
                               start_new_session=True)
    return process, log


def cpu_seconds(pid: int) -> float:
    """User and system CPU time a live process has used."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def processes(match) -> list[int]:
    """Live processes whose command line `match` accepts (a list of its words)."""
    found = []
    for entry in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            words = entry.read_bytes().decode(errors="replace").replace("\0", " ").split()
        except OSError:
            continue
        if words and match(words):
            found.append(int(entry.parent.name))
    return found


def children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    return found


def wait_until_serving(base_url: str, process: subprocess.Popen, log: Path, seconds: float = 60) -> None:
    import urllib.request

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"gunicorn stopped at start:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{base_url}/login", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    sys.exit(f"gunicorn did not answer within {seconds} s:\n{log.read_text()}")


def stop(process: subprocess.Popen, sig: int = signal.SIGTERM, seconds: float = 30) -> int:
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(seconds)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode


# --- the checks ---------------------------------------------------------------------------------

def check_database(engine, ledger: Ledger, mailbox: Mailbox) -> tuple[dict, list[str]]:
    from training.audit.models import AuditEvent
    from training.auth.models import UserSession
    from training.records.models import Attempt, Completion
    from training.reminders.models import OutboxMessage

    problems = []
    with engine.connect() as conn:
        rows = conn.execute(select(Attempt.id, Attempt.submitted_at, Attempt.score, Attempt.answers,
                                   Attempt.passed)).all()
        events = Counter(conn.scalars(select(AuditEvent.target).where(AuditEvent.action == "attempt.submitted")))
        completions = Counter(conn.scalars(select(Completion.attempt_id).where(Completion.attempt_id.is_not(None))))
        sessions = conn.scalar(select(func.count()).select_from(UserSession))
        sign_in_events = conn.scalar(select(func.count()).select_from(AuditEvent)
                                     .where(AuditEvent.action == "auth.signed_in"))
        outbox = dict(conn.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all())
    submitted = {row.id: row.score for row in rows if row.submitted_at is not None}
    half = [row.id for row in rows
            if len({row.submitted_at is None, row.score is None, row.answers is None, row.passed is None}) > 1]
    if half:
        problems.append(f"attempts half written: {half[:10]}")
    told = set(ledger.submitted)
    lost = told - set(submitted)
    extra = set(submitted) - told - ledger.unsure
    if lost:
        problems.append(f"{len(lost)} submissions the officers were told succeeded are not recorded: "
                        f"{sorted(lost)[:10]}")
    if extra:
        problems.append(f"{len(extra)} attempts are recorded as submitted that no officer was told about: "
                        f"{sorted(extra)[:10]}")
    wrong = {a: (submitted[a], s) for a, s in ledger.submitted.items() if a in submitted and submitted[a] != s}
    if wrong:
        problems.append(f"{len(wrong)} attempts recorded with another score than their answers make: "
                        f"{list(wrong.items())[:10]}")
    twice = {t: n for t, n in events.items() if n != 1}
    if twice:
        problems.append(f"attempts with more than one 'attempt.submitted' event: {list(twice.items())[:10]}")
    if set(events) != {f"attempt:{a}" for a in submitted}:
        problems.append("the 'attempt.submitted' events and the submitted attempts differ")
    if set(completions) != ledger.acknowledged or any(n != 1 for n in completions.values()):
        problems.append(f"completions from quizzes ({len(completions)}) differ from the acknowledgements the "
                        f"officers were told succeeded ({len(ledger.acknowledged)})")
    if sessions != ledger.signed_in or sign_in_events != ledger.signed_in:
        problems.append(f"{ledger.signed_in} sign-ins succeeded; {sessions} server-side sessions and "
                        f"{sign_in_events} sign-in events are recorded")
    if outbox.get("sent", 0) != mailbox.count:
        problems.append(f"the outbox marks {outbox.get('sent', 0)} messages sent; "
                        f"the mail server received {mailbox.count}")
    figures = {"attempts_submitted_told": len(told), "attempts_submitted_recorded": len(submitted),
               "attempts_open": len(rows) - len(submitted), "submitted_events": sum(events.values()),
               "acknowledged_told": len(ledger.acknowledged), "completions_recorded": sum(completions.values()),
               "sign_ins": ledger.signed_in, "sessions_recorded": sessions, "outbox": outbox,
               "mail_received": mailbox.count}
    return figures, problems


def main() -> int:
    from aiosmtpd.controller import Controller

    from bench.officer import correct_answers

    LOGS.mkdir(parents=True, exist_ok=True)
    (LOGS / "access.log").unlink(missing_ok=True)
    smtp_port, web_port = free_port(), free_port()
    env = {**os.environ, "DATABASE_URL": URL, "ROLLCALL_ENV": "production", "SECRET_KEY": secrets.token_hex(32),
           "ENCRYPTION_KEYS": Fernet.generate_key().decode(),
           "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(smtp_port), "MAIL_FROM": "rollcall@load.invalid",
           "DELIVERY_INTERVAL_MINUTES": "1", "PYTHONUNBUFFERED": "1"}
    base_url = f"http://127.0.0.1:{web_port}"
    print(f"Preparing {make_url(URL).render_as_string(hide_password=True)} with {OFFICERS} officers")
    prepare_database(env)
    engine = create_engine(URL)
    emails = officer_emails(engine)
    if len(emails) < OFFICERS:
        sys.exit(f"the demo seed made {len(emails)} officers, not {OFFICERS}")

    mailbox = Mailbox()
    mail_server = Controller(mailbox, hostname="127.0.0.1", port=smtp_port)
    mail_server.start()
    gunicorn, gunicorn_log = start("gunicorn", [
        str(BIN / "gunicorn"), "--workers", str(WORKERS), "--worker-class", "gthread", "--threads", str(THREADS),
        "--bind", f"127.0.0.1:{web_port}", "--keep-alive", str(KEEP_ALIVE), "--timeout", "60",
        "--graceful-timeout", "20",
        "--preload", "--no-control-socket", "--access-logfile", str(LOGS / "access.log"),
        "--access-logformat", "%(m)s %(U)s %(s)s %(M)s", "app:app"], env)
    scheduler, scheduler_log = start("scheduler", [str(BIN / "flask"), "--app", "app", "scheduler", "run"], env)
    ledger = Ledger()
    try:
        wait_until_serving(base_url, gunicorn, gunicorn_log)
        print(f"Serving on {base_url}: gunicorn --preload, {WORKERS} gthread workers x {THREADS} threads; "
              f"scheduler pid {scheduler.pid}")
        print(f"{OFFICERS} officers arrive over {RAMP:g} s and work for {DURATION:g} s "
              f"(pauses of {THINK:g} s on average between requests)")
        answers = correct_answers(ROOT / "quizzes")
        load_before = os.getloadavg()[0]
        client_cpu = sum(os.times()[:2])
        began = time.monotonic()
        deadline = began + DURATION
        threads = [threading.Thread(target=visit, daemon=True, args=(
            email, base_url, answers, ledger, began + RAMP * n / OFFICERS, deadline, n))
            for n, email in enumerate(emails)]
        for thread in threads:
            thread.start()
        give_up = deadline + 120
        for thread in threads:
            thread.join(max(0.0, give_up - time.monotonic()))
        elapsed = time.monotonic() - began
        load_after = os.getloadavg()[0]
        # Where the CPU went (the workers and the database's connections are still alive here).
        database = make_url(URL).database
        cpu = {"site (gunicorn workers)": sum(cpu_seconds(p) for p in children(gunicorn.pid)),
               "database (PostgreSQL connections)": sum(cpu_seconds(p) for p in processes(
                   lambda words: words[0] == "postgres:" and database in words[1:4])),
               "scheduler": cpu_seconds(scheduler.pid),
               "load client (this process)": sum(os.times()[:2]) - client_cpu}
        hung = sum(t.is_alive() for t in threads)
        if hung:
            ledger.problem(f"{hung} officers were still waiting for an answer two minutes after the end")
    finally:
        gunicorn_code = stop(gunicorn)
        scheduler_code = stop(scheduler, signal.SIGINT)
        # The mail server stays up until the scheduler has stopped: a delivery under way finishes.
        mail_server.stop()
    if scheduler_code not in (0, 1, 130, -signal.SIGINT):
        ledger.problem(f"the scheduler exited with {scheduler_code}")
    if gunicorn_code != 0:
        ledger.problem(f"gunicorn exited with {gunicorn_code}")
    for log in (gunicorn_log, scheduler_log):
        body = log.read_text(errors="replace")
        for marker in ("Traceback", "WORKER TIMEOUT", "[ERROR]", "[CRITICAL]"):
            if body.count(marker):
                ledger.problem(f"{log.name}: {body.count(marker)} x {marker!r} (see {log})")

    figures, problems = check_database(engine, ledger, mailbox)
    engine.dispose()
    for problem in problems:
        ledger.problem(problem)

    # The time each request spent in the application, as gunicorn measured it (the rest is waiting for a turn).
    served = [int(line.split()[3]) / 1000 for line in (LOGS / "access.log").read_text().splitlines()
              if len(line.split()) == 4]
    everything = [s for values in ledger.latencies.values() for s in values]
    total = len(everything)
    kinds = {kind: {"requests": len(values), "p50_ms": percentile(values, 50) * 1000,
                    "p95_ms": percentile(values, 95) * 1000, "p99_ms": percentile(values, 99) * 1000}
             for kind, values in sorted(ledger.latencies.items())}
    kinds["overall"] = {"requests": total, "p50_ms": percentile(everything, 50) * 1000,
                        "p95_ms": percentile(everything, 95) * 1000, "p99_ms": percentile(everything, 99) * 1000}
    steady = [seconds for sent, seconds in ledger.timeline if sent >= began + RAMP]
    kinds["after_ramp"] = {"requests": len(steady), "p50_ms": percentile(steady, 50) * 1000,
                           "p95_ms": percentile(steady, 95) * 1000, "p99_ms": percentile(steady, 99) * 1000}
    kinds["in_app"] = {"requests": len(served), "p50_ms": percentile(served, 50) * 1000,
                       "p95_ms": percentile(served, 95) * 1000, "p99_ms": percentile(served, 99) * 1000}
    results = {"officers": OFFICERS, "duration_s": round(elapsed, 1), "ramp_s": RAMP, "think_s": THINK,
               "workers": WORKERS, "threads": THREADS, "cpus": os.cpu_count(),
               "load_average_before": load_before, "load_average_after": load_after,
               "cpu_seconds": {k: round(v, 1) for k, v in cpu.items()}, "requests": total,
               "requests_per_s": round(total / elapsed, 1), "latency": kinds,
               "statuses": {str(k): v for k, v in ledger.statuses.items()}, "errors": len(ledger.errors),
               "error_samples": ledger.errors[:20], "database": figures}
    print()
    print(f"{os.cpu_count()} CPUs; load average {load_before:.1f} before the run (other processes on the machine), "
          f"{load_after:.1f} at its end")
    print(f"CPU seconds used in the {elapsed:.0f} s (the machine had {os.cpu_count() * elapsed:.0f}): "
          + ", ".join(f"{k} {v:.1f}" for k, v in cpu.items()))
    print(f"{total} requests in {elapsed:.1f} s: {total / elapsed:.1f} requests/s; "
          f"statuses {dict(sorted((str(k), v) for k, v in ledger.statuses.items()))}")
    print(f"{'request':<12} {'count':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
    for kind, row in kinds.items():
        if kind == "after_ramp":
            print("every request sent once all the officers had arrived:")
        if kind == "in_app":
            print("in the application (gunicorn's own timing, from the request read to the response written):")
        print(f"{kind:<12} {row['requests']:>7} {row['p50_ms']:>8.1f} {row['p95_ms']:>8.1f} {row['p99_ms']:>8.1f}")
    print()
    print(f"quiz submissions: {figures['attempts_submitted_told']} accepted by the site, "
          f"{figures['attempts_submitted_recorded']} recorded, {figures['submitted_events']} audit events "
          f"({len(ledger.unsure)} without a clear answer); {figures['attempts_open']} attempts left open at the end")
    print(f"acknowledgements: {figures['acknowledged_told']} accepted, {figures['completions_recorded']} completions")
    print(f"sign-ins: {figures['sign_ins']} accepted, {figures['sessions_recorded']} sessions recorded")
    print(f"scheduler: outbox {figures['outbox']}, {figures['mail_received']} messages received")
    (ROOT / "load-results.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"errors: {len(ledger.errors)}")
    for message in ledger.errors[:20]:
        print(f"  {message}")
    return 1 if ledger.errors else 0


if __name__ == "__main__":
    sys.exit(main())
