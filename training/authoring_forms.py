"""Forms of the module editor: a module's fields, a step (per kind), a check's questions, action buttons."""
from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import (
    FieldList,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from adoption.forms import EmployeeReferenceForm, choice
from training.authoring import QuestionSpec
from training.models import ModuleStep, StepKind

STEP_KIND_LABELS = {
    StepKind.LESSON.value: "Lesson",
    StepKind.CASE_STUDY.value: "Case study",
    StepKind.CHECK.value: "Knowledge check",
    StepKind.COMMITMENT.value: "Commitment",
}
#: What a step's Markdown ``body`` is called for each kind.
BODY_LABELS = {
    StepKind.LESSON.value: "Lesson text (Markdown)",
    StepKind.CASE_STUDY.value: "Scenario (Markdown), shown before the learner answers",
    StepKind.CHECK.value: "Introduction (optional, Markdown)",
    StepKind.COMMITMENT.value: "Prompt shown above \u201cIn the next 30 days I will \u2026\u201d",
}
#: Empty question rows offered under the filled ones.
EMPTY_QUESTION_ROWS = 2


def _lines(text: str | None) -> list[str]:
    """The non-empty lines of ``text``."""
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


class ModuleForm(FlaskForm):
    """A module's own fields (its steps are edited one by one)."""

    title = StringField("Title", validators=[DataRequired(), Length(max=200)])
    summary = TextAreaField("Summary", validators=[Optional()])
    audience = TextAreaField("Written for (in words)", validators=[Optional()])
    estimated_minutes = IntegerField("Estimated duration (minutes)", validators=[DataRequired(), NumberRange(1, 600)])
    key_behaviours = StringField("Key behaviours it sets out to change (event types, comma separated)",
                                 validators=[Optional(), Length(max=500)])
    reaction_question = StringField("Reaction question at the end", validators=[Optional(), Length(max=300)])
    save = SubmitField("Save module")

    def fields_for_service(self) -> dict:
        """The form as keyword arguments of ``create_module`` / ``update_module``."""
        return {
            "title": self.title.data, "summary": self.summary.data or "", "audience": self.audience.data or "",
            "estimated_minutes": self.estimated_minutes.data,
            "key_behaviours": [b.strip() for b in (self.key_behaviours.data or "").split(",") if b.strip()],
            "reaction_question": self.reaction_question.data,
        }


class StepForm(FlaskForm):
    """A step; the template shows and the view reads only the fields of the step's kind."""

    title = StringField("Title", validators=[DataRequired(), Length(max=200)])
    body = TextAreaField("Text", validators=[Optional()])
    commentary = TextAreaField("Expert commentary (Markdown), shown after the learner has answered",
                               validators=[Optional()])
    discussion = TextAreaField("Discussion questions, one per line", validators=[Optional()])
    pass_mark_pct = IntegerField("Pass mark (% of questions right)", validators=[Optional(), NumberRange(1, 100)])
    attempts_allowed = IntegerField("Attempts allowed (empty: unlimited)", validators=[Optional(), NumberRange(min=1)])
    save = SubmitField("Save step")

    def fields_for_service(self, kind: str) -> dict:
        """The fields ``kind`` uses, as keyword arguments of ``add_step`` / ``update_step``."""
        fields: dict = {"title": self.title.data, "body": self.body.data or ""}
        if kind == StepKind.CASE_STUDY.value:
            fields["commentary"] = self.commentary.data or ""
            fields["discussion"] = _lines(self.discussion.data)
        elif kind == StepKind.CHECK.value:
            fields["pass_mark_pct"] = self.pass_mark_pct.data
            fields["attempts_allowed"] = self.attempts_allowed.data
        return fields

    @staticmethod
    def data_of(step: ModuleStep) -> dict:
        """A step's current values in the shape of this form."""
        return {"title": step.title, "body": step.body, "commentary": step.commentary,
                "discussion": "\n".join(step.discussion or []), "pass_mark_pct": step.pass_mark_pct,
                "attempts_allowed": step.attempts_allowed}


class QuestionRowForm(Form):
    """One question; a row without a prompt is ignored."""

    prompt = TextAreaField("Question", validators=[Optional()])
    kind = SelectField("Answer", choices=[choice("single", "Single choice (one right answer)"),
                                          choice("multiple", "Multiple choice (all the right answers)")],
                       default="single")
    options = TextAreaField("Options, one per line", validators=[Optional()])
    correct = StringField("Right answers: their line numbers, e.g. 2 or 1, 3", validators=[Optional()])
    explanation = TextAreaField("Explanation shown after each attempt", validators=[Optional()])

    def spec(self) -> QuestionSpec | None:
        """The row as a question for ``set_questions`` (None when it is empty); line numbers start at 1."""
        prompt = (self.prompt.data or "").strip()
        if not prompt:
            return None
        correct: list[int | str] = []
        for part in (self.correct.data or "").replace(";", ",").split(","):
            part = part.strip()
            if part.isdigit():
                correct.append(int(part) - 1)
            elif part:
                correct.append(part)
        return QuestionSpec(prompt, self.kind.data, _lines(self.options.data), correct, self.explanation.data or "")


class QuestionsForm(FlaskForm):
    """Every question of a knowledge check, in order."""

    questions = FieldList(FormField(QuestionRowForm), min_entries=1)
    save = SubmitField("Save questions")

    def specs(self) -> list[QuestionSpec]:
        """The filled rows as question specs, in order."""
        return [spec for row in self.questions for spec in [row.form.spec()] if spec is not None]

    @staticmethod
    def data_of(step: ModuleStep) -> dict:
        """A check's questions in the shape of this form, with empty rows to add more."""
        rows = [{"prompt": q.prompt, "kind": q.kind, "options": "\n".join(q.options),
                 "correct": ", ".join(str(i + 1) for i in q.correct), "explanation": q.explanation}
                for q in step.questions]
        return {"questions": rows + [{}] * EMPTY_QUESTION_ROWS}


class MoveStepForm(FlaskForm):
    """Move a step to another position."""

    position = IntegerField("Position", validators=[DataRequired(), NumberRange(min=1)])



class ImportModuleForm(FlaskForm):
    """A module folder uploaded as a .zip file."""

    archive = FileField("Module folder as a .zip file", validators=[FileRequired(), FileAllowed(["zip"], "A .zip file.")])
    publish = SelectField("After importing", choices=[choice("", "Keep its status (a new module is a draft)"),
                                                      choice("publish", "Publish it")], default="")
    submit = SubmitField("Import")


class MapLearnerForm(EmployeeReferenceForm):
    """Map an external learner identifier that matches no one to an employee (HR id or e-mail)."""

    actor_key = HiddenField(validators=[DataRequired(), Length(max=700)])
