"""What the Evidence page draws, as frames (pure pandas/statsmodels, like ``evidence``).

The scatter shows what r measures: each unit-month's x and its y ``lag`` months later, both as
distances from their month's mean across units (a month that is better for everyone is no
evidence). Its line and band are OLS of the centred y on the centred x with errors clustered by
unit, so the band, like r's interval, widens with few units rather than narrowing with many
months. The within-unit view shows month-centred changes, the lag profile r at each lag.
"""

from __future__ import annotations

from collections.abc import Sequence

# statsmodels and scipy are imported in the functions that compute a statistic: together they are
# ~90 MB of a process's memory, which a process that never computes one (a CLI import, a background
# worker) need not hold; a web worker imports them once, at its first such request.
import numpy as np
import pandas as pd

from dashboards.metrics import evidence as ev

SCATTER_COLUMNS = ["unit", "period", "x", "y", "x_centred", "y_centred", "weight"]
CHANGE_COLUMNS = ["unit", "period", "dx", "dy", "dx_centred", "dy_centred"]
BAND_COLUMNS = ["x", "fit", "low", "high"]
PROFILE_COLUMNS = ["lag", "r", "r_low", "r_high", "p", "p_adjusted", "n_units", "n_observations",
                   "message"]
BAND_POINTS = 40


def _month_centred(values: pd.Series, months: pd.Series) -> pd.Series:
    """``values`` minus their month's mean."""
    return values - values.groupby(months.to_numpy()).transform("mean")


def scatter_frame(panel: pd.DataFrame | ev.Grid, lag: int) -> pd.DataFrame:
    """x at month t and y at t+``lag`` per unit, raw and month-centred (``period`` is x's
    month); ``weight`` is y's n (NaN when y has none)."""
    pairs = ev.lagged_pairs(panel, lag)
    if pairs.empty:
        return pd.DataFrame(columns=SCATTER_COLUMNS)
    frame = pairs.assign(
        x_centred=_month_centred(pairs["x"], pairs["month"]),
        y_centred=_month_centred(pairs["y"], pairs["month"]),
    )
    if "weight" not in frame:
        frame["weight"] = np.nan
    return frame[SCATTER_COLUMNS]


def change_frame(panel: pd.DataFrame | ev.Grid, lag: int) -> pd.DataFrame:
    """Each unit's change in x (month t−1 → t) beside its change in y (t+lag−1 → t+lag), raw
    and month-centred; ``period`` is t."""
    grid = panel if isinstance(panel, ev.Grid) else ev.panel_grid(panel)
    pairs = ev.change_pairs(grid, lag)
    if pairs.empty:
        return pd.DataFrame(columns=CHANGE_COLUMNS)
    frame = pairs.assign(
        period=pd.array(ev.period_labels(grid, pairs["month"].to_numpy())),
        dx_centred=_month_centred(pairs["dx"], pairs["month"]),
        dy_centred=_month_centred(pairs["dy"], pairs["month"]),
    )
    return frame[CHANGE_COLUMNS]


def fitted_band(x: pd.Series, y: pd.Series, units: pd.Series, points: int = BAND_POINTS,
                confidence: float = ev.CONFIDENCE, intercept: bool = True) -> pd.DataFrame:
    """The OLS line of ``y`` on ``x`` over ``points`` values spanning x, with the
    ``confidence`` band of the fitted mean, errors clustered by ``units``; empty below two
    units or when x does not vary."""
    import statsmodels.api as sm

    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    groups = pd.factorize(np.asarray(units))[0]
    if len(x) < 3 or groups.max(initial=-1) < 1 or np.ptp(x) <= 0:
        return pd.DataFrame(columns=BAND_COLUMNS)
    design = sm.add_constant(x) if intercept else x[:, None]
    fit = sm.OLS(y, design).fit(cov_type="cluster", cov_kwds={"groups": groups}, use_t=True)
    grid = np.linspace(x.min(), x.max(), points)
    new = sm.add_constant(grid, has_constant="add") if intercept else grid[:, None]
    predicted = fit.get_prediction(new).summary_frame(alpha=1 - confidence)
    return pd.DataFrame({"x": grid, "fit": predicted["mean"].to_numpy(),
                         "low": predicted["mean_ci_lower"].to_numpy(),
                         "high": predicted["mean_ci_upper"].to_numpy()})


def profile_frame(linkages: Sequence[ev.Linkage]) -> pd.DataFrame:
    """One row per lag: r, its interval, p (raw and Holm-adjusted), n units and unit-months,
    and why there is no estimate where there is none."""
    rows = [{
        "lag": lk.lag, "r": lk.r,
        "r_low": lk.r_ci[0] if lk.r_ci else None, "r_high": lk.r_ci[1] if lk.r_ci else None,
        "p": lk.p, "p_adjusted": lk.p_adjusted, "n_units": lk.n_units,
        "n_observations": lk.n_observations, "message": lk.message,
    } for lk in linkages]
    return pd.DataFrame(rows, columns=PROFILE_COLUMNS).astype(
        {"r": "float64", "r_low": "float64", "r_high": "float64", "p": "float64",
         "p_adjusted": "float64"})
