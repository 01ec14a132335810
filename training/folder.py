"""A training module as a folder (T2): ``module.yaml`` plus one Markdown file per lesson and case study.

::

    module.yaml          title, summary, audience, duration, key behaviours, the steps in order
    lessons/<key>.md     a lesson's text
    cases/<key>.md       a case study: the scenario, then a line "## Expert commentary", then the commentary

Questions of a knowledge check live in ``module.yaml``. The full format is in docs/training.md.

An import reads and checks everything before it changes anything: a ``ModuleFormatError`` lists
every problem with its file and line, and nothing is stored. Re-importing a folder updates the
module with the same slug in place, matching steps by key, so learners' records stay attached.
"""
from __future__ import annotations

import re
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import yaml
from sqlalchemy import func, select

from adoption.extensions import db
from adoption.models import User
from training.authoring import (
    KEY_PATTERN,
    AuthoringError,
    QuestionSpec,
    add_step,
    check_key,
    check_question,
    create_module,
    delete_step,
    learner_records,
    module_by_slug,
    module_values,
    order_steps,
    publish_module,
    set_questions,
    step_values,
    update_module,
    update_step,
)
from training.models import CheckAttemptAnswer, Module, ModuleStep, StepKind

MODULE_FILE = "module.yaml"
#: The heading that splits a case study's file into the scenario (above) and the expert commentary (below).
COMMENTARY_HEADING = "## Expert commentary"
_COMMENTARY_LINE = re.compile(r"^##\s+expert commentary\s*$", re.IGNORECASE)

_MODULE_KEYS = ("slug", "title", "summary", "audience", "estimated_minutes", "version", "key_behaviours",
                "reaction_question", "steps")
_STEP_KEYS = {
    StepKind.LESSON.value: ("key", "kind", "title", "file"),
    StepKind.CASE_STUDY.value: ("key", "kind", "title", "file", "discussion"),
    StepKind.CHECK.value: ("key", "kind", "title", "intro", "pass_mark", "attempts", "questions"),
    StepKind.COMMITMENT.value: ("key", "kind", "title", "prompt"),
}
_QUESTION_KEYS = ("prompt", "kind", "options", "correct", "explanation")
_FOLDERS = {StepKind.LESSON.value: "lessons", StepKind.CASE_STUDY.value: "cases"}


@dataclass(frozen=True)
class FormatProblem:
    """One thing wrong with a module folder: the file (relative to the folder), the line and what."""

    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}" if self.line else f"{self.file}: {self.message}"


class ModuleFormatError(ValueError):
    """A module folder that cannot be imported; ``errors`` lists every problem found."""

    def __init__(self, errors: list[FormatProblem]) -> None:
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))


@dataclass
class _StepSpec:
    """A step read from the folder, checked."""

    key: str
    kind: str
    fields: dict[str, Any]
    questions: list[QuestionSpec] = field(default_factory=list)
    node: yaml.Node | None = None


@dataclass
class _ModuleSpec:
    """A module read from the folder, checked."""

    slug: str
    version: int | None
    fields: dict[str, Any]
    steps: list[_StepSpec]
    steps_node: yaml.Node | None = None


def _line(node: yaml.Node | None) -> int | None:
    """The 1-based line where ``node`` starts."""
    return node.start_mark.line + 1 if node is not None else None


class _Reader:
    """Reads ``module.yaml`` node by node, so every problem can name its line."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.errors: list[FormatProblem] = []
        self._loader = yaml.SafeLoader("")

    def error(self, node: yaml.Node | None, message: str, file: str = MODULE_FILE) -> None:
        """Record a problem at ``node`` (in module.yaml unless ``file`` says otherwise)."""
        self.errors.append(FormatProblem(file, _line(node), message))

    def value(self, node: yaml.Node) -> Any:
        """The Python value of ``node``."""
        return self._loader.construct_document(node)

    def mapping(self, node: yaml.Node, what: str, allowed: tuple[str, ...]) -> dict[str, yaml.Node] | None:
        """``node``'s entries by key, reporting a non-mapping, duplicate and unknown keys."""
        if not isinstance(node, yaml.MappingNode):
            self.error(node, f"{what} must be a mapping of fields (key: value)")
            return None
        entries: dict[str, yaml.Node] = {}
        for key_node, value_node in node.value:
            key = self.value(key_node)
            if key in entries:
                self.error(key_node, f"{what} has {key!r} twice")
            elif key not in allowed:
                self.error(key_node, f"{what} has no field {key!r} (expected one of: {', '.join(allowed)})")
            else:
                entries[key] = value_node
        return entries

    def text(self, entries: dict[str, yaml.Node], key: str, parent: yaml.Node, *, required: bool) -> str | None:
        """The text under ``key``; a problem when it is missing and required, or not text."""
        node = entries.get(key)
        if node is None:
            if required:
                self.error(parent, f"{key!r} is missing")
            return None
        value = self.value(node)
        if value is None and not required:
            return ""
        if not isinstance(value, str) or (required and not value.strip()):
            self.error(node, f"{key!r} must be text" + (", not empty" if required else ""))
            return None
        return value

    def integer(self, entries: dict[str, yaml.Node], key: str, parent: yaml.Node, *, required: bool) -> Any:
        """The whole number under ``key`` (None when absent and optional, or null)."""
        node = entries.get(key)
        if node is None:
            if required:
                self.error(parent, f"{key!r} is missing")
            return None
        value = self.value(node)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            self.error(node, f"{key!r} must be a whole number")
            return None
        return value

    def text_list(self, entries: dict[str, yaml.Node], key: str) -> list[str]:
        """The list of texts under ``key`` (empty when absent)."""
        node = entries.get(key)
        if node is None:
            return []
        value = self.value(node)
        if value is None:
            return []
        if not isinstance(node, yaml.SequenceNode) or not all(isinstance(v, str) for v in value):
            self.error(node, f"{key!r} must be a list of texts")
            return []
        return value

    def checked(self, node: yaml.Node | None, check, *args: Any) -> Any:
        """``check(*args)``, reporting an ``AuthoringError`` at ``node``."""
        try:
            return check(*args)
        except AuthoringError as exc:
            self.error(node, str(exc))
            return None

    def markdown(self, node: yaml.Node | None, relative: str | None) -> tuple[str, str] | None:
        """(path as written, contents) of a Markdown file inside the folder."""
        if relative is None:
            return None
        path = (self.folder / relative).resolve()
        if Path(relative).is_absolute() or not path.is_relative_to(self.folder.resolve()):
            self.error(node, f"{relative!r} must be a path inside the module folder")
            return None
        if not path.is_file():
            self.error(node, f"the file {relative!r} does not exist")
            return None
        try:
            return relative, path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            self.error(node, f"the file {relative!r} is not UTF-8 text ({exc.reason} at byte {exc.start})")
            return None


def _split_case(reader: _Reader, relative: str, text: str) -> tuple[str, str] | None:
    """A case study file's scenario and expert commentary, split at the commentary heading."""
    lines = text.replace("\r\n", "\n").split("\n")
    at = [i for i, line in enumerate(lines) if _COMMENTARY_LINE.match(line.strip())]
    if not at:
        reader.error(None, f"a case study needs a line '{COMMENTARY_HEADING}' between the scenario "
                           "and the expert commentary", relative)
        return None
    if len(at) > 1:
        reader.errors.append(FormatProblem(relative, at[1] + 1, f"'{COMMENTARY_HEADING}' appears more than once"))
        return None
    scenario, commentary = "\n".join(lines[:at[0]]).strip(), "\n".join(lines[at[0] + 1:]).strip()
    if not scenario:
        reader.errors.append(FormatProblem(relative, 1, "the case study has no scenario above the commentary"))
    if not commentary:
        reader.errors.append(FormatProblem(relative, at[0] + 1, "the expert commentary is empty"))
    return (scenario, commentary) if scenario and commentary else None


def _read_question(reader: _Reader, node: yaml.Node, number: int) -> QuestionSpec | None:
    """One check question, its problems reported at their lines."""
    what = f"question {number}"
    entries = reader.mapping(node, what, _QUESTION_KEYS)
    if entries is None:
        return None
    raw = {key: reader.value(value) for key, value in entries.items()}
    options = raw.get("options")
    if isinstance(options, list) and any(isinstance(o, bool) or o is None for o in options):
        # YAML reads unquoted yes/no/on/off as true/false: the author meant the words.
        reader.error(entries["options"], f"{what}: an option is not text; put quotes around options "
                                         "like \"Yes\", \"No\" or \"On\"")
        return None
    checked = check_question(raw)
    for field_name, message in checked.problems:
        reader.error(entries.get(field_name, node), f"{what}: {message}")
    if checked.problems:
        return None
    return QuestionSpec(checked.prompt, checked.kind, checked.options, checked.correct, checked.explanation)


def _read_step(reader: _Reader, node: yaml.Node, number: int) -> _StepSpec | None:
    """One step of ``steps``, with its Markdown file(s) and questions."""
    what, errors_before = f"step {number}", len(reader.errors)
    if not isinstance(node, yaml.MappingNode):
        reader.error(node, f"{what} must be a mapping of fields (key: value)")
        return None
    kind_node = next((v for k, v in node.value if reader.value(k) == "kind"), None)
    kind = reader.value(kind_node) if kind_node is not None else None
    if not isinstance(kind, str) or kind not in _STEP_KEYS:
        reader.error(kind_node or node, f"{what}: 'kind' must be one of {', '.join(_STEP_KEYS)}")
        return None
    entries = reader.mapping(node, f"{what} ({kind})", _STEP_KEYS[kind])
    if entries is None:
        return None
    key = reader.text(entries, "key", node, required=True)
    if key is not None:
        key = reader.checked(entries["key"], check_key, key, f"{what}: the key")
    fields: dict[str, Any] = {"title": reader.text(entries, "title", node, required=True)}
    questions: list[QuestionSpec] = []
    if kind in _FOLDERS:
        found = reader.markdown(entries.get("file"), reader.text(entries, "file", node, required=True))
        if found is not None and kind == StepKind.LESSON.value:
            fields["body"] = found[1]
            if not found[1].strip():
                reader.error(None, "the lesson file is empty", found[0])
        elif found is not None:
            parts = _split_case(reader, found[0], found[1])
            if parts is not None:
                fields["body"], fields["commentary"] = parts
        if kind == StepKind.CASE_STUDY.value:
            fields["discussion"] = reader.text_list(entries, "discussion")
    elif kind == StepKind.CHECK.value:
        fields["body"] = reader.text(entries, "intro", node, required=False) or ""
        fields["pass_mark_pct"] = reader.integer(entries, "pass_mark", node, required=True)
        fields["attempts_allowed"] = reader.integer(entries, "attempts", node, required=False)
        questions_node = entries.get("questions")
        if not isinstance(questions_node, yaml.SequenceNode) or not questions_node.value:
            reader.error(questions_node or node, f"{what}: a check needs a list of 'questions'")
        else:
            questions = [q for i, q_node in enumerate(questions_node.value, start=1)
                         if (q := _read_question(reader, q_node, i)) is not None]
    else:
        fields["body"] = reader.text(entries, "prompt", node, required=False) or ""
    if len(reader.errors) > errors_before:
        return None
    # Where each stored field comes from in module.yaml, so a refusal points at its line.
    sources = {"title": "title", "discussion": "discussion", "pass_mark_pct": "pass_mark",
               "attempts_allowed": "attempts", "body": "intro" if kind == StepKind.CHECK.value else "prompt"}
    for name, value in fields.items():
        reader.checked(entries.get(sources.get(name, "file"), node), step_values, kind, {name: value})
    return _StepSpec(key, kind, fields, questions, node)


def _read(folder: Path) -> _ModuleSpec:
    """The checked contents of ``folder``; ``ModuleFormatError`` with every problem otherwise."""
    reader = _Reader(folder)
    path = folder / MODULE_FILE
    if not path.is_file():
        raise ModuleFormatError([FormatProblem(MODULE_FILE, None, f"there is no {MODULE_FILE} in {folder}")])
    try:
        root = yaml.compose(path.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise ModuleFormatError([FormatProblem(MODULE_FILE, mark.line + 1 if mark else None,
                                               f"not valid YAML: {exc.problem or exc.context}")]) from exc
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ModuleFormatError([FormatProblem(MODULE_FILE, None, f"cannot be read: {exc}")]) from exc
    if root is None:
        raise ModuleFormatError([FormatProblem(MODULE_FILE, None, "the file is empty")])
    entries = reader.mapping(root, "the module", _MODULE_KEYS)
    if entries is None:
        raise ModuleFormatError(reader.errors)

    slug = reader.text(entries, "slug", root, required=False) or None
    if slug is None:
        slug = folder.resolve().name
        if not KEY_PATTERN.match(slug):
            reader.error(root, f"no 'slug' given and the folder name {slug!r} is not a valid slug "
                               "(lower case letters, digits and hyphens)")
    else:
        reader.checked(entries["slug"], check_key, slug, "the slug")
    fields: dict[str, Any] = {
        "title": reader.text(entries, "title", root, required=True),
        "summary": reader.text(entries, "summary", root, required=False) or "",
        "audience": reader.text(entries, "audience", root, required=False) or "",
        "estimated_minutes": reader.integer(entries, "estimated_minutes", root, required=True),
        "key_behaviours": reader.value(entries["key_behaviours"]) if "key_behaviours" in entries else [],
        "reaction_question": reader.text(entries, "reaction_question", root, required=False) or None,
    }
    if not isinstance(fields["key_behaviours"], list):
        reader.error(entries["key_behaviours"], "'key_behaviours' must be a list of event type names")
        fields["key_behaviours"] = None
    for name, value in fields.items():
        if value is not None or name == "reaction_question":
            reader.checked(entries.get(name, root), module_values, {name: value})
    version = reader.integer(entries, "version", root, required=False)
    if version is not None and version < 1:
        reader.error(entries["version"], "'version' must be 1 or more")

    steps: list[_StepSpec] = []
    steps_node = entries.get("steps")
    if not isinstance(steps_node, yaml.SequenceNode) or not steps_node.value:
        reader.error(steps_node or root, "the module needs a list of 'steps' (at least one)")
    else:
        seen: dict[str, yaml.Node] = {}
        for i, step_node in enumerate(steps_node.value, start=1):
            step = _read_step(reader, step_node, i)
            if step is None:
                continue
            if step.key in seen:
                reader.error(step_node, f"step {i}: the key {step.key!r} is already used by the step at "
                                        f"line {_line(seen[step.key])}")
            seen[step.key] = step_node
            steps.append(step)
    if reader.errors:
        raise ModuleFormatError(reader.errors)
    return _ModuleSpec(slug, version, fields, steps, steps_node)


def _check_against(spec: _ModuleSpec, module: Module) -> list[FormatProblem]:
    """What stops ``spec`` from replacing ``module``'s content without losing learners' records."""
    problems: list[FormatProblem] = []
    wanted = {s.key: s for s in spec.steps}
    for step in module.steps:
        new = wanted.get(step.key)
        if new is None:
            if learner_records(step):
                problems.append(FormatProblem(MODULE_FILE, _line(spec.steps_node),
                                              f"the step {step.key!r} is missing, but learners have done it; "
                                              "keep it (steps are matched by key)"))
        elif new.kind != step.kind:
            problems.append(FormatProblem(MODULE_FILE, _line(new.node),
                                          f"the step {step.key!r} is a {step.kind} in the app; a step's kind "
                                          "cannot change (use a new key)"))
        elif new.kind == StepKind.CHECK.value:
            for question in step.questions[len(new.questions):]:
                if db.session.scalar(select(func.count()).select_from(CheckAttemptAnswer)
                                     .where(CheckAttemptAnswer.question_id == question.id)):
                    problems.append(FormatProblem(MODULE_FILE, _line(new.node),
                                                  f"the check {step.key!r} drops question {question.position}, "
                                                  "which learners have answered; reword it instead"))
    return problems


def import_module_dir(path: str | Path, *, created_by: User | None = None, publish: bool = False) -> Module:
    """Create or update (by slug) the module in the folder at ``path``; publish it when asked.

    Everything is checked first: on any problem ``ModuleFormatError`` lists them all and nothing
    is changed. Unchanged content changes nothing (no new version).
    """
    folder = Path(path)
    spec = _read(folder)
    module = module_by_slug(spec.slug)
    if module is not None:
        problems = _check_against(spec, module)
        if problems:
            raise ModuleFormatError(problems)
    try:
        if module is None:
            module = create_module(slug=spec.slug, created_by=created_by, **spec.fields)
            if spec.version:
                module.version = spec.version
        else:
            update_module(module, **spec.fields)
        existing = {s.key: s for s in module.steps}
        ordered: list[ModuleStep] = []
        for step_spec in spec.steps:
            step = existing.get(step_spec.key)
            if step is None:
                step = add_step(module, step_spec.kind, key=step_spec.key, **step_spec.fields)
            else:
                update_step(step, **step_spec.fields)
            if step_spec.kind == StepKind.CHECK.value:
                set_questions(step, step_spec.questions)
            ordered.append(step)
        for step in [s for s in module.steps if s.key not in {x.key for x in spec.steps}]:
            delete_step(step)
        order_steps(module, ordered)
        if spec.version and spec.version > module.version:
            module.version = spec.version
        if publish:
            publish_module(module)
    except AuthoringError as exc:  # checked above; kept so a missed rule still names the folder
        raise ModuleFormatError([FormatProblem(MODULE_FILE, None, str(exc))]) from exc
    db.session.flush()
    return module


# ------------------------------------------------------------------ export

class _Dumper(yaml.SafeDumper):
    """YAML as a person would write it: multi-line text as literal blocks, lists indented."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        """Indent list items under their key."""
        super().increase_indent(flow, False)


def _represent_text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    """Multi-line text as a ``|`` block, anything else as usual."""
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)


_Dumper.add_representer(str, _represent_text)


def _step_entry(step: ModuleStep) -> dict[str, Any]:
    """A step as it appears in module.yaml."""
    entry: dict[str, Any] = {"key": step.key, "kind": step.kind, "title": step.title}
    if step.kind == StepKind.LESSON.value:
        entry["file"] = f"lessons/{step.key}.md"
    elif step.kind == StepKind.CASE_STUDY.value:
        entry["file"] = f"cases/{step.key}.md"
        entry["discussion"] = list(step.discussion or [])
    elif step.kind == StepKind.CHECK.value:
        if step.body:
            entry["intro"] = step.body
        entry["pass_mark"] = step.pass_mark_pct
        if step.attempts_allowed is not None:
            entry["attempts"] = step.attempts_allowed
        entry["questions"] = [
            {"prompt": q.prompt, "kind": q.kind, "options": list(q.options),
             "correct": [q.options[i] for i in q.correct], "explanation": q.explanation}
            for q in step.questions
        ]
    elif step.body:
        entry["prompt"] = step.body
    return entry


def export_module(module: Module, path: str | Path) -> Path:
    """Write ``module`` as a folder at ``path`` (created when missing); ``import_module_dir`` reads it back."""
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    document = {
        "slug": module.slug, "title": module.title, "summary": module.summary, "audience": module.audience,
        "estimated_minutes": module.estimated_minutes, "version": module.version,
        "key_behaviours": list(module.key_behaviours or []), "reaction_question": module.reaction_question,
        "steps": [_step_entry(step) for step in module.steps],
    }
    (folder / MODULE_FILE).write_text(
        yaml.dump(document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100), encoding="utf-8")
    for step in module.steps:
        if step.kind == StepKind.LESSON.value:
            text = step.body + "\n"
        elif step.kind == StepKind.CASE_STUDY.value:
            text = f"{step.body}\n\n{COMMENTARY_HEADING}\n\n{step.commentary}\n"
        else:
            continue
        target = folder / _FOLDERS[step.kind] / f"{step.key}.md"
        target.parent.mkdir(exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return folder


# ------------------------------------------------------------------ upload

#: Refuse archives that would unpack to more than this (a module is a few dozen kilobytes).
MAX_UNPACKED_BYTES = 5_000_000


def import_module_zip(stream: BinaryIO, *, created_by: User | None = None, publish: bool = False) -> Module:
    """Import a module folder uploaded as a .zip (the folder itself or its contents at the top)."""
    try:
        archive = zipfile.ZipFile(stream)
    except zipfile.BadZipFile as exc:
        raise ModuleFormatError([FormatProblem("upload", None, "the file is not a .zip archive")]) from exc
    with archive, tempfile.TemporaryDirectory(prefix="module-") as tmp:
        if sum(info.file_size for info in archive.infolist()) > MAX_UNPACKED_BYTES:
            raise ModuleFormatError([FormatProblem("upload", None, "the archive unpacks to more than 5 MB")])
        archive.extractall(tmp)  # extractall drops absolute paths and ".." from member names
        root = Path(tmp)
        if not (root / MODULE_FILE).is_file():
            inner = [p for p in root.iterdir() if p.is_dir() and (p / MODULE_FILE).is_file()]
            if len(inner) != 1:
                raise ModuleFormatError([FormatProblem("upload", None, f"the archive has no {MODULE_FILE} at its "
                                                                       "top or in a single folder")])
            root = inner[0]
        return import_module_dir(root, created_by=created_by, publish=publish)
