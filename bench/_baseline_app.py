"""The baseline of bench/survey_load.py: a minimal Flask app with a 12-field Flask-WTF form.

Served by gunicorn exactly as the real app is (``gunicorn --chdir bench _baseline_app:app``).
``GET /form`` renders the form with its CSRF token (kept in the signed session cookie);
``POST /form`` validates the token and the 12 fields and redirects to ``/thanks``, as the survey
form does on success. No database, no login: the framework's floor for "render a form,
accept it".
"""
from __future__ import annotations

import os

from flask import Flask, redirect, render_template, url_for
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFProtect
from wtforms import RadioField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length

LIKERT = [(str(n), str(n)) for n in range(1, 6)]
NPS = [(str(n), str(n)) for n in range(11)]
CHOICE = [(c, c) for c in ("Daily", "Weekly", "Monthly", "Never")]


class PulseForm(FlaskForm):
    """Twelve answers shaped like the benchmark's survey: nine 1-5 scales, a 0-10, a choice, a text."""

    q1 = RadioField(choices=LIKERT, validators=[DataRequired()])
    q2 = RadioField(choices=LIKERT, validators=[DataRequired()])
    q3 = RadioField(choices=LIKERT, validators=[DataRequired()])
    q4 = RadioField(choices=LIKERT, validators=[DataRequired()])
    q5 = RadioField(choices=LIKERT, validators=[DataRequired()])
    q6 = RadioField(choices=LIKERT, validators=[DataRequired()])
    q7 = RadioField(choices=LIKERT, validators=[DataRequired()])
    q8 = RadioField(choices=LIKERT, validators=[DataRequired()])
    q9 = RadioField(choices=LIKERT, validators=[DataRequired()])
    q10 = RadioField(choices=NPS, validators=[DataRequired()])
    q11 = RadioField(choices=CHOICE, validators=[DataRequired()])
    q12 = TextAreaField(validators=[DataRequired(), Length(max=2000)])
    send = SubmitField("Submit")


# The inputs are written out in Jinja, as surveys/templates/surveys/answer.html does (WTForms'
# own widgets cost ~3x more to render): the same technique, without the app around it.
PAGE = """<!doctype html><title>Pulse</title>
<form method="post">{{ form.hidden_tag() }}
{% for field in form if field.name not in ("csrf_token", "send") %}<fieldset><legend>{{ field.name }}</legend>
{% if field.type == "RadioField" %}{% for value, label in field.choices %}<div><input type="radio" name="{{ field.name }}" id="{{ field.name }}-{{ loop.index }}" value="{{ value }}"><label for="{{ field.name }}-{{ loop.index }}">{{ label }}</label></div>
{% endfor %}{% else %}<textarea name="{{ field.name }}" id="{{ field.name }}" rows="3" maxlength="2000"></textarea>{% endif %}</fieldset>
{% endfor %}{{ form.send() }}</form>"""


def create_app() -> Flask:
    """The baseline app; its secret comes from BASELINE_SECRET_KEY (the benchmark sets it)."""
    app = Flask(__name__)
    app.config["SECRET_KEY"] = os.environ.get("BASELINE_SECRET_KEY", "baseline-bench-only")
    CSRFProtect(app)
    # Compiled once, as Flask does for a template file (render_template_string compiles per call).
    page = app.jinja_env.from_string(PAGE)

    @app.route("/form", methods=["GET", "POST"])
    def form():
        """Show the form; accept a valid submission with a redirect."""
        pulse = PulseForm()
        if pulse.validate_on_submit():
            return redirect(url_for("thanks"))
        return render_template(page, form=pulse), 422 if pulse.is_submitted() else 200

    @app.route("/thanks")
    def thanks():
        """Where a submission lands."""
        return "Thank you."

    return app


app = create_app()
