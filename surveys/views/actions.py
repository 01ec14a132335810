"""Routes for "you said, we did" action plans (S5): see surveys/actions.py.

- leaders (managers, change leaders): ``/surveys/actions/`` lists the plans in scope, with a new
  plan form and a page per plan (updates, the follow-up result);
- a plan's owner: its page and its update form;
- every employee: ``/surveys/you-said-we-did``, the ledger of their unit and the units above it.
"""
from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from adoption.access import current_scope, role_required
from adoption.extensions import db
from adoption.models import Role
from adoption.org import units_in_scope
from adoption.scope import ScopeError
from adoption.timekeeping import org_today
from surveys.action_forms import ActionPlanForm, PlanFilterForm, PlanUpdateForm
from surveys.actions import (
    STATUS_LABELS,
    ActionPlanError,
    PlanNotFound,
    add_update,
    can_see_results,
    create_plan,
    entries,
    follow_up_result,
    ledger_for_employee,
    owner_choices,
    plan_for,
    plans_by_status,
    plans_in_scope,
    round_items,
    rounds_for_plans,
)
from surveys.models import PLAN_STATUSES
from surveys.views import bp

LEADERS = (Role.MANAGER, Role.CHANGE_LEADER)


def _today():
    """Today in the organization's time zone."""
    return org_today(current_app.config["ORG_TIMEZONE"])


@bp.route("/actions/")
@role_required(*LEADERS)
def actions():
    """The action plans of the units in scope, filtered by status and unit, with counts by status."""
    scope = current_scope()
    units = units_in_scope(scope)
    form = PlanFilterForm(request.args)
    form.set_units(units)
    status = form.status.data if form.status.data in PLAN_STATUSES else None
    unit_id = form.unit.data if form.validate() else None
    plans = entries(plans_in_scope(scope, status=status, unit_id=unit_id))
    return render_template("surveys/actions_list.html", plans=plans, form=form, counts=plans_by_status(scope),
                           filtered=bool(status or unit_id), today=_today(), status_labels=STATUS_LABELS)


def _plan_form_page(form: ActionPlanForm, status: int = 200):
    """The new plan form."""
    return render_template("surveys/actions_form.html", form=form), status


@bp.route("/actions/new", methods=["GET", "POST"])
@role_required(*LEADERS)
def new_plan():
    """Write an action plan for a unit in scope about one of its rounds.

    ``round_id``, ``unit_id`` and ``thread_id`` in the query string fill the form in (a link from a
    results page or a conversation); the round narrows the item choices to its questions.
    """
    scope, today = current_scope(), _today()
    rounds = rounds_for_plans(scope, today)
    form = ActionPlanForm()
    chosen_round = request.args.get("round_id", type=int)
    form.set_choices(units_in_scope(scope), rounds, owner_choices(scope),
                     round_items([chosen_round] if chosen_round else [r.id for r in rounds]))
    if request.method == "GET":
        form.round.data = chosen_round
        own = current_user.employee.unit_id if current_user.employee is not None else None
        form.unit.data = request.args.get("unit_id", type=int) or (own if own and scope.allows_unit(own) else None)
        form.thread_id.data = request.args.get("thread_id", type=int)
        form.owner.data = current_user.id
    if not form.validate_on_submit():
        return _plan_form_page(form, 422 if request.method == "POST" else 200)
    try:
        plan = create_plan(scope, current_user, **form.plan_args(), today=today)
    except ScopeError:
        db.session.rollback()
        abort(403)
    except ActionPlanError as exc:
        db.session.rollback()
        form.add_errors(exc.errors)
        return _plan_form_page(form, 422)
    db.session.commit()
    flash(f"Action plan \u201c{plan.title}\u201d saved: the people of the unit can read it now.", "success")
    return redirect(url_for("surveys.plan_detail", plan_id=plan.id))


def _plan(plan_id: int):
    """The plan, for its owner or a leader covering its unit (404 / 403 otherwise)."""
    try:
        return plan_for(current_user, current_scope(), plan_id)
    except PlanNotFound:
        abort(404)
    except ScopeError:
        abort(403)


def _plan_page(plan, form: PlanUpdateForm, status: int = 200):
    """A plan with its updates, the update form and, for leaders, the follow-up result."""
    scope = current_scope()
    form.set_status_choices(plan.status)
    result = follow_up_result(plan) if can_see_results(scope, plan) else None
    return render_template("surveys/actions_detail.html", plan=entries([plan])[0], form=form, result=result,
                           today=_today(), status_labels=STATUS_LABELS,
                           thread_id=plan.thread_id), status


@bp.route("/actions/<int:plan_id>")
@login_required
def plan_detail(plan_id: int):
    """One plan: what, who, by when, its public updates and its follow-up result."""
    return _plan_page(_plan(plan_id), PlanUpdateForm())


@bp.route("/actions/<int:plan_id>/updates", methods=["POST"])
@login_required
def post_update(plan_id: int):
    """Post a public update on a plan, optionally moving its status."""
    plan = _plan(plan_id)
    form = PlanUpdateForm()
    form.set_status_choices(plan.status)
    if not form.validate_on_submit():
        return _plan_page(plan, form, 422)
    try:
        add_update(current_user, current_scope(), plan, form.body.data, form.status.data or None)
    except ScopeError:
        db.session.rollback()
        abort(403)
    except ActionPlanError as exc:
        db.session.rollback()
        form.add_errors(exc.errors)
        return _plan_page(plan, form, 422)
    db.session.commit()
    flash("Update posted: the people of the unit can read it.", "success")
    return redirect(url_for("surveys.plan_detail", plan_id=plan_id) + "#updates")


@bp.route("/you-said-we-did")
@login_required
def ledger():
    """"You said, we did": the plans of the signed-in employee's unit and of the units above it."""
    employee = current_user.employee
    plans = ledger_for_employee(employee, _today()) if employee is not None else []
    return render_template("surveys/ledger.html", plans=plans, has_employee=employee is not None,
                           today=_today(), status_labels=STATUS_LABELS)
