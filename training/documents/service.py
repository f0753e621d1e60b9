"""Publishing documents and their new versions, checking their PDFs, and officers signing them."""
from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from training.audit.service import record
from training.catalog.content import CODE_RE
from training.catalog.models import Course, CourseVersion, DocumentFile, Lesson
from training.catalog.service import current_version
from training.learn.rules import names_match
from training.people.models import User
from training.records.models import Acknowledgement
from training.records.service import latest_completion, record_acknowledgement, record_completion
from training.updates.service import publish_update
from training.words import plural

KIND = "document"
MAX_PDF_BYTES = 20 * 1024 * 1024
TEXT_SLUG = "text"


class DocumentRefused(Exception):
    """What was wrong with a publication, each problem with the field it concerns; nothing was published."""

    def __init__(self, problems: list[tuple[str, str]]):
        super().__init__("; ".join(message for _field, message in problems))
        self.problems = problems


class SignRefused(Exception):
    """A refused signature, in words for the officer; nothing was recorded."""


@dataclass
class Draft:
    """A document version as its publisher gives it: Markdown text or a PDF, never both."""

    code: str
    title: str
    version: str          # the publisher's label, e.g. "2026-3" or "Rev. 2"
    summary: str          # the summary of changes
    text: str | None = None
    pdf_name: str | None = None
    pdf: bytes | None = None

    def __post_init__(self):
        # Browsers send a text area's lines ending in CR LF: the text is kept, shown and fingerprinted with LF alone,
        # so that the same words always have the same fingerprint.
        if self.text is not None:
            self.text = self.text.replace("\r\n", "\n").replace("\r", "\n")

    @property
    def sha256(self) -> str:
        """The SHA-256 of exactly what readers will be shown: the Markdown text, or the PDF's bytes."""
        return hashlib.sha256(self.pdf if self.pdf is not None else (self.text or "").encode("utf-8")).hexdigest()


@dataclass
class Published:
    version: CourseVersion
    asked_again: int      # officers who signed an earlier version, now given an assignment to sign this one


def pdf_problem(filename: str, data: bytes, limit: int = MAX_PDF_BYTES) -> str | None:
    """What makes an uploaded file unfit to publish as a PDF document, naming the file; None when it is fit."""
    if not data:
        return f"{filename} is empty."
    if len(data) > limit:
        return f"{filename} is {len(data) / 1048576:.1f} MB, more than the {limit / 1048576:g} MB allowed."
    if data[:1024].lstrip()[:5] != b"%PDF-":
        return f"{filename} is not a PDF file: it does not start with %PDF-."
    # Imported when a PDF is checked: pypdf (with PIL) holds tens of MB in every process otherwise.
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            return f"{filename} is encrypted: publish a PDF without a password so that every officer can read it."
        pages = len(reader.pages)
        for page in reader.pages:
            page.mediabox  # noqa: B018 - reading each page's box is what proves the page tree readable
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
        return f"{filename} is not a readable PDF: {exc or type(exc).__name__}."
    if pages == 0:
        return f"{filename} has no pages."
    return None


def document_by_code(session: Session, code: str) -> Course | None:
    return session.scalar(select(Course).where(Course.code == code, Course.kind == KIND, Course.active.is_(True)))


def documents(session: Session) -> list[tuple[Course, CourseVersion]]:
    """Every document with its current version, by code."""
    return list(session.execute(
        select(Course, CourseVersion).join(CourseVersion, (CourseVersion.course_id == Course.id)
                                           & (CourseVersion.number == Course.current_version))
        .where(Course.kind == KIND).order_by(Course.code)).all())


def problems_of(session: Session, draft: Draft, course: Course | None = None) -> list[tuple[str, str]]:
    """What stands in the way of publishing `draft` as a new document (`course` None) or a new version of `course`,
    as (field, message) pairs: a code not well formed or already used, a version label already used, an unfit PDF.
    A field left empty is skipped here: the form says it is missing."""
    problems: list[tuple[str, str]] = []
    if course is None and draft.code:
        taken = session.scalar(select(Course).where(Course.code == draft.code))
        if not CODE_RE.match(draft.code):
            problems.append(("code", f"{draft.code} is not a code: capital letters, digits and hyphens, "
                                     "starting with a letter, 2 to 64 of them (like GO-2026-04)."))
        elif taken is not None:
            what = "the document" if taken.kind == KIND else "the module"
            instead = " (or publish a new version of that document)" if taken.kind == KIND else ""
            problems.append(("code", f"{draft.code} is already the code of {what} {taken.title}: "
                                     f"choose another code{instead}."))
    elif course is not None and draft.version:
        used = session.scalar(select(CourseVersion.number).where(
            CourseVersion.course_id == course.id, func.lower(CourseVersion.policy_version) == draft.version.lower()))
        if used is not None:
            problems.append(("version", f"{course.code} already has a version {draft.version}: "
                                        "give the new version a label of its own."))
    if draft.pdf is not None and (problem := pdf_problem(draft.pdf_name or "the file", draft.pdf)):
        problems.append(("pdf", problem))
    current = current_version(session, course) if course is not None else None
    if current is not None and (draft.pdf is not None or (draft.text or "").strip()) \
            and draft.sha256 == current.content_hash:
        # A new version asks everyone to sign again: one that changes nothing would ask them for nothing.
        problems.append(("pdf" if draft.pdf is not None else "text",
                         f"This is exactly version {current.policy_version}: change the document, or keep it."))
    return problems


def publish(session: Session, draft: Draft, on: date, *, course: Course | None = None,
            actor_id: int | None = None) -> Published:
    """Publish a new document (`course` None) or a new version of `course`, on the publisher's day `on`.

    Refuses a code already used by a module or a document, a version label the document already has and a PDF
    that is not readable, all at once, writing nothing. A new version asks everyone who signed an earlier one to
    sign again, due the document's `update_days` later (`publish_update`).
    """
    problems = problems_of(session, draft, course)
    if problems:
        raise DocumentRefused(problems)
    if course is None:
        course = Course(code=draft.code, kind=KIND, title=draft.title, summary="", current_version=0)
        session.add(course)
        session.flush()
    course.title = draft.title
    number = course.current_version + 1
    version = CourseVersion(
        course_id=course.id, number=number, content_hash=draft.sha256, title=draft.title, summary="",
        policy_version=draft.version, pass_mark=0, questions_per_attempt=0,
        change_kind=None if number == 1 else "policy", change_date=on, change_summary=draft.summary)
    session.add(version)
    session.flush()
    if draft.pdf is not None:
        session.add(DocumentFile(version_id=version.id, filename=draft.pdf_name, data=draft.pdf, sha256=draft.sha256))
    else:
        session.add(Lesson(version_id=version.id, position=1, slug=TEXT_SLUG, title=draft.title, body_md=draft.text))
    course.current_version = number
    session.flush()
    asked = publish_update(session, course, version, on, actor_id=actor_id) if number > 1 else 0
    record(session, "document.published", actor_id=actor_id, target=f"course:{course.code}", course=course.code,
           version=draft.version, number=number, form="pdf" if draft.pdf is not None else "markdown",
           sha256=draft.sha256, summary=draft.summary, asked_again=asked)
    return Published(version, asked)


def document_file(session: Session, version: CourseVersion) -> DocumentFile | None:
    return session.get(DocumentFile, version.id)


def signed_version(session: Session, user: User, course: Course) -> Acknowledgement | None:
    """The officer's signature of the document's latest version they signed, if any."""
    return session.scalar(select(Acknowledgement).where(
        Acknowledgement.user_id == user.id, Acknowledgement.course_id == course.id)
        .order_by(Acknowledgement.version_number.desc(), Acknowledgement.id.desc()).limit(1))


def sign(session: Session, user: User, course: Course, shown_sha256: str, typed_name: str,
         on: date) -> Acknowledgement | None:
    """The officer signs the document's current version, which they were shown with the fingerprint
    `shown_sha256`, by typing their name, on their day `on`. The first signature completes the document; a later
    version's is an acknowledgement that closes the assignment to sign it. None when they had already signed
    this version: nothing new is recorded."""
    version = current_version(session, course)
    if version is None or shown_sha256 != version.content_hash:
        raise SignRefused("A new version of this document was published while you were reading it. "
                          "Read the version now shown, then sign it.")
    if not names_match(typed_name or "", user.first_name, user.last_name):
        raise SignRefused(f"Type your full name exactly as it appears on your record: {user.full_name}.")
    # Two tabs signing at once: the second waits for the first and then finds its signature.
    session.execute(select(User.id).where(User.id == user.id).with_for_update())
    signed = signed_version(session, user, course)
    if signed is not None and signed.version_number >= version.number:
        return None
    if latest_completion(session, user.id, course.id, before=on) is None:
        completion = record_completion(session, user, course, on, version_id=version.id, score=None,
                                       source=KIND, acknowledged_name=user.full_name)
        return session.scalar(select(Acknowledgement).where(Acknowledgement.completion_id == completion.id))
    return record_acknowledgement(session, user, version, KIND, on, name=user.full_name,
                                  text_sha256=version.content_hash)


def describe_published(published: Published) -> str:
    """What the publisher is told."""
    version = published.version
    said = f"Published {version.course.code} version {version.policy_version}."
    if version.number > 1:
        said += (f" {plural(published.asked_again, 'officer')} who signed an earlier version "
                 f"{'is' if published.asked_again == 1 else 'are'} asked to sign this one.")
    return said
