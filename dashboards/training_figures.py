"""Training frames → plotly figures (the frames of ``dashboards.metrics.training``).

Every mark carries its n: on the axis label of its row and in its hover. A group hidden for its
size keeps its row, labelled with the reason, and has no mark.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from dashboards.figures import empty_figure
from dashboards.metrics import training as metrics

COMPLETION_COLOURS = {
    metrics.ON_TIME: "#198754",
    metrics.LATE: "#ffc107",
    metrics.OVERDUE: "#dc3545",
    metrics.NOT_YET_DUE: "#adb5bd",
}
FOLLOW_UP_COLOURS = {
    metrics.DONE: "#198754",
    metrics.PARTLY: "#20c997",
    metrics.NOT_YET: "#fd7e14",
    metrics.UNANSWERED: "#dc3545",
    metrics.NOT_DUE: "#adb5bd",
}
SHOWN_COLOUR = "#0d6efd"
QUIET_COLOUR = "#6c757d"
NO_ASSIGNMENTS = "No assignment runs in this period for these people"
NO_REACTIONS = "No reaction was given in this period"
NO_ATTEMPTS = "No knowledge check was attempted in this period"
NO_COMMITMENTS = "No commitment was made in this period"
NO_BEHAVIOURS = "No module in this choice names a key behaviour to follow"


def hidden_label(n: int) -> str:
    """What a row too small to show says instead of its figures."""
    return f"fewer than {metrics.MIN_GROUP}, not shown (n = {n})"


def _layout(figure: go.Figure, rows: int, **layout) -> go.Figure:
    """The layout the training charts share: one row per category, top to bottom."""
    figure.update_layout(
        template="plotly_white",
        height=max(240, 90 + 44 * rows),
        # Stacked bars would list their legend bottom-up; keep the statuses' reading order.
        legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0,
                "traceorder": "normal"},
        margin={"l": 20, "r": 20, "t": 40, "b": 40},
        yaxis={"autorange": "reversed", "automargin": True, "type": "category"},
        **layout,
    )
    return figure


def _stacked(frame: pd.DataFrame, row: str, value: str, colours: dict[str, str],
             label_of, states: tuple[str, ...], what: str) -> go.Figure:
    """Stacked horizontal shares per ``row``, one trace per state, counts and n in the hover."""
    rows = list(dict.fromkeys(frame[row]))
    n_of = frame.groupby(row, sort=False)["n"].first()
    hidden = frame.groupby(row, sort=False)["hidden"].first().astype(bool)
    labels = [
        f"{label_of(r)} — {hidden_label(int(n_of[r]))}" if hidden[r]
        else f"{label_of(r)} (n = {int(n_of[r])})"
        for r in rows
    ]
    figure = go.Figure()
    for state in states:
        part = frame[frame["state_key"] == state].set_index(row).reindex(rows)
        shares = [None if pd.isna(s) else float(s) for s in part["share"]]
        counts = ["" if pd.isna(c) else int(c) for c in part[value]]
        figure.add_bar(
            name=metrics.COMPLETION_LABELS.get(state) or metrics.FOLLOW_UP_LABELS[state],
            y=labels,
            x=shares,
            orientation="h",
            marker_color=colours[state],
            customdata=[[c, int(n_of[r])] for c, r in zip(counts, rows, strict=True)],
            hovertemplate="%{y}<br>%{fullData.name}: %{x:.0%} "
            f"(%{{customdata[0]}} of %{{customdata[1]}} {what})<extra></extra>",
        )
    return _layout(figure, len(rows), barmode="stack",
                   xaxis={"tickformat": ".0%", "range": [0, 1], "title": f"Share of {what}"})


def completion_figure(frame: pd.DataFrame) -> go.Figure:
    """Per unit, the share of assignees completed on time, late, overdue and not yet due."""
    if frame.empty:
        return empty_figure(NO_ASSIGNMENTS)
    return _stacked(frame.assign(state_key=frame["status"]), "unit", "assignees",
                    COMPLETION_COLOURS, str, metrics.COMPLETION_STATUSES, "assignees")


def follow_up_figure(frame: pd.DataFrame) -> go.Figure:
    """Per follow-up (30, 60, 90 days), the share of answers and of questions not answered."""
    if frame.empty:
        return empty_figure(NO_COMMITMENTS)
    return _stacked(frame.assign(state_key=frame["state"]), "day_offset", "follow_ups",
                    FOLLOW_UP_COLOURS, lambda d: f"{int(d)} days", metrics.FOLLOW_UP_STATES,
                    "follow-ups")


def reaction_figure(frame: pd.DataFrame) -> go.Figure:
    """Mean usefulness (1–5) per module with its 95% interval; n on each module's label."""
    if frame.empty:
        return empty_figure(NO_REACTIONS)
    labels = [
        f"{r.module} — {hidden_label(int(r.n))}" if r.hidden else f"{r.module} (n = {int(r.n)})"
        for r in frame.itertuples(index=False)
    ]
    shown = ~frame["hidden"].astype(bool)
    mean = frame["mean"].where(shown)
    plus = (frame["ci_high"] - frame["mean"]).where(shown)
    minus = (frame["mean"] - frame["ci_low"]).where(shown)
    figure = go.Figure()
    figure.add_scatter(
        name="Mean usefulness",
        x=[None if pd.isna(v) else float(v) for v in mean],
        y=labels,
        mode="markers",
        marker={"size": 11, "color": SHOWN_COLOUR},
        error_x={"type": "data", "symmetric": False,
                 "array": [0 if pd.isna(v) else float(v) for v in plus],
                 "arrayminus": [0 if pd.isna(v) else float(v) for v in minus]},
        customdata=[[int(n)] for n in frame["n"]],
        hovertemplate="%{y}<br>Mean %{x:.2f} of 5 (n = %{customdata[0]}), "
        "95% interval shown<extra></extra>",
    )
    return _layout(figure, len(labels), showlegend=False,
                   xaxis={"range": [0.8, 5.2], "title": "Usefulness (1 = not at all, 5 = very)",
                          "dtick": 1})


def learning_figure(frame: pd.DataFrame) -> go.Figure:
    """Per module: first-attempt pass rate and pass rate over all attempts (bars), with the
    first-attempt score and n in the hover and n on the label."""
    if frame.empty:
        return empty_figure(NO_ATTEMPTS)
    labels = [
        f"{r.module} — {hidden_label(int(r.first_attempts))}" if r.hidden
        else f"{r.module} (n = {int(r.first_attempts)})"
        for r in frame.itertuples(index=False)
    ]
    figure = go.Figure()
    scores = ["n/a" if pd.isna(s) else f"{float(s):.0f}%" for s in frame["first_attempt_score"]]
    for column, name, colour in (
        ("first_attempt_pass_rate", "Passed at the first attempt", SHOWN_COLOUR),
        ("pass_rate", "Passed at some attempt", "#198754"),
    ):
        figure.add_bar(
            name=name,
            y=labels,
            x=[None if pd.isna(v) else float(v) for v in frame[column]],
            orientation="h",
            marker_color=colour,
            customdata=[[s, int(n)] for s, n in zip(scores, frame["first_attempts"], strict=True)],
            hovertemplate="%{y}<br>" + name + ": %{x:.0%}<br>Mean first-attempt score "
            "%{customdata[0]} (n = %{customdata[1]} learner × check)<extra></extra>",
        )
    return _layout(figure, len(labels), barmode="group",
                   xaxis={"tickformat": ".0%", "range": [0, 1], "title": "Share of learners"})


def did_label(row) -> str:
    """A forest-plot row: module, behaviour and the n of both groups."""
    return (f"{row.module} · {row.behaviour} (completers n = {int(row.n_completers)}, "
            f"comparison n = {int(row.n_comparison)})")


def did_figure(frame: pd.DataFrame) -> go.Figure:
    """Forest plot: each module × key behaviour's difference-in-differences (events per person
    per week) with its 95% interval and both n; rows without an estimate say why."""
    if frame.empty:
        return empty_figure(NO_BEHAVIOURS)
    labels = [did_label(r) for r in frame.itertuples(index=False)]
    estimated = frame["estimate"].notna()
    figure = go.Figure()
    colours = [
        SHOWN_COLOUR if pd.notna(low) and (low > 0 or high < 0) else QUIET_COLOUR
        for low, high in zip(frame["ci_low"], frame["ci_high"], strict=True)
    ]
    figure.add_scatter(
        name="Difference-in-differences",
        x=[None if pd.isna(v) else float(v) for v in frame["estimate"]],
        y=labels,
        mode="markers",
        marker={"size": 11, "color": colours},
        error_x={
            "type": "data", "symmetric": False,
            "array": [0 if pd.isna(h) else float(h - e)
                      for e, h in zip(frame["estimate"], frame["ci_high"], strict=True)],
            "arrayminus": [0 if pd.isna(lo) else float(e - lo)
                           for e, lo in zip(frame["estimate"], frame["ci_low"], strict=True)],
        },
        customdata=[
            ["n/a" if pd.isna(lo) else f"{lo:+.2f}", "n/a" if pd.isna(h) else f"{h:+.2f}",
             "n/a" if pd.isna(p) else f"{p:.3f}"]
            for lo, h, p in zip(frame["ci_low"], frame["ci_high"], frame["p_value"], strict=True)
        ],
        hovertemplate="%{y}<br>%{x:+.2f} events a week (95% CI %{customdata[0]} to "
        "%{customdata[1]}, p = %{customdata[2]})<extra></extra>",
    )
    for label, message in zip(labels, frame["message"], strict=True):
        if isinstance(message, str) and message:
            figure.add_annotation(x=0, y=label, text=message, showarrow=False, xanchor="left",
                                  font={"color": QUIET_COLOUR})
    figure.add_vline(x=0, line={"color": QUIET_COLOUR, "dash": "dot"})
    if not estimated.any():
        figure.update_xaxes(range=[-1, 1])
    return _layout(figure, len(labels), showlegend=False,
                   xaxis={"title": "Change in weekly events, completers minus comparison",
                          "zeroline": True})
