"""Forms shared by several blueprints."""
from flask_wtf import FlaskForm


class EmptyForm(FlaskForm):
    """A form with only the CSRF token, for buttons that change something."""
