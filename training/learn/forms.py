from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length


class AcknowledgeForm(FlaskForm):
    full_name = StringField("Your full name", validators=[DataRequired(), Length(max=200)])
