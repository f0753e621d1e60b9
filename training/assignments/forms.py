from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, RadioField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange
from wtforms.widgets import CheckboxInput, ListWidget


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class AssignForm(FlaskForm):
    courses = MultiCheckboxField("Modules", validators=[DataRequired(message="Choose at least one module.")])
    target = RadioField("Assign to", choices=[SelectChoice("unit", "A unit and its sub-units"),
                                              SelectChoice("officer", "One officer"),
                                              SelectChoice("agency", "A whole agency")], default="unit",
                        validators=[InputRequired()])
    code = StringField("Unit code, employee id or agency code", validators=[DataRequired(), Length(max=64)])
    due_on = DateField("Due date", validators=[DataRequired(message="Enter a date like 2026-12-31.")])


class RuleForm(FlaskForm):
    unit = SelectField("Unit (with its sub-units)", validators=[DataRequired()])
    course = SelectField("Module", validators=[DataRequired()])
    days = IntegerField("Days a newcomer has to complete it", default=30,
                        validators=[InputRequired(), NumberRange(min=1, max=365)])


class ExtendForm(FlaskForm):
    due_on = DateField("New due date", validators=[DataRequired(message="Enter a date like 2026-12-31.")])
    reason = TextAreaField("Reason", validators=[DataRequired(), Length(max=1000)])


class ExemptForm(FlaskForm):
    course = SelectField("Module", validators=[DataRequired()])
    starts_on = DateField("From", validators=[DataRequired(message="Enter a date like 2026-12-31.")])
    ends_on = DateField("Until", validators=[DataRequired(message="Enter a date like 2026-12-31.")])
    reason = TextAreaField("Reason", validators=[DataRequired(), Length(max=1000)])
