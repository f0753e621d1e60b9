"""The forms of invitation and password-reset links."""
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, EqualTo, Length

from training.auth.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH


class ForgotPasswordForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(message="Enter your email address."), Length(max=254)])


class NewPasswordForm(FlaskForm):
    new_password = PasswordField("New password", validators=[DataRequired(), Length(
        min=MIN_PASSWORD_LENGTH, max=MAX_PASSWORD_LENGTH,
        message=f"The password must be {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters.")],
        render_kw={"autocomplete": "new-password"})
    confirm = PasswordField("New password again", validators=[
        DataRequired(), EqualTo("new_password", message="The two new passwords are not the same.")],
        render_kw={"autocomplete": "new-password"})
