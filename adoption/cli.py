"""``flask --app wsgi ...`` commands. Each command is a transaction: it commits once at the end."""
from __future__ import annotations

import sys

import click
from flask import Flask
from flask.cli import with_appcontext

from adoption.extensions import db
from adoption.models import ROLES


def register(app: Flask) -> None:
    """Attach the commands to ``app``."""
    app.cli.add_command(create_user_command)
    app.cli.add_command(demo_command)


@click.command("create-user")
@click.argument("email")
@click.option("--role", type=click.Choice(ROLES), required=True, help="What the user may see.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@with_appcontext
def create_user_command(email: str, role: str, password_stdin: bool) -> None:
    """Create a user account (the password is prompted for unless --password-stdin)."""
    from adoption.accounts import AccountError, create_user

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = create_user(email, role, password)
    except AccountError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    linked = f", linked to employee {user.employee.hr_id}" if user.employee else ""
    click.echo(f"Created {user.email} with role {user.role}{linked}.")


@click.command("demo")
@click.option("--size", type=click.Choice(["small", "large"]), default="small", show_default=True)
@click.option("--seed", type=int, default=7, show_default=True, help="Same seed, same organization.")
@with_appcontext
def demo_command(size: str, seed: int) -> None:
    """Load the deterministic demo organization (a second run changes nothing)."""
    from adoption.demo import load_demo

    summary = load_demo(size=size, seed=seed)
    db.session.commit()
    click.echo(summary.describe())
