"""Module folders: import with file-and-line errors, re-import in place, export round-trip, CLI."""
from __future__ import annotations

import datetime as dt
import textwrap

import pytest
from sqlalchemy import func, select

from tests.factories import make_employee
from training.authoring import QuestionSpec, add_step, create_module, publish_module, set_questions
from training.folder import ModuleFormatError, export_module, import_module_dir
from training.models import Enrollment, Module, StepCompletion

MODULE_YAML = """\
slug: sample-module
title: A sample module
summary: Short.
audience: Sales reps
estimated_minutes: 15
key_behaviours: [activity_logged]
steps:
  - key: intro
    kind: lesson
    title: Introduction
    file: lessons/intro.md
  - key: the-call
    kind: case_study
    title: The call
    file: cases/the-call.md
    discussion: ["What would you do?", "Who should know?"]
  - key: check
    kind: check
    title: Check
    pass_mark: 80
    attempts: 3
    questions:
      - prompt: Which is right?
        kind: single
        options: ["Yes", "No"]
        correct: ["Yes"]
        explanation: Because.
  - key: commit
    kind: commitment
    title: Commit
    prompt: What will you do?
"""


def _write(folder, files: dict[str, str]):
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return folder


@pytest.fixture
def sample(tmp_path):
    return _write(tmp_path / "sample-module", {
        "module.yaml": MODULE_YAML,
        "lessons/intro.md": "# Intro\n\nCustomers first.\n",
        "cases/the-call.md": "A customer calls.\n\n## Expert commentary\n\nLog what they said.\n",
    })


def _content(module: Module) -> dict:
    """Everything a folder carries, without ids or status."""
    return {
        "module": (module.slug, module.title, module.summary, module.audience, module.estimated_minutes,
                   module.version, module.key_behaviours, module.reaction_question),
        "steps": [(s.position, s.key, s.kind, s.title, s.body, s.commentary, s.discussion, s.pass_mark_pct,
                   s.attempts_allowed, [(q.prompt, q.kind, q.options, q.correct, q.explanation) for q in s.questions])
                  for s in module.steps],
    }


def _problems(exc: ModuleFormatError) -> set[tuple[str, int | None]]:
    return {(e.file, e.line) for e in exc.errors}


def test_import_creates_a_draft_module_with_every_step_kind(db, sample):
    module = import_module_dir(sample)
    assert (module.slug, module.status, module.version) == ("sample-module", "draft", 1)
    assert [s.kind for s in module.steps] == ["lesson", "case_study", "check", "commitment"]
    case = module.steps[1]
    assert (case.body, case.commentary) == ("A customer calls.", "Log what they said.")
    assert module.steps[2].questions[0].correct == [0] and module.steps[0].body == "# Intro\n\nCustomers first."


def test_import_reports_every_problem_with_its_file_and_line_and_stores_nothing(db, sample):
    _write(sample, {
        "module.yaml": MODULE_YAML.replace("estimated_minutes: 15", "estimated_minutes: lots")
        .replace("kind: commitment", "kind: promise")
        .replace('correct: ["Yes"]', "correct: [Maybe]")
        .replace("file: lessons/intro.md", "file: lessons/missing.md"),
        "cases/the-call.md": "A customer calls, and nobody wrote the commentary.\n",
    })
    with pytest.raises(ModuleFormatError) as refused:
        import_module_dir(sample)
    errors = refused.value.errors
    assert _problems(refused.value) == {
        ("module.yaml", 5), ("module.yaml", 11), ("cases/the-call.md", None), ("module.yaml", 26), ("module.yaml", 29),
    }
    messages = " | ".join(str(e) for e in errors)
    assert "module.yaml:5: 'estimated_minutes' must be a whole number" in messages
    assert "module.yaml:11: the file 'lessons/missing.md' does not exist" in messages
    assert "module.yaml:26: question 1: 'Maybe' is not one of the options" in messages
    assert "module.yaml:29: step 4: 'kind' must be one of" in messages
    assert "## Expert commentary" in messages
    assert db.session.scalar(select(func.count()).select_from(Module)) == 0


def test_yaml_syntax_errors_and_unknown_fields_name_their_line(db, sample):
    _write(sample, {"module.yaml": "title: [unclosed\nsteps: []\n"})
    with pytest.raises(ModuleFormatError) as refused:
        import_module_dir(sample)
    assert refused.value.errors[0].file == "module.yaml" and refused.value.errors[0].line == 2
    assert "not valid YAML" in refused.value.errors[0].message
    _write(sample, {"module.yaml": MODULE_YAML.replace("summary: Short.", "sumary: Short.")})
    with pytest.raises(ModuleFormatError, match=r"module.yaml:3: the module has no field 'sumary'"):
        import_module_dir(sample)


def test_files_outside_the_folder_are_refused(db, sample):
    _write(sample, {"module.yaml": MODULE_YAML.replace("lessons/intro.md", "../secret.md")})
    with pytest.raises(ModuleFormatError, match="inside the module folder"):
        import_module_dir(sample)


def test_reimporting_unchanged_changes_nothing(db, sample):
    module = import_module_dir(sample, publish=True)
    db.session.commit()
    before = _content(module)
    again = import_module_dir(sample, publish=True)
    assert again is module and _content(module) == before and module.version == 1
    assert not db.session.dirty


def test_reimport_updates_in_place_keeping_step_records_and_raising_the_version(db, sample):
    module = import_module_dir(sample, publish=True)
    now = dt.datetime(2025, 3, 1, 9)
    enrollment = Enrollment(employee_id=make_employee().id, module_id=module.id, module_version=1,
                            started_at=now, last_activity_at=now)
    db.session.add(enrollment)
    db.session.flush()
    lesson = module.steps[0]
    db.session.add(StepCompletion(enrollment_id=enrollment.id, step_id=lesson.id, completed_at=now))
    db.session.commit()
    changed = MODULE_YAML.replace("title: Introduction", "title: Start here").replace(
        "  - key: intro\n    kind: lesson\n    title: Start here\n    file: lessons/intro.md\n", "")
    changed = changed.replace("  - key: commit\n", "  - key: intro\n    kind: lesson\n    title: Start here\n"
                                                    "    file: lessons/intro.md\n  - key: commit\n")
    _write(sample, {"module.yaml": changed})
    import_module_dir(sample)
    assert module.version == 2 and module.status == "published"
    assert [s.key for s in module.steps] == ["the-call", "check", "intro", "commit"]
    assert module.steps[2] is lesson and lesson.title == "Start here"
    assert db.session.get(StepCompletion, 1).step_id == lesson.id


def test_reimport_cannot_drop_a_step_learners_have_done(db, sample):
    module = import_module_dir(sample)
    now = dt.datetime(2025, 3, 1, 9)
    enrollment = Enrollment(employee_id=make_employee().id, module_id=module.id, module_version=1,
                            started_at=now, last_activity_at=now)
    db.session.add(enrollment)
    db.session.flush()
    db.session.add(StepCompletion(enrollment_id=enrollment.id, step_id=module.steps[3].id, completed_at=now))
    db.session.flush()
    _write(sample, {"module.yaml": MODULE_YAML.split("  - key: commit")[0]})
    with pytest.raises(ModuleFormatError, match="'commit' is missing, but learners have done it"):
        import_module_dir(sample)
    assert len(module.steps) == 4


def test_export_then_import_round_trips_to_identical_content(db, tmp_path):
    module = create_module("Reading the numbers", summary="Line one.\nLine two: with a colon.", audience="Managers",
                           estimated_minutes=20, key_behaviours=["opportunity_updated"], reaction_question="Useful?")
    add_step(module, "lesson", title="Five questions", body="## How many?\n\nAlways ask *n*.\n\n- one\n- two")
    add_step(module, "case_study", title="The contest", body="Aisha sees **numbers**.",
             commentary="Compare with the South.\n\n> quoted", discussion=["What would you do?", "Why?"])
    check = add_step(module, "check", title="Check", body="Six questions.", pass_mark_pct=80)
    set_questions(check, [QuestionSpec("Which?", "multiple", ["1: one", "yes", "3"], [0, 2], "Because: reasons."),
                          QuestionSpec("Only?", "single", ["a", "b"], [1], "")])
    add_step(module, "commitment", title="Commit", body="")
    publish_module(module)
    module.version = 4
    db.session.commit()
    before = _content(module)

    folder = export_module(module, tmp_path / "export")
    assert import_module_dir(folder) is module and _content(module) == before  # idempotent in place
    db.session.delete(module)
    db.session.commit()
    again = import_module_dir(folder)
    assert again is not module and _content(again) == before


def test_cli_prints_file_and_line_and_exits_1(app, db, sample, tmp_path):
    runner = app.test_cli_runner()
    _write(sample, {"module.yaml": MODULE_YAML.replace("pass_mark: 80", "pass_mark: 180")})
    result = runner.invoke(args=["import-module", str(sample)])
    assert result.exit_code == 1
    assert "module.yaml:20: the pass mark must be a whole percentage from 1 to 100" in result.output
    _write(sample, {"module.yaml": MODULE_YAML})
    result = runner.invoke(args=["import-module", str(sample), "--publish"])
    assert result.exit_code == 0, result.output
    assert "sample-module" in result.output and "published" in result.output
    result = runner.invoke(args=["export-module", "sample-module", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "cases" / "the-call.md").read_text().startswith("A customer calls.")
