"""Dashboard commands: ``flask --app wsgi evidence`` (the linkage of two metrics, issue 6 point 4,
organization-wide; ``--json`` prints what ``GET /api/v1/evidence`` answers),
``evaluate-hypotheses`` (daily) and ``send-digests`` (the sponsors' weekly digest, issue 7)."""
from __future__ import annotations

import json

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from adoption.extensions import db
from adoption.timekeeping import org_today

_DATE = click.DateTime(formats=["%Y-%m-%d"])


def register(app: Flask) -> None:
    """Attach the dashboard commands to ``app``."""
    app.cli.add_command(evidence_command)
    app.cli.add_command(evaluate_hypotheses_command)
    app.cli.add_command(send_digests_command)


@click.command("evidence")
@click.option("--x", "x", required=True, help="The metric at month t (e.g. adoption_rate, engagement_index).")
@click.option("--y", "y", required=True, help="The metric at month t+lag (e.g. csat, nps).")
@click.option("--lag", default=None, help="Months from x to y (negative: y first). Default 1.")
@click.option("--lags", default=None, help="A range of lags 'A..B' scanned at once, Holm-adjusted (e.g. -3..3).")
@click.option("--level", default="team", show_default=True,
              help="Units compared: team (units without children), region, company or a depth.")
@click.option("--start", type=_DATE, default=None, help="First month (YYYY-MM-DD; default: 24 months ago).")
@click.option("--end", type=_DATE, default=None, help="Last month (YYYY-MM-DD; default: today).")
@click.option("--direction", type=click.Choice(["positive", "negative"]), default="positive", show_default=True,
              help="The expected direction the verdict is read in.")
@click.option("--smallest-effect", type=float, default=0.1, show_default=True,
              help="The smallest correlation that would matter (0 to 1).")
@click.option("--json", "as_json", is_flag=True, help="Print the JSON of GET /api/v1/evidence.")
@with_appcontext
def evidence_command(x, y, lag, lags, level, start, end, direction, smallest_effect, as_json) -> None:
    """Does x go with y LAG months later across units? Estimates, intervals, verdict, reading."""
    from dashboards import bring_up_to_date, evidence

    today = org_today(current_app.config["ORG_TIMEZONE"])
    try:
        question = evidence.make_question(
            x, y, lag=lag, lags=lags, level=level, start=start.date() if start else None,
            end=end.date() if end else None, direction=direction, smallest_effect=smallest_effect,
            today=today,
        )
        evidence.check_known(question)
    except evidence.EvidenceError as exc:
        raise click.UsageError(str(exc)) from None
    bring_up_to_date(today)
    answers = evidence.assess(evidence.ORGANIZATION, question, current_app.config)
    db.session.commit()
    if as_json:
        click.echo(json.dumps(evidence.as_json(answers, single=lags is None), indent=2))
        return
    click.echo(f"{evidence.label(question.x)} → {evidence.label(question.y)}, {question.level} level, "
               f"{question.start:%Y-%m} to {question.end:%Y-%m}")
    for answer in answers:
        click.echo("")
        click.echo(_summary_line(answer.as_dict()))
        click.echo(click.wrap_text(answer.reading, width=100))


def _number(value: float | None, digits: int = 2) -> str:
    """A figure for the terminal; '—' when missing."""
    return "—" if value is None else f"{value:.{digits}f}"


def _summary_line(answer: dict) -> str:
    """'lag +1: r = 0.45 [0.16, 0.67], slope … , p … → supported (40 units, 200 unit-months)'."""
    ci = answer["r_ci"] or [None, None]
    p_adjusted = f", adjusted {answer['p_adjusted']:.3g}" if answer["p_adjusted"] is not None else ""
    p = f", p = {answer['p']:.3g}{p_adjusted}" if answer["p"] is not None else ""
    return (f"lag {answer['lag']:+d}: r = {_number(answer['r'])} [{_number(ci[0])}, {_number(ci[1])}]{p} "
            f"→ {answer['verdict']} ({answer['n_units']} units, {answer['n_observations']} unit-months)")


@click.command("evaluate-hypotheses")
@click.option("--today", type=_DATE, default=None,
              help="The day to evaluate as of (YYYY-MM-DD; default: today in the organization's time zone).")
@with_appcontext
def evaluate_hypotheses_command(today) -> None:
    """Re-evaluate every hypothesis of the register (run daily); print each verdict and whether it changed."""
    from dashboards import bring_up_to_date, hypotheses

    day = today.date() if today else org_today(current_app.config["ORG_TIMEZONE"])
    bring_up_to_date(day)
    # Committed after each hypothesis: a long run does not hold the database's write lock.
    checks = hypotheses.evaluate_all(day, current_app.config, trigger="schedule",
                                     on_checked=lambda _check: db.session.commit())
    db.session.commit()
    for check in checks:
        click.echo(_check_line(check))
    changed = sum(check.changed for check in checks)
    click.echo(f"hypotheses: {len(checks)} evaluated, {changed} changed")


def _check_line(check) -> str:
    """'#3 supported (r = 0.45 [0.16, 0.67], 40 units, 200 unit-months), changed: Teams that ...'."""
    h = check.hypothesis
    latest = h.evaluations[-1] if h.evaluations else None
    if latest is None or latest.r is None:
        figures = f"no estimate, {latest.n_units if latest else 0} units"
    else:
        figures = (f"r = {latest.r:.2f} [{_number(latest.r_low)}, {_number(latest.r_high)}], "
                   f"{latest.n_units} units, {latest.n_observations} unit-months")
    return (f"#{h.id} {h.verdict} ({figures}), {'changed' if check.changed else 'unchanged'}: "
            f"{click.unstyle(h.statement)[:80]}")


@click.command("send-digests")
@click.option("--today", type=_DATE, default=None,
              help="The day to send as of (YYYY-MM-DD; default: today in the organization's time zone).")
@with_appcontext
def send_digests_command(today) -> None:
    """Send each sponsor this week's digest (run weekly; a second run the same week sends nothing)."""
    from dashboards import bring_up_to_date, digest

    day = today.date() if today else org_today(current_app.config["ORG_TIMEZONE"])
    bring_up_to_date(day)
    run = digest.send_digests(day, current_app.config)
    db.session.commit()
    click.echo(f"digests: sent={run.sent} already_sent={run.already_sent}")
