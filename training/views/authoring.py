"""The module editor for change leaders and admins: list, create and edit modules and their steps,
edit check questions, preview as a learner sees it, publish and retire, import a folder as a .zip."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from adoption.access import current_scope, role_required
from adoption.extensions import db
from adoption.forms import ConfirmForm
from adoption.models import Role
from adoption.telemetry.identity import IdentityError
from training.authoring import (
    STEP_FIELDS,
    AuthoringError,
    add_step,
    create_module,
    delete_step,
    module_for_authoring,
    modules_for_authoring,
    move_step,
    publish_module,
    publish_problems,
    retire_module,
    set_questions,
    step_counts,
    update_module,
    update_step,
)
from training.authoring_forms import (
    BODY_LABELS,
    STEP_KIND_LABELS,
    ImportModuleForm,
    MapLearnerForm,
    ModuleForm,
    MoveStepForm,
    QuestionsForm,
    StepForm,
)
from training.folder import ModuleFormatError, import_module_zip
from training.markdown import render
from training.models import Module, ModuleStep, StepKind
from training.views import bp
from training.xapi_intake import sending_systems
from training.xapi_learners import (
    learner_aliases,
    map_learner,
    unmatched_learners,
)

AUTHORS = (Role.CHANGE_LEADER, Role.ADMIN)


def _module(module_id: int) -> Module:
    """The module for the signed-in author, or 404."""
    module = module_for_authoring(current_scope(), module_id)
    if module is None:
        abort(404)
    return module


def _step(module: Module, step_id: int) -> ModuleStep:
    """The module's step with ``step_id``, or 404 (a step of another module is not found here)."""
    step = next((s for s in module.steps if s.id == step_id), None)
    if step is None:
        abort(404)
    return step


def _to_module(module: Module):
    """Back to the module's page."""
    return redirect(url_for("training.manage_module", module_id=module.id))


@bp.route("/manage/")
@role_required(*AUTHORS)
def manage():
    """Every module with its status, version, number of steps and estimated duration."""
    modules = modules_for_authoring(current_scope())
    return render_template("training/manage_list.html", modules=modules, steps=step_counts(modules))


def _external_page(form: MapLearnerForm | None = None, status: int = 200):
    """The records page, with the failed mapping form's errors when there is one."""
    scope = current_scope()
    learners, unmatched_total = unmatched_learners(scope)
    return render_template("training/manage_external.html", systems=sending_systems(scope), learners=learners,
                           unmatched_total=unmatched_total, aliases=learner_aliases(scope), form=form,
                           can_map=scope.is_admin), status


@bp.route("/manage/external")
@role_required(*AUTHORS)
def manage_external():
    """The learning systems that send xAPI statements, and the learners they name who match no one."""
    return _external_page()


@bp.route("/manage/external/map", methods=["POST"])
@role_required(Role.ADMIN)
def map_external_learner():
    """Map a learner identifier that matches no one to an employee; its records are attributed at once."""
    form = MapLearnerForm()
    if form.validate_on_submit():
        try:
            mapping = map_learner(current_scope(), form.actor_key.data, form.employee_id,
                                  created_by_id=current_user.id)
        except IdentityError as exc:
            db.session.rollback()
            form.employee.errors.append(str(exc))
        else:
            name = mapping.employee.full_name
            db.session.commit()
            count = mapping.attributed
            flash(f"{count} record{'' if count == 1 else 's'} attributed to {name}.", "success")
            return redirect(url_for("training.manage_external"))
    return _external_page(form, 400)


def _module_form_page(form: ModuleForm, module: Module | None, error: str | None = None, status: int = 200):
    """The create/edit form, with the service's refusal if any."""
    return render_template("training/manage_form.html", form=form, module=module, error=error), status


@bp.route("/manage/new", methods=["GET", "POST"])
@role_required(*AUTHORS)
def manage_new():
    """Create a draft module."""
    current_scope()
    form = ModuleForm()
    if not form.validate_on_submit():
        return _module_form_page(form, None, status=422 if request.method == "POST" else 200)
    try:
        module = create_module(created_by=current_user, **form.fields_for_service())
    except AuthoringError as exc:
        db.session.rollback()
        return _module_form_page(form, None, str(exc), 422)
    db.session.commit()
    flash(f"Module \u201c{module.title}\u201d created as a draft. Add its steps next.", "success")
    return _to_module(module)


@bp.route("/manage/<int:module_id>/edit", methods=["GET", "POST"])
@role_required(*AUTHORS)
def manage_edit(module_id: int):
    """Change a module's own fields (a published module gets a new version)."""
    module = _module(module_id)
    data = None if request.method == "POST" else {
        "title": module.title, "summary": module.summary, "audience": module.audience,
        "estimated_minutes": module.estimated_minutes, "key_behaviours": ", ".join(module.key_behaviours or []),
        "reaction_question": module.reaction_question,
    }
    form = ModuleForm(data=data)
    if not form.validate_on_submit():
        return _module_form_page(form, module, status=422 if request.method == "POST" else 200)
    try:
        update_module(module, **form.fields_for_service())
    except AuthoringError as exc:
        db.session.rollback()
        return _module_form_page(form, _module(module_id), str(exc), 422)
    db.session.commit()
    flash("Module saved.", "success")
    return _to_module(module)


@bp.route("/manage/<int:module_id>")
@role_required(*AUTHORS)
def manage_module(module_id: int):
    """A module's fields, its steps in order with their actions, and publish or retire."""
    module = _module(module_id)
    return render_template("training/manage_module.html", module=module, action_form=ConfirmForm(),
                           problems=publish_problems(module), kind_labels=STEP_KIND_LABELS)


def _step_page(form: StepForm, module: Module, kind: str, step: ModuleStep | None, error: str | None = None,
               status: int = 200):
    """The step form showing the fields of ``kind``."""
    return render_template("training/manage_step.html", form=form, module=module, kind=kind, step=step,
                           fields=STEP_FIELDS[kind], body_label=BODY_LABELS[kind], kind_labels=STEP_KIND_LABELS,
                           error=error), status


@bp.route("/manage/<int:module_id>/steps/new/<kind>", methods=["GET", "POST"])
@role_required(*AUTHORS)
def manage_new_step(module_id: int, kind: str):
    """Add a step of ``kind`` at the end of the module."""
    module = _module(module_id)
    if kind not in STEP_FIELDS:
        abort(404)
    form = StepForm(data={"pass_mark_pct": 80, "attempts_allowed": 3} if kind == StepKind.CHECK.value else None)
    if not form.validate_on_submit():
        return _step_page(form, module, kind, None, status=422 if request.method == "POST" else 200)
    try:
        step = add_step(module, kind, **form.fields_for_service(kind))
    except AuthoringError as exc:
        db.session.rollback()
        return _step_page(form, _module(module_id), kind, None, str(exc), 422)
    db.session.commit()
    if kind == StepKind.CHECK.value:
        flash("Check added. Now write its questions.", "success")
        return redirect(url_for("training.manage_questions", module_id=module.id, step_id=step.id))
    flash(f"{STEP_KIND_LABELS[kind]} added.", "success")
    return _to_module(module)


@bp.route("/manage/<int:module_id>/steps/<int:step_id>/edit", methods=["GET", "POST"])
@role_required(*AUTHORS)
def manage_edit_step(module_id: int, step_id: int):
    """Change a step's title and the fields of its kind (its key and kind stay)."""
    module = _module(module_id)
    step = _step(module, step_id)
    form = StepForm(data=None if request.method == "POST" else StepForm.data_of(step))
    if not form.validate_on_submit():
        return _step_page(form, module, step.kind, step, status=422 if request.method == "POST" else 200)
    try:
        update_step(step, **form.fields_for_service(step.kind))
    except AuthoringError as exc:
        db.session.rollback()
        module = _module(module_id)
        return _step_page(form, module, step.kind, _step(module, step_id), str(exc), 422)
    db.session.commit()
    flash("Step saved.", "success")
    return _to_module(module)


@bp.route("/manage/<int:module_id>/steps/<int:step_id>/questions", methods=["GET", "POST"])
@role_required(*AUTHORS)
def manage_questions(module_id: int, step_id: int):
    """Write a knowledge check's questions: options, right answers and explanations."""
    module = _module(module_id)
    step = _step(module, step_id)
    if step.kind != StepKind.CHECK.value:
        abort(404)
    form = QuestionsForm(data=None if request.method == "POST" else QuestionsForm.data_of(step))
    error, status = None, 200
    if form.validate_on_submit():
        try:
            set_questions(step, form.specs())
        except AuthoringError as exc:
            db.session.rollback()
            error, status = str(exc), 422
            module = _module(module_id)
            step = _step(module, step_id)
        else:
            db.session.commit()
            flash("Questions saved.", "success")
            return _to_module(module)
    elif request.method == "POST":
        status = 422
    return render_template("training/manage_questions.html", form=form, module=module, step=step,
                           error=error), status


@bp.route("/manage/<int:module_id>/steps/<int:step_id>/move", methods=["POST"])
@role_required(*AUTHORS)
def manage_move_step(module_id: int, step_id: int):
    """Move a step to another position."""
    module = _module(module_id)
    step = _step(module, step_id)
    form = MoveStepForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        move_step(step, form.position.data)
    except AuthoringError as exc:
        db.session.rollback()
        flash(f"The step was not moved: {exc}.", "danger")
        return _to_module(module)
    db.session.commit()
    return _to_module(module)


@bp.route("/manage/<int:module_id>/steps/<int:step_id>/delete", methods=["POST"])
@role_required(*AUTHORS)
def manage_delete_step(module_id: int, step_id: int):
    """Delete a step no learner has done."""
    module = _module(module_id)
    step = _step(module, step_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        delete_step(step)
    except AuthoringError as exc:
        db.session.rollback()
        flash(f"The step was not deleted: {exc}.", "danger")
        return _to_module(module)
    db.session.commit()
    flash("Step deleted.", "success")
    return _to_module(module)


@bp.route("/manage/<int:module_id>/preview")
@role_required(*AUTHORS)
def manage_preview(module_id: int):
    """The module's steps as a learner sees them, commentary and right answers shown."""
    module = _module(module_id)
    return render_template("training/manage_preview.html", module=module, render=render,
                           kind_labels=STEP_KIND_LABELS)


@bp.route("/manage/<int:module_id>/publish", methods=["POST"])
@role_required(*AUTHORS)
def manage_publish(module_id: int):
    """Publish a complete module so it can be assigned and taken."""
    module = _module(module_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        publish_module(module)
    except AuthoringError as exc:
        db.session.rollback()
        flash(f"{exc}.", "danger")
        return _to_module(module)
    db.session.commit()
    flash("Module published: it can now be assigned.", "success")
    return _to_module(module)


@bp.route("/manage/<int:module_id>/retire", methods=["POST"])
@role_required(*AUTHORS)
def manage_retire(module_id: int):
    """Retire a published module: no new assignments; learners' records stay."""
    module = _module(module_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        retire_module(module)
    except AuthoringError as exc:
        db.session.rollback()
        flash(f"The module was not retired: {exc}.", "danger")
        return _to_module(module)
    db.session.commit()
    flash("Module retired.", "success")
    return _to_module(module)


@bp.route("/manage/import", methods=["GET", "POST"])
@role_required(*AUTHORS)
def manage_import():
    """Import (or update by slug) a module from a folder uploaded as a .zip; every problem is listed."""
    current_scope()
    form = ImportModuleForm()
    problems: list = []
    status = 200
    if form.validate_on_submit():
        try:
            module = import_module_zip(form.archive.data.stream, created_by=current_user,
                                       publish=form.publish.data == "publish")
        except ModuleFormatError as exc:
            db.session.rollback()
            problems, status = exc.errors, 422
        else:
            db.session.commit()
            flash(f"Module \u201c{module.title}\u201d imported (version {module.version}, {module.status}).",
                  "success")
            return _to_module(module)
    elif request.method == "POST":
        status = 422
    return render_template("training/manage_import.html", form=form, problems=problems), status
