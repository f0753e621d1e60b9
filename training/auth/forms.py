from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from training.auth.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=256)])


class PasswordForm(FlaskForm):
    current_password = PasswordField("Current password", validators=[DataRequired(), Length(max=256)])
    new_password = PasswordField("New password", validators=[DataRequired(), Length(
        min=MIN_PASSWORD_LENGTH, max=MAX_PASSWORD_LENGTH,
        message=f"The password must be {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters.")])
    confirm = PasswordField("New password again", validators=[
        DataRequired(), EqualTo("new_password", message="The two new passwords are not the same.")])


class CodeForm(FlaskForm):
    code = StringField("Code", validators=[DataRequired(message="Enter the code."), Length(max=64)],
                       render_kw={"autocomplete": "one-time-code", "autocapitalize": "off", "spellcheck": "false"})
