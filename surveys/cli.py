"""``flask --app wsgi ...`` commands of the surveys package; each commits once at the end."""
from __future__ import annotations

import datetime as dt

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from adoption.extensions import db


def register(app: Flask) -> None:
    """Attach the survey commands to ``app``."""
    app.cli.add_command(schedule_surveys_command)
    app.cli.add_command(send_survey_reminders_command)


@click.command("schedule-surveys")
@click.option("--through", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Create the rounds opening up to this day (default: today in the organization's time zone).")
@with_appcontext
def schedule_surveys_command(through: dt.datetime | None) -> None:
    """Create the due rounds of every active survey (run it daily; a second run creates none)."""
    from adoption.timekeeping import org_today
    from surveys.models import Survey, SurveyStatus
    from surveys.services import schedule_rounds

    day = through.date() if through else org_today(current_app.config["ORG_TIMEZONE"])
    surveys = db.session.scalars(
        select(Survey).where(Survey.status == SurveyStatus.ACTIVE.value).order_by(Survey.id)
    ).all()
    created = [(survey, r) for survey in surveys for r in schedule_rounds(survey, day)]
    prepared = _prepare_closed_rounds()
    db.session.commit()
    for survey, r in created:
        click.echo(f"{survey.title} (survey {survey.id}): round {r.number} opens {r.opens_on.isoformat()}, "
                   f"closes {r.closes_on.isoformat()}, {len(r.questions)} questions.")
    click.echo(f"Scheduled {len(created)} new round{'s' if len(created) != 1 else ''} "
               f"through {day.isoformat()} for {len(surveys)} active survey{'s' if len(surveys) != 1 else ''}.")
    click.echo(f"Prepared the results of {prepared} closed round{'s' if prepared != 1 else ''}.")


def _prepare_closed_rounds() -> int:
    """Prepare the results of rounds closed before today (the real today: ``--through`` may look ahead)."""
    from adoption.timekeeping import org_today
    from surveys.results import prepare_closed_rounds

    return prepare_closed_rounds(org_today(current_app.config["ORG_TIMEZONE"]), current_app.config)


@click.command("send-survey-reminders")
@click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="The day to act as (default: today in the organization's time zone).")
@with_appcontext
def send_survey_reminders_command(today: dt.datetime | None) -> None:
    """Send the survey reminders due today (run it daily; a second run the same day sends none)."""
    from adoption.timekeeping import org_today
    from surveys.reminders import send_due_reminders

    day = today.date() if today else org_today(current_app.config["ORG_TIMEZONE"])
    run = send_due_reminders(day, current_app.config)
    db.session.commit()
    click.echo(f"reminders: {run.rounds} rounds, {run.messages} messages")
