"""``flask --app wsgi ...`` commands. Each command is a transaction: it commits once at the end."""
from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import click
from flask import Flask
from flask.cli import with_appcontext

from adoption.extensions import db
from adoption.models import ROLES, TOKEN_SCOPES
from adoption.telemetry.formats import FORMATS as FILE_FORMATS


def register(app: Flask) -> None:
    """Attach the commands to ``app``."""
    app.cli.add_command(backup_database_command)
    app.cli.add_command(copy_database_command)
    app.cli.add_command(create_user_command)
    app.cli.add_command(create_token_command)
    app.cli.add_command(demo_command)
    app.cli.add_command(erase_leavers_command)
    app.cli.add_command(import_outcomes_command)
    app.cli.add_command(import_roster_command)
    app.cli.add_command(ingest_events_command)
    app.cli.add_command(purge_telemetry_command)
    app.cli.add_command(quickstart_command)
    app.cli.add_command(refresh_rollups_command)


@click.command("create-user")
@click.argument("email")
@click.option("--role", type=click.Choice(ROLES), required=True, help="What the user may see.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--invite", is_flag=True,
              help="Set no password: e-mail a one-time link to set one (docs/accounts.md).")
@with_appcontext
def create_user_command(email: str, role: str, password_stdin: bool, invite: bool) -> None:
    """Create a user account (the password is prompted for unless --password-stdin or --invite)."""
    from adoption.accounts import AccountError, create_user, send_password_link
    from adoption.timekeeping import utcnow
    
    if invite and password_stdin:
        raise click.UsageError("--invite sets no password: drop --password-stdin")
    if invite:
        password = None
    elif password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = create_user(email, role, password)
        if invite:
            send_password_link(user, "invite", now=utcnow())
    except AccountError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    linked = f", linked to employee {user.employee.hr_id}" if user.employee else ""
    invited = "; an invitation to set a password was sent (or is in the Outbox)" if invite else ""
    click.echo(f"Created {user.email} with role {user.role}{linked}{invited}.")


@click.command("create-token")
@click.argument("name")
@click.option("--scope", type=click.Choice(TOKEN_SCOPES), required=True, help="What the token may do.")
@with_appcontext
def create_token_command(name: str, scope: str) -> None:
    """Create an API token and print it once (only its hash is stored)."""
    from adoption.tokens import TokenError, issue_token

    try:
        token, plaintext = issue_token(name, scope, created_by_id=None)
    except TokenError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    click.echo(f"Created token {token.prefix} ({token.name}, scope {token.scope}). "
               "Copy it now; it is not shown again:", err=True)
    click.echo(plaintext)


#: ``--as-of`` of the commands that load the demo: the day its dates follow.
_AS_OF = click.option(
    "--as-of", "as_of", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
    help="The day the demo's dates follow (default: today in the organization's time zone).")


@click.command("demo")
@click.option("--size", type=click.Choice(["small", "large"]), default="small", show_default=True)
@click.option("--seed", type=int, default=7, show_default=True, help="Same seed, same organization.")
@_AS_OF
@with_appcontext
def demo_command(size: str, seed: int, as_of) -> None:
    """Load the deterministic demo organization, its dates following the load day (a second run
    changes nothing)."""
    summary = _load_demo_or_fail(size, seed, as_of)
    db.session.commit()
    click.echo(summary.describe())


def _load_demo_or_fail(size: str, seed: int, as_of):
    """``load_demo``, its configuration errors turned into a one-line CLI error (nothing kept)."""
    from adoption.demo import load_demo
    from adoption.demo_telemetry import DemoLoadError

    try:
        return load_demo(size=size, seed=seed, today=as_of.date() if as_of else None)
    except DemoLoadError as exc:
        db.session.rollback()
        raise click.ClickException(f"The demo was not loaded: {exc}") from exc


@click.command("import-roster")
@click.argument("file", type=click.File("r", encoding="utf-8-sig"))
@click.option("--dry-run", is_flag=True, help="Show what would change; write nothing.")
@click.option("--partial", is_flag=True, help="Do not deactivate people missing from the file.")
@click.option("--force", is_flag=True, help="Apply even when a safety stop trips.")
@click.option("--effective", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Date unit changes take effect (default: today in the organization's time zone).")
@with_appcontext
def import_roster_command(file, dry_run: bool, partial: bool, force: bool, effective) -> None:
    """Import an HR roster CSV: report every rejected row, stop on risky changes unless --force."""
    from flask import current_app

    from adoption.roster import RosterFileError, SafetyStop, import_roster_text
    from adoption.timekeeping import org_today, utcnow

    config = current_app.config
    day = effective.date() if effective else org_today(config["ORG_TIMEZONE"])
    try:
        _record, plan = import_roster_text(
            file.read(), Path(file.name).name, effective=day, now=utcnow(), full=not partial, force=force,
            dry_run=dry_run,
            max_deactivation_share=config["ROSTER_MAX_DEACTIVATION_SHARE"],
            max_email_change_share=config["ROSTER_MAX_EMAIL_CHANGE_SHARE"],
        )
    except RosterFileError as exc:
        db.session.rollback()
        raise click.ClickException(f"{file.name}: {exc}") from exc
    except SafetyStop as exc:
        db.session.rollback()
        for reason in exc.reasons:
            click.echo(f"Safety stop: {reason}.", err=True)
        raise click.ClickException("Nothing was written. Check the file, then re-run with --force.") from exc
    for error in plan.errors + plan.erased:
        who = f" ({error.employee_id})" if error.employee_id else ""
        click.echo(f"{file.name}:{error.line}{who}: {error.reason}", err=True)
    for change in plan.deactivations:
        click.echo(f"deactivate {change.hr_id} {change.full_name}" + (f": {change.note}" if change.note else ""))
    for change in plan.moves:
        old, new = change.fields["unit"]
        click.echo(f"move {change.hr_id} {change.full_name}: {old} -> {new} from {day}")
    counts = " ".join(f"{k}={v}" for k, v in plan.counts().items())
    if dry_run:
        db.session.rollback()
        click.echo(f"Dry run, nothing written: {counts}")
        for stop in plan.safety_stops:
            click.echo(f"Would stop: {stop}.", err=True)
    else:
        db.session.commit()
        click.echo(f"Imported: {counts}")


@click.command("import-outcomes")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--rejects", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write every rejected row, with its line and reason, to this CSV.")
@click.option("--replace", is_flag=True,
              help="Correct stored values: a row whose value differs replaces it instead of being a conflict.")
@with_appcontext
def import_outcomes_command(file: str, rejects: str | None, replace: bool) -> None:
    """Import customer outcomes (CSV: unit,period_start,period_end,metric,value[,responses]),
    committing in batches (re-running it is safe)."""
    import contextlib

    from adoption.outcomes import FileFormatError, import_outcomes
    from adoption.signals import announce_import

    try:
        with open(file, "rb") as stream, contextlib.ExitStack() as stack:
            out = stack.enter_context(open(rejects, "w", newline="", encoding="utf-8")) if rejects else None
            result = import_outcomes(stream, rejects=out, replace=replace)
    except FileFormatError as exc:
        db.session.rollback()
        raise click.ClickException(f"{file}: {exc}. Nothing was imported.") from exc
    if result.rejected and not rejects:
        click.echo(f"{result.rejected} rows were rejected; re-run with --rejects OUT.csv to see why "
                   "(accepted rows come back as duplicates).", err=True)
    click.echo(result.summary())
    announce_import("outcomes", result.accepted)  # every batch is committed
    _finish_background_jobs()


@click.command("ingest-events")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(FILE_FORMATS),
              required=True, help="The file's format (see docs/telemetry.md); gzip is detected.")
@click.option("--event-type", default=None, help="What one row means (salesforce-records only), e.g. activity_logged.")
@click.option("--rejects", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write every rejected row, with its line and reason, to this CSV.")
@with_appcontext
def ingest_events_command(file: str, fmt: str, event_type: str | None, rejects: str | None) -> None:
    """Import a file of CRM usage events, committing in batches (re-running it is safe)."""
    import contextlib
    import os

    from adoption.models import EventImport
    from adoption.telemetry.fileimport import NEEDS_EVENT_TYPE, FileFormatError
    from adoption.telemetry.jobs import run_recorded_import
    from adoption.timekeeping import utcnow

    if fmt in NEEDS_EVENT_TYPE and not event_type:
        raise click.UsageError(f"--event-type is required with --format {fmt}.")
    if fmt not in NEEDS_EVENT_TYPE and event_type is not None:
        raise click.UsageError(f"--event-type is only for --format {', '.join(sorted(NEEDS_EVENT_TYPE))}.")

    size = os.path.getsize(file)
    # Recorded like an upload, so the imports page lists command-line runs too.
    record = EventImport(filename=os.path.basename(file)[:255], format=fmt, event_type=event_type,
                         status="running", size_bytes=size, started_at=utcnow())
    db.session.add(record)
    db.session.commit()
    try:
        with open(file, "rb") as stream, contextlib.ExitStack() as stack, \
                click.progressbar(length=size, label="Importing", file=sys.stderr) as bar:
            out = stack.enter_context(open(rejects, "w", newline="", encoding="utf-8")) if rejects else None
            result = run_recorded_import(record.id, stream, out,
                                         on_progress=lambda done, _rows: bar.update(min(done, size) - bar.pos))
    except FileFormatError as exc:
        raise click.ClickException(f"{file}: {exc}. Nothing was imported.") from exc
    if result.rejected and not rejects:
        click.echo(f"{result.rejected} rows were rejected; re-run with --rejects OUT.csv to see why "
                   "(accepted rows come back as duplicates).", err=True)
    click.echo(result.summary())
    _finish_background_jobs()  # run_recorded_import announced the import


@click.command("purge-telemetry")
@click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="The day to act as (default: today in the organization's time zone).")
@with_appcontext
def purge_telemetry_command(today) -> None:
    """Delete raw CRM events older than UPTAKE_TELEMETRY_RETENTION_DAYS (run it daily; rollups stay)."""
    from flask import current_app

    from adoption.telemetry.retention import (
        begin_purge,
        finish_purge,
        purge_chunk,
        remove_import_files,
    )
    from adoption.timekeeping import org_today

    day = today.date() if today else org_today(current_app.config["ORG_TIMEZONE"])
    run = begin_purge(day)
    if run is None:
        click.echo("UPTAKE_TELEMETRY_RETENTION_DAYS is 0: raw events are kept, nothing to purge.")
        return
    # The watermark is committed before anything is deleted, so from then on no ingest takes
    # an event of those days and no rebuild recounts them. Then one short transaction per chunk.
    db.session.commit()
    last = 0
    while (last := purge_chunk(run, last)) is not None:
        db.session.commit()
    remove_import_files(run)
    finish_purge(run)
    db.session.commit()
    click.echo(f"purged: events={run.events_deleted} unmatched={run.unmatched_deleted} files={run.files_deleted} "
               f"before={run.purged_before.isoformat()}")


@click.command("backup-database")
@click.argument("destination", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def backup_database_command(destination: Path) -> None:
    """Write a consistent copy of the embedded SQLite database to DESTINATION while the app runs."""
    import time

    from adoption.backup import BackupError, backup_sqlite

    started = time.perf_counter()
    try:
        backup = backup_sqlite(db.engine, destination)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"backup: {backup.path} bytes={backup.size} integrity=ok "
               f"seconds={time.perf_counter() - started:.1f}")


@click.command("copy-database")
@click.argument("target_url")
@with_appcontext
def copy_database_command(target_url: str) -> None:
    """Copy this app's whole database into an empty, migrated TARGET_URL (e.g. SQLite to PostgreSQL)."""
    import time

    from flask import current_app
    from sqlalchemy import create_engine, make_url
    from sqlalchemy.exc import DBAPIError

    from adoption.config import database_uri
    from adoption.database_copy import CopyError, copy_database

    url = database_uri({"DATABASE_URL": target_url}, current_app.instance_path)
    if make_url(url) == db.engine.url:
        raise click.UsageError("the target is the app's own database")
    target = create_engine(url)
    started = time.perf_counter()
    try:
        report = copy_database(db.engine, target, db.metadata,
                               progress=lambda table, rows: rows and click.echo(f"  {table}: {rows:,} rows"))
    except CopyError as exc:
        raise click.ClickException(str(exc)) from exc
    except DBAPIError as exc:
        # The target's transaction was rolled back: it is as empty as before.
        raise click.ClickException(f"the copy failed and the target was left empty: {exc.orig}") from exc
    finally:
        target.dispose()
    click.echo(f"copied: tables={len(report.rows)} rows={report.total} revision={report.revision} "
               f"seconds={time.perf_counter() - started:.1f}")


@click.command("erase-leavers")
@click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="The day to act as (default: today in the organization's time zone).")
@with_appcontext
def erase_leavers_command(today) -> None:
    """Erase the personal data of people who left, and of accounts with no employee record that were
    disabled, more than UPTAKE_LEAVER_RETENTION_DAYS ago (run it daily)."""
    from flask import current_app

    from adoption.erasure import (
        accounts_due,
        erase_account_for_retention,
        erase_for_retention,
        leavers_due,
    )
    from adoption.timekeeping import org_today, utcnow

    days = current_app.config["LEAVER_RETENTION_DAYS"]
    if not days:
        click.echo("UPTAKE_LEAVER_RETENTION_DAYS is 0: leavers are erased only on request (Admin -> Personal data).")
        return
    day = today.date() if today else org_today(current_app.config["ORG_TIMEZONE"])
    erased = 0
    for employee in leavers_due(day, days):
        # One transaction per person: a crash leaves everyone either erased or untouched.
        erase_for_retention(employee, utcnow())
        db.session.commit()
        erased += 1
    accounts = 0
    for user in accounts_due(day, days):
        erase_account_for_retention(user, utcnow())
        db.session.commit()
        accounts += 1
    click.echo(f"erased: people={erased} accounts={accounts} left_before={(day - dt.timedelta(days=days)).isoformat()}")


def _finish_background_jobs() -> None:
    """Wait for the in-process jobs the command's signals started (without a broker they are
    threads of this process, which would die with it); with Celery there are none to wait for."""
    from adoption.jobs import wait_for_local_jobs

    wait_for_local_jobs()


@click.command("refresh-rollups")
@click.option("--all", "everything", is_flag=True,
              help="Rebuild every week from daily usage, not only the weeks queued as stale.")
@with_appcontext
def refresh_rollups_command(everything: bool) -> None:
    """Recompute the weekly per-unit adoption tables (the queued weeks, or all with --all)."""
    from adoption.telemetry.rollups import rebuild_weekly_usage, refresh_weekly_usage

    weeks = rebuild_weekly_usage() if everything else refresh_weekly_usage()
    db.session.commit()
    click.echo(f"Refreshed {weeks} week{'s' if weeks != 1 else ''}.")


@click.command("quickstart")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--size", type=click.Choice(["small", "large"]), default="small", show_default=True)
@_AS_OF
@with_appcontext
def quickstart_command(host: str, port: int, size: str, as_of) -> None:
    """Apply migrations, load the demo organization if needed, print logins and serve the app."""
    from flask import current_app
    from flask_migrate import upgrade
    from werkzeug.serving import run_simple


    upgrade()
    summary = _load_demo_or_fail(size, 7, as_of)
    db.session.commit()
    click.echo(summary.describe())
    # The demo's rounds stop at its own "today" (the Monday of the week it was built for, or
    # long ago when it was loaded by an earlier run); bring every survey up to the real one, so
    # a newcomer finds an open round in "My surveys" whenever they run this (the command is
    # registered by the surveys package, which this core module does not import).
    context = click.get_current_context()
    schedule = current_app.cli.get_command(context, "schedule-surveys")
    if schedule is not None:
        click.echo("")
        context.invoke(schedule)
    db.session.remove()
    click.echo(f"\nUptake is running on http://{host}:{port}/ (Ctrl+C to stop).")
    # flask's app.run() refuses to start from inside the flask command; run the server directly.
    run_simple(host, port, current_app._get_current_object(), threaded=True, use_reloader=False)
