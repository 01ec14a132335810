"""Validation of the evidence statistics (issue 6, point 9) on simulated panels with known truths.

    python bench/evidence_validation.py                  # 200 runs, seed 20260601
    python bench/evidence_validation.py --runs 50 --seed 7

Each run draws, with ``dashboards.metrics.evidence.simulate_panel``, a panel of 150 units × 8
months in which x at month t goes with y at t+1 with r = 0.3 and with nothing at any other lag
(a second, weighted copy has the outcome's n), a null panel with no relation at all, and a
panel whose units keep their level (r = 0.3 at every lag, ``persistent_panel``). It
fits ``linkage`` at lag 1, 0 and −1 and reads the hypothesis "x goes with y, positively, by at
least ``--smallest-effect``" with ``verdict``. It reports:

- coverage: how often the 95% intervals contain the truth (r, the multilevel slope unweighted
  and weighted, the within-unit slope; goal ≥ 90% for r and the slope); r also on the
  persistent panel, where an interval counting unit-months instead of units would fail;
- "supported" with no effect: at lag 0 of the planted panel and at lag 1 of the null panel
  (goal ≤ 5% each);
- the reverse direction: lag −1 of the planted panel reported supported (goal ≤ 5%);
- power: lag 1 of the planted panel reported supported (no goal; for the reader);
- speed: one ``linkage`` on 1,200 units × 24 months, best and worst of 5 after a warm-up (goal
  ≤ 2 s), against a baseline measured in the same run: the same multilevel model fitted by
  statsmodels ``MixedLM`` (``--no-reference`` skips it).

Prints the figures with their Monte Carlo standard errors and pass/fail; exits 1 if a goal fails.
Results: docs/evidence.md.
"""

from __future__ import annotations

import argparse
import math
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dashboards.metrics import evidence

TRUE_R = 0.3
GOAL_COVERAGE = 0.90
GOAL_FALSE_SUPPORTED = 0.05
GOAL_SECONDS = 2.0


def persistent_panel(rng: np.random.Generator, units: int, periods: int, r: float,
                     share: float = 0.8) -> pd.DataFrame:
    """A panel whose units keep their level: x = √share·a(i) + √(1−share)·e(i,t), y likewise
    with b(i) and ε(i,t), corr(a, b) = r/share, so r = ``r`` at every lag. A unit's months are
    nearly copies of one another — the case the Fisher interval on units is built for."""
    rho = r / share
    a = rng.standard_normal(units)
    b = rho * a + math.sqrt(1 - rho**2) * rng.standard_normal(units)
    x = math.sqrt(share) * a[:, None] + math.sqrt(1 - share) * rng.standard_normal((units, periods))
    y = math.sqrt(share) * b[:, None] + math.sqrt(1 - share) * rng.standard_normal((units, periods))
    months = pd.period_range("2025-01", periods=periods, freq="M")
    return pd.DataFrame({"unit": np.repeat(np.arange(units), periods),
                         "period": pd.PeriodIndex(np.tile(months, units)),
                         "x": x.ravel(), "y": y.ravel()})


def contains(ci, truth: float) -> bool:
    """Whether an interval contains ``truth`` (a missing interval does not)."""
    return ci is not None and ci[0] <= truth <= ci[1]


def supported(result, smallest_effect: float) -> bool:
    """Whether the hypothesis "positive, at least ``smallest_effect``" is read as supported."""
    return evidence.verdict(result, +1, smallest_effect)[0] == evidence.SUPPORTED


def validate(runs: int, seed: int, units: int, periods: int, smallest_effect: float) -> dict:
    """The coverage and verdict counts over ``runs`` simulated organizations."""
    counts = dict.fromkeys([
        "r", "slope", "slope_weighted", "within", "r_lag0", "r_reverse",
        "supported_lag1", "supported_lag0", "supported_null", "supported_reverse",
        "contradicted_lag1", "r_persistent", "r_persistent_unit_months",
    ], 0)
    z_forward, slopes = [], []
    for run in range(runs):
        rng = np.random.default_rng([seed, run])
        planted = evidence.simulate_panel(rng, units, periods, r_lag1=TRUE_R, r_lag0=0.0)
        weighted = evidence.simulate_panel(rng, units, periods, r_lag1=TRUE_R, r_lag0=0.0,
                                           responses=30)
        null = evidence.simulate_panel(rng, units, periods, r_lag1=0.0, r_lag0=0.0)
        forward = evidence.linkage(planted, 1)
        same_month = evidence.linkage(planted, 0)
        reverse = evidence.linkage(planted, -1)
        forward_weighted = evidence.linkage(weighted, 1)
        nothing = evidence.linkage(null, 1)
        z_forward.append(math.atanh(forward.r))
        slopes.append(forward.slope)
        counts["r"] += contains(forward.r_ci, TRUE_R)
        counts["slope"] += contains(forward.slope_ci, TRUE_R)
        counts["slope_weighted"] += contains(forward_weighted.slope_ci, TRUE_R)
        counts["within"] += contains(forward.within_unit.slope_ci, TRUE_R)
        counts["r_lag0"] += contains(same_month.r_ci, 0.0)
        counts["r_reverse"] += contains(reverse.r_ci, 0.0)
        counts["supported_lag1"] += supported(forward, smallest_effect)
        counts["supported_lag0"] += supported(same_month, smallest_effect)
        counts["supported_null"] += supported(nothing, smallest_effect)
        counts["supported_reverse"] += supported(reverse, smallest_effect)
        steady = evidence.linkage(persistent_panel(rng, units, periods, TRUE_R), 1)
        counts["r_persistent"] += contains(steady.r_ci, TRUE_R)
        counting_months = evidence.fisher_interval(steady.r, steady.n_observations)[0]
        counts["r_persistent_unit_months"] += contains(counting_months, TRUE_R)
        counts["contradicted_lag1"] += (
            evidence.verdict(forward, +1, smallest_effect)[0] == evidence.CONTRADICTED)
    rates = {name: count / runs for name, count in counts.items()}
    rates["mean_r"] = math.tanh(float(np.mean(z_forward)))
    rates["sd_z"] = float(np.std(z_forward, ddof=1)) if runs > 1 else float("nan")
    rates["fisher_se"] = 1 / math.sqrt(units - 3)
    rates["mean_slope"] = float(np.mean(slopes))
    return rates


def timing(seed: int, reference: bool) -> dict:
    """Seconds for one linkage on 1,200 units × 24 months (best and worst of 5 after a warm-up)
    and, with ``reference``, for the same model by statsmodels ``MixedLM``."""
    panel = evidence.simulate_panel(np.random.default_rng(seed), units=1200, periods=24)
    evidence.linkage(panel, 1)
    seconds = []
    for _ in range(5):
        start = time.perf_counter()
        result = evidence.linkage(panel, 1)
        seconds.append(time.perf_counter() - start)
    out = {"rows": len(panel), "best": min(seconds), "worst": max(seconds),
           "slope": result.slope}
    if reference:
        start = time.perf_counter()
        slow = evidence.linkage(panel, 1, engine=evidence.STATSMODELS)
        out["reference"] = time.perf_counter() - start
        out["reference_slope"] = slow.slope
    return out


def line(label: str, value: float, runs: int, goal: str, ok: bool | None) -> str:
    """One result line: the share with its Monte Carlo standard error, the goal, pass/fail."""
    se = math.sqrt(max(value * (1 - value), 1e-12) / runs)
    verdict = "" if ok is None else ("PASS" if ok else "FAIL")
    return f"  {label:<58} {value:6.1%} (± {se:.1%})  {goal:<8} {verdict}"


def main(argv: list[str] | None = None) -> int:
    """Run the validation and the timing; print; 0 when every goal is met."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--seed", type=int, default=20260601)
    parser.add_argument("--units", type=int, default=150)
    parser.add_argument("--periods", type=int, default=8)
    parser.add_argument("--smallest-effect", type=float, default=0.1,
                        help="the smallest effect that matters, on the r scale")
    parser.add_argument("--no-reference", action="store_true",
                        help="skip the statsmodels MixedLM baseline of the timing")
    args = parser.parse_args(argv)

    print(f"Evidence validation: {args.runs} runs of {args.units} units × {args.periods} months, "
          f"true r = {TRUE_R} at lag 1 and none elsewhere; hypothesis: positive, smallest "
          f"effect r = {args.smallest_effect}; seed {args.seed}")
    print(f"  machine: {platform.python_implementation()} {platform.python_version()}, "
          f"{platform.machine()}")
    start = time.perf_counter()
    rates = validate(args.runs, args.seed, args.units, args.periods, args.smallest_effect)
    elapsed = time.perf_counter() - start
    n = args.runs
    results = []

    def check(label: str, key: str, goal: str, ok: bool | None) -> None:
        results.append(ok)
        print(line(label, rates[key], n, goal, ok))

    print("Coverage of the 95% intervals (lag 1, truth 0.3):")
    check("r across units (Fisher z, n units)", "r", "≥ 90%", rates["r"] >= GOAL_COVERAGE)
    check("multilevel slope", "slope", "≥ 90%", rates["slope"] >= GOAL_COVERAGE)
    check("multilevel slope, weighted by n", "slope_weighted", "≥ 90%",
          rates["slope_weighted"] >= GOAL_COVERAGE)
    check("within-unit change slope", "within", "", None)
    print("Coverage of r on panels whose units keep their level (truth 0.3 at every lag):")
    check("r, Fisher z on units (as reported)", "r_persistent", "≥ 90%",
          rates["r_persistent"] >= GOAL_COVERAGE)
    check("r, Fisher z on unit-months (for comparison only)", "r_persistent_unit_months", "",
          None)
    print("Coverage where the truth is 0:")
    check("r at lag 0", "r_lag0", "", None)
    check("r at lag -1 (reverse)", "r_reverse", "", None)
    print("Verdicts:")
    check("supported at lag 0 (no effect)", "supported_lag0", "≤ 5%",
          rates["supported_lag0"] <= GOAL_FALSE_SUPPORTED)
    check("supported at lag 1 on null panels (no effect)", "supported_null", "≤ 5%",
          rates["supported_null"] <= GOAL_FALSE_SUPPORTED)
    check("supported at lag -1 (reverse; only forward is true)", "supported_reverse", "≤ 5%",
          rates["supported_reverse"] <= GOAL_FALSE_SUPPORTED)
    check("supported at lag 1 (power)", "supported_lag1", "", None)
    check("contradicted at lag 1 (true r 0.3)", "contradicted_lag1", "", None)
    print(f"Estimates at lag 1 (truth 0.3): mean r {rates['mean_r']:.3f}, mean slope "
          f"{rates['mean_slope']:.3f}; spread of atanh r over runs {rates['sd_z']:.4f} against "
          f"the Fisher se on units 1/sqrt(n-3) = {rates['fisher_se']:.4f} (the r interval is "
          f"{rates['fisher_se'] / rates['sd_z']:.1f}× as wide as the spread needs)")
    print(f"  ({6 * n} linkages in {elapsed:.1f} s, {1000 * elapsed / (6 * n):.0f} ms each)")

    speed = timing(args.seed, not args.no_reference)
    ok = speed["worst"] <= GOAL_SECONDS
    results.append(ok)
    print(f"Speed: one linkage (r, multilevel model, within-unit change) on 1,200 units × "
          f"24 months ({speed['rows']} unit-months):")
    print(f"  best {speed['best']:.3f} s, worst {speed['worst']:.3f} s of 5   goal ≤ "
          f"{GOAL_SECONDS:.0f} s   {'PASS' if ok else 'FAIL'}")
    if "reference" in speed:
        print(f"  baseline, the same model by statsmodels MixedLM: {speed['reference']:.2f} s "
              f"(ratio {speed['best'] / speed['reference']:.2f}); slopes "
              f"{speed['slope']:.6f} vs {speed['reference_slope']:.6f}")
    failed = sum(1 for r in results if r is False)
    print("All goals met." if not failed else f"{failed} goal(s) not met.")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
