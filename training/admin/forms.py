from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from training.auth.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from training.forms import DayField
from training.imports.rules import email_problem
from training.people.models import ROLES

ROLE_CHOICES = [SelectChoice(r, r.capitalize()) for r in ROLES]


def valid_email(_form, field) -> None:
    problem = email_problem((field.data or "").strip())
    if problem:
        raise ValidationError(problem)


class AccountForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254), valid_email])
    first_name = StringField("First name", validators=[DataRequired(), Length(max=100)])
    last_name = StringField("Last name", validators=[DataRequired(), Length(max=100)])
    employee_id = StringField("Employee id", validators=[Optional(), Length(max=64)])
    role = SelectField("Role", choices=ROLE_CHOICES)
    agency = SelectField("Agency", validators=[Optional()])
    unit = StringField("Unit code", validators=[Optional(), Length(max=64)])
    scope_unit = StringField("Acts on unit (code, with its sub-units; empty for the whole agency)",
                             validators=[Optional(), Length(max=64)])
    active = BooleanField("Active", default=True)
    password = PasswordField("New password", validators=[Optional(), Length(
        min=MIN_PASSWORD_LENGTH, max=MAX_PASSWORD_LENGTH,
        message=f"The password must be {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters.")])


class AgencyForm(FlaskForm):
    code = StringField("Code", validators=[DataRequired(), Length(max=32)])
    name = StringField("Name", validators=[DataRequired(), Length(max=200)])
    time_zone = StringField("Time zone", validators=[DataRequired(), Length(max=64)])


class UnitForm(FlaskForm):
    agency = SelectField("Agency")
    code = StringField("Code", validators=[DataRequired(), Length(max=64)])
    name = StringField("Name", validators=[DataRequired(), Length(max=200)])
    parent = SelectField("Parent unit", validators=[Optional()])


class ApiTokenForm(FlaskForm):
    name = StringField("Name (the system that uses it)", validators=[DataRequired(), Length(max=100)])
    agency = SelectField("Agency it sees")
    unit = StringField("Only this unit and the units below it (code; empty for the whole agency)",
                       validators=[Optional(), Length(max=64)])
    write = BooleanField("May also assign modules and upload rosters, as a coordinator may")
    expires = DayField("Last day it works", validators=[Optional()])
