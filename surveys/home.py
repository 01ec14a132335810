"""What the surveys add to the home page (``adoption.home.HomeSection``): for the person, the
pulses waiting for their answer and their conversations with unread replies; for a leader who
reads comments, the conversations waiting for a reply in their units."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask import Flask, current_app

from adoption.extensions import db
from adoption.home import HomeSection, own_employee, register_home_section
from adoption.scope import Scope
from surveys.conversations import READER_ROLES, awaiting_summary, my_thread_counts
from surveys.models import SurveyRound
from surveys.services import get_draft, my_open_rounds


@dataclass(frozen=True)
class WaitingRound:
    """A round the person can answer today, and whether they saved a draft of it."""

    survey_round: SurveyRound
    has_draft: bool


@dataclass(frozen=True)
class MySurveys:
    """The person's pulses and conversations as their home page shows them."""

    rounds: list[WaitingRound]
    conversations: int  # threads on the person's own comments
    unread: int  # of those, with a leader's message they have not read


@dataclass(frozen=True)
class RepliesOwed:
    """Open conversations in the leader's units whose last message is the author's."""

    count: int
    oldest_round: SurveyRound | None  # the earliest round among them


def my_surveys(scope: Scope, today: dt.date) -> MySurveys | None:
    """The signed-in person's waiting pulses and conversations (None without a roster record)."""
    employee = own_employee(scope)
    if employee is None:
        return None
    rounds = [WaitingRound(r, get_draft(employee, r) is not None)
              for r in my_open_rounds(employee, today, current_app.config)]
    return MySurveys(rounds, *my_thread_counts(employee))


def replies_owed(scope: Scope, today: dt.date) -> RepliesOwed | None:
    """Conversations awaiting the leader's reply in their units (managers and change leaders; not a
    manager whose roster record has ended, who has no units left to answer for)."""
    if scope.role not in READER_ROLES or not scope.sees_aggregates:
        return None
    count, first_round = awaiting_summary(scope)
    return RepliesOwed(count, db.session.get(SurveyRound, first_round) if first_round is not None else None)


def register(app: Flask) -> None:
    """Add the surveys' sections to the home page."""
    register_home_section(app, HomeSection("my-surveys", "surveys/home_mine.html", my_surveys, "yours", 10))
    register_home_section(app, HomeSection("replies-owed", "surveys/home_replies_owed.html", replies_owed,
                                           "leading", 30))
