"""Answering surveys: "My surveys", the answer form, the confirmation."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from adoption.extensions import db
from adoption.timekeeping import org_today
from surveys.forms import AnswerForm, answers_from
from surveys.models import Scale, SurveyRound
from surveys.services import (
    AnswerError,
    SurveyError,
    get_draft,
    has_submitted,
    my_open_rounds,
    save_draft,
    submit_response,
)

bp = Blueprint("surveys", __name__, url_prefix="/surveys", template_folder="templates")

LIKERT_LABELS = ("Strongly disagree", "Disagree", "Neither agree nor disagree", "Agree", "Strongly agree")


def _employee():
    """The signed-in user's employee record; surveys are for people on the roster."""
    if current_user.employee is None:
        abort(404)
    return current_user.employee


def _round(round_id: int) -> SurveyRound:
    """The round, or 404."""
    survey_round = db.session.get(SurveyRound, round_id)
    if survey_round is None:
        abort(404)
    return survey_round


def _today():
    """Today in the organization's time zone."""
    return org_today(current_app.config["ORG_TIMEZONE"])


@bp.route("/")
@login_required
def mine():
    """The rounds the signed-in employee can answer today."""
    employee = current_user.employee
    rounds = my_open_rounds(employee, _today()) if employee is not None else []
    return render_template("surveys/mine.html", rounds=rounds, has_employee=employee is not None)


def _answer_page(survey_round: SurveyRound, form: AnswerForm, values: dict, errors: dict, status: int = 200):
    """Render the answer form with ``values`` filled in and ``errors`` by round question id."""
    return render_template(
        "surveys/answer.html", survey_round=survey_round, form=form, values=values, errors=errors,
        likert_labels=LIKERT_LABELS, Scale=Scale,
    ), status


@bp.route("/rounds/<int:round_id>", methods=["GET", "POST"])
@login_required
def answer(round_id: int):
    """Show the round's questions; save a draft or submit the response."""
    employee, survey_round = _employee(), _round(round_id)
    if has_submitted(employee, survey_round):
        flash("You have already answered this survey. Thank you: each person answers once per round.", "info")
        return redirect(url_for("surveys.mine"))
    form = AnswerForm()
    if form.validate_on_submit():
        answers = answers_from(request.form, survey_round)
        try:
            if form.send.data:
                submit_response(employee, survey_round, answers, _today())
            else:
                save_draft(employee, survey_round, answers, _today())
        except AnswerError as exc:
            db.session.rollback()
            return _answer_page(survey_round, form, answers, exc.errors, 422)
        except SurveyError as exc:
            db.session.rollback()
            flash(str(exc), "warning")
            return redirect(url_for("surveys.mine"))
        db.session.commit()
        if form.send.data:
            return redirect(url_for("surveys.submitted", round_id=survey_round.id))
        flash("Draft saved. Only you can see it until you submit.", "success")
        return redirect(url_for("surveys.answer", round_id=survey_round.id))
    if request.method == "POST":
        abort(400)  # a missing or stale CSRF token
    if survey_round not in my_open_rounds(employee, _today()):
        flash("This survey is not open for you.", "warning")
        return redirect(url_for("surveys.mine"))
    draft = get_draft(employee, survey_round)
    values = {int(k): v for k, v in (draft.answers if draft else {}).items()}
    return _answer_page(survey_round, form, values, {})


@bp.route("/rounds/<int:round_id>/submitted")
@login_required
def submitted(round_id: int):
    """Confirm the submission and say exactly who can see what."""
    employee, survey_round = _employee(), _round(round_id)
    if not has_submitted(employee, survey_round):
        return redirect(url_for("surveys.answer", round_id=round_id))
    return render_template("surveys/submitted.html", survey_round=survey_round,
                           min_group=current_app.config.get("SURVEY_MIN_RESPONDENTS", 5))
