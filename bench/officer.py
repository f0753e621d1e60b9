"""An officer at the site over real HTTP: sign in, read the dashboard and lessons, take and submit quizzes.

Standard library only, but for reading the question banks (correct_answers). Used by
the load test (bench/load.py) and the fault tests (tests/test_faults.py). Redirects
are not followed on their own: each request is one timed step, and the caller sees
where a form sent it.
"""
from __future__ import annotations

import html
import http.client
import random
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode, urlsplit

CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
CHOICE = re.compile(r'name="(q\d+)"\s+value="(\d+)"[^>]*>\s*<label[^>]*>(.*?)</label>', re.S)
COURSE_LINK = re.compile(r'href="/courses/([A-Z0-9-]+)"')
SCORE = re.compile(r"You scored (\d+)%")
FULL_NAME = re.compile(r"Sign out ([^<]+)</button>")
ATTEMPT = re.compile(r"^/attempts/(\d+)$")
RESULT = re.compile(r"^/attempts/(\d+)/result$")
TAG = re.compile(r"<[^>]*>")


class UnexpectedResponse(Exception):
    """The site answered, but not as a working site would."""


@dataclass
class Response:
    status: int
    location: str | None
    body: str
    seconds: float


# Called after every request: kind, HTTP status (None when no answer came), seconds, error text or None.
Recorder = Callable[[str, int | None, float, str | None], None]


class Site:
    """One browser: a cookie jar for one host and one keep-alive connection.

    A connection left idle for `fresh_after` seconds is replaced before the next
    request, so a request never goes out on a connection the server may just have
    closed; a request that fails on the wire is not sent again.
    """

    def __init__(self, base_url: str, *, timeout: float = 60, fresh_after: float = 1.0,
                 record: Recorder | None = None):
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname, parts.port or 80
        self.timeout, self.fresh_after = timeout, fresh_after
        self.record = record or (lambda *_: None)
        self.cookies: dict[str, str] = {}
        self._conn: http.client.HTTPConnection | None = None
        self._last_used = 0.0

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is not None and time.monotonic() - self._last_used > self.fresh_after:
            self.close()
        if self._conn is None:
            self._conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        return self._conn

    def request(self, kind: str, method: str, path: str, form: Mapping[str, str] | None = None,
                headers: Mapping[str, str] | None = None, expect: tuple[int, ...] = (200,),
                body: bytes | None = None) -> Response:
        """Send one request (a form, or a `body` of the Content-Type in `headers`); a status outside `expect`,
        or no answer, raises after it is recorded."""
        sent = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items()), **(headers or {})}
        if form is not None:
            body = urlencode(form)
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        started = time.perf_counter()
        try:
            conn = self._connection()
            conn.request(method, path, body=body, headers=sent)
            answer = conn.getresponse()
            text = answer.read().decode("utf-8", "replace")
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            seconds = time.perf_counter() - started
            error = f"{method} {path}: {type(exc).__name__}: {exc}"
            self.record(kind, None, seconds, error)
            exc.recorded = True
            raise
        seconds = time.perf_counter() - started
        self._last_used = time.monotonic()
        if answer.getheader("Connection", "").lower() == "close":
            self.close()
        for header in answer.msg.get_all("Set-Cookie") or []:
            self._keep_cookie(header)
        location = answer.getheader("Location")
        if location:
            location = urlsplit(location).path
        response = Response(answer.status, location, text, seconds)
        error = None if answer.status in expect else f"{method} {path}: HTTP {answer.status}"
        self.record(kind, answer.status, seconds, error)
        if error:
            refused = UnexpectedResponse(error)
            refused.recorded, refused.response = True, response
            raise refused
        return response

    def _keep_cookie(self, header: str) -> None:
        jar = SimpleCookie()
        jar.load(header)
        for name, morsel in jar.items():
            if morsel.value == "" or morsel["max-age"] == "0":
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = morsel.value

    def get(self, kind: str, path: str, **kwargs) -> Response:
        return self.request(kind, "GET", path, **kwargs)

    def post(self, kind: str, path: str, form: Mapping[str, str], **kwargs) -> Response:
        return self.request(kind, "POST", path, form=form, **kwargs)


def csrf_token(page: str) -> str:
    found = CSRF.search(page)
    if not found:
        raise UnexpectedResponse("no CSRF token on the page")
    return found.group(1)


def shown_text(markup: str) -> str:
    """The text a choice's label shows: its tags gone, its entities read, its spacing collapsed."""
    return " ".join(html.unescape(TAG.sub("", markup)).split())


def correct_answers(quizzes_dir: Path) -> dict[str, set[str]]:
    """Per course code, the texts of the right choices in its question bank, as their labels show them."""
    import yaml

    from training.catalog.render import render_inline

    bank = {}
    for path in sorted(quizzes_dir.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        bank[data["course"]] = {shown_text(render_inline(str(q["choices"][q["answer"]]).strip()))
                                for q in data["questions"]}
    return bank


@dataclass
class QuizSheet:
    """A filled answer sheet: the form to post and how many of its answers are right."""

    attempt_id: int
    form: dict[str, str]
    right: int
    questions: int

    @property
    def percent(self) -> int:
        return round(100 * self.right / self.questions)


@dataclass
class Officer:
    """An officer's steps through the site; each step checks the page it lands on."""

    site: Site
    email: str
    password: str
    answers: dict[str, set[str]]
    rng: random.Random = field(default_factory=random.Random)
    # The chance that each answer is right.
    accuracy: float = 0.9
    full_name: str | None = None

    def sign_in(self) -> None:
        page = self.site.get("login_form", "/login").body
        done = self.site.post("sign_in", "/login", {"email": self.email, "password": self.password,
                                                    "csrf_token": csrf_token(page)}, expect=(302,))
        if done.location != "/":
            raise UnexpectedResponse(f"sign-in of {self.email} went to {done.location}")

    def dashboard(self) -> list[str]:
        """The codes of the modules listed on My training."""
        page = self.site.get("dashboard", "/").body
        named = FULL_NAME.search(page)
        if not named:
            raise UnexpectedResponse(f"{self.email}: the dashboard does not show who is signed in")
        self.full_name = html.unescape(named.group(1)).strip()
        return list(dict.fromkeys(COURSE_LINK.findall(page)))

    def read_lessons(self, code: str) -> None:
        page = self.site.get("course", f"/courses/{code}").body
        for href in dict.fromkeys(re.findall(rf'href="(/courses/{code}/lessons/[^"]+)"', page)):
            self.site.get("lesson", href)

    def start_quiz(self, code: str) -> int:
        """Open the module page and press the quiz button; the attempt's id."""
        page = self.site.get("course", f"/courses/{code}").body
        started = self.site.post("quiz_start", f"/courses/{code}/quiz", {"csrf_token": csrf_token(page)},
                                 expect=(302,))
        match = ATTEMPT.match(started.location or "")
        if not match:
            raise UnexpectedResponse(f"{self.email}: starting the {code} quiz went to {started.location}")
        return int(match.group(1))

    def answer_sheet(self, code: str, attempt_id: int) -> QuizSheet:
        """Read the quiz page and pick an answer to every question, right with the chance `accuracy`."""
        page = self.site.get("quiz_page", f"/attempts/{attempt_id}").body
        choices: dict[str, list[tuple[str, str]]] = {}
        for name, value, label in CHOICE.findall(page):
            choices.setdefault(name, []).append((value, shown_text(label)))
        if not choices:
            raise UnexpectedResponse(f"{self.email}: attempt {attempt_id} shows no questions")
        form, right = {"csrf_token": csrf_token(page)}, 0
        for name, options in choices.items():
            correct = [value for value, text in options if text in self.answers[code]]
            if len(correct) != 1:
                raise UnexpectedResponse(f"{self.email}: cannot tell the right answer to {name}")
            if self.rng.random() < self.accuracy:
                form[name], right = correct[0], right + 1
            else:
                form[name] = self.rng.choice([value for value, _ in options if value != correct[0]])
        return QuizSheet(attempt_id, form, right, len(choices))

    def submit(self, sheet: QuizSheet, headers: Mapping[str, str] | None = None) -> Response:
        """Post the answers; the site sends the officer to the attempt's result."""
        done = self.site.post("quiz_submit", f"/attempts/{sheet.attempt_id}", sheet.form, headers=headers,
                              expect=(302,))
        if done.location != f"/attempts/{sheet.attempt_id}/result":
            raise UnexpectedResponse(f"{self.email}: submitting attempt {sheet.attempt_id} went to {done.location}")
        return done

    def result(self, attempt_id: int) -> tuple[int, str]:
        """The score the result page shows, and the page."""
        page = self.site.get("result", f"/attempts/{attempt_id}/result").body
        score = SCORE.search(page)
        if not score:
            raise UnexpectedResponse(f"{self.email}: the result of attempt {attempt_id} shows no score")
        return int(score.group(1)), page

    def acknowledge(self, attempt_id: int, page: str) -> None:
        """Type one's name under the policy; the site certifies and shows the result again."""
        done = self.site.post("acknowledge", f"/attempts/{attempt_id}/result",
                              {"csrf_token": csrf_token(page), "full_name": self.full_name or ""}, expect=(302,))
        if done.location != f"/attempts/{attempt_id}/result":
            raise UnexpectedResponse(f"{self.email}: acknowledging attempt {attempt_id} went to {done.location}")
