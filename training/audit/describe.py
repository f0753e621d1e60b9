"""Audit events in plain words: one sentence per event, people by name, modules by title.

`ACTIONS` is the one list of what the site records: every action code passed to `record`, with its plain
name (the trail's action filter), its kind (sign-ins and account security, or training records and
administration) and its sentence. tests/test_audit_describe.py fails when a code recorded anywhere in
training/ is missing here. An event whose code is not listed (one written by an older version) still reads
as a sentence, never as a dump of its details.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from training.access import place_check
from training.clock import local_time, viewer_zone
from training.db import Base
from training.people.models import Agency, Unit, User
from training.words import plural

SECURITY, RECORDS = "security", "records"
KINDS = {SECURITY: "Sign-ins and account security", RECORDS: "Training records and administration"}
ROLE_NAMES = {"officer": "officer", "coordinator": "training coordinator", "compliance": "compliance staff member",
              "admin": "administrator"}
OPERATOR = "An operator at the command line"
SYSTEM = "System"


def _count(n: Any, one: str, many: str | None = None) -> str:
    """A count recorded in an event's details (a number or a list of ids), with its noun agreeing."""
    return plural(n if isinstance(n, int) else len(n) if isinstance(n, list | tuple) else 0, one, many)


def _article(words: str) -> str:
    return ("an " if words[:1].lower() in "aeiou" else "a ") + words


@dataclass
class Said:
    """One event's parts in words, for its sentence: who did it, to whom, which module, and its details."""

    event: Any
    names: Names

    @property
    def d(self) -> dict:
        return self.event.details if isinstance(self.event.details, dict) else {}

    @property
    def actor(self) -> str:
        token = self.d.get("api_token")
        if self.event.actor_id is None and isinstance(token, dict):
            return f"The API token {token.get('name')} (number {token.get('id')})"
        if self.event.actor_id is None:
            return OPERATOR if self.d.get("via") == "cli" else SYSTEM
        return self.names.person(self.event.actor_id)

    @property
    def subject_id(self) -> int | None:
        if self.event.subject_id is not None:
            return self.event.subject_id
        target = self.event.target or ""
        if target.startswith("user:") and target[5:].isdigit():
            return int(target[5:])
        recipient = self.d.get("recipient_id")
        return recipient if isinstance(recipient, int) else None

    @property
    def own(self) -> bool:
        """Whether the actor acted on their own account or records."""
        return self.event.actor_id is not None and self.event.actor_id == self.subject_id

    @property
    def subject(self) -> str:
        if self.subject_id is not None:
            return self.names.person(self.subject_id)
        return f"the address {self.event.target}" if "@" in (self.event.target or "") else "an unknown account"

    @property
    def subjects(self) -> str:
        """The subject as an owner: "Sam Ortiz's", or "their" when the actor is the subject."""
        return "their" if self.own else f"{self.subject}'s"

    @property
    def course(self) -> str:
        target = self.event.target or ""
        code = self.d.get("course") or (target[7:] if target.startswith("course:") else None)
        return self.names.course(code, self.d.get("course_id"))

    @property
    def unit(self) -> str:
        target = self.event.target or ""
        return self.names.unit(target[5:]) if target.startswith("unit:") else "a unit"

    def why(self, key: str = "reason") -> str:
        text = self.d.get(key)
        return f": {text}" if text else ""

    def get(self, key: str, default: str = "(not recorded)") -> str:
        value = self.d.get(key)
        return default if value in (None, "") else str(value)


class Names:
    """People, modules and units named by a page of events, each kind loaded in one query."""

    def __init__(self, session: Session, viewer: User | None, events: Iterable[Any]):
        events = list(events)
        user_ids, codes, course_ids, unit_codes, unit_ids, agency_ids = set(), set(), set(), set(), set(), set()
        for e in events:
            said = Said(e, self)
            user_ids.update(i for i in (e.actor_id, said.subject_id) if isinstance(i, int))
            target = e.target or ""
            if isinstance(said.d.get("course"), str):
                codes.add(said.d["course"])
            if target.startswith("course:"):
                codes.add(target[7:])
            if isinstance(said.d.get("course_id"), int):
                course_ids.add(said.d["course_id"])
            if target.startswith("unit:"):
                unit_codes.add(target[5:])
            if said.subject_id is None and e.unit_id is not None:
                unit_ids.add(e.unit_id)
            elif said.subject_id is None and e.agency_id is not None:
                agency_ids.add(e.agency_id)
        self.people = {u.id: u for u in session.scalars(select(User).where(User.id.in_(user_ids)))} \
            if user_ids else {}
        # The catalog sits above the audit trail (pyproject.toml, layers): its table is read, its model not imported.
        course = Base.metadata.tables["courses"].c
        courses = session.execute(select(course.id, course.code, course.title)
                                  .where(or_(course.code.in_(codes), course.id.in_(course_ids)))).all() \
            if codes or course_ids else []
        self.titles = {c.code: c.title for c in courses} | {c.id: c.title for c in courses}
        units = list(session.scalars(select(Unit).where(or_(Unit.code.in_(unit_codes), Unit.id.in_(unit_ids))))) \
            if unit_codes or unit_ids else []
        self.units = {u.code: u.name for u in units} | {u.id: u.name for u in units}
        self.agencies = {a.id: a.name for a in session.scalars(select(Agency).where(Agency.id.in_(agency_ids)))} \
            if agency_ids else {}
        self.viewer = viewer
        self.may_see = place_check(session, viewer) if self.people else None

    def person(self, user_id: int) -> str:
        person = self.people.get(user_id)
        if person is None:
            return "an account no longer on record"
        viewer = self.viewer
        if viewer is None or viewer.id == person.id or self.may_see(person.agency_id, person.unit_id):
            return person.full_name
        return f"{_article(ROLE_NAMES.get(person.role, person.role))} outside your scope"

    def course(self, code: str | None, course_id: Any) -> str:
        return self.titles.get(code) or self.titles.get(course_id) or code or "a module"

    def unit(self, code: str) -> str:
        name = self.units.get(code)
        return f"{name} ({code})" if name else code

    def place(self, unit_id: int | None, agency_id: int | None) -> str:
        """A unit (with its sub-units) or a whole agency, by name."""
        if unit_id is not None:
            return f"everyone in {self.units.get(unit_id, 'a unit')}"
        if agency_id is not None:
            return f"everyone in {self.agencies.get(agency_id, 'an agency')}"
        return "officers in every agency"


@dataclass(frozen=True)
class Action:
    label: str
    kind: str
    sentence: Callable[[Said], str]


def _document_published(s: Said) -> str:
    asked = "" if s.d.get("number", 1) == 1 else \
        f", asking {_count(s.d.get('asked_again'), 'officer')} who signed an earlier version to sign it"
    return f"{s.actor} published version {s.get('version')} of the document {s.course}{asked}{s.why('summary')}"


def _sign_in(s: Said) -> str:
    via = f" through {s.d['provider']}" if s.d.get("provider") else ""
    return f"{s.actor} signed in{via}"


def _held(s: Said) -> str:
    return "on the account" if s.d.get("held") == "account" else "from one network address"


def _created(s: Said) -> str:
    role = s.d.get("role") or (s.d.get("changes") or {}).get("role", [None, None])[1]
    as_role = f" as {_article(ROLE_NAMES.get(role, role))}" if role else ""
    return f"{s.actor} created the account of {s.subject}{as_role}"


# What a refused act (access.refused, its `act`) would have been.
ACTS = {"extension": "an extension", "exemption": "an exemption", "revocation": "a revocation",
        "withdraw": "a withdrawal", "set_due": "a change of due date",
        "evidence": "an evidence packet"}
FIELD_NAMES = {"first_name": "first name", "last_name": "last name", "email": "email address",
               "employee_id": "employee ID", "agency_id": "agency", "unit_id": "unit", "scope_unit_id": "scope",
               "supervisor_id": "supervisor", "active": "active", "role": "role", "password": "password"}


def _updated(s: Said) -> str:
    fields = [FIELD_NAMES.get(k, k.replace("_", " ")) for k in sorted(s.d.get("changes") or {})]
    what = f": {', '.join(fields)}" if fields else ""
    return f"{s.actor} changed the account of {s.subject}{what}"


def _assigned(s: Said) -> str:
    to = s.subject if s.subject_id is not None else s.names.place(s.event.unit_id, s.event.agency_id)
    extra = [f"{_count(s.d.get(k), 'officer')} {words}" for k, words in
             (("already_certified", "already certified"), ("already_assigned", "already assigned"),
              ("exempt", "exempt")) if s.d.get(k)]
    left = f" ({'; '.join(extra)}, left alone)" if extra else ""
    return (f"{s.actor} assigned {s.course} to {to}, due {s.get('due_on')}: "
            f"{_count(s.d.get('assigned'), 'officer')} assigned{left}")


def _decided(s: Said) -> str:
    if s.d.get("decision") == "approved":
        return (f"{s.actor} granted {s.subjects} request for more time on {s.course}, now due {s.get('due_on')}"
                f"{s.why('note')}")
    return f"{s.actor} refused {s.subjects} request for more time on {s.course}{s.why('note')}"


def _completion(s: Said) -> str:
    until = f", certified through {s.d['expires_on']}" if s.d.get("expires_on") else ""
    if s.d.get("source") == "import":
        return f"{s.subject}'s completion of {s.course} on {s.get('completed_on')} was imported{until}"
    if s.own or s.event.actor_id is None:
        return f"{s.subject} completed {s.course} on {s.get('completed_on')}{until}"
    return f"{s.actor} recorded that {s.subject} completed {s.course} on {s.get('completed_on')}{until}"


def _export(what: str) -> Callable[[Said], str]:
    def sentence(s: Said) -> str:
        fmt = f", {s.get('format').upper()}" if s.d.get("format") else ""
        rows = f" ({_count(s.d.get('rows'), 'row')}{fmt})" if "rows" in s.d else ""
        return f"{s.actor} exported {what}{rows}"
    return sentence


def _org(verb: str) -> Callable[[Said], str]:
    def sentence(s: Said) -> str:
        counts = [_count(s.d.get(k), one, many) for k, one, many in
                  (("agencies_added", "agency added", "agencies added"), ("units_added", "unit added", "units added"),
                   ("units_updated", "unit updated", "units updated"), ("units_moved", "unit moved", "units moved"))
                  if s.d.get(k)]
        return f"{s.actor} {verb}{': ' + ', '.join(counts) if counts else ''}"
    return sentence


def _verified(s: Said) -> str:
    checked = _count(s.d.get("checked"), "event")
    if s.d.get("broken_event_id") is None:
        redacted = s.d.get("redacted_events")
        removed = f" ({redacted:,} with personal data removed by the retention purge)" if redacted else ""
        return f"{s.actor} verified the audit chain: {checked}, intact{removed}"
    return (f"{s.actor} verified the audit chain and found it broken at event {s.d['broken_event_id']}"
            f" after {checked} intact")


def _refused_link(what: str) -> Callable[[Said], str]:
    reasons = {"unknown": "no such link", "used": "it was already used", "expired": "it had expired",
               "replaced": "a newer link replaced it", "deactivated": "the account is deactivated",
               "password changed": "the password was changed since", "revoked": "it was withdrawn"}

    def sentence(s: Said) -> str:
        reason = reasons.get(s.get("reason"), s.get("reason") or "no reason given")
        whose = f" for {s.subject}" if s.subject_id is not None else ""
        return f"{_article(what).capitalize()}{whose} was refused: {reason}"
    return sentence


def _api_token(s: Said) -> str:
    token = s.d.get("token") if isinstance(s.d.get("token"), dict) else {}
    return f"{token.get('name', '')} (number {token.get('id', '?')})"


ACTIONS: dict[str, Action] = {
    # Sign-ins and account security
    "auth.signed_in": Action("Signed in", SECURITY, _sign_in),
    "auth.signed_out": Action("Signed out", SECURITY, lambda s: f"{s.actor} signed out"),
    "auth.sign_in_failed": Action("Sign-in failed", SECURITY,
                                  lambda s: f"A sign-in as {s.subject} failed: wrong email address or password"),
    "auth.sign_in_throttled": Action("Sign-ins held after too many attempts", SECURITY, lambda s: (
        f"Sign-ins as {s.subject} were held after too many failed attempts {_held(s)}")),
    "auth.second_factor_failed": Action("Wrong two-step code", SECURITY,
                                        lambda s: f"{s.actor} entered a wrong two-step sign-in code"),
    "auth.password_check_failed": Action("Wrong current password", SECURITY,
                                         lambda s: f"{s.actor} entered a wrong current password"),
    "auth.password_sign_in_refused": Action("Password sign-in refused", SECURITY, lambda s: (
        f"A password sign-in as {s.subject} was refused: "
        + ("password sign-in is turned off" if s.d.get("mode") == "off"
           else "officers sign in through their agency's sign-in button"))),
    "auth.remember_cookie_refused": Action("Remembered sign-in refused", SECURITY, lambda s: (
        f"A remembered sign-in for {s.subject} was refused: the cookie was forged or out of date")),
    "auth.sso_failed": Action("Single sign-on failed", SECURITY, lambda s: (
        f"A single sign-on{' through ' + s.d['provider'] if s.d.get('provider') else ''} failed: "
        f"{s.get('reason', 'no reason given').replace('_', ' ')}")),
    "auth.sso_refused": Action("Single sign-on refused", SECURITY, lambda s: (
        f"Single sign-on through {s.get('provider', 'the provider')} opened no account for {s.subject}: "
        f"{s.get('reason', 'no reason given').replace('_', ' ')}")),
    "password.reset_requested": Action("Password reset requested", SECURITY, lambda s: (
        f"A password reset link was requested for {s.subject}"
        + ("" if s.d.get("mailed") else "; no link was sent"))),
    "password.reset_throttled": Action("Password resets held after too many requests", SECURITY, lambda s: (
        f"Password reset requests for {s.subject} were held after too many requests {_held(s)}")),
    "password.reset": Action("Password reset", SECURITY,
                             lambda s: f"{s.actor} chose a new password through a reset link"),
    "password.reset_refused": Action("Password reset link refused", SECURITY, _refused_link("password reset link")),
    "invitation.sent": Action("Invitation sent", SECURITY, lambda s: (
        f"{s.actor} {'sent a new invitation to' if s.d.get('resend') else 'invited'} {s.subject} to choose a "
        f"password (the link works until {s.get('expires_at').replace('T', ' ')})")),
    "invitation.accepted": Action("Invitation accepted", SECURITY,
                                  lambda s: f"{s.actor} accepted the invitation and chose a password"),
    "invitation.refused": Action("Invitation link refused", SECURITY, _refused_link("invitation link")),
    "user.password_changed": Action("Password changed", SECURITY, lambda s: f"{s.actor} changed their password"),
    "user.second_factor_enrolled": Action("Two-step sign-in turned on", SECURITY,
                                          lambda s: f"{s.actor} turned on two-step sign-in"),
    "user.second_factor_removed": Action("Two-step sign-in turned off", SECURITY,
                                         lambda s: f"{s.actor} turned off two-step sign-in"),
    "user.second_factor_reset": Action("Two-step sign-in reset", SECURITY,
                                       lambda s: f"{s.actor} reset two-step sign-in for {s.subject}"),
    "user.recovery_codes_renewed": Action("Recovery codes renewed", SECURITY,
                                          lambda s: f"{s.actor} made new recovery codes"),
    "calendar.address_made": Action("Calendar address made", SECURITY,
                                    lambda s: f"{s.actor} made a private calendar address for their due dates"),
    "calendar.address_replaced": Action("Calendar address replaced", SECURITY, lambda s: (
        f"{s.actor} made a new private calendar address for their due dates; the one before stopped working")),
    "secrets.rotated": Action("Stored secrets re-encrypted", SECURITY, lambda s: (
        f"{s.actor} re-encrypted the stored secrets with the newest key: "
        f"{_count(s.d.get('secrets'), 'second-factor secret')}, "
        f"{_count(s.d.get('recovery_codes'), 'recovery code')}")),
    # Training records and administration
    "access.refused": Action("Refused act", RECORDS, lambda s: (
        f"{s.actor} was refused {ACTS.get(s.get('act'), s.get('act'))} "
        f"{'on their own records' if s.own else 'for ' + s.subject}{s.why()}")),
    "assignment.created": Action("Assigned", RECORDS, _assigned),
    "assignment.extended": Action("Extended", RECORDS, lambda s: (
        f"{s.actor} extended {s.course} for {s.subject} to {s.get('due_on')}{s.why()}")),
    "assignment.due_set": Action("Due date changed", RECORDS, lambda s: (
        f"{s.actor} moved the due date of {s.course} for {s.subject} from {s.get('previous_due_on')} "
        f"to {s.get('due_on')}{s.why()}")),
    "assignment.withdrawn": Action("Withdrawn", RECORDS, lambda s: (
        f"{s.actor} withdrew {s.course} from {s.subject}{s.why()}")),
    "assignment.renewals_created": Action("Renewals created", RECORDS, lambda s: (
        f"{s.actor} created {_count(s.d.get('created'), 'renewal assignment')} for {s.get('on')}")),
    "assignment.standing_rules_applied": Action("Standing rules applied", RECORDS, lambda s: (
        f"{s.actor} applied the standing rules on {s.get('on')}: {_count(s.d.get('created'), 'assignment')} created")),
    "assignment.updates_created": Action("Policy update assigned", RECORDS, lambda s: (
        f"{s.actor} published a policy change to {s.course} (version {s.get('version')}): "
        f"{_count(s.d.get('assigned'), 'certified officer')} to take the update by {s.get('due_on')}")),
    "document.published": Action("Document published", RECORDS, _document_published),
    "version.acknowledged": Action("Version acknowledged", RECORDS, lambda s: (
        f"{s.actor} acknowledged version {s.get('version')} of {s.course}"
        f"{ {'update': ' after its policy update', 'document': ' after reading it'}.get(s.d.get('kind'), '')}")),
    "standing_rule.created": Action("Standing rule set", RECORDS, lambda s: (
        f"{s.actor} set a standing rule: everyone in {s.unit} holds {s.course}, "
        f"with {_count(s.d.get('days'), 'day')} to complete it")),
    "standing_rule.deleted": Action("Standing rule removed", RECORDS, lambda s: (
        f"{s.actor} removed the standing rule for {s.course} in {s.unit}")),
    "exemption.granted": Action("Exempted", RECORDS, lambda s: (
        f"{s.actor} exempted {s.subject} from {s.course} from {s.get('starts_on')} to {s.get('ends_on')}{s.why()}")),
    "extension.requested": Action("More time requested", RECORDS, lambda s: (
        f"{s.actor} asked for more time on {s.course}"
        f"{' until ' + s.d['asked_due_on'] if s.d.get('asked_due_on') else ''}{s.why()}")),
    "extension.decided": Action("Request for more time decided", RECORDS, _decided),
    "attempt.submitted": Action("Quiz submitted", RECORDS, lambda s: (
        f"{s.actor} {'passed' if s.d.get('passed') else 'did not pass'} the {s.course} quiz "
        f"with {s.get('score', '?')}%")),
    "completion.recorded": Action("Completion recorded", RECORDS, _completion),
    "completion.imported": Action("Completions imported", RECORDS, lambda s: (
        f"{s.actor} imported {_count(s.d.get('added'), 'completion')} from {s.get('file', 'a file')}"
        f" ({_count(s.d.get('already_recorded'), 'row')} already recorded, "
        f"{_count(s.d.get('assignments_closed'), 'assignment')} closed)")),
    "completion.revoked": Action("Certificate revoked", RECORDS, lambda s: (
        f"{s.actor} revoked {s.subjects} {s.course} certificate of {s.get('completed_on')}{s.why()}")),
    "certificate.downloaded": Action("Certificate downloaded", RECORDS, lambda s: (
        f"{s.actor} downloaded {s.subjects} {s.course} certificate")),
    "roster.imported": Action("Roster imported", RECORDS, lambda s: (
        f"{s.actor} imported the roster from {s.get('source', 'a file')}: {_count(s.d.get('added'), 'account')} added, "
        f"{_count(s.d.get('changed'), 'account')} changed, {_count(s.d.get('deactivated'), 'account')} deactivated")),
    "org.imported": Action("Org chart imported", RECORDS, _org("imported the org chart")),
    "org.changed": Action("Organisation changed", RECORDS, _org("changed the organisation")),
    "content.sync": Action("Course content synced", RECORDS, lambda s: (
        f"{s.actor} synced the course content: {_count(s.d.get('created'), 'new version')}"
        f"{' (' + ', '.join(s.d['created']) + ')' if s.d.get('created') else ''}")),
    "export.roster": Action("Roster exported", RECORDS, _export("the roster")),
    "export.acknowledgements": Action("Acknowledgements exported", RECORDS,
                                      _export("who acknowledged which version")),
    "export.audit": Action("Audit trail exported", RECORDS, _export("the audit trail")),
    "export.compliance": Action("Compliance figures exported", RECORDS, _export("the compliance figures")),
    "evidence.created": Action("Evidence packet made", RECORDS, lambda s: (
        f"{s.actor} made the evidence packet of {s.subject} as of {s.get('as_of')} (SHA-256 {s.get('sha256')})")),
    "export.questions": Action("Question analytics exported", RECORDS, _export("the question analytics")),
    "user.created": Action("Account created", RECORDS, _created),
    "user.updated": Action("Account changed", RECORDS, _updated),
    "user.role_changed": Action("Role changed", RECORDS, lambda s: (
        f"{s.actor} changed {s.subjects} role from {ROLE_NAMES.get(s.get('before'), s.get('before'))} "
        f"to {ROLE_NAMES.get(s.get('after'), s.get('after'))}")),
    "reminder.nudged": Action("Reminders sent by hand", RECORDS, lambda s: (
        f"{s.actor} sent a reminder to {_count(s.d.get('queued'), 'officer')}"
        f" ({_count(s.d.get('nothing_due'), 'officer')} had nothing due)")),
    "outbox.retried": Action("Failed message queued again", RECORDS, lambda s: (
        f"{s.actor} queued a failed message to {s.subject} again")),
    "audit.verified": Action("Audit chain verified", RECORDS, _verified),
    "backup.written": Action("Backup written", RECORDS, lambda s: (
        f"{s.actor} wrote a backup of the whole database, as it stood at {s.get('taken_at')}, to {s.get('path')}")),
    "backup.restored": Action("Database restored", RECORDS, lambda s: (
        f"{s.actor} restored the database from {s.get('path')}, a backup taken at {s.get('taken_at')}")),
    "audit.rehashed": Action("Audit chain re-hashed", RECORDS, lambda s: (
        f"The upgrade re-computed the hashes of {_count(s.d.get('events'), 'event')} over the digests of their "
        f"details; the last hash before was {s.get('old_head')}")),
    "retention.purged": Action("Personal data removed", RECORDS, lambda s: (
        f"{s.actor} removed the personal data of {_count(s.d.get('accounts'), 'account')} deactivated before "
        f"{s.get('deactivated_before')} ({s.get('years')} years' retention), keeping their training records; "
        f"{_count(s.d.get('audit events redacted'), 'audit event')} redacted")),
    "api_token.created": Action("API token made", SECURITY, lambda s: (
        f"{s.actor} made the API token {_api_token(s)} for {s.get('unit') if s.d.get('unit') else s.get('agency')}"
        f"{', which may also assign and upload rosters' if s.d.get('write') else ', read-only'}"
        f"{', working through ' + s.d['expires_on'] if s.d.get('expires_on') else ''}")),
    "api_token.revoked": Action("API token revoked", SECURITY, lambda s: (
        f"{s.actor} revoked the API token {_api_token(s)}")),
}


def action_label(action: str) -> str:
    known = ACTIONS.get(action)
    return known.label if known else action.replace(".", " ").replace("_", " ").capitalize()


def kind_of(action: str) -> str:
    known = ACTIONS.get(action)
    return known.kind if known else RECORDS


def security_actions() -> list[str]:
    return [code for code, a in ACTIONS.items() if a.kind == SECURITY]


def sentence(event: Any, names: Names) -> str:
    """The event in one plain sentence, ending with a full stop."""
    said = Said(event, names)
    known = ACTIONS.get(event.action)
    if known is not None:
        text = known.sentence(said)
    else:
        about = f", concerning {said.subject}" if said.subject_id is not None else ""
        text = f"{said.actor}: {action_label(event.action).lower()}{about}"
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "?", "!")) else text + "."


def detail_rows(details: Any) -> list[tuple[str, str]]:
    """The raw details as (readable key, value) pairs for a definition list."""
    if not isinstance(details, dict):
        return []
    return [(DETAIL_NAMES.get(key, key.replace("_", " ").capitalize()), _value(value))
            for key, value in sorted(details.items())]


# Detail keys whose plain form is not the key itself with spaces.
DETAIL_NAMES = {"ip": "IP address", "course": "Module code", "course_id": "Module number",
                "assignment_id": "Assignment number", "completion_id": "Completion number",
                "request_id": "Request number", "recipient_id": "Recipient's account number",
                "broken_event_id": "First broken event", "up_to_event": "Up to event", "via": "Done through",
                "x_request_id": "Request ID in the logs"}


def _value(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        return "; ".join(f"{k.replace('_', ' ')}: {_value(v)}" for k, v in sorted(value.items()))
    if isinstance(value, list | tuple):
        return ", ".join(_value(v) for v in value) if value else "none"
    return str(value)


def when(instant: datetime, viewer: User | None) -> str:
    """The instant on the viewer's agency's clocks (UTC without an agency), ISO style."""
    local, _zone = local_time(instant, viewer_zone(viewer))
    return local.strftime("%Y-%m-%d %H:%M:%S")


@dataclass(frozen=True)
class Described:
    """An event as the trail shows it: its sentence, its time on the viewer's clocks and its details."""

    event: Any
    sentence: str
    at: str
    details: list[tuple[str, str]]


def describe_all(session: Session, viewer: User | None, events: Iterable[Any]) -> list[Described]:
    """The events in words, their names looked up together (a query per kind, whatever their number)."""
    events = list(events)
    names = Names(session, viewer, events)
    return [Described(e, sentence(e, names), when(e.at, viewer), detail_rows(e.details)) for e in events]
