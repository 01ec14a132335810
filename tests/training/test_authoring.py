"""Authoring services: modules, steps, questions, publishing, versions and stable keys."""
from __future__ import annotations

import datetime as dt

import pytest

from adoption.models import Role
from adoption.scope import Scope, ScopeError
from tests.factories import make_employee
from training.authoring import (
    AuthoringError,
    QuestionSpec,
    add_step,
    create_module,
    delete_step,
    modules_for_authoring,
    move_step,
    publish_module,
    retire_module,
    set_questions,
    update_module,
    update_step,
)
from training.models import Enrollment, StepCompletion

QUESTION = QuestionSpec("Which is right?", "single", ["Yes", "No"], ["Yes"], "Because.")


def _module(title: str = "Customer insight first", **fields):
    return create_module(title, estimated_minutes=fields.pop("estimated_minutes", 15), **fields)


def _complete_module(db):
    """A module with one step of each kind, ready to publish."""
    module = _module(key_behaviours=["activity_logged"])
    add_step(module, "lesson", title="Why it matters", body="Customers remember.")
    add_step(module, "case_study", title="The call", body="Tomás takes a call.", commentary="He should log it.",
             discussion=["What would you do?"])
    check = add_step(module, "check", title="Check", pass_mark_pct=80, attempts_allowed=3)
    set_questions(check, [QUESTION])
    add_step(module, "commitment", title="Your commitment", body="What will you do?")
    return module


def test_slug_and_step_keys_are_made_from_titles_and_kept_unique(db):
    first = _module("Pipeline hygiene: it helps you!")
    second = _module("Pipeline hygiene: it helps you!")
    assert first.slug == "pipeline-hygiene-it-helps-you" and second.slug == "pipeline-hygiene-it-helps-you-2"
    a = add_step(first, "lesson", title="Stages are customer steps", body="x")
    b = add_step(first, "lesson", title="Stages are customer steps", body="y")
    assert (a.key, b.key) == ("stages-are-customer-steps", "stages-are-customer-steps-2")


def test_keys_never_change_on_edit(db):
    module = _module()
    step = add_step(module, "lesson", title="Old title", body="x")
    update_module(module, title="A new title")
    update_step(step, title="A new step title")
    assert module.slug == "customer-insight-first" and step.key == "old-title"
    with pytest.raises(AuthoringError, match="slug never changes"):
        update_module(module, slug="other")
    with pytest.raises(AuthoringError, match="key never changes"):
        update_step(step, key="other")


def test_a_given_slug_must_be_valid_and_free(db):
    _module(slug="crm-basics")
    with pytest.raises(AuthoringError, match="already exists"):
        _module(slug="crm-basics")
    with pytest.raises(AuthoringError, match="lower case"):
        _module(slug="CRM Basics")


def test_module_fields_are_checked(db):
    with pytest.raises(AuthoringError, match="event type names"):
        _module(key_behaviours=["Activity Logged"])
    with pytest.raises(AuthoringError, match="minutes"):
        _module(estimated_minutes=0)
    with pytest.raises(AuthoringError, match="title"):
        _module("   ")


def test_a_step_takes_only_the_fields_of_its_kind(db):
    module = _module()
    with pytest.raises(AuthoringError, match="no commentary"):
        add_step(module, "lesson", title="Lesson", body="x", commentary="y")
    with pytest.raises(AuthoringError, match="lesson, case_study, check or commitment"):
        add_step(module, "quiz", title="Quiz")
    check = add_step(module, "check", title="Check")
    with pytest.raises(AuthoringError, match="pass mark"):
        update_step(check, pass_mark_pct=120)


def test_move_step_reorders_and_keeps_positions_contiguous(db):
    module = _module()
    a, _, c = (add_step(module, "lesson", title=t, body=t) for t in ("A", "B", "C"))
    move_step(c, 1)
    assert [(s.key, s.position) for s in module.steps] == [("c", 1), ("a", 2), ("b", 3)]
    move_step(c, 3)
    assert [s.key for s in module.steps] == ["a", "b", "c"]
    with pytest.raises(AuthoringError, match="between 1 and 3"):
        move_step(a, 4)


def test_delete_step_renumbers_the_rest(db):
    module = _module()
    steps = [add_step(module, "lesson", title=t, body=t) for t in ("A", "B", "C")]
    delete_step(steps[0])
    assert [(s.key, s.position) for s in module.steps] == [("b", 1), ("c", 2)]


def test_a_step_learners_have_done_cannot_be_deleted(db):
    module = _complete_module(db)
    lesson = module.steps[0]
    now = dt.datetime(2025, 3, 1, 9)
    enrollment = Enrollment(employee_id=make_employee().id, module_id=module.id, module_version=1,
                            started_at=now, last_activity_at=now)
    db.session.add(enrollment)
    db.session.flush()
    db.session.add(StepCompletion(enrollment_id=enrollment.id, step_id=lesson.id, completed_at=now))
    db.session.flush()
    with pytest.raises(AuthoringError, match="learners have already done"):
        delete_step(lesson)
    assert len(module.steps) == 4


def test_questions_are_checked_and_correct_answers_given_by_text_or_index(db):
    check = add_step(_module(), "check", title="Check", pass_mark_pct=80)
    questions = set_questions(check, [
        QUESTION,
        {"prompt": "Pick two", "kind": "multiple", "options": ["a", "b", "c"], "correct": [0, "c"]},
    ])
    assert [q.correct for q in questions] == [[0], [0, 2]]
    with pytest.raises(AuthoringError, match="exactly one right answer"):
        set_questions(check, [QuestionSpec("Q", "single", ["a", "b"], [0, 1])])
    with pytest.raises(AuthoringError, match="no option 5"):
        set_questions(check, [QuestionSpec("Q", "single", ["a", "b"], [5])])
    with pytest.raises(AuthoringError, match="not one of the options"):
        set_questions(check, [QuestionSpec("Q", "single", ["a", "b"], ["c"])])
    with pytest.raises(AuthoringError, match="2 to 12 options"):
        set_questions(check, [QuestionSpec("Q", "single", ["a"], [0])])


def test_set_questions_replaces_in_order_and_drops_the_rest(db):
    check = add_step(_module(), "check", title="Check", pass_mark_pct=80)
    first = set_questions(check, [QUESTION, QuestionSpec("Second?", "single", ["a", "b"], [1])])[0]
    kept = set_questions(check, [QuestionSpec("Reworded?", "single", ["Yes", "No"], [1])])
    assert len(kept) == 1 and kept[0] is first and kept[0].prompt == "Reworded?" and kept[0].correct == [1]


def test_publish_refuses_an_incomplete_module_with_every_reason(db):
    module = _module()
    with pytest.raises(AuthoringError, match="no steps"):
        publish_module(module)
    add_step(module, "case_study", title="Case", body="A scenario")
    add_step(module, "check", title="Check")
    with pytest.raises(AuthoringError) as refused:
        publish_module(module)
    message = str(refused.value)
    assert "no expert commentary" in message and "no pass mark" in message and "no questions" in message
    assert module.status == "draft"


def test_publish_and_retire(db):
    module = _complete_module(db)
    publish_module(module)
    assert module.status == "published" and module.version == 1
    retire_module(module)
    assert module.status == "retired"
    with pytest.raises(AuthoringError, match="only a published module"):
        retire_module(module)


def test_editing_a_published_module_raises_its_version_once_per_transaction(db):
    module = _complete_module(db)
    update_module(module, summary="Drafts keep their version.")
    publish_module(module)
    db.session.commit()
    assert module.version == 1
    update_module(module, summary="First edit after publishing")
    update_step(module.steps[0], body="Edited in the same transaction")
    assert module.version == 2
    db.session.commit()
    update_module(module, summary="First edit after publishing")  # no change, no new version
    update_step(module.steps[0], body="Edited in the same transaction")
    assert module.version == 2
    move_step(module.steps[3], 1)
    assert module.version == 3


def test_only_authors_read_modules_for_authoring(db):
    _module()
    for role in (Role.EMPLOYEE, Role.MANAGER, Role.EXECUTIVE):
        with pytest.raises(ScopeError):
            modules_for_authoring(Scope(role, 1, 1, frozenset(), False))
    assert len(modules_for_authoring(Scope(Role.CHANGE_LEADER, 1, None, None, True))) == 1
