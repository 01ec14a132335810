"""Training routes: assignments and commitment follow-ups (see training/views/__init__.py).

- change leaders and admins: ``/training/assignments/`` lists every assignment with its completion
  counts, assigns a module (``new``), withdraws one, and shows one assignment's people;
- managers: the same list counted over their subtree's people, and their team's status, read-only;
- every learner: ``/training/follow-ups/``, their due "did you do it?" questions with the evidence.
"""
from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from adoption.access import current_scope, role_required
from adoption.extensions import db
from adoption.models import OrgUnit, Role
from adoption.scope import ScopeError
from adoption.timekeeping import org_today, utcnow
from training.assignment_forms import AssignmentForm, FollowUpAnswerForm, WithdrawForm
from training.assignments import (
    STATUS_LABELS,
    AssignmentError,
    assign_module,
    assignable_modules,
    assignment_overview,
    team_training,
    units_for_choice,
    withdraw_assignment,
)
from training.followups import (
    ANSWER_DAYS,
    FollowUpError,
    answer_follow_up,
    behaviour_evidence,
    follow_up_for,
    open_until,
    past_follow_ups,
    pending_follow_ups,
)
from training.followups import STATUS_LABELS as FOLLOW_UP_LABELS
from training.models import FOLLOW_UP_DAYS, Assignment, Module
from training.views import bp

MANAGERS = (Role.CHANGE_LEADER, Role.ADMIN)
READERS = (Role.CHANGE_LEADER, Role.ADMIN, Role.MANAGER)


def _today():
    """Today in the organization's time zone."""
    return org_today(current_app.config["ORG_TIMEZONE"])


def _can_manage() -> bool:
    """True for the roles that assign and withdraw."""
    return current_user.role in {r.value for r in MANAGERS}


@bp.route("/assignments/")
@role_required(*READERS)
def assignments():
    """Assignments with completion counts over the people in scope; a manager's team status below."""
    scope, today = current_scope(), _today()
    team = team_training(scope, today) if current_user.role == Role.MANAGER.value else None
    return render_template("training/assign_list.html", summaries=assignment_overview(scope, today), team=team,
                           can_manage=_can_manage(), withdraw_form=WithdrawForm(), today=today,
                           status_labels=STATUS_LABELS)


def _form_page(form: AssignmentForm, error: str | None = None, status: int = 200):
    """The new assignment form."""
    return render_template("training/assign_form.html", form=form, error=error), status


@bp.route("/assignments/new", methods=["GET", "POST"])
@role_required(*MANAGERS)
def new_assignment():
    """Assign a published module to unit subtrees (and optionally some roles) by a due date."""
    form = AssignmentForm()
    form.set_choices(assignable_modules(), units_for_choice())
    if not form.validate_on_submit():
        return _form_page(form, status=422 if form.is_submitted() else 200)
    module = db.session.get(Module, form.module.data)
    units = [u for u in (db.session.get(OrgUnit, i) for i in form.units.data) if u is not None]
    if module is None:
        abort(404)
    try:
        assignment = assign_module(module, units=units, roles=form.roles.data or None, due_on=form.due_on.data,
                                   joiner_days=form.joiner_days.data, created_by=current_user, today=_today())
    except AssignmentError as exc:
        db.session.rollback()
        return _form_page(form, str(exc), 422)
    db.session.commit()
    flash(f"\u201c{module.title}\u201d assigned: the people it covers see it in My training now.", "success")
    return redirect(url_for("training.assignment_detail", assignment_id=assignment.id))


@bp.route("/assignments/<int:assignment_id>")
@role_required(*READERS)
def assignment_detail(assignment_id: int):
    """One assignment: its counts and its people in scope, with their status."""
    scope, today = current_scope(), _today()
    summaries = assignment_overview(scope, today, assignment_id=assignment_id)
    if not summaries:  # none, or none of its people in this manager's subtree
        abort(404)
    return render_template("training/assign_detail.html", summary=summaries[0],
                           people=team_training(scope, today, assignment_id=assignment_id),
                           can_manage=_can_manage(), withdraw_form=WithdrawForm(), today=today,
                           status_labels=STATUS_LABELS)


@bp.route("/assignments/<int:assignment_id>/withdraw", methods=["POST"])
@role_required(*MANAGERS)
def withdraw(assignment_id: int):
    """Withdraw an assignment: no more joiners or reminders; records stay."""
    assignment = db.session.get(Assignment, assignment_id)
    if assignment is None:
        abort(404)
    if not WithdrawForm().validate_on_submit():
        abort(400)
    try:
        withdraw_assignment(assignment)
    except AssignmentError as exc:
        db.session.rollback()
        flash(str(exc).capitalize() + ".", "warning")
    else:
        db.session.commit()
        flash(f"\u201c{assignment.module.title}\u201d withdrawn: no new joiners, no more reminders.", "success")
    return redirect(url_for("training.assignments"))


# ------------------------------------------------------------------ follow-ups


def _follow_ups_page(errors: dict[int, FollowUpAnswerForm] | None = None, status: int = 200):
    """The learner's due follow-ups, each with its form and evidence, and their past answers."""
    employee, today = current_user.employee, _today()
    pending = pending_follow_ups(employee, today) if employee is not None else []
    forms = {f.id: FollowUpAnswerForm(prefix=f"f{f.id}", formdata=None) for f in pending}
    forms.update(errors or {})
    evidence = {f.commitment_id: behaviour_evidence(f.commitment, today) for f in pending}
    past = past_follow_ups(employee, today) if employee is not None else []
    return render_template("training/followups.html", pending=pending, forms=forms, evidence=evidence,
                           past=past, has_employee=employee is not None, labels=FOLLOW_UP_LABELS,
                           open_until=open_until, today=today, follow_up_days=FOLLOW_UP_DAYS,
                           answer_days=ANSWER_DAYS), status


@bp.route("/follow-ups/")
@login_required
def follow_ups():
    """"Did you do it?": the signed-in learner's commitments whose follow-up is due."""
    return _follow_ups_page()


@bp.route("/follow-ups/<int:follow_up_id>", methods=["POST"])
@login_required
def answer(follow_up_id: int):
    """Record the learner's answer to one of their due follow-ups."""
    employee = current_user.employee
    if employee is None:
        abort(404)
    try:
        follow_up = follow_up_for(employee, follow_up_id)
    except ScopeError:
        abort(404)
    form = FollowUpAnswerForm(prefix=f"f{follow_up_id}")
    if not form.validate_on_submit():
        return _follow_ups_page({follow_up_id: form}, 422)
    try:
        answer_follow_up(follow_up, employee, form.status.data, form.note.data or "", now=utcnow(),
                         today=_today())
    except FollowUpError as exc:
        db.session.rollback()
        flash(str(exc).capitalize() + ".", "warning")
        return redirect(url_for("training.follow_ups"))
    db.session.commit()
    flash("Thank you: your answer is saved.", "success")
    return redirect(url_for("training.follow_ups"))
