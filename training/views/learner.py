"""Training routes for learners: "My training", a module's start page, one page per step (lesson,
case study, check, commitment), the reaction that completes it, and the completion certificate.

Order is enforced twice: a page of a later step redirects to the current one, and the services
refuse an action on any step but the current one. The case study's commentary and discussion are
rendered only once the learner's answer is stored.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from adoption.access import current_scope
from adoption.extensions import db
from adoption.timekeeping import org_today, utcnow
from adoption.views.shell import register_nav_badge
from training.followups import pending_follow_ups
from training.forms import (
    USEFULNESS_LABELS,
    CaseAnswerForm,
    CheckForm,
    CommitmentForm,
    LessonForm,
    ReactionForm,
    StartForm,
    behaviour_label,
    check_answers,
)
from training.markdown import render
from training.models import Enrollment, Module, ModuleStep, StepKind
from training.services import (
    TrainingError,
    TrainingStatus,
    all_steps_done,
    answer_case,
    attempts,
    attempts_left,
    can_open,
    case_answer,
    certificate,
    commitment_behaviours,
    commitment_for,
    complete_lesson,
    current_step,
    done_step_ids,
    enrollment_for,
    give_reaction,
    make_commitment,
    my_training,
    pass_mark,
    start_module,
    step_by_key,
    submit_check,
    visible_module,
)
from training.views import bp
from training.xapi_intake import learning_elsewhere

STAGE_LABELS = {
    StepKind.LESSON.value: "Lesson",
    StepKind.CASE_STUDY.value: "Case study",
    StepKind.CHECK.value: "Check",
    StepKind.COMMITMENT.value: "Commitment",
}
STATUS_LABELS = {
    TrainingStatus.OVERDUE: "Overdue",
    TrainingStatus.IN_PROGRESS: "In progress",
    TrainingStatus.NOT_STARTED: "Not started",
    TrainingStatus.COMPLETED: "Completed",
}


def _employee():
    """The signed-in user's employee record; training is for people on the roster."""
    if current_user.employee is None:
        abort(404)
    return current_user.employee


def _today():
    """Today in the organization's time zone."""
    return org_today(current_app.config["ORG_TIMEZONE"])


def _module(slug: str) -> Module:
    """The module the signed-in employee may open, or 404."""
    module = visible_module(_employee(), slug)
    if module is None:
        abort(404)
    return module


def _csrf_failed(form) -> bool:
    """True when a POST came without a valid CSRF token (a stale page or a forged request)."""
    token = getattr(form, "csrf_token", None)
    return request.method == "POST" and token is not None and bool(token.errors)


def _step_url(module: Module, step: ModuleStep) -> str:
    return url_for("training.step", slug=module.slug, key=step.key)


def _resume_url(module: Module, enrollment: Enrollment) -> str:
    """Where the learner carries on: their current step, the reaction, or the certificate."""
    step = current_step(enrollment)
    if step is not None:
        return _step_url(module, step)
    if enrollment.completed_at is None:
        return url_for("training.reaction", slug=module.slug)
    return url_for("training.my_certificate", slug=module.slug)


@dataclass(frozen=True)
class Stage:
    """One entry of the progress indicator: a step, or the closing reaction."""

    label: str
    title: str
    url: str | None  # None while the stage is not open yet
    done: bool
    current: bool


def _stages(module: Module, enrollment: Enrollment | None, showing: str | None) -> list[Stage]:
    """The module's steps and its reaction, with what is done and which one is shown."""
    done = done_step_ids(enrollment) if enrollment is not None else set()
    stages = [
        Stage(STAGE_LABELS[s.kind], s.title, _step_url(module, s) if enrollment and can_open(enrollment, s) else None,
              s.id in done, showing == s.key)
        for s in module.steps
    ]
    reaction_open = enrollment is not None and len(done) == len(module.steps)
    stages.append(Stage("Reaction", "Your view of the module",
                        url_for("training.reaction", slug=module.slug) if reaction_open else None,
                        enrollment is not None and enrollment.completed_at is not None, showing == "reaction"))
    return stages


def _page(module: Module, enrollment: Enrollment | None, stage: str, showing: str | None, status: int = 200,
          **context):
    """Render one page of the module player with its progress indicator."""
    stages = _stages(module, enrollment, showing)
    return render_template(
        "training/step.html", module=module, enrollment=enrollment, stage=stage, stages=stages,
        stages_done=sum(1 for s in stages if s.done), stage_labels=STAGE_LABELS, **context,
    ), status


# ------------------------------------------------------------------ My training


@bp.route("/")
@login_required
def mine():
    """The signed-in employee's assigned, started and available modules, most urgent first."""
    employee = current_user.employee
    items = my_training(employee, _today()) if employee is not None else []
    elsewhere = learning_elsewhere(employee) if employee is not None else []
    return render_template("training/my_training.html", items=items, has_employee=employee is not None,
                           status_labels=STATUS_LABELS, today=_today(), follow_ups_due=_follow_ups_due(),
                           elsewhere=elsewhere)


def _follow_ups_due() -> int:
    """How many of the signed-in employee's commitment follow-ups wait for an answer (once per request)."""
    if "uptake_follow_ups_due" not in g:
        employee = current_user.employee if current_user.is_authenticated else None
        g.uptake_follow_ups_due = len(pending_follow_ups(employee, _today())) if employee is not None else 0
    return g.uptake_follow_ups_due


@bp.record_once
def _register_badge(state) -> None:
    """The number of follow-ups waiting beside "My training" in the navigation."""
    register_nav_badge(state.app, "training-follow-ups", _follow_ups_due)


# ------------------------------------------------------------------ the module player


@bp.route("/modules/<slug>", methods=["GET", "POST"])
@login_required
def module_page(slug: str):
    """A module's start page (what it is about, its steps, the start button); a learner who has
    started it resumes at their current step, one who completed it finds their certificate."""
    employee, module = _employee(), _module(slug)
    enrollment = enrollment_for(employee, module)
    form = StartForm()
    if form.validate_on_submit():
        try:
            enrollment = start_module(employee, module, utcnow())
        except TrainingError as exc:
            db.session.rollback()
            flash(str(exc), "warning")
            return redirect(url_for("training.mine"))
        db.session.commit()
        return redirect(_resume_url(module, enrollment))
    if request.method == "POST":
        abort(400)  # a missing or stale CSRF token
    if enrollment is not None and enrollment.completed_at is None:
        return redirect(_resume_url(module, enrollment))  # resume where they left off
    resume = _resume_url(module, enrollment) if enrollment is not None else None
    return _page(module, enrollment, "start", None, form=form, resume_url=resume,
                 summary_html=render(module.summary))


def _step_context(module: Module, enrollment: Enrollment, step: ModuleStep) -> dict:
    """What the page of ``step`` shows, by kind (the commentary only once the case is answered)."""
    done = step.id in done_step_ids(enrollment)
    following = next((s for s in module.steps if s.position > step.position), None)
    next_url = _step_url(module, following) if following else url_for("training.reaction", slug=module.slug)
    context = {"step": step, "done": done, "next_url": next_url, "body_html": render(step.body)}
    if step.kind == StepKind.CASE_STUDY.value:
        answer = case_answer(enrollment, step)
        context["answer"] = answer
        if answer is not None:
            context["commentary_html"] = render(step.commentary)
            context["discussion"] = list(step.discussion or [])
    elif step.kind == StepKind.CHECK.value:
        taken = attempts(enrollment, step)
        context.update(attempts=taken, latest=taken[-1] if taken else None, attempts_left=attempts_left(enrollment, step),
                       pass_mark=pass_mark(step))
        if taken:
            context["latest_answers"] = {a.question_id: a for a in taken[-1].answers}
    elif step.kind == StepKind.COMMITMENT.value:
        context["commitment"] = commitment_for(enrollment, step)
        context["behaviour_label"] = behaviour_label
    return context


_FORMS = {
    StepKind.LESSON.value: LessonForm,
    StepKind.CASE_STUDY.value: CaseAnswerForm,
    StepKind.CHECK.value: CheckForm,
    StepKind.COMMITMENT.value: CommitmentForm,
}


def _take(enrollment: Enrollment, step: ModuleStep, form) -> None:
    """Call the service that fits the step's kind with the validated form."""
    now = utcnow()
    if step.kind == StepKind.LESSON.value:
        complete_lesson(enrollment, step, now)
    elif step.kind == StepKind.CASE_STUDY.value:
        answer_case(enrollment, step, form.answer.data, now)
    elif step.kind == StepKind.CHECK.value:
        submit_check(enrollment, step, check_answers(request.form, step.questions), now)
    else:
        make_commitment(enrollment, step, form.text.data, form.key_behaviour.data, _today(), now)


@bp.route("/modules/<slug>/steps/<key>", methods=["GET", "POST"], endpoint="step")
@login_required
def step_page(slug: str, key: str):
    """One step of a module: show it, and take it (only the current step can be taken)."""
    employee, module = _employee(), _module(slug)
    step = step_by_key(module, key)
    if step is None:
        abort(404)
    enrollment = enrollment_for(employee, module)
    if enrollment is None:
        flash("Start the module first.", "info")
        return redirect(url_for("training.module_page", slug=slug))
    form = _FORMS[step.kind]()
    if isinstance(form, CommitmentForm):
        form.set_behaviours(commitment_behaviours(module))
    if form.validate_on_submit():
        try:
            _take(enrollment, step, form)
        except TrainingError as exc:
            db.session.rollback()
            flash(str(exc), "warning")
            return redirect(_resume_url(module, enrollment))
        db.session.commit()
        if step.kind == StepKind.CASE_STUDY.value:
            return redirect(_step_url(module, step) + "#commentary")
        if step.kind == StepKind.CHECK.value:
            return redirect(_step_url(module, step) + "#result")
        return redirect(_resume_url(module, enrollment))
    if _csrf_failed(form):
        abort(400)
    if not can_open(enrollment, step):
        flash("Steps are taken in order: here is where you left off.", "info")
        return redirect(_resume_url(module, enrollment))
    status = 422 if request.method == "POST" else 200
    return _page(module, enrollment, step.kind, step.key, status, form=form,
                 **_step_context(module, enrollment, step))


@bp.route("/modules/<slug>/reaction", methods=["GET", "POST"])
@login_required
def reaction(slug: str):
    """The closing question (how useful, 1-5, and a comment); answering it completes the module."""
    employee, module = _employee(), _module(slug)
    enrollment = enrollment_for(employee, module)
    if enrollment is None:
        return redirect(url_for("training.module_page", slug=slug))
    if enrollment.completed_at is not None:
        return redirect(url_for("training.my_certificate", slug=slug))
    if not all_steps_done(enrollment):
        flash("Finish every step before you rate the module.", "info")
        return redirect(_resume_url(module, enrollment))
    form = ReactionForm()
    if form.validate_on_submit():
        try:
            give_reaction(enrollment, form.score.data, form.comment.data, _today(), utcnow())
        except TrainingError as exc:
            db.session.rollback()
            flash(str(exc), "warning")
            return redirect(url_for("training.reaction", slug=slug))
        db.session.commit()
        flash(f"Well done: you have completed \u201c{module.title}\u201d.", "success")
        return redirect(url_for("training.my_certificate", slug=slug))
    if _csrf_failed(form):
        abort(400)
    status = 422 if request.method == "POST" else 200
    return _page(module, enrollment, "reaction", "reaction", status, form=form, usefulness_labels=USEFULNESS_LABELS)


# ------------------------------------------------------------------ the certificate


def _certificate_page(slug: str, employee_id: int):
    """The certificate, if the reader's scope covers the learner and they completed the module (else 404)."""
    found = certificate(current_scope(), slug, employee_id)
    if found is None:
        abort(404)
    return render_template("training/certificate.html", certificate=found)


@bp.route("/modules/<slug>/certificate")
@login_required
def my_certificate(slug: str):
    """The signed-in learner's printable completion certificate."""
    return _certificate_page(slug, _employee().id)


@bp.route("/modules/<slug>/certificate/<int:employee_id>")
@login_required
def certificate_of(slug: str, employee_id: int):
    """A learner's certificate, for their manager (within their subtree) or a change leader."""
    return _certificate_page(slug, employee_id)
