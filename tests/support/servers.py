"""The site served as production serves it: gunicorn in production settings on a loopback port."""
from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import config
from tests.support.net import answers, free_port
from tests.support.paths import ROOT
from tests.support.waiting import wait_for

GUNICORN = Path(sys.executable).parent / "gunicorn"


@dataclass
class Gunicorn:
    """A gunicorn master serving the site at `base_url`, and its log."""
    base_url: str
    process: subprocess.Popen
    log: Path

    def workers(self) -> set[int]:
        """The master's live child processes."""
        found = set()
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == self.process.pid and fields[0] != "Z":
                found.add(int(stat.parent.name))
        return found

    def answers(self) -> bool:
        return answers(f"{self.base_url}/login", timeout=5)


@contextmanager
def gunicorn(url: str, tmp_path: Path, *, workers: int = 2, app: str = "app:app",
             env: dict[str, str] | None = None) -> Iterator[Gunicorn]:
    """The site under gunicorn in production settings (CSRF on, secure cookies), as `make load` runs it."""
    port = free_port()
    log = tmp_path / "gunicorn.log"
    process = subprocess.Popen(
        [str(GUNICORN), "--workers", str(workers), "--worker-class", "gthread", "--threads", "2",
         "--bind", f"127.0.0.1:{port}", "--timeout", "120", "--graceful-timeout", "5", "--preload",
         "--no-control-socket", app],
        cwd=ROOT, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True,
        env={**os.environ, "DATABASE_URL": url, "ROLLCALL_ENV": "production", "SECRET_KEY": "fault-test-secret",
             "ENCRYPTION_KEYS": config.TestConfig.ENCRYPTION_KEYS,
             **(env or {})})
    server = Gunicorn(f"http://127.0.0.1:{port}", process, log)
    try:
        wait_for(lambda: server.answers() and len(server.workers()) == workers or process.poll() is not None,
                 60, "gunicorn to answer")
        assert process.poll() is None, log.read_text()
        yield server
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
