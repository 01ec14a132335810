"""DataFrame → plotly Figure. No database, no request: what a figure shows is decided upstream."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

NO_DATA_MESSAGE = "No data in your scope"


def empty_figure(message: str = NO_DATA_MESSAGE) -> go.Figure:
    """A blank figure that says why it is blank, instead of an empty pair of axes."""
    figure = go.Figure()
    figure.add_annotation(
        text=message, x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False, font={"size": 16}
    )
    figure.update_xaxes(visible=False)
    figure.update_yaxes(visible=False)
    figure.update_layout(
        template="plotly_white", height=240, margin={"l": 20, "r": 20, "t": 20, "b": 20}
    )
    return figure


def headcount_figure(rolled: pd.DataFrame) -> go.Figure:
    """Horizontal bars of employees and licensed people per unit, each bar labelled with its n.

    ``rolled`` has ``path``, ``employees``, ``licensed`` and ``licence_share`` per unit.
    """
    if rolled.empty:
        return empty_figure()
    labels = rolled["path"].tolist()
    share = [f"{s:.0%}" if pd.notna(s) else "n/a" for s in rolled["licence_share"]]
    figure = go.Figure()
    figure.add_bar(
        name="Employees",
        marker_color="#6c757d",
        y=labels,
        x=rolled["employees"].tolist(),
        orientation="h",
        text=[f"n = {n}" for n in rolled["employees"]],
        textposition="auto",
        hovertemplate="%{y}<br>Employees: %{x}<extra></extra>",
    )
    figure.add_bar(
        name="Licensed",
        marker_color="#0d6efd",
        y=labels,
        x=rolled["licensed"].tolist(),
        orientation="h",
        text=[f"{n} ({s})" for n, s in zip(rolled["licensed"], share, strict=True)],
        textposition="auto",
        customdata=share,
        hovertemplate="%{y}<br>Licensed: %{x} (%{customdata} of employees)<extra></extra>",
    )
    figure.update_layout(
        barmode="group",
        template="plotly_white",
        xaxis_title="People",
        # Keep the table's top-to-bottom order instead of plotly's bottom-up default.
        yaxis={"autorange": "reversed", "automargin": True},
        legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0},
        height=max(240, 60 + 56 * len(labels)),
        margin={"l": 20, "r": 20, "t": 40, "b": 40},
    )
    return figure
