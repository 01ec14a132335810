"""Evidence frames → plotly figures (the frames of ``dashboards.metrics.evidence_charts``).

Every figure states its n (units and unit-months) in its title, so a screenshot carries it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dashboards.figures import empty_figure, plain_figure

POINT_COLOUR = "#0d6efd"
LINE_COLOUR = "#dc3545"
BAND_COLOUR = "rgba(220, 53, 69, 0.15)"
CLEAR_COLOUR = "#198754"  # interval excludes zero
UNCLEAR_COLOUR = "#6c757d"
# Beyond this many points a scatter is drawn with WebGL and hovers show the values only: a
# thousand teams over a year would otherwise send megabytes of hover text with every change.
MAX_HOVER_POINTS = 3000
# Beyond this many, a fixed random sample of the points is drawn (the title says so); r, the line
# and the band always use every point, and the CSV download holds them all.
MAX_DRAWN_POINTS = 4000


def _values(series) -> np.ndarray:
    """A column as a float array (Dash's plotly encoder sends it as binary, NaN as a gap)."""
    return np.asarray(series, dtype=float)


def _band(band: pd.DataFrame) -> list[dict]:
    """The fitted line and its 95% band."""
    if band.empty:
        return []
    x = _values(band["x"])
    return [
        {"type": "scatter", "x": np.concatenate([x, x[::-1]]),
         "y": np.concatenate([_values(band["high"]), _values(band["low"])[::-1]]),
         "fill": "toself", "fillcolor": BAND_COLOUR, "line": {"width": 0}, "hoverinfo": "skip",
         "name": "95% band", "mode": "lines"},
        {"type": "scatter", "x": x, "y": _values(band["fit"]), "mode": "lines", "name": "fitted line",
         "line": {"color": LINE_COLOUR, "width": 2}, "hoverinfo": "skip"},
    ]


def drawn(frame: pd.DataFrame, n_text: str) -> tuple[pd.DataFrame, str]:
    """The rows a scatter draws and its title: all of them, or beyond ``MAX_DRAWN_POINTS`` a
    fixed random sample (the same on every call) with the title saying so."""
    if len(frame) <= MAX_DRAWN_POINTS:
        return frame, n_text
    rows = np.sort(np.random.default_rng(0).choice(len(frame), MAX_DRAWN_POINTS, replace=False))
    return frame.iloc[rows], (f"{n_text} Drawn: a random {MAX_DRAWN_POINTS:,} of {len(frame):,} "
                              f"points; the line, band and figures use them all.")


def _points(x: pd.Series, y: pd.Series, name: str, hover: Callable[[], pd.Series]) -> dict:
    """The scatter's points; with more than ``MAX_HOVER_POINTS``, WebGL and value-only hovers
    (``hover`` builds the per-point text only when it is used)."""
    trace = {"x": _values(x), "y": _values(y), "mode": "markers", "name": name,
             "marker": {"color": POINT_COLOUR, "size": 7, "opacity": 0.6}}
    if len(x) > MAX_HOVER_POINTS:
        trace["marker"]["size"] = 5
        return {**trace, "type": "scattergl", "hovertemplate": "%{x:.3g}, %{y:.3g}<extra></extra>"}
    return {**trace, "type": "scatter", "text": list(hover()), "hovertemplate": "%{text}<extra></extra>"}


def linkage_figure(scatter: pd.DataFrame, band: pd.DataFrame, x_label: str, y_label: str,
                   when: str, n_text: str) -> dict | go.Figure:
    """Units' x against their y ``when`` (both as distances from the month's mean), with the
    fitted line and its band; hover: unit, months, raw values, y's n."""
    if scatter.empty:
        return empty_figure("No unit has both figures at this lag.")
    scatter, title = drawn(scatter, n_text)
    points = _points(scatter["x_centred"], scatter["y_centred"], "unit-months", lambda: (
        scatter["unit"].astype(str) + "<br>" + scatter["period"].astype(str)
        + f"<br>{x_label}: " + scatter["x"].map("{:.3g}".format)
        + f"<br>{y_label} ({when}): " + scatter["y"].map("{:.3g}".format)
        + scatter["weight"].map(lambda w: "" if pd.isna(w) else f"<br>n = {w:.0f}")))
    return plain_figure([*_band(band), points], title, f"{x_label} (vs. the month's mean)",
                   f"{y_label} {when} (vs. the month's mean)")


def change_figure(changes: pd.DataFrame, band: pd.DataFrame, x_label: str, y_label: str,
                  n_text: str) -> dict | go.Figure:
    """A unit's change in x against its change in y at the lag, month-centred, with the
    within-unit slope's line and band."""
    if changes.empty:
        return empty_figure("No unit has changes in both figures at this lag.")
    changes, title = drawn(changes, n_text)
    points = _points(changes["dx_centred"], changes["dy_centred"], "changes", lambda: (
        changes["unit"].astype(str) + "<br>" + changes["period"].astype(str)
        + f"<br>change in {x_label}: " + changes["dx"].map("{:+.3g}".format)
        + f"<br>change in {y_label}: " + changes["dy"].map("{:+.3g}".format)))
    return plain_figure([*_band(band), points], title, f"change in {x_label}", f"change in {y_label}")


def profile_figure(profile: pd.DataFrame, chosen_lag: int, n_text: str) -> dict | go.Figure:
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
    trace = {
        "type": "scatter", "x": [int(v) for v in shown["lag"]], "y": _values(shown["r"]),
        "mode": "markers", "text": text, "hovertemplate": "%{text}<extra></extra>",
        "error_y": {"type": "data", "symmetric": False, "array": _values(shown["r_high"] - shown["r"]),
                    "arrayminus": _values(shown["r"] - shown["r_low"]), "color": UNCLEAR_COLOUR},
        "marker": {"color": [CLEAR_COLOUR if c else UNCLEAR_COLOUR for c in clear],
                   "size": [14 if lag == chosen_lag else 9 for lag in shown["lag"]]},
    }
    lags = [int(v) for v in profile["lag"]]
    return plain_figure(
        [trace], n_text, "lag in months (x first → positive; y first → negative)", "r across units",
        height=340,
        xaxis={"tickmode": "array", "tickvals": lags, "ticktext": [f"{lag:+d}" for lag in lags]},
        yaxis={"range": [-1, 1]},
        shapes=[{"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": 0, "y1": 0,
                 "line": {"color": "#adb5bd", "width": 1}}],
    )
