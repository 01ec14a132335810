"""Pulse surveys: the item bank, surveys and their rounds, and confidential responses.

Confidentiality is a property of the schema (docs/privacy.md, "Pulse surveys"): ``responses``
and ``answers`` have no column that holds or references an employee, no timestamp, and keys
that do not reveal the order rows were written in; ``participations`` records only that a
person submitted in a round (and the date), with nothing that points at their response.
"""
from __future__ import annotations

import datetime as dt
import enum
import uuid

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from adoption.extensions import db, values_check


class Scale(enum.StrEnum):
    """How a question is answered."""

    LIKERT5 = "likert5"  # 1 = strongly disagree ... 5 = strongly agree
    NPS11 = "nps11"  # 0 = not at all likely ... 10 = extremely likely
    SINGLE = "single"  # one of the options
    MULTI = "multi"  # any number of the options
    TEXT = "text"  # free text


SCALES = tuple(s.value for s in Scale)
CHOICE_SCALES = (Scale.SINGLE.value, Scale.MULTI.value)


class Recurrence(enum.StrEnum):
    """How often a survey opens a new round."""

    NONE = "none"
    WEEKLY = "weekly"
    FORTNIGHTLY = "fortnightly"
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"


RECURRENCES = tuple(r.value for r in Recurrence)


class SurveyStatus(enum.StrEnum):
    """A survey's life cycle: rounds are offered only while it is active."""

    DRAFT = "draft"
    ACTIVE = "active"
    CLOSED = "closed"


SURVEY_STATUSES = tuple(s.value for s in SurveyStatus)

#: Tenure bands kept on a response instead of the start date (which would identify people).
TENURE_BANDS = ("<1y", "1-3y", "3y+")


_in = values_check


# ------------------------------------------------------------------ item bank


class SurveyItem(db.Model):
    """An item of the bank: a stable key and the construct it measures; its wording is versioned."""

    __tablename__ = "survey_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stable identifier used in the bank file and in results, e.g. "engagement.energy".
    key: Mapped[str] = mapped_column(String(100), unique=True)
    # What it measures, e.g. "engagement", "enps", "readiness.awareness"; the results group by it.
    construct: Mapped[str] = mapped_column(String(60), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, server_default=func.now())

    versions: Mapped[list[SurveyItemVersion]] = relationship(
        back_populates="item", order_by="SurveyItemVersion.version"
    )

    @property
    def current_version(self) -> SurveyItemVersion | None:
        """The latest wording (new surveys use it; earlier rounds keep theirs)."""
        return self.versions[-1] if self.versions else None

    def __repr__(self) -> str:
        return f"<SurveyItem {self.key}>"


class SurveyItemVersion(db.Model):
    """One wording of an item; immutable once created, so a trend never mixes two wordings."""

    __tablename__ = "survey_item_versions"
    __table_args__ = (
        UniqueConstraint("item_id", "version"),
        CheckConstraint(_in("scale", SCALES), name="known_scale"),
        CheckConstraint("version >= 1", name="version_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("survey_items.id"))
    version: Mapped[int] = mapped_column(Integer)
    wording: Mapped[str] = mapped_column(Text)
    scale: Mapped[str] = mapped_column(String(10))
    # The labels of a single or multiple choice, in order; NULL for the other scales.
    options: Mapped[list[str] | None] = mapped_column(JSON)
    # Agreement is the unfavourable answer (e.g. "... conflicts with other targets"): results
    # reverse the scale before computing favourability or an index.
    reverse_scored: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, server_default=func.now())

    item: Mapped[SurveyItem] = relationship(back_populates="versions")

    def __repr__(self) -> str:
        return f"<SurveyItemVersion {self.item_id} v{self.version}>"


# ------------------------------------------------------------------ surveys

survey_audience_units = Table(
    "survey_audience_units",
    db.Model.metadata,
    Column("survey_id", ForeignKey("surveys.id"), primary_key=True),
    # The unit and its whole subtree are in the audience.
    Column("unit_id", ForeignKey("org_units.id"), primary_key=True),
)


class Survey(db.Model):
    """A pulse: its questions, audience, schedule, sampling rule and status."""

    __tablename__ = "surveys"
    __table_args__ = (
        CheckConstraint(_in("recurrence", RECURRENCES), name="known_recurrence"),
        CheckConstraint(_in("status", SURVEY_STATUSES), name="known_status"),
        CheckConstraint("round_length_days >= 1", name="round_length_positive"),
        CheckConstraint(
            "max_items_per_round IS NULL OR max_items_per_round >= 1", name="max_items_positive"
        ),
        CheckConstraint("rotate_every IS NULL OR rotate_every >= 1", name="rotate_every_positive"),
        CheckConstraint("ends_on IS NULL OR ends_on >= first_opens_on", name="ends_after_start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # Sign-in roles the audience is limited to (people without an account count as
    # "employee"); NULL means every role.
    audience_roles: Mapped[list[str] | None] = mapped_column(JSON)
    recurrence: Mapped[str] = mapped_column(String(12), default=Recurrence.NONE.value)
    # The first round opens on this date (organization's time zone); the next ones follow the
    # recurrence from it.
    first_opens_on: Mapped[dt.date] = mapped_column(Date)
    # A round accepts answers for this many days, its opening day included.
    round_length_days: Mapped[int] = mapped_column(Integer)
    # No round opens after this date; NULL lets a recurring survey run until it is closed.
    ends_on: Mapped[dt.date | None] = mapped_column(Date)
    # Sampling: at most this many questions per round (NULL = all), each asked at least every
    # `rotate_every` rounds (see surveys.services.sample_questions).
    max_items_per_round: Mapped[int | None] = mapped_column(Integer)
    rotate_every: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(10), default=SurveyStatus.DRAFT.value, index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, server_default=func.now())
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime, server_default=func.now(), onupdate=func.now()
    )

    audience_units = relationship("OrgUnit", secondary=survey_audience_units)
    questions: Mapped[list[SurveyQuestion]] = relationship(
        back_populates="survey", order_by="(SurveyQuestion.position, SurveyQuestion.id)"
    )
    rounds: Mapped[list[SurveyRound]] = relationship(
        back_populates="survey", order_by="SurveyRound.number"
    )

    @property
    def active_questions(self) -> list[SurveyQuestion]:
        """The questions rounds are sampled from (retired ones stay only for past rounds)."""
        return [q for q in self.questions if not q.retired]

    def __repr__(self) -> str:
        return f"<Survey {self.id} {self.title!r}>"


class SurveyQuestion(db.Model):
    """A question of a survey: a bank item's version, or a custom wording with its scale."""

    __tablename__ = "survey_questions"
    __table_args__ = (
        CheckConstraint(
            "(item_version_id IS NOT NULL AND custom_wording IS NULL AND custom_scale IS NULL)"
            " OR (item_version_id IS NULL AND custom_wording IS NOT NULL AND custom_scale IS NOT NULL)",
            name="bank_or_custom",
        ),
        CheckConstraint("custom_scale IS NULL OR " + _in("custom_scale", SCALES), name="known_scale"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id"), index=True)
    # Order in the survey; a round shows its sample in this order.
    position: Mapped[int] = mapped_column(Integer)
    item_version_id: Mapped[int | None] = mapped_column(ForeignKey("survey_item_versions.id"))
    custom_wording: Mapped[str | None] = mapped_column(Text)
    custom_scale: Mapped[str | None] = mapped_column(String(10))
    custom_options: Mapped[list[str] | None] = mapped_column(JSON)
    # Offer a free-text comment box under the question.
    allow_comment: Mapped[bool] = mapped_column(Boolean, default=False)
    required: Mapped[bool] = mapped_column(Boolean, default=True)
    # Removed from the survey after it was asked: kept for the rounds that asked it, never
    # sampled again. A question never asked is deleted instead.
    retired: Mapped[bool] = mapped_column(Boolean, default=False)

    survey: Mapped[Survey] = relationship(back_populates="questions")
    item_version: Mapped[SurveyItemVersion | None] = relationship()

    @property
    def wording(self) -> str:
        """The text shown to the respondent."""
        return self.item_version.wording if self.item_version else self.custom_wording

    @property
    def scale(self) -> str:
        """The answer scale (one of ``SCALES``)."""
        return self.item_version.scale if self.item_version else self.custom_scale

    @property
    def options(self) -> list[str]:
        """The choices of a single or multiple choice question (empty otherwise)."""
        if self.item_version is not None:
            return list(self.item_version.options or [])
        return list(self.custom_options or [])

    def __repr__(self) -> str:
        return f"<SurveyQuestion {self.survey_id}#{self.position}>"


class SurveyRound(db.Model):
    """One occurrence of a survey: its dates and the questions it asks."""

    __tablename__ = "survey_rounds"
    __table_args__ = (
        UniqueConstraint("survey_id", "number"),
        CheckConstraint("closes_on >= opens_on", name="closes_after_opening"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id"))
    # 1 for the first round of the survey.
    number: Mapped[int] = mapped_column(Integer)
    # Dates in the organization's time zone; answers are accepted from opens_on through
    # closes_on, both days included.
    opens_on: Mapped[dt.date] = mapped_column(Date, index=True)
    closes_on: Mapped[dt.date] = mapped_column(Date)
    # When the results of the closed round were computed (disclosure decisions and statistics,
    # surveys/results.py); NULL while the round is open or not yet processed. Results are
    # published only once the round is closed, so nobody can watch a group's numbers change as
    # one more person answers.
    results_ready_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    survey: Mapped[Survey] = relationship(back_populates="rounds")
    questions: Mapped[list[RoundQuestion]] = relationship(
        back_populates="round", order_by="RoundQuestion.position", cascade="all, delete-orphan"
    )

    def is_open(self, today: dt.date) -> bool:
        """True when answers are accepted on ``today``."""
        return self.opens_on <= today <= self.closes_on

    def __repr__(self) -> str:
        return f"<SurveyRound {self.survey_id}#{self.number} {self.opens_on}..{self.closes_on}>"


class RoundQuestion(db.Model):
    """A question as asked in one round (the sample), at its position in the form."""

    __tablename__ = "round_questions"
    __table_args__ = (UniqueConstraint("round_id", "question_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("survey_rounds.id"))
    question_id: Mapped[int] = mapped_column(ForeignKey("survey_questions.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    # Asked only of respondents in this unit's subtree (an action plan's follow-up item);
    # NULL = asked of the whole audience.
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"))

    round: Mapped[SurveyRound] = relationship(back_populates="questions")
    question: Mapped[SurveyQuestion] = relationship()


# ------------------------------------------------------------------ answers
#
# `responses`, `answers` and `participations` are stored WITHOUT ROWID on SQLite: rows are then
# kept in primary-key order, and no hidden, ever-increasing rowid records the order of inserts.
# (PostgreSQL has no such option; see docs/privacy.md for what that leaves to an administrator.)


class Response(db.Model):
    """One anonymous submission: no employee, no time; only the round and coarse context."""

    __tablename__ = "responses"
    __table_args__ = (
        CheckConstraint("tenure_band IS NULL OR " + _in("tenure_band", TENURE_BANDS), name="known_tenure_band"),
        {"sqlite_with_rowid": False},
    )

    # A random UUID, not a sequence: an id must not tell which response came first, or it could
    # be lined up with the submission dates in `participations`.
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    round_id: Mapped[int] = mapped_column(ForeignKey("survey_rounds.id"), index=True)
    # Snapshot at submission: the unit the respondent was in that day (results group by it even
    # if they move later) and their tenure band (one of TENURE_BANDS; NULL when the roster has no
    # start date).
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    tenure_band: Mapped[str | None] = mapped_column(String(5))

    round: Mapped[SurveyRound] = relationship()
    answers: Mapped[list[Answer]] = relationship(back_populates="response")


class Answer(db.Model):
    """The scored or chosen answer to one question of a response."""

    __tablename__ = "answers"
    __table_args__ = (
        # Keyed by (response, question): no sequence id that would follow the insert order.
        {"sqlite_with_rowid": False},
    )

    response_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("responses.id"), primary_key=True)
    round_question_id: Mapped[int] = mapped_column(
        ForeignKey("round_questions.id"), primary_key=True, index=True
    )
    # likert5: 1..5, nps11: 0..10; NULL for the other scales or a skipped optional question.
    value: Mapped[int | None] = mapped_column(SmallInteger)
    # single and multi: the chosen option labels.
    choices: Mapped[list[str] | None] = mapped_column(JSON)
    # Free text (text questions and comment boxes) is not kept here but in `comments`, which
    # has no reference to the response: a comment is never shown beside its author's scores.

    response: Mapped[Response] = relationship(back_populates="answers")
    round_question: Mapped[RoundQuestion] = relationship()


class Participation(db.Model):
    """That an employee submitted in a round: for the one-response rule and reminders only.

    Nothing here refers to the response, and the date is all the time kept.
    """

    __tablename__ = "participations"
    __table_args__ = ({"sqlite_with_rowid": False},)

    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id"), primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("survey_rounds.id"), primary_key=True, index=True)
    # The day only (organization's time zone): a time could be matched to logs or to the moment
    # a response appeared in a results page.
    submitted_on: Mapped[dt.date] = mapped_column(Date)


class ResponseDraft(db.Model):
    """Answers saved but not submitted: personal, and deleted when the response is submitted."""

    __tablename__ = "response_drafts"
    __table_args__ = (UniqueConstraint("employee_id", "round_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id"))
    round_id: Mapped[int] = mapped_column(ForeignKey("survey_rounds.id"), index=True)
    # {round_question_id: {"value"|"choices"|"text"|"comment": ...}} as the form sent it.
    answers: Mapped[dict] = mapped_column(JSON, default=dict)
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime, server_default=func.now(), onupdate=func.now()
    )
