"""Evidence (D5, D6): does a unit metric x go with a customer outcome y some months later?

Pure: pandas, numpy, scipy and statsmodels only. No Flask, no database, no clock. The input is a
*panel*: one row per unit and month with the columns

- ``unit`` — any hashable label (a team's id or path);
- ``period`` — the month. Canonical form: a pandas monthly ``Period`` (dtype ``period[M]``).
  Also accepted: dates or timestamps (the month they fall in; normally the first of the month)
  and plain integers (consecutive month numbers). Pairing is by calendar month, never by row
  position, so a missing month never shifts a pair;
- ``x``, ``y`` — the two metrics (missing values allowed);
- ``weight`` — optional: the n behind the outcome ``y`` (e.g. CSAT responses).

For a lag ``L`` a pair is x of month t with y of month t+L of the same unit (``lagged_pairs``);
a negative L pairs x with an *earlier* y, which tests the reverse direction. On the pairs,
``linkage`` computes three statistics (method, assumptions and references: docs/evidence.md):

1. **r across units**: the correlation of x and y among units in the same month (both centred on
   their month's mean, pooled over months), with a 95% interval by Fisher's z using the number of
   *units*, not unit-months — a unit's months are not independent observations;
2. **the multilevel model** y ~ x + C(period) + (1 | unit) by REML (Laird & Ware), weighted by
   the outcome's n when the panel has one: slope, 95% interval, p;
3. **within-unit change**: a unit's change in x from month t−1 to t against its change in y from
   t+L−1 to t+L (both centred on their month), OLS with errors clustered by unit.

``verdict`` judges a hypothesis on the r scale; ``reading`` writes the plain-language paragraph;
``as_dict`` gives the JSON of the CLI and the API; ``simulate_panel`` makes panels with a known
lagged relation for the tests and ``bench/evidence_validation.py``.
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

# statsmodels and scipy are imported in the functions that compute a statistic: together they are
# ~90 MB of a process's memory, which a process that never computes one (a CLI import, a background
# worker) need not hold; a web worker imports them once, at its first such request.
import numpy as np
import pandas as pd
from threadpoolctl import ThreadpoolController

CONFIDENCE = 0.95
ALPHA = 1 - CONFIDENCE
#: Below this many units with at least one pair, ``linkage`` refuses (issue 6, point 3).
MIN_UNITS = 10
NOT_ENOUGH_UNITS = "Not enough data: {n} units have {what}; at least {min} are needed."
NO_VARIATION = "Not enough data: {which} does not vary between units within a month."

SUPPORTED, CONTRADICTED, INCONCLUSIVE = "supported", "contradicted", "inconclusive"
VERDICTS = (SUPPORTED, CONTRADICTED, INCONCLUSIVE)

#: How the multilevel model was fitted (``Linkage.model``).
RANDOM_INTERCEPT = "random intercept (REML)"
WEIGHTED_RANDOM_INTERCEPT = "random intercept, weighted by n (REML)"
#: ``linkage(engine=...)``: the closed-form REML below (fast), or statsmodels ``MixedLM`` (the
#: reference the closed form is tested against; 2–6 s at 1,200 units × 24 months).
CLOSED_FORM, STATSMODELS = "closed_form", "statsmodels"
NOT_FITTED = "not fitted: too few unit-months for x and a level per month"

PANEL_COLUMNS = ("unit", "period", "x", "y")


# --- results ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WithinUnit:
    """How a unit's change in x (month t−1 → t) goes with its change in y (t+L−1 → t+L)."""

    n_units: int
    n_observations: int  # change pairs
    r: float | None = None  # correlation of the month-centred changes
    r_ci: tuple[float, float] | None = None  # Fisher z with the number of units
    slope: float | None = None  # change in y per unit change in x
    slope_ci: tuple[float, float] | None = None  # t interval, errors clustered by unit
    p: float | None = None  # of the slope
    message: str | None = None  # why there are no estimates; None when there are


@dataclass(frozen=True)
class Linkage:
    """The linkage of x at month t with y at month t+``lag`` across units (or why there is none).

    ``p`` belongs to ``r`` (the Fisher z test, so ``p < 0.05`` exactly when ``r_ci`` excludes 0):
    the verdict is read on r. ``p_adjusted`` is Holm's adjustment over the ``tests`` p-values of a
    scan (``scan``/``adjust``), None for a linkage computed alone.
    """

    lag: int
    n_units: int  # units with at least one pair
    n_observations: int  # pairs (unit-months)
    r: float | None = None
    r_ci: tuple[float, float] | None = None
    p: float | None = None
    slope: float | None = None  # multilevel model: change in y per unit of x
    slope_ci: tuple[float, float] | None = None
    slope_p: float | None = None
    model: str | None = None  # how the multilevel model was fitted
    within_unit: WithinUnit | None = None
    weighted: bool = False
    weight_median: float | None = None  # median n of the outcome over the pairs, when weighted
    p_adjusted: float | None = None
    tests: int = 1  # size of the family p_adjusted was adjusted over
    message: str | None = None  # why there are no estimates; None when there are


@functools.cache
def _blas() -> ThreadpoolController:
    """The process's BLAS thread pools (inspected once, on first use)."""
    return ThreadpoolController()


def _one_blas_thread(function: Callable) -> Callable:
    """Run ``function`` with BLAS limited to one thread. These products are small: a
    multi-threaded BLAS call on a busy web server waits for its threads, 10 ms instead of 10 µs
    for 15,000 values (measured on the Evidence page), and the server runs requests in parallel
    anyway."""
    @functools.wraps(function)
    def limited(*args: Any, **kwargs: Any) -> Any:
        with _blas().limit(limits=1, user_api="blas"):
            return function(*args, **kwargs)

    return limited


# --- the month index and the pairs --------------------------------------------------------------


def month_index(period: pd.Series) -> np.ndarray:
    """Months as consecutive integers (months since January 1970, like ``Period[M]`` ordinals):
    from monthly (or coarser) Periods, dates/timestamps (their month), or integers (as given)."""
    values = pd.Series(period).reset_index(drop=True)
    if isinstance(values.dtype, pd.PeriodDtype):
        return values.dt.asfreq("M", how="start").array.asi8.astype(np.int64)
    if pd.api.types.is_integer_dtype(values.dtype):
        return values.to_numpy(dtype=np.int64)
    if values.dtype == object and len(values) and all(isinstance(v, pd.Period) for v in values):
        return month_index(values.astype(pd.PeriodDtype("M")))
    stamps = pd.to_datetime(values)
    return ((stamps.dt.year - 1970) * 12 + stamps.dt.month - 1).to_numpy(dtype=np.int64)


def _has_weight(panel: pd.DataFrame) -> bool:
    """Whether the panel carries the outcome's n (a ``weight`` column with any value)."""
    return "weight" in panel.columns and bool(panel["weight"].notna().any())


#: A panel may span at most this many months (the grid below is units × months).
MAX_SPAN = 1200


@dataclass(frozen=True)
class Grid:
    """The panel as unit × month arrays, NaN where a value is missing: row i is ``units[i]``,
    column j the month ``first + j`` (``month_index``). Built once by ``panel_grid``; a lag is
    then a shift of columns, so scanning lags and pairs costs no joins."""

    units: np.ndarray
    first: int
    labels: dict  # month index → the period as the panel gave it
    x: np.ndarray
    y: np.ndarray
    weight: np.ndarray | None  # the outcome's n; NaN where missing or not positive

    @property
    def weighted(self) -> bool:
        """Whether the outcome has an n (the panel had a ``weight`` column with any value)."""
        return self.weight is not None


def panel_grid(panel: pd.DataFrame) -> Grid:
    """The panel (columns ``unit``, ``period``, ``x``, ``y``, optional ``weight``) as a ``Grid``;
    ValueError when a column is missing, a unit has two rows for one month, or the months span
    more than ``MAX_SPAN``."""
    missing = [c for c in PANEL_COLUMNS if c not in panel.columns]
    if missing:
        raise ValueError(f"the panel lacks the columns {', '.join(missing)}")
    unit, units = pd.factorize(panel["unit"].to_numpy())
    month = month_index(panel["period"])
    first = int(month.min()) if len(month) else 0
    span = int(month.max()) - first + 1 if len(month) else 0
    if span > MAX_SPAN:
        raise ValueError(f"the panel spans {span} months; at most {MAX_SPAN} are allowed")
    column = month - first
    key = unit.astype(np.int64) * max(span, 1) + column
    taken, counts = np.unique(key, return_counts=True)
    if (counts > 1).any():
        row = int(np.nonzero(key == taken[np.argmax(counts > 1)])[0][0])
        raise ValueError(f"the panel has more than one row for unit {units[unit[row]]!r} "
                         f"in period {panel['period'].iloc[row]}")

    def layer(values: pd.Series) -> np.ndarray:
        grid = np.full((len(units), span), np.nan)
        grid[unit, column] = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
        return grid

    weight = None
    if _has_weight(panel):
        weight = layer(panel["weight"])
        weight[~(weight > 0)] = np.nan
    months, rows = np.unique(month, return_index=True)
    labels = dict(zip(months.tolist(), panel["period"].iloc[rows].tolist(), strict=True))
    return Grid(np.asarray(units), first, labels, layer(panel["x"]), layer(panel["y"]), weight)


def _grid(panel: pd.DataFrame | Grid) -> Grid:
    """A ``Grid`` from a panel, or the grid itself."""
    return panel if isinstance(panel, Grid) else panel_grid(panel)


def _aligned(a: np.ndarray, b: np.ndarray, lag: int, first: int
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Column slices of two unit × month arrays with ``a`` at month t beside ``b`` at t+lag,
    and the month index t of each column (``first`` being that of column 0)."""
    span = a.shape[1]
    if abs(lag) >= span:
        return a[:, :0], b[:, :0], np.zeros(0, dtype=np.int64)
    if lag >= 0:
        return a[:, : span - lag], b[:, lag:], first + np.arange(span - lag)
    return a[:, -lag:], b[:, : span + lag], first - lag + np.arange(span + lag)


@dataclass(frozen=True)
class _Pairs:
    """Paired values as flat arrays, sorted by unit then month."""

    unit: np.ndarray  # row of the grid
    month: np.ndarray  # month index of the first member (x's month)
    a: np.ndarray
    b: np.ndarray
    weight: np.ndarray | None

    @property
    def n_units(self) -> int:
        """Units with at least one pair."""
        return len(np.unique(self.unit))


def _pairs(a: np.ndarray, b: np.ndarray, lag: int, first: int,
           weight: np.ndarray | None = None) -> _Pairs:
    """The cells where ``a`` at t and ``b`` at t+lag (and ``weight``, aligned with ``b``) exist."""
    left, right, months = _aligned(a, b, lag, first)
    ok = ~np.isnan(left) & ~np.isnan(right)
    w = None
    if weight is not None:
        w = _aligned(a, weight, lag, first)[1]
        ok &= ~np.isnan(w)
    rows, cols = np.nonzero(ok)
    return _Pairs(rows, months[cols], left[rows, cols], right[rows, cols],
                  None if w is None else w[rows, cols])


def _lagged(grid: Grid, lag: int) -> _Pairs:
    """x at t with y at t+lag (weight: y's n)."""
    return _pairs(grid.x, grid.y, lag, grid.first, grid.weight)


def _changes(grid: Grid, lag: int) -> _Pairs:
    """The change in x from t−1 to t with the change in y from t+lag−1 to t+lag."""
    dx, dy = np.diff(grid.x, axis=1), np.diff(grid.y, axis=1)
    return _pairs(dx, dy, lag, grid.first + 1)


def period_labels(grid: Grid, months: np.ndarray) -> np.ndarray:
    """The panel's own period labels of month indices (looked up once per distinct month)."""
    distinct, inverse = np.unique(months, return_inverse=True)
    labels = np.empty(len(distinct), dtype=object)
    labels[:] = [grid.labels.get(m, m) for m in distinct.tolist()]
    return labels[inverse]


def lagged_pairs(panel: pd.DataFrame | Grid, lag: int) -> pd.DataFrame:
    """x of month t paired with y of month t+``lag`` of the same unit (a negative lag pairs x
    with an earlier y: the reverse direction).

    Columns: ``unit``, ``period`` (x's period, as given), ``month`` (x's month index, see
    ``month_index``), ``x``, ``y`` and, when the panel has one, ``weight`` (the n of that y).
    Pairs with a missing x or y are dropped, and so, in a weighted panel, are pairs whose weight
    is missing or not positive. Pairing is by calendar month. Sorted by unit and month.
    """
    grid = _grid(panel)
    pairs = _lagged(grid, int(lag))
    frame = pd.DataFrame({
        "unit": grid.units[pairs.unit],
        "period": pd.array(period_labels(grid, pairs.month)),
        "month": pairs.month, "x": pairs.a, "y": pairs.b,
    })
    if pairs.weight is not None:
        frame["weight"] = pairs.weight
    return frame


def change_pairs(panel: pd.DataFrame | Grid, lag: int) -> pd.DataFrame:
    """A unit's change in x from month t−1 to t (``dx``) paired with its change in y from month
    t+lag−1 to t+lag (``dy``); only changes between consecutive months with both values.
    Columns ``unit``, ``month`` (t), ``dx``, ``dy``; sorted by unit and month."""
    grid = _grid(panel)
    pairs = _changes(grid, int(lag))
    return pd.DataFrame({"unit": grid.units[pairs.unit], "month": pairs.month,
                         "dx": pairs.a, "dy": pairs.b})


# --- small statistical pieces -------------------------------------------------------------------


def _codes(values) -> tuple[np.ndarray, int]:
    """Integer codes 0..k−1 of ``values`` and k."""
    codes, uniques = pd.factorize(np.asarray(values))
    return codes.astype(np.int64), len(uniques)


def _centred(values: np.ndarray, codes: np.ndarray, k: int) -> np.ndarray:
    """``values`` minus the mean of their group (here: their month)."""
    means = np.bincount(codes, weights=values, minlength=k) / np.bincount(codes, minlength=k)
    return values - means[codes]


def _correlation(x: np.ndarray, y: np.ndarray) -> float | None:
    """Pearson's r of two centred vectors; None when either does not vary."""
    sxx, syy = float(x @ x), float(y @ y)
    if sxx <= 1e-12 * max(1.0, len(x)) or syy <= 1e-12 * max(1.0, len(y)):
        return None
    return float(np.clip((x @ y) / math.sqrt(sxx * syy), -1.0, 1.0))


def fisher_interval(r: float, n_units: int, confidence: float = CONFIDENCE
                    ) -> tuple[tuple[float, float], float]:
    """The ``confidence`` interval of a correlation by Fisher's z with ``n_units`` (se = 1/√(n−3)),
    and the two-sided p of r = 0 by the same normal approximation."""
    from scipy import stats

    z = math.atanh(min(max(r, -1 + 1e-15), 1 - 1e-15))
    se = 1 / math.sqrt(n_units - 3)
    q = float(stats.norm.ppf(0.5 + confidence / 2))
    p = float(2 * stats.norm.sf(abs(z) / se))
    return (math.tanh(z - q * se), math.tanh(z + q * se)), p


# --- the multilevel model -----------------------------------------------------------------------


def _design(pairs: _Pairs) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """y, the design [1, x, month dummies (first month left out)] and the unit codes."""
    month, k = _codes(pairs.month)
    dummies = np.zeros((len(month), max(k - 1, 0)))
    rows = np.nonzero(month > 0)[0]
    dummies[rows, month[rows] - 1] = 1.0
    design = np.column_stack([np.ones(len(month)), pairs.a, dummies])
    unit, _ = _codes(pairs.unit)
    return pairs.b, design, unit


def random_intercept_reml(
    y: np.ndarray, design: np.ndarray, groups: np.ndarray, weights: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, float, float]:
    """REML fit of y = Xβ + u_group + e with u ~ N(0, τ²) and e ~ N(0, σ²/w): the fixed effects
    β, their covariance σ²(XᵀH⁻¹X)⁻¹, σ² and τ².

    The covariance of a group is σ²(W⁻¹ + γJ) with γ = τ²/σ²; its inverse is (W − c·wwᵀ)/σ² with
    c = γ/(1 + γΣw) (Sherman–Morrison) and its log-determinant log(1 + γΣw) − Σlog w, so every
    quantity is a sum over groups of group totals. σ² is profiled out and the REML criterion
    minimized over log γ alone (and at γ = 0, the boundary). This is the model statsmodels'
    ``MixedLM`` fits (without weights; with them, on the data multiplied by √w and a random
    coefficient on √w) — checked in the tests — computed without its per-group Python loop.
    """
    from scipy import optimize, sparse

    n, p = design.shape
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=float) / np.mean(weights)
    k = int(groups.max()) + 1
    indicator = sparse.csr_matrix((np.ones(n), (groups, np.arange(n))), shape=(k, n))
    wx = design * w[:, None]
    xwx, xwy, ywy = design.T @ wx, wx.T @ y, float(y @ (w * y))
    s = np.asarray(indicator @ wx)  # per group: Σ w·x
    t = np.asarray(indicator @ (w * y)).ravel()  # per group: Σ w·y
    total_w = np.asarray(indicator @ w).ravel()  # per group: Σ w

    def parts(gamma: float) -> tuple[np.ndarray, np.ndarray, float, float]:
        c = gamma / (1 + gamma * total_w)
        xhx = xwx - (s * c[:, None]).T @ s
        xhy = xwy - (s * c[:, None]).T @ t
        beta = np.linalg.solve(xhx, xhy)
        q = ywy - float((c * t) @ t) - float(beta @ xhy)
        return xhx, beta, max(q, 1e-300), float(np.log1p(gamma * total_w).sum())

    def criterion(log_gamma: float) -> float:
        xhx, _, q, logdet_h = parts(math.exp(log_gamma) if log_gamma > -40 else 0.0)
        logdet_x = float(np.linalg.slogdet(xhx)[1])
        return (n - p) * math.log(q / (n - p)) + logdet_h + logdet_x

    best = optimize.minimize_scalar(criterion, bounds=(-12.0, 9.0), method="bounded",
                                    options={"xatol": 1e-7})
    log_gamma = float(best.x) if criterion(float(best.x)) < criterion(-50.0) else -50.0
    gamma = math.exp(log_gamma) if log_gamma > -40 else 0.0
    xhx, beta, q, _ = parts(gamma)
    sigma2 = q / (n - p)
    return beta, sigma2 * np.linalg.inv(xhx), sigma2, gamma * sigma2


def _statsmodels_mixedlm(y, design, groups, weights) -> tuple[float, float]:
    """The slope and its standard error from statsmodels ``MixedLM`` (REML): the reference the
    closed form is checked against. Weights: the data times √w with a random coefficient on √w,
    which is the model y = Xβ + u + e, var e = σ²/w."""
    import statsmodels.api as sm

    root = np.ones(len(y)) if weights is None else np.sqrt(np.asarray(weights) / np.mean(weights))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = sm.MixedLM(y * root, design * root[:, None], groups=groups,
                         exog_re=root[:, None]).fit(reml=True)
    return float(fit.fe_params[1]), float(fit.bse_fe[1])


def _multilevel(pairs: _Pairs, engine: str) -> dict[str, Any]:
    """Slope of x in y ~ x + C(month) + (1 | unit), its normal 95% interval and p (as MixedLM)."""
    from scipy import stats

    y, design, unit = _design(pairs)
    weights = pairs.weight
    weighted = weights is not None
    # The rank of XᵀX (p × p) is that of X, without an SVD of the n × p design.
    if len(y) - design.shape[1] < 2 or np.linalg.matrix_rank(design.T @ design) < design.shape[1]:
        return {"model": NOT_FITTED}
    if engine not in (CLOSED_FORM, STATSMODELS):
        raise ValueError(f"unknown engine {engine!r}")
    try:
        if engine == STATSMODELS:
            slope, se = _statsmodels_mixedlm(y, design, unit, weights)
        else:
            beta, cov, _, _ = random_intercept_reml(y, design, unit, weights)
            slope, se = float(beta[1]), float(math.sqrt(max(cov[1, 1], 0.0)))
    except np.linalg.LinAlgError:
        return {"model": NOT_FITTED}
    q = float(stats.norm.ppf(0.5 + CONFIDENCE / 2))
    p = float(2 * stats.norm.sf(abs(slope) / se)) if se > 0 else 0.0
    return {
        "slope": slope, "slope_ci": (slope - q * se, slope + q * se), "slope_p": p,
        "model": WEIGHTED_RANDOM_INTERCEPT if weighted else RANDOM_INTERCEPT,
    }


# --- within-unit change -------------------------------------------------------------------------


@_one_blas_thread
def within_unit_change(
    panel: pd.DataFrame | Grid, lag: int, min_units: int = MIN_UNITS
) -> WithinUnit:
    """Does a unit's change in x go with its change in y ``lag`` months later?

    Both changes are centred on their month's mean (an organization-wide change is no evidence
    of either); the slope is OLS of the change in y on the change in x with errors clustered by
    unit and a t interval on units − 1 degrees of freedom; r is the correlation of the centred
    changes with a Fisher z interval on the number of units. Unweighted. Refuses below
    ``min_units`` units with a change pair.
    """
    import statsmodels.api as sm

    pairs = _changes(_grid(panel), int(lag))
    units, n_units = _codes(pairs.unit)
    n_obs = len(pairs.unit)
    if n_units < min_units:
        return WithinUnit(n_units, n_obs, message=NOT_ENOUGH_UNITS.format(
            n=n_units, what="a change in x and in y between consecutive months", min=min_units))
    month, k = _codes(pairs.month)
    dx, dy = _centred(pairs.a, month, k), _centred(pairs.b, month, k)
    r = _correlation(dx, dy)
    if r is None:
        which = "the change in x" if float(dx @ dx) <= 1e-12 * n_obs else "the change in y"
        return WithinUnit(n_units, n_obs, message=NO_VARIATION.format(which=which))
    r_ci, _ = fisher_interval(r, n_units)
    fit = sm.OLS(dy, dx[:, None]).fit(cov_type="cluster", cov_kwds={"groups": units},
                                      use_t=True)
    low, high = fit.conf_int(alpha=ALPHA)[0]
    return WithinUnit(
        n_units=n_units, n_observations=n_obs, r=r, r_ci=r_ci, slope=float(fit.params[0]),
        slope_ci=(float(low), float(high)), p=float(fit.pvalues[0]),
    )


# --- the linkage --------------------------------------------------------------------------------


@_one_blas_thread
def linkage(
    panel: pd.DataFrame | Grid, lag: int, *, min_units: int = MIN_UNITS, engine: str = CLOSED_FORM,
    models: bool = True,
) -> Linkage:
    """The three statistics of x at month t against y at month t+``lag`` (see the module doc)
    on a panel (or its ``panel_grid``, to reuse it over several lags), or a refusal (``message``,
    estimates None) below ``min_units`` units with a pair. ``models=False`` gives r alone (its
    interval and p), without the multilevel model and the within-unit change: the verdict's
    statistic at a fraction of the cost, for a lag profile.

    r: month-centred x and y pooled over the pairs, Fisher z interval and p with the number of
    units. Multilevel slope: y ~ x + C(month) + (1 | unit) by REML, the residual variance of a
    unit-month proportional to 1/n when the panel has a ``weight`` (the outcome's n); normal
    interval and p, as statsmodels ``MixedLM`` reports them.
    """
    lag = int(lag)
    grid = _grid(panel)
    pairs = _lagged(grid, lag)
    n_units, n_obs = pairs.n_units, len(pairs.unit)
    base = {"lag": lag, "n_units": n_units, "n_observations": n_obs, "weighted": grid.weighted}
    if pairs.weight is not None and n_obs:
        base["weight_median"] = float(np.median(pairs.weight))
    if n_units < min_units:
        what = f"x and y {_months(abs(lag))} apart" if lag else "x and y in the same month"
        return Linkage(**base, message=NOT_ENOUGH_UNITS.format(n=n_units, what=what,
                                                               min=min_units))
    month, k = _codes(pairs.month)
    x, y = _centred(pairs.a, month, k), _centred(pairs.b, month, k)
    r = _correlation(x, y)
    if r is None:
        which = "x" if float(x @ x) <= 1e-12 * n_obs else "y"
        return Linkage(**base, message=NO_VARIATION.format(which=which))
    r_ci, p = fisher_interval(r, n_units)
    if not models:
        return Linkage(**base, r=r, r_ci=r_ci, p=p)
    return Linkage(
        **base, r=r, r_ci=r_ci, p=p, **_multilevel(pairs, engine),
        within_unit=within_unit_change(grid, lag, min_units),
    )


def holm(p_values: Sequence[float]) -> np.ndarray:
    """Holm's step-down adjusted p-values, in the order given: the i-th smallest p times
    (m − i + 1), made non-decreasing, capped at 1 — what ``statsmodels``'
    ``multipletests(method="holm")`` returns (a test checks they agree). Written out because
    that function calls ``gc.collect()`` on every use, 0.4 s inside a dashboard process."""
    p = np.asarray(p_values, dtype=float)
    order = np.argsort(p, kind="stable")
    scaled = p[order] * (len(p) - np.arange(len(p)))
    adjusted = np.empty_like(p)
    adjusted[order] = np.minimum(np.maximum.accumulate(scaled), 1.0)
    return adjusted


def adjust(linkages: Sequence[Linkage]) -> list[Linkage]:
    """``linkages`` with ``p_adjusted`` by Holm's step-down method over all that have a p (the
    lags, or the pairs, scanned at once) and ``tests`` set to how many those are; refusals are
    returned unchanged."""
    tested = [i for i, lk in enumerate(linkages) if lk.p is not None]
    result = list(linkages)
    if not tested:
        return result
    adjusted = holm([linkages[i].p for i in tested])
    for i, p_adj in zip(tested, adjusted, strict=True):
        result[i] = replace(linkages[i], p_adjusted=float(p_adj), tests=len(tested))
    return result


def scan(panel: pd.DataFrame | Grid, lags: Iterable[int], **options: Any) -> list[Linkage]:
    """``linkage`` at each of ``lags`` (duplicates once, in the order given), Holm-adjusted
    across them."""
    grid = _grid(panel)
    wanted = list(dict.fromkeys(int(lag) for lag in lags))
    return adjust([linkage(grid, lag, **options) for lag in wanted])


@_one_blas_thread
def lag_profile(panel: pd.DataFrame | Grid, lags: Iterable[int], min_units: int = MIN_UNITS
                ) -> list[Linkage]:
    """r with its interval at each of ``lags`` (``linkage`` with ``models=False``), Holm-adjusted
    across them: where along the lags a relation shows, and in which direction."""
    grid = _grid(panel)
    wanted = list(dict.fromkeys(int(lag) for lag in lags))
    return adjust([linkage(grid, lag, min_units=min_units, models=False) for lag in wanted])


# --- the verdict --------------------------------------------------------------------------------


def verdict(
    result: Linkage, expected_direction: int, smallest_effect: float, alpha: float = ALPHA
) -> tuple[str, str | None]:
    """The hypothesis "x goes with y ``result.lag`` months later, in ``expected_direction``
    (+1 or −1), by at least ``smallest_effect`` on the r scale (0 ≤ δ < 1)".

    With the interval and estimate turned to the expected direction (lo ≤ hi, r̂):

    - contradicted when hi < δ: the interval excludes zero the other way or rules out every
      effect that would matter;
    - supported when lo > 0 (excludes zero in the expected direction), r̂ ≥ δ (reaches the
      smallest effect that matters) and, after a scan, the Holm-adjusted p < ``alpha``;
    - otherwise inconclusive, with what would decide it (``what_would_decide``).

    Returns the verdict and, when inconclusive, what would decide it (None otherwise).
    """
    if expected_direction not in (1, -1):
        raise ValueError("expected_direction must be +1 or -1")
    if not 0 <= smallest_effect < 1:
        raise ValueError("smallest_effect is on the r scale: 0 <= smallest_effect < 1")
    if result.r is None or result.r_ci is None:
        return INCONCLUSIVE, _refusal_decider(result)
    d = expected_direction
    estimate = d * result.r
    low, high = sorted((d * result.r_ci[0], d * result.r_ci[1]))
    if high < smallest_effect:
        return CONTRADICTED, None
    p = result.p_adjusted if result.p_adjusted is not None else result.p
    if low > 0 and estimate >= smallest_effect and p is not None and p < alpha:
        return SUPPORTED, None
    return INCONCLUSIVE, what_would_decide(result, d, smallest_effect, alpha)


def units_needed(r: float, target: float, tests: int = 1, alpha: float = ALPHA) -> float:
    """Units at which the Fisher z interval around an estimate ``r`` would just stop reaching
    ``target``: 3 + (q / |atanh r − atanh target|)², q the normal quantile of 1 − α/(2·tests)
    (Bonferroni's bound on Holm's threshold after a scan of ``tests``); inf when r = target."""
    from scipy import stats

    distance = abs(math.atanh(min(max(r, -1 + 1e-15), 1 - 1e-15)) - math.atanh(target))
    if distance < 1e-12:
        return math.inf
    q = float(stats.norm.ppf(1 - alpha / (2 * max(tests, 1))))
    return 3 + (q / distance) ** 2


def what_would_decide(
    result: Linkage, expected_direction: int, smallest_effect: float, alpha: float = ALPHA
) -> str:
    """How many more units would turn an inconclusive result into a verdict if the estimate
    stayed where it is: until the interval excludes zero when r̂ reaches δ, until it falls
    below δ otherwise (``units_needed``). Months do not count: the interval counts units."""
    if result.r is None:
        return _refusal_decider(result)
    estimate = expected_direction * result.r
    tests = result.tests if result.p_adjusted is not None else 1
    if estimate >= smallest_effect:
        target, outcome = 0.0, "exclude zero"
    else:
        target = smallest_effect
        outcome = f"lie below the smallest effect that matters ({smallest_effect:.2f})"
    needed = units_needed(estimate, target, tests, alpha)
    scanned = f", counting the {tests} tests of the scan" if tests > 1 else ""
    if not math.isfinite(needed):
        return (f"No number of units would decide it while the correlation stays at "
                f"{result.r:.2f}{scanned}: only a different estimate would.")
    total = max(math.ceil(needed), result.n_units + 1)
    return (f"About {total - result.n_units} more units ({total} in all) would decide it if "
            f"the correlation stayed at {result.r:.2f}: its interval would then {outcome}"
            f"{scanned}. More months of the same units do not narrow this interval, which "
            f"counts units, not unit-months.")


def _refusal_decider(result: Linkage) -> str:
    """What would decide a linkage that was refused."""
    if result.n_units < MIN_UNITS:
        return (f"At least {MIN_UNITS} units with paired data are needed; there are "
                f"{result.n_units} ({MIN_UNITS - result.n_units} more).")
    return result.message or "No estimate."


# --- the reading --------------------------------------------------------------------------------


def _months(n: int) -> str:
    """'1 month', '3 months'."""
    return f"{n} month" if n == 1 else f"{n} months"


def when(lag: int) -> str:
    """The lag in words, from x's point of view."""
    if lag == 0:
        return "in the same month"
    return f"{_months(abs(lag))} later" if lag > 0 else f"{_months(abs(lag))} earlier"


def _interval(ci: tuple[float, float] | None) -> str:
    """'95% interval 0.12 to 0.40'."""
    return f"95% interval {ci[0]:.2f} to {ci[1]:.2f}" if ci else "no interval"


def _excludes_zero(ci: tuple[float, float] | None) -> bool:
    """Whether an interval lies wholly on one side of zero."""
    return ci is not None and (ci[0] > 0 or ci[1] < 0)


def reading(
    result: Linkage,
    verdict_result: tuple[str, str | None] | str,
    x_label: str,
    y_label: str,
    *,
    reverse: Linkage | None = None,
) -> str:
    """One plain-language paragraph: what the data show, the verdict, and what they cannot say
    (units not people, small units, reverse causation — citing ``reverse``, the linkage at
    −lag, when given —, confounders, multiple testing)."""
    name, decider = (verdict_result, None) if isinstance(verdict_result, str) else verdict_result
    if result.r is None:
        parts = [result.message or "No estimate."]
        if decider and decider != result.message:
            parts.append(decider)
        return " ".join(parts)
    units = f"{result.n_units} units ({result.n_observations} unit-months)"
    lag_words = when(result.lag)
    if _excludes_zero(result.r_ci):
        direction = "higher" if result.r > 0 else "lower"
        shown = (f"Across {units}, units with a higher {x_label} than others in the same month "
                 f"tended to have a {direction} {y_label} {lag_words}")
    else:
        shown = (f"Across {units}, there is no clear relation between a unit's {x_label} and "
                 f"its {y_label} {lag_words}")
    parts = [f"{shown} (r = {result.r:.2f}, {_interval(result.r_ci)})."]
    if result.slope is not None:
        weighted = ", weighting each month by its number of responses" if result.weighted else ""
        parts.append(f"The multilevel model, comparing months and allowing each unit its own "
                     f"level{weighted}, gives a slope of {result.slope:.3g} "
                     f"({_interval(result.slope_ci)}).")
    within = result.within_unit
    if within is not None and within.slope is not None:
        if _excludes_zero(within.slope_ci):
            follow = "rose" if within.slope > 0 else "fell"
            parts.append(f"Within a unit, a rise in {x_label} was followed by {y_label} that "
                         f"{follow} (slope {within.slope:.3g}, {_interval(within.slope_ci)}, "
                         f"{within.n_units} units).")
        else:
            parts.append(f"Within a unit, changes in {x_label} did not clearly go with changes "
                         f"in {y_label} (slope {within.slope:.3g}, "
                         f"{_interval(within.slope_ci)}, {within.n_units} units).")
    parts.append(_verdict_sentence(name, decider))
    parts.append(f"These are units, not people: a relation between units does not show that "
                 f"the employees behind a higher {x_label} are the ones whose customers report "
                 f"a better {y_label} (the ecological fallacy).")
    if result.weight_median is not None:
        parts.append(f"The median unit-month rests on {result.weight_median:.0f} responses; "
                     f"small units give noisy figures.")
    else:
        parts.append("Small units give noisy figures.")
    parts.append(_reverse_sentence(result, reverse, x_label, y_label))
    parts.append(f"Something else — a manager, a market, a product change — may drive both "
                 f"{x_label} and {y_label}; this is a correlation, not a proof of cause.")
    if result.p_adjusted is not None and result.tests > 1:
        parts.append(f"{result.tests} lags or pairs were tested at once, so the p-value is "
                     f"adjusted for it (Holm: p = {result.p:.3g}, adjusted "
                     f"{result.p_adjusted:.3g}).")
    else:
        parts.append("Looking at many lags or pairs and reporting the best one would find "
                     "chance relations; this one was tested alone.")
    return " ".join(parts)


def _verdict_sentence(name: str, decider: str | None) -> str:
    """The verdict in words."""
    if name == SUPPORTED:
        return ("Verdict: supported — the interval excludes zero in the expected direction and "
                "the estimate reaches the smallest effect that matters.")
    if name == CONTRADICTED:
        return ("Verdict: contradicted — the interval rules out an effect of the size that "
                "matters in the expected direction.")
    return f"Verdict: not yet decidable. {decider}" if decider else "Verdict: not yet decidable."


def _reverse_sentence(result: Linkage, reverse: Linkage | None, x_label: str, y_label: str
                      ) -> str:
    """Reverse causation, with the reverse lag's result when there is one."""
    if result.lag == 0:
        return (f"Measured in the same month, the data cannot tell whether {x_label} moves "
                f"{y_label} or the other way round.")
    if reverse is None or reverse.r is None:
        return (f"The reverse direction ({y_label} first, {x_label} {_months(abs(result.lag))} "
                f"later) was not checked here; {y_label} could be what moves {x_label}.")
    cited = f"r = {reverse.r:.2f}, {_interval(reverse.r_ci)}"
    if _excludes_zero(reverse.r_ci):
        return (f"The reverse direction shows a relation too ({y_label} with {x_label} "
                f"{when(reverse.lag)}: {cited}), so the data cannot say which comes first.")
    return (f"The reverse direction shows no clear relation ({y_label} with {x_label} "
            f"{when(reverse.lag)}: {cited}), which fits {x_label} coming first but does not "
            f"prove it.")


# --- JSON -----------------------------------------------------------------------------------------


def _number(value: float | None) -> float | None:
    """A JSON number: a Python float, None for missing or not finite."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _pair(ci: tuple[float, float] | None) -> list[float | None] | None:
    """An interval as a JSON list."""
    return None if ci is None else [_number(ci[0]), _number(ci[1])]


def as_dict(
    result: Linkage, x: str, y: str, verdict_result: tuple[str, str | None] | str,
    reading_text: str,
) -> dict[str, Any]:
    """The JSON of ``flask evidence --json`` and ``GET /api/v1/evidence`` (issue 6, point 4)."""
    name = verdict_result if isinstance(verdict_result, str) else verdict_result[0]
    within = result.within_unit
    return {
        "x": x, "y": y, "lag": result.lag,
        "n_units": result.n_units, "n_observations": result.n_observations,
        "r": _number(result.r), "r_ci": _pair(result.r_ci),
        "slope": _number(result.slope), "slope_ci": _pair(result.slope_ci),
        "p": _number(result.p), "p_adjusted": _number(result.p_adjusted),
        "within_unit": None if within is None else {
            "n_units": within.n_units, "n_observations": within.n_observations,
            "r": _number(within.r), "r_ci": _pair(within.r_ci),
            "slope": _number(within.slope), "slope_ci": _pair(within.slope_ci),
            "p": _number(within.p), "message": within.message,
        },
        "verdict": name, "reading": reading_text,
    }


# --- simulation -----------------------------------------------------------------------------------


def simulate_panel(
    rng: np.random.Generator,
    units: int = 150,
    periods: int = 8,
    r_lag1: float = 0.3,
    r_lag0: float = 0.0,
    *,
    unit_share: float = 0.3,
    period_shock: float = 0.5,
    responses: float | None = None,
    start: str = "2025-01",
) -> pd.DataFrame:
    """A panel (``unit``, ``period`` as ``Period[M]``, ``x``, ``y`` and, with ``responses``, a
    ``weight``) with a known relation of x at month t to y at t+1 (``r_lag1``) and at t
    (``r_lag0``), and none at any other lag.

    Generation, for unit i and month t: e(i,t) ~ N(0, 1) independent; x = e + a(t);
    y = r_lag1·e(i,t−1) + r_lag0·e(i,t) + √unit_share·u(i) + s·ε(i,t) + b(t), with u, ε ~ N(0, 1),
    a(t), b(t) ~ N(0, period_shock²) shared by all units in a month, and
    s² = 1 − r_lag1² − r_lag0² − unit_share (must be ≥ 0). Within a month x and y have variance 1,
    so the truth of each statistic is exact:

    - r (month-centred) at lag 1 is ``r_lag1``, at lag 0 ``r_lag0``, at every other lag 0;
    - the multilevel slope at lag 1 is ``r_lag1`` (exactly when ``r_lag0`` = 0);
    - the within-unit change slope at lag 1 is ``r_lag1 − r_lag0/2`` (a change in x is followed
      by the next month's change, which shares e(i,t) with the opposite sign).

    x has no lasting unit level of its own: a persistent x would make its months alike, so y at
    t+1 would also go with x at t, t+2, … and no lag would be null. With ``responses`` (a mean n
    ≥ 5), each unit-month gets n = 5 + Poisson(responses − 5) and its ε is scaled by √(c/n), c the
    reciprocal of the mean of 1/n over the panel: the noise of y is then the sampling noise of a
    mean of n answers, its average variance still s², so the truths above hold on average.
    """
    noise = 1 - r_lag1**2 - r_lag0**2 - unit_share
    if noise < 0:
        raise ValueError("r_lag1² + r_lag0² + unit_share must be at most 1")
    e = rng.standard_normal((units, periods + 1))  # column 0 is the month before the panel
    a = rng.normal(0, period_shock, periods)
    b = rng.normal(0, period_shock, periods)
    u = rng.standard_normal(units)
    eps = rng.standard_normal((units, periods))
    if responses is not None:
        n = 5 + rng.poisson(max(responses - 5, 0), (units, periods))
        eps = eps * np.sqrt(1 / np.mean(1 / n) / n)
    x = e[:, 1:] + a
    y = (r_lag1 * e[:, :-1] + r_lag0 * e[:, 1:] + math.sqrt(unit_share) * u[:, None]
         + math.sqrt(noise) * eps + b)
    months = pd.period_range(start=start, periods=periods, freq="M")
    panel = pd.DataFrame({
        "unit": np.repeat([f"U{i:04d}" for i in range(units)], periods),
        "period": pd.PeriodIndex(np.tile(months, units)),
        "x": x.ravel(), "y": y.ravel(),
    })
    if responses is not None:
        panel["weight"] = n.ravel()
    return panel
