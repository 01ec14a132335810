"""What training adds to the home page (``adoption.home.HomeSection``): the person's modules still
to take (assigned or started, most urgent first) and their commitment follow-ups waiting for an
answer."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask import Flask

from adoption.home import HomeSection, own_employee, register_home_section
from adoption.scope import Scope
from training.followups import pending_follow_ups
from training.models import TrainingStatus
from training.services import TrainingItem, my_training

#: How many modules the home page lists (the rest are on "My training").
SHOWN_MODULES = 3


@dataclass(frozen=True)
class MyTraining:
    """The person's training as their home page shows it."""

    to_take: list[TrainingItem]  # assigned or started, not completed: the first SHOWN_MODULES
    more: int  # further such modules not listed
    overdue: int  # of all those, past their due date
    follow_ups_due: int  # commitment follow-ups waiting for an answer today


def my_training_card(scope: Scope, today: dt.date) -> MyTraining | None:
    """The signed-in person's modules to take and follow-ups due (None without a roster record)."""
    employee = own_employee(scope)
    if employee is None:
        return None
    to_take = [item for item in my_training(employee, today)
               if item.on_list and item.status is not TrainingStatus.COMPLETED]
    return MyTraining(
        to_take=to_take[:SHOWN_MODULES], more=max(len(to_take) - SHOWN_MODULES, 0),
        overdue=sum(1 for item in to_take if item.status is TrainingStatus.OVERDUE),
        follow_ups_due=len(pending_follow_ups(employee, today)),
    )


def register(app: Flask) -> None:
    """Add training's section to the home page."""
    register_home_section(app, HomeSection("my-training", "training/home_mine.html", my_training_card, "yours", 20))
