"""Forms and form pieces shared by several blueprints."""
from __future__ import annotations

import re
from datetime import date

from flask_wtf import FlaskForm
from wtforms import DateField

# What every date field takes: the browser's date picker sends year first; typed by hand where a browser has no
# picker, month/day/year as the picker shows it in the United States.
DATE_FORMATS = (re.compile(r"(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})"),
                re.compile(r"(?P<m>\d{1,2})/(?P<d>\d{1,2})/(?P<y>\d{4})"))
DATE_HINT = "Pick the date from the calendar, or type it as month/day/year, like 12/31/2026."


class EmptyForm(FlaskForm):
    """A form with only the CSRF token, for buttons that change something."""


def parse_day(text: str | None) -> date | None:
    """A day typed or picked in a date field, in any of DATE_FORMATS; None when it is none of them."""
    text = (text or "").strip()
    for pattern in DATE_FORMATS:
        if (found := pattern.fullmatch(text)) is not None:
            try:
                day = date(int(found["y"]), int(found["m"]), int(found["d"]))
            except ValueError:
                return None
            return day if 1900 <= day.year <= 2999 else None
    return None


def not_a_day(text: str) -> str:
    return f"'{text[:20]}' is not a date: pick it from the calendar, or type it like 12/31/2026."


class DayField(DateField):
    """A date field reading what the date picker sends or a date typed as month/day/year."""

    def process_formdata(self, valuelist):
        text = valuelist[0] if valuelist else ""
        self.data = parse_day(text) if text.strip() else None
        if text.strip() and self.data is None:
            raise ValueError(not_a_day(text))


def has_errors(form: FlaskForm) -> bool:
    """Whether any field holds a problem (form.errors is kept from its first reading; this reads them now)."""
    return any(field.errors for field in form)


def problems_of(form: FlaskForm) -> list[str]:
    """Every error of a form, each after its field's label, in the order of the fields."""
    return [f"{field.label.text}: {error}" for field in form if field.type != "CSRFTokenField"
            for error in field.errors]
