"""The evidence packet form on an officer's page."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms.validators import Optional

from training.forms import DayField


class EvidenceForm(FlaskForm):
    as_of = DayField("As of (optional)", validators=[Optional()])
