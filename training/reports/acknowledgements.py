"""The acknowledgements export: who signed which version of each module and document, on a day.

The rows are the roster's (training/reports/filters.py: the same filters, scope and pairs), each with the
latest version the officer had signed by the end of the day and where that leaves them
(`acknowledgement_status`). A past day is rebuilt from the records: the acknowledgements made by then and the
versions published by then.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import date

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, aliased

from training.audit.models import AuditEvent
from training.audit.service import record
from training.catalog.models import Course, CourseVersion
from training.people.models import User
from training.records.models import Acknowledgement
from training.records.rules import certification_status
from training.records.status import end_of
from training.reports.filters import FilterError, Roster, RosterFilters, build_roster, file_name
from training.updates.rules import ACKNOWLEDGEMENT_STATUSES, acknowledgement_status, version_label
from training.updates.versions import VersionBook, version_book

ACKNOWLEDGEMENT_COLUMNS = ("employee_id", "last_name", "first_name", "agency", "unit", "document", "version",
                           "status", "due_on", "acknowledged_on")


@dataclass(frozen=True)
class AcknowledgementFilters:
    agency: str | None = None
    unit: str | None = None
    document: str | None = None     # a module's or a document's code
    status: str | None = None       # one of ACKNOWLEDGEMENT_STATUSES
    as_of: date | None = None

    def used(self) -> dict[str, str]:
        """The filters given, as text, for the audit trail and the Filters sheet."""
        return {k: v.isoformat() if isinstance(v, date) else v for k, v in asdict(self).items() if v}


@dataclass(frozen=True)
class AcknowledgementExport:
    """A checked request for the acknowledgements export: the roster's pairs, the day, the versions then."""

    filters: AcknowledgementFilters
    roster: Roster
    versions: VersionBook

    @property
    def on(self) -> date:
        return self.roster.on

    def file_name(self, extension: str) -> str:
        parts = ["acknowledgements"]
        if self.roster.agency is not None:
            parts.append(self.roster.agency.code)
        if self.roster.unit is not None:
            parts.append(self.roster.unit.code)
        parts += [value for value in (self.filters.document, self.filters.status) if value]
        return file_name(parts + [self.on.isoformat()], extension)


def build_acknowledgements(session: Session, viewer: User | None, filters: AcknowledgementFilters,
                           today: date) -> AcknowledgementExport:
    """Check `filters` as the roster's are checked, inside the viewer's scope (None: the operator, who sees
    everything). Raises FilterError (its `field` one of the filters' names) or OutOfScope."""
    if filters.status and filters.status not in ACKNOWLEDGEMENT_STATUSES:
        raise FilterError("status", f"unknown status '{filters.status}'; one of {', '.join(ACKNOWLEDGEMENT_STATUSES)}")
    if filters.document and session.scalar(
            select(Course.id).where(Course.code == filters.document, Course.active.is_(True))) is None:
        raise FilterError("document", f"no module or document with the code '{filters.document}'")
    roster = build_roster(session, viewer, RosterFilters(agency=filters.agency, unit=filters.unit,
                                                         course=filters.document, as_of=filters.as_of), today)
    return AcknowledgementExport(filters, roster, version_book(session, created_before=end_of(roster.on)))


def _statement(export: AcknowledgementExport) -> Select:
    """The roster's rows with the latest version each officer had signed by the end of the day, when they signed
    it and the module's kind. The signature is found with one index seek per row."""
    signed = aliased(Acknowledgement, name="signed")
    signed_version = aliased(CourseVersion, name="signed_version")
    latest = (select(Acknowledgement.id)
              .where(Acknowledgement.user_id == User.id, Acknowledgement.course_id == Course.id,
                     Acknowledgement.acknowledged_on <= export.on)
              .order_by(Acknowledgement.version_number.desc(), Acknowledgement.acknowledged_on.desc(),
                        Acknowledgement.id.desc())
              .limit(1).correlate(User, Course).scalar_subquery())
    return (export.roster.statement
            .add_columns(signed.version_number, signed.acknowledged_on, signed_version.policy_version, Course.kind)
            .outerjoin(signed, signed.id == latest)
            .outerjoin(signed_version, signed_version.id == signed.version_id))


def acknowledgement_rows(session: Session, export: AcknowledgementExport, batch: int = 2000) -> Iterator[tuple]:
    """One row per officer and module or document the roster lists as required on the day, in
    ACKNOWLEDGEMENT_COLUMNS order, streamed. Pairs the roster lists without a status (nothing makes the module
    required that day, as after a withdrawal) are left out, as the dashboard leaves them out. The database
    sends `batch` rows at a time: memory does not grow with the number of rows."""
    session.flush()  # rows are read at the Core level, which does not autoflush
    on, versions, wanted = export.on, export.versions, export.filters.status
    result = session.connection().execute(_statement(export).execution_options(stream_results=True))
    for row in result.yield_per(batch):
        (_user_id, employee_id, first, last, agency, unit, course_id, code, _title, _version, due_on,
         _completed_on, _score, expires_on, exempt_until, signed, signed_on, policy_version, kind) = row
        exempt = exempt_until is not None
        if certification_status(on, expires_on=expires_on, open_due_on=due_on, exempt=exempt) is None:
            continue
        status = acknowledgement_status(on, acknowledged=signed, required=versions.required_of(course_id),
                                        open_due_on=due_on, exempt=exempt)
        if wanted and status != wanted:
            continue
        label = version_label(kind, signed, policy_version) if signed is not None else None
        yield employee_id, last, first, agency, unit, code, label, status, due_on, signed_on


def record_acknowledgements_export(session: Session, export: AcknowledgementExport, fmt: str, rows: int, *,
                                   actor_id: int | None, via: str, complete: bool = True, **details) -> AuditEvent:
    """The audit event of one acknowledgements export: who, the filters, the day and the row count."""
    return record(session, "export.acknowledgements", actor_id=actor_id, target=export.file_name(fmt),
                  about=export.roster.unit or export.roster.agency, format=fmt, filters=export.filters.used(),
                  as_of=export.on.isoformat(), rows=rows, complete=complete, via=via, **details)
