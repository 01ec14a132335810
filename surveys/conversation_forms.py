"""Forms of comments and conversations (kept apart from surveys/forms.py, which other features extend)."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length

from surveys.services import MAX_TEXT_LENGTH


class ReplyForm(FlaskForm):
    """A message in a conversation: a leader's reply, or the author's answer."""

    body = TextAreaField("Your reply", validators=[
        DataRequired("Write a message first."),
        Length(max=MAX_TEXT_LENGTH, message=f"Keep the message under {MAX_TEXT_LENGTH} characters."),
    ])
    submit = SubmitField("Send")


class CloseConversationForm(FlaskForm):
    """The author's "Close conversation" button: carries the CSRF token only."""

    submit = SubmitField("Close conversation")
