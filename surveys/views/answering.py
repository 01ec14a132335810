"""Surveys in the UI: answering ("My surveys", the answer form, the confirmation) and, for change
leaders and admins, the survey builder (list, create and edit, a survey's page, activate, close)."""
from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from adoption.access import current_scope, role_required
from adoption.extensions import db
from adoption.forms import ConfirmForm
from adoption.models import OrgUnit, Role
from adoption.org import units_in_scope
from adoption.timekeeping import org_today
from adoption.views.shell import ROLE_LABELS
from surveys.forms import (
    EMPTY_CUSTOM_ROWS,
    RECURRENCE_LABELS,
    SCALE_LABELS,
    AnswerForm,
    SurveyBuilderForm,
    answers_from,
)
from surveys.models import RoundQuestion, Scale, Survey, SurveyQuestion, SurveyRound, SurveyStatus
from surveys.services import (
    AnswerError,
    RoundAccess,
    SurveyError,
    activate_survey,
    close_survey,
    create_survey,
    get_draft,
    has_submitted,
    item_bank_versions,
    my_open_rounds,
    next_round_dates,
    questions_for,
    round_access,
    save_draft,
    schedule_rounds,
    submit_response,
    update_survey,
)
from surveys.views import bp

LIKERT_LABELS = ("Strongly disagree", "Disagree", "Neither agree nor disagree", "Agree", "Strongly agree")


def _employee():
    """The signed-in user's employee record; surveys are for people on the roster."""
    if current_user.employee is None:
        abort(404)
    return current_user.employee


def _round(round_id: int, with_questions: bool = True) -> SurveyRound:
    """The round with its survey, and its questions unless told otherwise, in one statement (the
    form and the answer check read them all), or 404."""
    options = [joinedload(SurveyRound.survey)]
    if with_questions:
        options.append(joinedload(SurveyRound.questions).joinedload(RoundQuestion.question)
                       .joinedload(SurveyQuestion.item_version))
    survey_round = db.session.get(SurveyRound, round_id, options=options)
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


def _answer_page(survey_round: SurveyRound, questions: list, form: AnswerForm, values: dict, errors: dict,
                 status: int = 200):
    """Render the answer form's ``questions`` with ``values`` filled in and ``errors`` by round question id."""
    return render_template(
        "surveys/answer.html", survey_round=survey_round, questions=questions, form=form, values=values,
        errors=errors, likert_labels=LIKERT_LABELS, Scale=Scale,
    ), status


@bp.route("/rounds/<int:round_id>", methods=["GET", "POST"])
@login_required
def answer(round_id: int):
    """Show the round's questions; save a draft or submit the response."""
    employee, survey_round = _employee(), _round(round_id)
    # A submission is checked by the service (a second one is refused there, in the same words).
    access = round_access(employee, survey_round, _today()) if request.method == "GET" else None
    if access is RoundAccess.SUBMITTED:
        flash("You have already answered this survey. Thank you: each person answers once per round.", "info")
        return redirect(url_for("surveys.mine"))
    form = AnswerForm()
    # Only the questions asked of this person today: another unit's follow-up item is not shown.
    questions = questions_for(employee, survey_round, _today())
    if form.validate_on_submit():
        answers = answers_from(request.form, questions)
        try:
            if form.send.data:
                submit_response(employee, survey_round, answers, _today())
            else:
                save_draft(employee, survey_round, answers, _today())
        except AnswerError as exc:
            db.session.rollback()
            return _answer_page(survey_round, questions, form, answers, exc.errors, 422)
        except SurveyError as exc:
            db.session.rollback()
            flash(str(exc), "warning")
            return redirect(url_for("surveys.mine"))
        db.session.commit()
        # round_id, not survey_round.id: the commit expired the round, and reading it costs a query.
        if form.send.data:
            return redirect(url_for("surveys.submitted", round_id=round_id))
        flash("Draft saved. Only you can see it until you submit.", "success")
        return redirect(url_for("surveys.answer", round_id=round_id))
    if request.method == "POST":
        abort(400)  # a missing or stale CSRF token
    if access is not RoundAccess.OPEN:
        flash("This survey is not open for you.", "warning")
        return redirect(url_for("surveys.mine"))
    draft = get_draft(employee, survey_round)
    values = {int(k): v for k, v in (draft.answers if draft else {}).items()}
    return _answer_page(survey_round, questions, form, values, {})


@bp.route("/rounds/<int:round_id>/submitted")
@login_required
def submitted(round_id: int):
    """Confirm the submission and say exactly who can see what."""
    employee, survey_round = _employee(), _round(round_id, with_questions=False)
    if not has_submitted(employee, survey_round):
        return redirect(url_for("surveys.answer", round_id=round_id))
    return render_template("surveys/submitted.html", survey_round=survey_round,
                           min_group=current_app.config.get("SURVEY_MIN_RESPONDENTS", 5))


# ------------------------------------------------------------------ the survey builder

BUILDERS = (Role.CHANGE_LEADER, Role.ADMIN)


def _survey(survey_id: int) -> Survey:
    """The survey, or 404."""
    survey = db.session.get(Survey, survey_id)
    if survey is None:
        abort(404)
    return survey


@bp.route("/manage/")
@role_required(*BUILDERS)
def manage():
    """Every survey with its status, audience, schedule and next round."""
    surveys = db.session.scalars(select(Survey).order_by(Survey.id.desc())).all()
    today = _today()
    return render_template("surveys/manage_list.html", surveys=surveys, today=today,
                           next_round={s.id: next_round_dates(s, today) for s in surveys},
                           recurrence_labels=RECURRENCE_LABELS)


def _builder_page(form: SurveyBuilderForm, survey: Survey | None, versions, error: str | None = None,
                  status: int = 200):
    """The create/edit form with the bank grouped by construct and the service's refusal, if any."""
    groups: dict[str, list] = {}
    for version in versions:
        groups.setdefault(version.item.construct, []).append(version)
    return render_template(
        "surveys/manage_form.html", form=form, survey=survey, groups=groups, error=error,
        locked=bool(survey is not None and survey.rounds), role_labels=ROLE_LABELS, scale_labels=SCALE_LABELS,
    ), status


def _schedule_args(form: SurveyBuilderForm) -> dict:
    """The form's audience, schedule and sampling as service arguments."""
    return {
        "title": form.title.data,
        "audience_units": [db.session.get(OrgUnit, uid) for uid in form.units.data],
        "audience_roles": form.roles.data or None,
        "recurrence": form.recurrence.data,
        "first_opens_on": form.first_opens_on.data,
        "round_length_days": form.round_length_days.data,
        "ends_on": form.ends_on.data,
        "max_items_per_round": form.max_items_per_round.data,
        "rotate_every": form.rotate_every.data,
    }


def _after_save(form: SurveyBuilderForm, survey: Survey, verb: str):
    """Back to the form for more questions, or on to the survey's page."""
    flash(f"Survey \u201c{survey.title}\u201d {verb}.", "success")
    if form.save_more.data:
        return redirect(url_for("surveys.edit_survey", survey_id=survey.id) + "#custom-questions")
    return redirect(url_for("surveys.survey_detail", survey_id=survey.id))


@bp.route("/manage/new", methods=["GET", "POST"])
@role_required(*BUILDERS)
def new_survey():
    """Build a draft survey: audience, schedule, sampling, bank items and custom questions."""
    versions = item_bank_versions()
    form = SurveyBuilderForm()
    form.set_choices(units_in_scope(current_scope()), versions)
    if not form.validate_on_submit():
        return _builder_page(form, None, versions, status=422 if request.method == "POST" else 200)
    try:
        survey = create_survey(created_by=current_user, questions=form.question_specs(), **_schedule_args(form))
    except SurveyError as exc:
        db.session.rollback()
        return _builder_page(form, None, versions, error=str(exc), status=422)
    db.session.commit()
    return _after_save(form, survey, "saved as a draft")


def _form_data(survey: Survey) -> dict:
    """A survey's current values in the shape of ``SurveyBuilderForm``."""
    bank = [q for q in survey.active_questions if q.item_version_id is not None]
    custom = [
        {"wording": q.custom_wording, "scale": q.custom_scale, "options": "\n".join(q.custom_options or []),
         "allow_comment": q.allow_comment, "required": q.required}
        for q in survey.active_questions if q.item_version_id is None
    ]
    return {
        "title": survey.title, "units": [u.id for u in survey.audience_units], "roles": survey.audience_roles or [],
        "recurrence": survey.recurrence, "first_opens_on": survey.first_opens_on,
        "round_length_days": survey.round_length_days, "ends_on": survey.ends_on,
        "max_items_per_round": survey.max_items_per_round, "rotate_every": survey.rotate_every,
        "items": [q.item_version_id for q in bank],
        "item_comments": [q.item_version_id for q in bank if q.allow_comment],
        "custom": custom + [{}] * EMPTY_CUSTOM_ROWS,
    }


@bp.route("/manage/<int:survey_id>/edit", methods=["GET", "POST"])
@role_required(*BUILDERS)
def edit_survey(survey_id: int):
    """Change a survey within what ``update_survey`` allows (the schedule is fixed once rounds exist)."""
    survey = _survey(survey_id)
    if survey.status == SurveyStatus.CLOSED.value:
        flash("A closed survey cannot be changed.", "warning")
        return redirect(url_for("surveys.survey_detail", survey_id=survey.id))
    bank = {q.item_version_id: q for q in survey.active_questions if q.item_version_id is not None}
    versions = item_bank_versions(include=bank)
    form = SurveyBuilderForm(data=None if request.method == "POST" else _form_data(survey))
    form.set_choices(units_in_scope(current_scope()), versions)
    if survey.rounds and request.method == "POST":
        # The fixed fields are shown disabled, so the browser does not send them.
        form.recurrence.data = survey.recurrence
        form.first_opens_on.data = survey.first_opens_on
        form.round_length_days.data = survey.round_length_days
    if not form.validate_on_submit():
        return _builder_page(form, survey, versions, status=422 if request.method == "POST" else 200)
    try:
        update_survey(survey, questions=form.question_specs(bank), **_schedule_args(form))
    except SurveyError as exc:
        db.session.rollback()
        return _builder_page(form, db.session.get(Survey, survey_id), versions, error=str(exc), status=422)
    db.session.commit()
    return _after_save(form, survey, "saved")


@bp.route("/manage/<int:survey_id>")
@role_required(*BUILDERS)
def survey_detail(survey_id: int):
    """A survey's questions, its rounds and what was asked in each, and its actions."""
    survey = _survey(survey_id)
    today = _today()
    return render_template("surveys/manage_detail.html", survey=survey, action_form=ConfirmForm(),
                           next_round=next_round_dates(survey, today), today=today,
                           recurrence_labels=RECURRENCE_LABELS, scale_labels=SCALE_LABELS,
                           role_labels=ROLE_LABELS)


@bp.route("/manage/<int:survey_id>/activate", methods=["POST"])
@role_required(*BUILDERS)
def activate(survey_id: int):
    """Open a draft survey and schedule its rounds up to today."""
    survey = _survey(survey_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        activate_survey(survey)
        created = schedule_rounds(survey, _today())
    except SurveyError as exc:
        db.session.rollback()
        flash(f"The survey was not activated: {exc}.", "danger")
        return redirect(url_for("surveys.survey_detail", survey_id=survey_id))
    db.session.commit()
    if created:
        flash(f"Survey activated: {len(created)} round{'s' if len(created) != 1 else ''} scheduled.", "success")
    else:
        flash(f"Survey activated: the first round opens on {survey.first_opens_on:%d %b %Y}.", "success")
    return redirect(url_for("surveys.survey_detail", survey_id=survey_id))


@bp.route("/manage/<int:survey_id>/close", methods=["POST"])
@role_required(*BUILDERS)
def close(survey_id: int):
    """Close an active survey: no more rounds are offered; results stay."""
    survey = _survey(survey_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        close_survey(survey)
    except SurveyError as exc:
        db.session.rollback()
        flash(f"The survey was not closed: {exc}.", "danger")
        return redirect(url_for("surveys.survey_detail", survey_id=survey_id))
    db.session.commit()
    flash("Survey closed: no further rounds will be offered.", "success")
    return redirect(url_for("surveys.survey_detail", survey_id=survey_id))
