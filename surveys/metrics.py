"""Survey result formulas: pure functions on answers and on additive sums (docs/metrics.md).

No Flask, no database. ``surveys/results.py`` applies the per-respondent functions once, when a
closed round is prepared, and stores additive sums (counts, sums, sums of squares and of
products) per unit × tenure band; the group functions below turn sums over any set of units back
into figures. Keeping to sums is what lets a region's figures be read from its teams' rows.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from statistics import NormalDist

LIKERT_MIN, LIKERT_MAX = 1, 5
#: A likert score (after reversing) at or above this is favourable ("agree", "strongly agree").
FAVOURABLE_FROM = 4
#: nps11 answers at or above this are promoters, at or below DETRACTOR_UPTO detractors.
PROMOTER_FROM, DETRACTOR_UPTO = 9, 6
#: The construct whose likert items make the engagement index, and the one eNPS is computed from.
ENGAGEMENT = "engagement"
ENPS = "enps"
#: Change-readiness elements in the order a person goes through them (ADKAR); the constructs are
#: ``readiness.<element>``.
READINESS_ELEMENTS = ("awareness", "desire", "knowledge", "ability", "reinforcement")
READINESS_PREFIX = "readiness."
#: The barrier value of a respondent for whom no asked element has a mean ≤ BARRIER_AT_MOST.
NO_BARRIER = "none"
BARRIER_AT_MOST = 3
#: Correlations need at least this many pairs for a confidence interval (Fisher z: se = 1/√(n−3)).
MIN_PAIRS_FOR_CI = 4
CONFIDENCE = 0.95


# ------------------------------------------------------------------ one answer, one respondent


def likert_score(value: int, reverse_scored: bool = False) -> int:
    """The score of a likert5 answer: the answer, or 6 − answer for a reverse-scored item."""
    return (LIKERT_MIN + LIKERT_MAX - value) if reverse_scored else value


def is_favourable(score: float) -> bool:
    """True for a likert score (already reversed where needed) of 4 or 5."""
    return score >= FAVOURABLE_FROM


def nps_category(value: int) -> str:
    """``promoter`` (9–10), ``passive`` (7–8) or ``detractor`` (0–6) for an nps11 answer."""
    if value >= PROMOTER_FROM:
        return "promoter"
    return "detractor" if value <= DETRACTOR_UPTO else "passive"


def engagement_index(scores: Iterable[float]) -> float | None:
    """One respondent's engagement index, 0–100: (mean of their engagement scores − 1) / 4 × 100.

    ``scores`` are the likert scores of the engagement items they answered (``likert_score``, so
    reverse-scored items are already 6 − x); None when they answered none.
    """
    values = list(scores)
    if not values:
        return None
    return (sum(values) / len(values) - LIKERT_MIN) / (LIKERT_MAX - LIKERT_MIN) * 100


def barrier(scores_by_element: Mapping[str, Iterable[float]]) -> str | None:
    """One respondent's change-readiness barrier: the first element, in the order awareness,
    desire, knowledge, ability, reinforcement, whose mean score is ≤ 3; ``"none"`` when every
    element they answered is above 3; None when they answered no readiness item.

    Elements with no scores (not asked in the round, or skipped) are passed over: the barrier is
    the first *answered* element that holds the person back.
    """
    answered = False
    for element in READINESS_ELEMENTS:
        values = list(scores_by_element.get(element, ()))
        if not values:
            continue
        answered = True
        if sum(values) / len(values) <= BARRIER_AT_MOST:
            return element
    return NO_BARRIER if answered else None


def readiness_element(construct: str | None) -> str | None:
    """The element of a ``readiness.<element>`` construct (None for any other construct)."""
    if construct and construct.startswith(READINESS_PREFIX):
        element = construct[len(READINESS_PREFIX):]
        return element if element in READINESS_ELEMENTS else None
    return None


# ------------------------------------------------------------------ groups, from additive sums


def mean(total: float, n: int) -> float | None:
    """total / n; None when n is 0."""
    return total / n if n else None


def favourable_pct(favourable: int, n: int) -> float | None:
    """Percentage of likert answers that are favourable (score 4–5); None when n is 0."""
    return 100.0 * favourable / n if n else None


def enps(promoters: int, detractors: int, n: int) -> float | None:
    """eNPS, −100..100: % promoters (9–10) − % detractors (0–6) of n nps11 answers; None when n is 0."""
    return 100.0 * (promoters - detractors) / n if n else None


def rate(part: int, whole: int) -> float | None:
    """part / whole as a fraction; None when whole is 0."""
    return part / whole if whole else None


@dataclass(frozen=True)
class Correlation:
    """Pearson's r with its confidence interval; significant when the interval excludes 0."""

    n: int
    r: float | None
    ci_low: float | None
    ci_high: float | None
    significant: bool


def _centred(n: int, s: float, ss: float) -> float:
    """Σ(x − x̄)² from Σx and Σx², with round-off below the data's precision treated as 0."""
    value = ss - s * s / n
    return 0.0 if value <= 1e-9 * max(1.0, abs(ss)) else value


def pearson(n: int, sx: float, sy: float, sxx: float, syy: float, sxy: float,
            confidence: float = CONFIDENCE) -> Correlation:
    """Pearson's r of n pairs from their sums (Σx, Σy, Σx², Σy², Σxy), with a Fisher-z interval.

    r is None when n < 2 or either variable does not vary. The interval is
    tanh(atanh(r) ± z₀.₉₇₅ / √(n − 3)); None (and not significant) when n < 4 or r is None.
    """
    if n < 2:
        return Correlation(n, None, None, None, False)
    vx, vy = _centred(n, sx, sxx), _centred(n, sy, syy)
    if vx == 0.0 or vy == 0.0:
        return Correlation(n, None, None, None, False)
    r = max(-1.0, min(1.0, (sxy - sx * sy / n) / math.sqrt(vx * vy)))
    if n < MIN_PAIRS_FOR_CI:
        return Correlation(n, r, None, None, False)
    if abs(r) == 1.0:
        return Correlation(n, r, r, r, True)
    z, half = math.atanh(r), NormalDist().inv_cdf(0.5 + confidence / 2) / math.sqrt(n - 3)
    low, high = math.tanh(z - half), math.tanh(z + half)
    return Correlation(n, r, low, high, low > 0 or high < 0)
