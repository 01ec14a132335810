"""Commitment arithmetic (D2): each indicator on 0–100, the objective score, and the say–do gap.

Pure Python: no Flask, no database, no clock. ``dashboards/commitment.py`` reads the counts and
passes them in; docs/metrics.md ("Commitment (executive dashboard)") gives every formula.

Every share is 0–1 and every score 0–100. A part with no data (no plan, no comment, nothing
assigned) is ``None`` and is left out of the mean it belongs to, never counted as 0: "nobody
commented" says nothing about how a sponsor answers comments.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from dashboards.metrics.organization import UNIT_PATH_SEPARATOR

#: A gap of at least this many points (either way) between the objective and the perceived
#: commitment is highlighted.
GAP_THRESHOLD = 20.0
#: A median time to first reply up to this many days scores 100 ...
REPLY_DAYS_FULL = 2.0
#: ... falling linearly to 0 at this many days and beyond.
REPLY_DAYS_ZERO = 14.0
#: The flags of a large gap: employees perceive less commitment than the record shows, or more.
SEEN_LESS = "seen less than done"
SEEN_MORE = "seen more than done"


@dataclass(frozen=True)
class Score:
    """A 0–100 score and the parts it was averaged from (None: the part had no data)."""

    value: float | None
    parts: dict[str, float | None] = field(default_factory=dict)


def _mean_of_available(values: Iterable[float | None]) -> float | None:
    """The mean of the values that are not None; None when every one is."""
    present = [float(v) for v in values if v is not None]
    return sum(present) / len(present) if present else None


def _clamp(share: float, low: float = 0.0, high: float = 1.0) -> float:
    """``share`` held between ``low`` and ``high``."""
    return min(max(float(share), low), high)


def likert_to_100(mean: float | None) -> float | None:
    """A 1–5 Likert mean on 0–100: (mean − 1) / 4 × 100 (1 → 0, 3 → 50, 5 → 100)."""
    if mean is None:
        return None
    return _clamp((float(mean) - 1.0) / 4.0) * 100.0


def prorated_plan(quarters: Iterable[tuple[int, int, int]]) -> float | None:
    """Actions expected by the period's end: Σ planned × (days of the quarter in the period ÷
    days of the quarter), over ``(planned, days_in_period, days_in_quarter)`` per quarter; None
    when nothing was planned."""
    expected = 0.0
    planned_any = False
    for planned, days_in_period, days_in_quarter in quarters:
        if planned and days_in_quarter > 0:
            planned_any = True
            expected += planned * _clamp(days_in_period / days_in_quarter)
    return expected if planned_any else None


def plan_pace(done: int, expected: float | None) -> float | None:
    """Done ÷ expected by now (0–1, may pass 1); None without a plan."""
    if not expected:
        return None
    return done / expected


def visibility_score(plan_share: float | None, reach_share: float | None) -> float | None:
    """100 × (½ × min(plan_share, 1) + ½ × reach_share); with only one of the two, 100 × that one;
    None when neither is known. ``plan_share`` is done ÷ planned pro rata (``plan_pace``)."""
    parts = [None if plan_share is None else _clamp(plan_share),
             None if reach_share is None else _clamp(reach_share)]
    mean = _mean_of_available(parts)
    return None if mean is None else 100.0 * mean


def reply_speed_score(median_days: float | None) -> float | None:
    """100 for a median first reply within ``REPLY_DAYS_FULL`` days, falling linearly to 0 at
    ``REPLY_DAYS_ZERO`` days; None without replies."""
    if median_days is None:
        return None
    days = max(float(median_days), 0.0)
    if days <= REPLY_DAYS_FULL:
        return 100.0
    return 100.0 * _clamp((REPLY_DAYS_ZERO - days) / (REPLY_DAYS_ZERO - REPLY_DAYS_FULL))


def communication_score(reply_share: float | None, on_time_share: float | None,
                        median_days_to_first_reply: float | None) -> float | None:
    """Mean of 100 × reply share, 100 × on-time share and the reply speed score, over the parts
    that have data; comments without any reply score 0 for speed; None when no part has data."""
    speed = reply_speed_score(median_days_to_first_reply)
    if speed is None and reply_share is not None and reply_share == 0:
        speed = 0.0  # comments were there and none was answered: as slow as it gets
    parts = [None if reply_share is None else 100.0 * _clamp(reply_share),
             None if on_time_share is None else 100.0 * _clamp(on_time_share),
             speed]
    return _mean_of_available(parts)


def role_modelling_score(active_share: float | None, key_behaviour_share: float | None,
                         completion_share: float | None) -> float | None:
    """Mean of 100 × the share of weeks with active CRM use, of weeks with a key behaviour and of
    assigned training completed, over the parts that have data; None when none has."""
    parts = [None if share is None else 100.0 * _clamp(share)
             for share in (active_share, key_behaviour_share, completion_share)]
    return _mean_of_available(parts)


def objective_score(visibility: float | None, communication: float | None,
                    role_modelling: float | None) -> Score:
    """The objective commitment: the mean of the parts (each 0–100) that have data."""
    parts = {"visibility": visibility, "communication": communication, "role_modelling": role_modelling}
    return Score(_mean_of_available(parts.values()), parts)


def say_do_gap(objective: float | None, perceived: float | None) -> float | None:
    """Objective − perceived, in points (positive: employees see less than the record shows);
    None when either is missing."""
    if objective is None or perceived is None:
        return None
    return float(objective) - float(perceived)


def gap_flag(gap: float | None, threshold: float = GAP_THRESHOLD) -> str | None:
    """``SEEN_LESS`` when gap ≥ threshold, ``SEEN_MORE`` when gap ≤ −threshold, else None."""
    if gap is None:
        return None
    if gap >= threshold:
        return SEEN_LESS
    if gap <= -threshold:
        return SEEN_MORE
    return None


def median_days(days: Sequence[float]) -> float | None:
    """The median of ``days``; None when there are none."""
    return float(statistics.median(days)) if days else None


def construct_mean(items: Iterable[tuple[float, int]]) -> tuple[float | None, int]:
    """One group's mean over a construct's items, ``(item mean, answers)`` each: the mean of all
    the answers (Σ mean × n ÷ Σ n), with the most answers any item had as the respondents behind
    it (no item can have more answers than respondents)."""
    total = answers = 0.0
    respondents = 0
    for mean, n in items:
        if n > 0:
            total += mean * n
            answers += n
            respondents = max(respondents, int(n))
    return (total / answers if answers else None), respondents


def pooled_mean(groups: Iterable[tuple[float | None, int]]) -> tuple[float | None, int]:
    """Respondent-weighted mean of groups' means, ``(mean, respondents)`` each, and the
    respondents behind it; groups without a mean are left out."""
    total = 0.0
    people = 0
    for mean, n in groups:
        if mean is not None and n > 0:
            total += mean * n
            people += int(n)
    return (total / people if people else None), people


def monthly_outcome(rows: Iterable[tuple[str, dt.date, dt.date, float, int | None]]
                    ) -> list[tuple[str, float, int, int]]:
    """One organization figure per month from units' outcome values ``(unit path, period start,
    period end, value, responses)``: ``(month "YYYY-MM", mean, units, responses)``, oldest first.

    A value belongs to the month its period ends in (a quarter's to its last month). In each
    month a value is left out when an ancestor unit reported the same month (the larger unit's
    figure already covers it) or when the same unit has a shorter period ending then (a month
    beats a quarter). The mean is weighted by responses; a value sent without them weighs 1.
    """
    by_month: dict[str, list[tuple[str, dt.date, float, int | None]]] = defaultdict(list)
    for path, start, end, value, responses in rows:
        by_month[f"{end:%Y-%m}"].append((path, start, float(value), responses))
    trend = []
    for month in sorted(by_month):
        values = by_month[month]
        reporting = {path for path, *_rest in values}
        latest_start: dict[str, dt.date] = {}
        for path, start, _value, _n in values:
            latest_start[path] = max(start, latest_start.get(path, start))
        total = weight = 0.0
        units: set[str] = set()
        answers = 0
        for path, start, value, responses in values:
            parts = path.split(UNIT_PATH_SEPARATOR)
            ancestors = (UNIT_PATH_SEPARATOR.join(parts[:i]) for i in range(1, len(parts)))
            if start < latest_start[path] or any(a in reporting for a in ancestors):
                continue
            w = float(responses) if responses else 1.0
            total += value * w
            weight += w
            units.add(path)
            answers += int(responses or 0)
        if weight:
            trend.append((month, total / weight, len(units), answers))
    return trend
