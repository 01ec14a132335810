"""Evidence frames → plotly figures (the frames of ``dashboards.metrics.evidence_charts``).

Every figure states its n (units and unit-months) in its title, so a screenshot carries it.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import plotly.graph_objects as go

from dashboards.figures import empty_figure

POINT_COLOUR = "#0d6efd"
LINE_COLOUR = "#dc3545"
BAND_COLOUR = "rgba(220, 53, 69, 0.15)"
CLEAR_COLOUR = "#198754"  # interval excludes zero
UNCLEAR_COLOUR = "#6c757d"
# Beyond this many points a scatter is drawn with WebGL and hovers show the values only: a
# thousand teams over a year would otherwise send megabytes of hover text with every change.
MAX_HOVER_POINTS = 3000


def _layout(figure: go.Figure, title: str, x_title: str, y_title: str, height: int = 380) -> go.Figure:
    """The layout the evidence charts share."""
    figure.update_layout(
        template="plotly_white", height=height, showlegend=False,
        title={"text": title, "font": {"size": 13}, "x": 0, "xanchor": "left"},
        margin={"l": 20, "r": 20, "t": 50, "b": 40},
        xaxis_title=x_title, yaxis_title=y_title,
    )
    return figure


def _band(figure: go.Figure, band: pd.DataFrame) -> None:
    """The fitted line and its 95% band."""
    if band.empty:
        return
    figure.add_trace(go.Scatter(
        x=list(band["x"]) + list(band["x"][::-1]), y=list(band["high"]) + list(band["low"][::-1]),
        fill="toself", fillcolor=BAND_COLOUR, line={"width": 0}, hoverinfo="skip",
        name="95% band"))
    figure.add_trace(go.Scatter(x=band["x"], y=band["fit"], mode="lines", name="fitted line",
                                line={"color": LINE_COLOUR, "width": 2}, hoverinfo="skip"))


def _points(x: pd.Series, y: pd.Series, name: str, hover: Callable[[], pd.Series]):
    """The scatter's points; with more than ``MAX_HOVER_POINTS``, WebGL and value-only hovers
    (``hover`` builds the per-point text only when it is used)."""
    marker = {"color": POINT_COLOUR, "size": 7, "opacity": 0.6}
    if len(x) > MAX_HOVER_POINTS:
        return go.Scattergl(x=x, y=y, mode="markers", name=name, marker={**marker, "size": 5},
                            hovertemplate="%{x:.3g}, %{y:.3g}<extra></extra>")
    return go.Scatter(x=x, y=y, mode="markers", name=name, marker=marker, text=hover(),
                      hovertemplate="%{text}<extra></extra>")


def linkage_figure(scatter: pd.DataFrame, band: pd.DataFrame, x_label: str, y_label: str,
                   when: str, n_text: str) -> go.Figure:
    """Units' x against their y ``when`` (both as distances from the month's mean), with the
    fitted line and its band; hover: unit, months, raw values, y's n."""
    if scatter.empty:
        return empty_figure("No unit has both figures at this lag.")
    figure = go.Figure()
    _band(figure, band)
    figure.add_trace(_points(scatter["x_centred"], scatter["y_centred"], "unit-months", lambda: (
        scatter["unit"].astype(str) + "<br>" + scatter["period"].astype(str)
        + f"<br>{x_label}: " + scatter["x"].map("{:.3g}".format)
        + f"<br>{y_label} ({when}): " + scatter["y"].map("{:.3g}".format)
        + scatter["weight"].map(lambda w: "" if pd.isna(w) else f"<br>n = {w:.0f}"))))
    return _layout(figure, n_text, f"{x_label} (vs. the month's mean)",
                   f"{y_label} {when} (vs. the month's mean)")


def change_figure(changes: pd.DataFrame, band: pd.DataFrame, x_label: str, y_label: str,
                  n_text: str) -> go.Figure:
    """A unit's change in x against its change in y at the lag, month-centred, with the
    within-unit slope's line and band."""
    if changes.empty:
        return empty_figure("No unit has changes in both figures at this lag.")
    figure = go.Figure()
    _band(figure, band)
    figure.add_trace(_points(changes["dx_centred"], changes["dy_centred"], "changes", lambda: (
        changes["unit"].astype(str) + "<br>" + changes["period"].astype(str)
        + f"<br>change in {x_label}: " + changes["dx"].map("{:+.3g}".format)
        + f"<br>change in {y_label}: " + changes["dy"].map("{:+.3g}".format))))
    return _layout(figure, n_text, f"change in {x_label}", f"change in {y_label}")


def profile_figure(profile: pd.DataFrame, chosen_lag: int, n_text: str) -> go.Figure:
    """r and its 95% interval at each lag (positive: x first; negative: y first); green where
    the interval excludes zero, the chosen lag larger; hover: n and p (raw, adjusted)."""
    shown = profile.dropna(subset=["r"])
    if shown.empty:
        reasons = profile["message"].dropna()
        return empty_figure(reasons.iloc[0] if len(reasons) else "No estimate at any lag.")
    clear = (shown["r_low"] > 0) | (shown["r_high"] < 0)
    text = [f"lag {lag:+d}: r = {r:.2f} [{lo:.2f}, {hi:.2f}]<br>{u} units, {o} unit-months"
            f"<br>p = {p:.3g}, Holm-adjusted {pa:.3g}"
            for lag, r, lo, hi, u, o, p, pa in zip(
                shown["lag"], shown["r"], shown["r_low"], shown["r_high"], shown["n_units"],
                shown["n_observations"], shown["p"], shown["p_adjusted"], strict=True)]
    figure = go.Figure(go.Scatter(
        x=shown["lag"], y=shown["r"], mode="markers", text=text,
        hovertemplate="%{text}<extra></extra>",
        error_y={"type": "data", "symmetric": False, "array": shown["r_high"] - shown["r"],
                 "arrayminus": shown["r"] - shown["r_low"], "color": UNCLEAR_COLOUR},
        marker={"color": [CLEAR_COLOUR if c else UNCLEAR_COLOUR for c in clear],
                "size": [14 if lag == chosen_lag else 9 for lag in shown["lag"]]},
    ))
    figure.add_hline(y=0, line={"color": "#adb5bd", "width": 1})
    figure.update_xaxes(tickmode="array", tickvals=list(profile["lag"]),
                        ticktext=[f"{lag:+d}" for lag in profile["lag"]])
    figure.update_yaxes(range=[-1, 1])
    return _layout(figure, n_text, "lag in months (x first → positive; y first → negative)",
                   "r across units", height=340)
