"""Engagement frames → plotly figures (the frames of ``dashboards.metrics.engagement``).

A suppressed group never reaches a mark: its figure is a blank that says the suppression message,
its heatmap cells are empty with the message in the hover and on the unit's axis label, and its
trend point is a gap with the message written over it. Every mark carries its n.
"""

from __future__ import annotations

import textwrap

import pandas as pd
import plotly.graph_objects as go

from dashboards.figures import empty_figure
from dashboards.metrics import engagement as metrics

SHOWN_COLOUR = "#0d6efd"
QUIET_COLOUR = "#6c757d"
# Lines drawn at first on the trend; items start hidden (one click in the legend shows them).
NO_CHILD_UNITS = "No unit directly below this one took part in the round"
HEADLINE_SERIES = (metrics.ENGAGEMENT_SERIES, metrics.ENPS_SERIES, metrics.RESPONSE_RATE_SERIES)


LABEL_WIDTH = 36  # characters per line of a driver chart's item label


def _layout(figure: go.Figure, **layout) -> go.Figure:
    """The layout the engagement charts share."""
    figure.update_layout(
        template="plotly_white",
        legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0},
        margin={"l": 20, "r": 20, "t": 40, "b": 40},
        **layout,
    )
    return figure


def suppressed_figure(message: str = metrics.SUPPRESSED_MESSAGE) -> go.Figure:
    """The whole chart's group is suppressed: a blank that says so, with no mark at all."""
    return empty_figure(message[:1].upper() + message[1:])


def _n(value) -> str:
    """An n for a hover or a label ("n/a" when it may not be shown)."""
    return "n/a" if value is None or pd.isna(value) else f"{int(value)}"


def trend_figure(trend: pd.DataFrame) -> go.Figure:
    """One line per series across rounds, on one −100..100 axis; each point carries its n.

    Rounds suppressed as a whole are gaps with the suppression message written over them.
    """
    if trend.empty:
        return empty_figure()
    rounds = metrics.rounds_with(trend)
    shown = trend[~trend["suppressed"].astype(bool)]
    if shown.empty:
        return suppressed_figure(str(trend["message"].dropna().iloc[0]))
    figure = go.Figure()
    series_shown = list(dict.fromkeys(trend.loc[trend["series"] != "all", "series"]))
    # The headline series share one n (the group's respondents): written once, on the first.
    labelled = next((s for s in series_shown if s in HEADLINE_SERIES), None)
    for series, rows in trend[trend["series"] != "all"].groupby("series", sort=False):
        by_round = rows.set_index("round").reindex(rounds)
        values = [None if pd.isna(v) else float(v) for v in by_round["value"]]
        figure.add_scatter(
            name=str(rows["label"].iloc[0]),
            mode="lines+markers+text" if series == labelled else "lines+markers",
            x=rounds,
            y=values,
            text=["" if v is None else f"n={_n(n)}" for v, n in zip(values, by_round["n"],
                                                                  strict=True)],
            textposition="top center",
            textfont={"size": 10, "color": QUIET_COLOUR},
            customdata=[
                [metrics.SUPPRESSED_MESSAGE if v is None and m else _n(n)]
                for v, n, m in zip(values, by_round["n"], by_round["suppressed"], strict=True)
            ],
            hovertemplate=f"{rows['label'].iloc[0]}<br>%{{x}}: %{{y:.0f}} (n = %{{customdata[0]}})"
            "<extra></extra>",
            connectgaps=False,
            visible=True if series in HEADLINE_SERIES else "legendonly",
        )
    for label in trend.loc[trend["series"] == "all", "round"]:
        figure.add_annotation(
            x=label, y=0, text=metrics.SUPPRESSED_MESSAGE, textangle=-90, showarrow=False,
            font={"size": 11, "color": QUIET_COLOUR},
        )
    return _layout(
        figure,
        height=380,
        yaxis={"range": [-105, 105], "title": "Score, % or points", "zeroline": True},
        xaxis={"title": "Round", "type": "category", "categoryarray": rounds},
    )


def heatmap_figure(grid: pd.DataFrame) -> go.Figure:
    """Child units × items, favourability (%). Suppressed cells are blank, never a number, with the
    suppression message in their hover; a unit suppressed as a whole says so on its label."""
    if grid.empty:
        return empty_figure(NO_CHILD_UNITS)
    if grid["suppressed"].astype(bool).all():
        return suppressed_figure(str(grid["message"].dropna().iloc[0]))
    units = list(dict.fromkeys(grid["unit"]))
    items = list(dict.fromkeys(grid["item_key"].dropna()))
    # A unit's respondents (n), or None for a unit suppressed as a whole.
    unit_n = grid.groupby("unit", sort=False)["n"].first()
    labels = [
        f"{u} — {metrics.SUPPRESSED_MESSAGE}" if pd.isna(unit_n[u])
        else f"{u} (n = {_n(unit_n[u])})"
        for u in units
    ]
    cells = grid.dropna(subset=["item_key"]).set_index(["unit", "item_key"])
    z, text, hover = [], [], []
    for unit in units:
        z_row, text_row, hover_row = [], [], []
        for item in items:
            cell = cells.loc[(unit, item)] if (unit, item) in cells.index else None
            shown = cell is not None and pd.notna(cell["favourable_pct"])
            value = float(cell["favourable_pct"]) if shown else None
            z_row.append(value)
            text_row.append("" if value is None else f"{value:.0f}%")
            if cell is not None and bool(cell["suppressed"]):
                hover_row.append(str(cell["message"]))
            elif value is None:
                hover_row.append("not asked")
            else:
                hover_row.append(f"{value:.0f}% favourable, n = {_n(cell['item_n'])} answers")
        z.append(z_row)
        text.append(text_row)
        hover.append(hover_row)
    figure = go.Figure(
        go.Heatmap(
            z=z,
            x=items,
            y=labels,
            text=text,
            texttemplate="%{text}",
            customdata=hover,
            hovertemplate="%{y}<br>%{x}: %{customdata}<extra></extra>",
            zmin=0,
            zmax=100,
            colorscale="RdYlGn",
            colorbar={"title": "Favourable", "ticksuffix": "%"},
            xgap=1,
            ygap=1,
            hoverongaps=True,
        )
    )
    return _layout(
        figure,
        height=max(260, 120 + 30 * len(units)),
        yaxis={"autorange": "reversed", "automargin": True},
        xaxis={"tickangle": -35, "automargin": True},
    )


def barrier_figure(barriers: pd.DataFrame) -> go.Figure:
    """Respondents by their first change-readiness barrier, each bar labelled with its count and
    share of n."""
    if barriers.empty:
        return empty_figure("No change-readiness items in this round")
    if barriers["suppressed"].astype(bool).any():
        return suppressed_figure(str(barriers["message"].dropna().iloc[0]))
    n = int(barriers["n"].iloc[0])
    labels = [metrics.BARRIER_LABELS.get(b, str(b)) for b in barriers["barrier"]]
    figure = go.Figure()
    figure.add_bar(
        x=labels,
        y=barriers["respondents"].astype(int).tolist(),
        text=[f"{int(r)} ({s:.0%})" for r, s in zip(barriers["respondents"], barriers["share"],
                                                     strict=True)],
        textposition="auto",
        marker_color=[QUIET_COLOUR if b == metrics.NO_BARRIER else SHOWN_COLOUR
                      for b in barriers["barrier"]],
        hovertemplate=f"%{{x}}: %{{y}} of n = {n} respondents<extra></extra>",
    )
    return _layout(figure, height=320, showlegend=False, yaxis={"title": f"Respondents (n = {n})"},
                   xaxis={"title": "First barrier (ADKAR order)"})


def driver_figure(drivers: pd.DataFrame) -> go.Figure:
    """Each item's r with the engagement index and its 95% interval as error bars; significant
    ones filled, the others hollow, grey and labelled "not significant"; hidden items named on
    the axis with the suppression message and no mark."""
    if drivers.empty:
        return empty_figure("No driver items in this round")
    if drivers["suppressed"].astype(bool).all() and drivers["item_key"].isna().all():
        return suppressed_figure(str(drivers["message"].dropna().iloc[0]))
    # Wrapped: the chart has half the page, and a long label (a follow-up item's question, a
    # hidden item's message) would squeeze the plot into a sliver.
    labels = [
        "<br>".join(textwrap.wrap(f"{k} — {m}" if bool(s) else f"{k} (n = {_n(n)})", LABEL_WIDTH))
        for k, n, s, m in zip(drivers["item_key"], drivers["n"], drivers["suppressed"],
                              drivers["message"], strict=True)
    ]
    figure = go.Figure()
    for significant, name, colour, symbol in (
        (True, "Significant (95% CI excludes 0)", SHOWN_COLOUR, "circle"),
        (False, "Not significant", QUIET_COLOUR, "circle-open"),
    ):
        keep = [bool(s) is significant and not bool(h) and pd.notna(r)
                for s, h, r in zip(drivers["significant"], drivers["suppressed"], drivers["r"],
                                   strict=True)]
        rows = drivers[keep]
        if rows.empty:
            continue
        r = rows["r"].astype(float)
        low, high = rows["ci_low"].astype(float), rows["ci_high"].astype(float)
        figure.add_scatter(
            name=name,
            mode="markers+text",
            x=r.tolist(),
            y=[lab for lab, k in zip(labels, keep, strict=True) if k],
            marker={"color": colour, "symbol": symbol, "size": 10},
            error_x={
                "type": "data",
                "symmetric": False,
                "array": (high - r).fillna(0).tolist(),
                "arrayminus": (r - low).fillna(0).tolist(),
                "color": colour,
            },
            text=[
                f"r = {v:.2f}" + ("" if significant else " (not significant)") for v in r
            ],
            textposition="top center",
            textfont={"size": 10, "color": colour},
            customdata=[
                [f"{lo:.2f}" if pd.notna(lo) else "n/a", f"{hi:.2f}" if pd.notna(hi) else "n/a",
                 _n(n)]
                for lo, hi, n in zip(low, high, rows["n"], strict=True)
            ],
            hovertemplate="%{y}<br>r = %{x:.2f}, 95% CI [%{customdata[0]}, %{customdata[1]}], "
            "n = %{customdata[2]}" + ("" if significant else " — not significant")
            + "<extra></extra>",
        )
    # Every item keeps its row, hidden ones too, in the frame's order.
    figure.update_yaxes(categoryorder="array", categoryarray=labels, autorange="reversed",
                        automargin=True)
    figure.add_vline(x=0, line={"color": QUIET_COLOUR, "width": 1})
    figure.add_scatter(x=[None] * len(labels), y=labels, mode="markers", showlegend=False,
                       hoverinfo="skip")
    return _layout(
        figure,
        height=max(260, 100 + 34 * len(labels) + 14 * sum(lab.count("<br>") for lab in labels)),
        xaxis={"range": [-1, 1], "title": "Correlation with the engagement index (r, 95% CI)"},
    )


def plans_figure(plans: pd.DataFrame) -> go.Figure:
    """Action plans per status, each bar labelled with its count."""
    if plans.empty or int(plans["plans"].sum()) == 0:
        return empty_figure("No action plans for this unit yet")
    labels = [metrics.STATUS_LABELS.get(s, str(s)) for s in plans["status"]]
    figure = go.Figure()
    figure.add_bar(
        x=labels,
        y=plans["plans"].astype(int).tolist(),
        text=[f"n = {int(v)}" for v in plans["plans"]],
        textposition="auto",
        marker_color=SHOWN_COLOUR,
        hovertemplate="%{x}: %{y} plan(s)<extra></extra>",
    )
    # Counts of plans: whole-number ticks (a unit with one plan per status read 0, 0.2, … 1).
    return _layout(figure, height=280, showlegend=False,
                   yaxis={"title": "Action plans", "tickformat": ",d", "rangemode": "tozero",
                          "dtick": 1 if int(plans["plans"].max()) <= 10 else None})
