"""``flask --app wsgi ...`` commands of the training package."""
from __future__ import annotations

import datetime as dt

import click
from flask import Flask, current_app
from flask.cli import with_appcontext


def register(app: Flask) -> None:
    """Add the training commands to ``app``."""
    app.cli.add_command(send_training_reminders_command)
    app.cli.add_command(import_module_command)
    app.cli.add_command(export_module_command)


@click.command("send-training-reminders")
@click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="The day to act as (default: today in the organization's time zone).")
@with_appcontext
def send_training_reminders_command(today: dt.datetime | None) -> None:
    """Assign new joiners, then send the training reminders and follow-up notices due today (run it daily)."""
    from adoption.extensions import db
    from adoption.timekeeping import org_today, utcnow
    from training.assignments import sync_assignees
    from training.reminders import send_due_training_reminders

    day = today.date() if today else org_today(current_app.config["ORG_TIMEZONE"])
    joiners = sync_assignees(day)
    run = send_due_training_reminders(day, utcnow())
    db.session.commit()
    click.echo(f"new joiners assigned: {joiners}")
    click.echo(f"training reminders: {run.before_due} before due, {run.overdue} overdue; "
               f"follow-up notices: {run.follow_ups}; messages: {run.messages}")


@click.command("import-module")
@click.argument("folder", type=click.Path(exists=True, file_okay=False))
@click.option("--publish", is_flag=True, help="Publish the module after importing it.")
@with_appcontext
def import_module_command(folder: str, publish: bool) -> None:
    """Create or update a training module from a folder (module.yaml + Markdown); nothing changes on an error."""
    from adoption.extensions import db
    from training.folder import ModuleFormatError, import_module_dir

    try:
        module = import_module_dir(folder, publish=publish)
    except ModuleFormatError as exc:
        db.session.rollback()
        for error in exc.errors:
            click.echo(str(error), err=True)
        click.echo(f"{len(exc.errors)} problem{'s' if len(exc.errors) != 1 else ''}; nothing was imported.", err=True)
        raise SystemExit(1) from exc
    db.session.commit()
    click.echo(f"{module.slug}: {module.title} (version {module.version}, {module.status}, {len(module.steps)} steps)")


@click.command("export-module")
@click.argument("slug")
@click.argument("folder", type=click.Path(file_okay=False))
@with_appcontext
def export_module_command(slug: str, folder: str) -> None:
    """Write the training module ``slug`` as a folder (module.yaml + Markdown) that import-module reads back."""
    from training.authoring import module_by_slug
    from training.folder import export_module

    module = module_by_slug(slug)
    if module is None:
        raise click.ClickException(f"there is no module with the slug {slug!r}")
    path = export_module(module, folder)
    click.echo(f"{module.slug} (version {module.version}) written to {path}")
