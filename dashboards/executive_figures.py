"""Commitment records → plotly figures for the executive dashboard (plain plotly JSON).

Every figure's title carries its period and the n behind it, so a screenshot in a board pack
still says what it rests on.
"""

from __future__ import annotations

from collections.abc import Sequence

from dashboards.commitment import LeadershipRecord, Outcomes, Period, SponsorRecord, TrendPoint
from dashboards.figures import empty_figure, plain_figure

OBJECTIVE_COLOUR = "#0d6efd"
PERCEIVED_COLOUR = "#fd7e14"
FLAG_COLOUR = "#dc3545"
CALM_COLOUR = "#adb5bd"
TARGET_COLOUR = "#198754"


def _rounded(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0f}"


def gap_figure(records: Sequence[SponsorRecord], team: LeadershipRecord | None, period: Period) -> dict:
    """Objective and perceived commitment (0–100) side by side per sponsor (and the team), the
    line between them red where the gap passes the threshold."""
    rows = [(r.name, r.objective.value, r.perceived.leadership, r.perceived.leadership_n, r.visibility.done, r.flag)
            for r in records]
    if team is not None:
        rows.append((team.name, team.objective.value, team.perceived.leadership,
                     team.perceived.leadership_n, team.visibility.done, team.flag))
    rows = [row for row in rows if row[1] is not None or row[2] is not None]
    if not rows:
        return empty_figure("No sponsor record with figures in this period.").to_plotly_json()
    traces: list[dict] = []
    for name, objective, perceived, _n, _done, flag in rows:
        if objective is not None and perceived is not None:
            traces.append({"type": "scatter", "x": [objective, perceived], "y": [name, name], "mode": "lines",
                           "line": {"color": FLAG_COLOUR if flag else CALM_COLOUR, "width": 4 if flag else 2},
                           "hoverinfo": "skip", "showlegend": False})
    names = [row[0] for row in rows]
    traces.append({"type": "scatter", "x": [row[1] for row in rows], "y": names, "mode": "markers",
                   "name": "objective (what the record shows)",
                   "marker": {"color": OBJECTIVE_COLOUR, "size": 13, "symbol": "circle"},
                   "text": [f"{row[0]}: objective {_rounded(row[1])} from {row[4]} activities" for row in rows],
                   "hoverinfo": "text"})
    traces.append({"type": "scatter", "x": [row[2] for row in rows], "y": names, "mode": "markers",
                   "name": "perceived (employees' answers)",
                   "marker": {"color": PERCEIVED_COLOUR, "size": 13, "symbol": "diamond"},
                   "text": [f"{row[0]}: perceived {_rounded(row[2])} (n = {row[3]} respondents)" for row in rows],
                   "hoverinfo": "text"})
    # The sponsors' areas may overlap the team's (the whole organization): their n are not added.
    sponsors_n = sum(r.perceived.leadership_n for r in records)
    who = f"{len(records)} sponsor" + ("s" if len(records) != 1 else "")
    title = (f"Objective vs perceived commitment, 0–100 — {period.label}; {who} (perceived from "
             f"{sponsors_n} respondents in their areas)"
             + (f", the team ({team.perceived.leadership_n} respondents)" if team is not None else ""))
    return plain_figure(traces, title, "score (0–100)", "", height=110 + 55 * len(rows),
                        xaxis={"range": [0, 100]}, yaxis={"autorange": "reversed"}, showlegend=True,
                        legend={"orientation": "h", "y": -0.25})


def adoption_figure(outcome: Outcomes, period: Period) -> dict:
    """Weekly organization adoption rate against the target."""
    if not outcome.adoption_trend:
        return empty_figure("No weekly adoption in this period.").to_plotly_json()
    weeks = [week for week, _rate in outcome.adoption_trend]
    traces = [{"type": "scatter", "x": weeks, "y": [rate for _week, rate in outcome.adoption_trend],
               "mode": "lines+markers", "name": "adoption rate", "line": {"color": OBJECTIVE_COLOUR}}]
    if outcome.adoption_target is not None:
        traces.append({"type": "scatter", "x": [weeks[0], weeks[-1]],
                       "y": [outcome.adoption_target, outcome.adoption_target], "mode": "lines",
                       "name": "target", "line": {"color": TARGET_COLOUR, "dash": "dash"}})
    title = (f"Adoption rate by week vs target — {period.label}; last week {outcome.active:,} active "
             f"of {outcome.licensed:,} licensed")
    return plain_figure(traces, title, "week", "% of licensed people active", height=300,
                        yaxis={"range": [0, 100]})


def _trend_text(points: Sequence[TrendPoint], name: str) -> list[str]:
    return [f"{name} {p.month}: {p.value:.1f} ({p.units} units, n = {p.n:,})" for p in points]


def customer_figure(outcome: Outcomes, period: Period) -> dict:
    """Monthly CSAT (left axis) and NPS (right axis), each point with its units and responses."""
    if not outcome.csat and not outcome.nps:
        return empty_figure("No CSAT or NPS imported for this period.").to_plotly_json()
    traces = []
    if outcome.csat:
        traces.append({"type": "scatter", "x": [p.month for p in outcome.csat], "y": [p.value for p in outcome.csat],
                       "mode": "lines+markers", "name": "CSAT", "line": {"color": OBJECTIVE_COLOUR},
                       "text": _trend_text(outcome.csat, "CSAT"), "hoverinfo": "text"})
    if outcome.nps:
        traces.append({"type": "scatter", "x": [p.month for p in outcome.nps], "y": [p.value for p in outcome.nps],
                       "mode": "lines+markers", "name": "NPS", "yaxis": "y2", "line": {"color": PERCEIVED_COLOUR},
                       "text": _trend_text(outcome.nps, "NPS"), "hoverinfo": "text"})
    latest = (outcome.csat or outcome.nps)[-1]
    title = (f"Customer satisfaction by month — up to {period.end:%d %b %Y}; latest month {latest.month}: "
             f"{latest.units} units, n = {latest.n:,} responses")
    return plain_figure(traces, title, "month", "CSAT", height=300, showlegend=True,
                        margin={"l": 20, "r": 60, "t": 40, "b": 40},
                        yaxis2={"title": {"text": "NPS"}, "overlaying": "y", "side": "right", "showgrid": False},
                        legend={"orientation": "h", "y": -0.3})
