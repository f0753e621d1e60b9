"""The roster filter form: read from the query string, so a filtered export is a plain link."""
from __future__ import annotations

from wtforms import Form, RadioField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional

from training.forms import DayField
from training.records.rules import STATUSES
from training.reports.acknowledgements import AcknowledgementFilters
from training.reports.export import FORMATS
from training.reports.filters import RosterFilters
from training.reports.questions import QuestionFilters
from training.updates.rules import ACKNOWLEDGEMENT_STATUSES

_FORMAT_CHOICES = [SelectChoice("csv", "CSV (spreadsheet text, UTF-8)"), SelectChoice("xlsx", "Excel workbook (XLSX)")]


class _ExportForm(Form):
    """An export's filters and its file format, CSV or XLSX."""

    format = RadioField("Format", choices=_FORMAT_CHOICES, default="csv")

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        if self.format.data not in FORMATS:
            self.format.errors = ["Choose CSV or XLSX."]
            ok = False
        return ok


class RosterForm(_ExportForm):
    agency = SelectField("Agency", validate_choice=False)
    unit = SelectField("Unit (with its sub-units)", validate_choice=False)
    course = SelectField("Module", validate_choice=False)
    status = SelectField("Status", validate_choice=False,
                         choices=[SelectChoice("", "Any status")] + [SelectChoice(s, s.capitalize()) for s in STATUSES])
    completed_from = DayField("Completed on or after", validators=[Optional()])
    completed_to = DayField("Completed on or before", validators=[Optional()])
    expiring_before = DayField("Expiring before", validators=[Optional()])
    as_of = DayField("As it stood on", validators=[Optional()])

    def filters(self) -> RosterFilters:
        return RosterFilters(agency=self.agency.data or None, unit=self.unit.data or None,
                             course=self.course.data or None, status=self.status.data or None,
                             completed_from=self.completed_from.data, completed_to=self.completed_to.data,
                             expiring_before=self.expiring_before.data, as_of=self.as_of.data)


class AcknowledgementsForm(_ExportForm):
    """The acknowledgements export's filters, on the roster export page beside the roster's (hence the prefix)."""

    agency = SelectField("Agency", validate_choice=False)
    unit = SelectField("Unit (with its sub-units)", validate_choice=False)
    document = SelectField("Module or document", validate_choice=False)
    status = SelectField("Status", validate_choice=False,
                         choices=[SelectChoice("", "Any status")] + [SelectChoice(s, s.capitalize())
                                                                     for s in ACKNOWLEDGEMENT_STATUSES])
    as_of = DayField("As it stood on", validators=[Optional()])

    def __init__(self, formdata=None, **kwargs):
        super().__init__(formdata, prefix="ack", **kwargs)

    def filters(self) -> AcknowledgementFilters:
        return AcknowledgementFilters(agency=self.agency.data or None, unit=self.unit.data or None,
                                      document=self.document.data or None, status=self.status.data or None,
                                      as_of=self.as_of.data)


class QuestionsForm(Form):
    """The question analytics' filters: a module and the days the quizzes were submitted on."""

    course = SelectField("Module", validate_choice=False)
    start = DayField("From", name="from", validators=[Optional()])
    end = DayField("To", name="to", validators=[Optional()])

    def filters(self) -> QuestionFilters:
        return QuestionFilters(course=self.course.data or None, start=self.start.data, end=self.end.data)
