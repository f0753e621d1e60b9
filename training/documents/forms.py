from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import HiddenField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length


class PublishForm(FlaskForm):
    """A document's new version; with `code` for a new document. Markdown text or a PDF, exactly one."""

    code = StringField("Document code", validators=[DataRequired(message="Give the document a code."),
                                                     Length(max=64)])
    title = StringField("Title", validators=[DataRequired(message="Give the document a title."), Length(max=200)])
    version = StringField("Version", validators=[DataRequired(message="Give the version its label, like 2026-3."),
                                                 Length(max=64)])
    summary = TextAreaField("Summary of changes", validators=[
        DataRequired(message="Say what this version changes (for a first version, what the document is)."),
        Length(max=2000)])
    text = TextAreaField("Text (Markdown)", validators=[Length(max=500_000)])
    pdf = FileField("Or a PDF file")

    def validate(self, extra_validators=None) -> bool:
        """Every field's problems at once, and exactly one of the text and the PDF."""
        valid = super().validate(extra_validators)
        has_text, has_pdf = bool((self.text.data or "").strip()), self.uploaded() is not None
        if has_text == has_pdf:
            self.text.errors.append("Give the text or upload a PDF, not both." if has_text
                                    else "Give the document's text, or upload its PDF.")
            valid = False
        return valid

    def uploaded(self):
        """The file sent, if one was chosen."""
        data = self.pdf.data
        return data if data is not None and getattr(data, "filename", "") else None


class SignForm(FlaskForm):
    full_name = StringField("Your full name", validators=[DataRequired(message="Type your full name to sign."),
                                                          Length(max=200)])
    # The fingerprint of the version shown, so that a version published meanwhile is not signed unread.
    sha256 = HiddenField(validators=[DataRequired(), Length(max=64)])
