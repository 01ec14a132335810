"""DataFrame → plotly Figure. No database, no request: what a figure shows is decided upstream."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

NO_DATA_MESSAGE = "No data in your scope"
GRID_COLOUR = "#ebf0f8"  # plotly_white's grid


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


def plain_figure(traces: list[dict], title: str, x_title: str, y_title: str, height: int = 380,
            **layout) -> dict:
    """A figure as plain plotly JSON with the look the plain charts share (evidence, executive) (plotly_white's,
    set directly). Plain data, not ``go.Figure``: building and validating graph objects and a
    template took most of a callback's time on the large demo (measured, docs/performance.md)."""
    axis = {"gridcolor": GRID_COLOUR, "zerolinecolor": GRID_COLOUR, "linecolor": GRID_COLOUR}
    return {"data": traces, "layout": {
        "paper_bgcolor": "white", "plot_bgcolor": "white", "height": height, "showlegend": False,
        "title": {"text": title, "font": {"size": 13}, "x": 0, "xanchor": "left"},
        "margin": {"l": 20, "r": 20, "t": 40, "b": 40},
        "xaxis": {**axis, "automargin": True, "title": {"text": x_title}, **layout.pop("xaxis", {})},
        "yaxis": {**axis, "automargin": True, "title": {"text": y_title}, **layout.pop("yaxis", {})},
        **layout,
    }}


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


def _percent(value: float | None) -> str:
    """A share for people to read ("n/a" when missing)."""
    return "n/a" if value is None or pd.isna(value) else f"{value:.0%}"


def _week_layout(figure: go.Figure, *, height: int = 320) -> go.Figure:
    """The layout shared by the weekly line charts: shares on a 0–100% axis, weeks on x."""
    figure.update_layout(
        template="plotly_white",
        height=height,
        yaxis={"tickformat": ".0%", "range": [0, 1.05], "title": "Share of licensed people"},
        xaxis={"title": "Week starting"},
        legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0},
        margin={"l": 20, "r": 20, "t": 40, "b": 40},
    )
    return figure


def adoption_rate_figure(weekly: pd.DataFrame, target: float | None) -> go.Figure:
    """Weekly adoption rate (active / licensed) with its n per point, and the target as a line.

    ``weekly`` has ``week_start``, ``licensed``, ``active``, ``adoption_rate`` (NaN when nobody
    is licensed: the line breaks there instead of dropping to 0).
    """
    if weekly.empty or int(weekly["licensed"].sum()) == 0:
        return empty_figure()
    weeks = [w.isoformat() for w in weekly["week_start"]]
    figure = go.Figure()
    figure.add_scatter(
        name="Adoption rate",
        mode="lines+markers",
        x=weeks,
        y=weekly["adoption_rate"].tolist(),
        customdata=list(zip(weekly["active"], weekly["licensed"], strict=True)),
        hovertemplate="Week of %{x}<br>%{y:.0%} active: %{customdata[0]} of "
        "%{customdata[1]} licensed (n)<extra></extra>",
        connectgaps=False,
        line={"color": "#0d6efd"},
    )
    if target is not None:
        figure.add_scatter(
            name=f"Target {target:.0%}",
            mode="lines",
            x=[weeks[0], weeks[-1]],
            y=[target, target],
            line={"color": "#dc3545", "dash": "dash"},
            hovertemplate=f"Target {target:.0%}<extra></extra>",
        )
    return _week_layout(figure)


def behaviours_figure(shares: pd.DataFrame) -> go.Figure:
    """One line per key behaviour: weekly share of licensed people who performed it, with n.

    ``shares`` has ``week_start``, ``event_type``, ``people``, ``licensed``, ``share``.
    """
    if shares.empty or int(shares["licensed"].sum()) == 0:
        return empty_figure()
    figure = go.Figure()
    for event_type, rows in shares.groupby("event_type", sort=False):
        figure.add_scatter(
            name=str(event_type),
            mode="lines+markers",
            x=[w.isoformat() for w in rows["week_start"]],
            y=rows["share"].tolist(),
            customdata=list(zip(rows["people"], rows["licensed"], strict=True)),
            hovertemplate=f"{event_type}<br>Week of %{{x}}: %{{y:.0%}} "
            "(%{customdata[0]} of %{customdata[1]} licensed)<extra></extra>",
            connectgaps=False,
        )
    return _week_layout(figure)


def adoption_heatmap(grid: pd.DataFrame, min_n: int) -> go.Figure:
    """Unit × week adoption rates; cells with fewer than ``min_n`` licensed people carry a "*".

    ``grid`` has ``path``, ``week_start``, ``licensed``, ``active``, ``adoption_rate``,
    ``small_n`` for every unit and week.
    """
    if grid.empty or int(grid["licensed"].sum()) == 0:
        return empty_figure()
    units = list(dict.fromkeys(grid["path"]))
    weeks = sorted(set(grid["week_start"]))

    def table(column: str) -> pd.DataFrame:
        """``column`` as a units × weeks table, units in the frame's order."""
        return grid.pivot(index="path", columns="week_start", values=column).reindex(
            index=units, columns=weeks
        )

    rates, small = table("adoption_rate"), table("small_n")
    active, licensed = table("active"), table("licensed")
    z = [[None if pd.isna(v) else float(v) for v in r] for r in rates.itertuples(index=False)]
    text = [
        [("" if pd.isna(v) else f"{v:.0%}") + ("*" if s else "") for v, s in zip(r, f, strict=True)]
        for r, f in zip(rates.itertuples(index=False), small.itertuples(index=False), strict=True)
    ]
    customdata = [
        [[int(a), int(n)] for a, n in zip(ra, rn, strict=True)]
        for ra, rn in zip(
            active.itertuples(index=False), licensed.itertuples(index=False), strict=True
        )
    ]
    figure = go.Figure(
        go.Heatmap(
            z=z,
            x=[w.isoformat() for w in weeks],
            y=units,
            text=text,
            texttemplate="%{text}",
            customdata=customdata,
            hovertemplate="%{y}<br>Week of %{x}: %{text}<br>%{customdata[0]} active of "
            "%{customdata[1]} licensed (n)<extra></extra>",
            zmin=0,
            zmax=1,
            colorscale="Blues",
            colorbar={"title": "Adoption", "tickformat": ".0%"},
            xgap=1,
            ygap=1,
        )
    )
    figure.update_layout(
        template="plotly_white",
        height=max(240, 80 + 28 * len(units)),
        yaxis={"autorange": "reversed", "automargin": True},
        xaxis={"title": "Week starting"},
        margin={"l": 20, "r": 20, "t": 20, "b": 40},
    )
    return figure
