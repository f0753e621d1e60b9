from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional

from training.audit.describe import KINDS
from training.forms import DayField


class AuditFilterForm(FlaskForm):
    """Filters read from the query string (a GET form: no CSRF token)."""

    class Meta:
        csrf = False

    kind = SelectField("Kind", validators=[Optional()],
                       choices=[SelectChoice("", "All events")] + [SelectChoice(k, v) for k, v in KINDS.items()])
    actor = StringField("Done by (name or email contains)", validators=[Optional(), Length(max=254)])
    action = SelectField("Action", validators=[Optional()])
    date_from = DayField("From", validators=[Optional()])
    date_to = DayField("To", validators=[Optional()])
