from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from training.forms import DayField


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class AssignForm(FlaskForm):
    courses = MultiCheckboxField("Modules", validators=[DataRequired(message="Choose at least one module.")])
    target = RadioField("Assign to", choices=[SelectChoice("unit", "A unit and its sub-units"),
                                              SelectChoice("officer", "One officer"),
                                              SelectChoice("agency", "A whole agency")], default="unit",
                        validators=[InputRequired()])
    # The lists hold only what is in the user's scope; the view checks the chosen one against the scope again.
    unit = SelectField("Unit", validate_choice=False, validators=[Optional(), Length(max=64)])
    officer = SelectField("Officer", validate_choice=False, validators=[Optional(), Length(max=64)])
    agency = SelectField("Agency", validate_choice=False, validators=[Optional(), Length(max=64)])
    due_on = DayField("Due date", validators=[InputRequired(message="Enter the due date.")])
    confirm_far = BooleanField("Yes, a due date more than two years ahead is meant")


class RuleForm(FlaskForm):
    unit = SelectField("Unit (with its sub-units)", validators=[DataRequired()])
    course = SelectField("Module", validators=[DataRequired()])
    days = IntegerField("Days a newcomer has to complete it", default=30,
                        validators=[InputRequired(), NumberRange(min=1, max=365)])


class ExtendForm(FlaskForm):
    """Extend or correct one assignment's due date."""
    due_on = DayField("New due date", validators=[InputRequired(message="Enter the new due date.")])
    reason = TextAreaField("Reason", validators=[DataRequired(message="Give a reason."), Length(max=1000)])
    confirm_far = BooleanField("Yes, a due date more than two years ahead is meant")


class WithdrawForm(FlaskForm):
    reason = TextAreaField("Reason", validators=[DataRequired(message="Give a reason."), Length(max=1000)])


BULK_ACTIONS = [SelectChoice("extend", "Extend (more time)"), SelectChoice("set_due", "Correct the due date"),
                SelectChoice("withdraw", "Withdraw"), SelectChoice("exempt", "Exempt")]


class BulkForm(FlaskForm):
    """One action on the open assignments of the officers selected on a unit's page, or of the whole unit."""
    action = RadioField("Action", choices=BULK_ACTIONS, validators=[InputRequired(message="Choose an action.")])
    course = SelectField("Module", validators=[DataRequired()])
    whole_unit = BooleanField("Every officer of the unit and its sub-units, not only the selected ones")
    unit = StringField("Unit", validators=[Length(max=64)])
    due_on = DayField("New due date, or the last day of the exemption", validators=[Optional()])
    reason = TextAreaField("Reason", validators=[DataRequired(message="Give a reason."), Length(max=1000)])
    confirm_far = BooleanField("Yes, a due date more than two years ahead is meant")


class ExemptForm(FlaskForm):
    course = SelectField("Module", validators=[DataRequired()])
    starts_on = DayField("From", validators=[InputRequired(message="Enter the first day of the exemption.")])
    ends_on = DayField("Until", validators=[InputRequired(message="Enter the last day of the exemption.")])
    reason = TextAreaField("Reason", validators=[DataRequired(message="Give a reason."), Length(max=1000)])
