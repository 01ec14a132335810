"""Engagement metrics: the survey results service's dataclasses as the frames the page draws.

Pure: no Flask calls, no database reads. The inputs are ``surveys.results`` objects (``GroupResults``,
``ItemResult``, ``Driver``, ``RoundInfo``), read by attribute only, so tests build them by hand.
Every frame has ``suppressed`` and ``message`` columns: a suppressed group (or item) keeps its
labels and ``SUPPRESSED_MESSAGE``, and every figure column of its row is empty — even its n. The
chart, the table and the CSV download of a chart all come from the same frame, so none of them
can show what the others hide.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd

# The survey package's own constants: its pure metrics module, and plain values of its models.
from surveys.disclosure import SUPPRESSED_MESSAGE
from surveys.metrics import ENGAGEMENT, ENPS, NO_BARRIER, READINESS_ELEMENTS, READINESS_PREFIX
from surveys.models import ALL_BANDS, PLAN_STATUSES, Scale

LIKERT5, NPS11 = Scale.LIKERT5.value, Scale.NPS11.value

KPI_COLUMNS = [
    "round", "unit", "band", "invited", "n", "response_rate", "engagement_index", "enps",
    "suppressed", "message",
]
TREND_COLUMNS = [
    "round_id", "round", "opens_on", "series", "label", "value", "n", "suppressed", "message",
]
HEATMAP_COLUMNS = [
    "unit_id", "unit", "n", "series", "item_key", "wording", "item_n", "favourable_pct",
    "suppressed", "message",
]
BARRIER_COLUMNS = ["barrier", "respondents", "share", "n", "suppressed", "message"]
DRIVER_COLUMNS = [
    "item_key", "construct", "wording", "n", "r", "ci_low", "ci_high", "significant",
    "suppressed", "message",
]
CONVERSATION_COLUMNS = [
    "unit", "comments", "threads", "awaiting_reply", "closed", "median_hours_to_first_reply",
]
PLAN_COLUMNS = ["status", "plans"]

# Trend series that are not items.
ENGAGEMENT_SERIES = "engagement_index"
ENPS_SERIES = "enps"
RESPONSE_RATE_SERIES = "response_rate"
SERIES_LABELS = {
    ENGAGEMENT_SERIES: "Engagement index (0–100)",
    ENPS_SERIES: "eNPS (−100..100)",
    RESPONSE_RATE_SERIES: "Response rate (%)",
}
BARRIER_LABELS = {
    "awareness": "Awareness",
    "desire": "Desire",
    "knowledge": "Knowledge",
    "ability": "Ability",
    "reinforcement": "Reinforcement",
    NO_BARRIER: "No barrier",
}
BAND_LABELS = {
    ALL_BANDS: "All tenures",
    "<1y": "Under 1 year",
    "1-3y": "1–3 years",
    "3y+": "3 years or more",
}
STATUS_LABELS = {
    "planned": "Planned",
    "in_progress": "In progress",
    "done": "Done",
    "dropped": "Dropped",
}


def _frame(rows: list[dict[str, Any]], columns: list[str]) -> pd.DataFrame:
    """``rows`` as a frame with exactly ``columns`` (in that order), also when there are none."""
    if not rows:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})
    return pd.DataFrame(rows, columns=columns)


def round_label(info: Any) -> str:
    """How a round is named on screen and in files: survey, number and the days it was open."""
    return (
        f"{info.survey_title} · round {info.number} "
        f"({info.opens_on.isoformat()} to {info.closes_on.isoformat()})"
    )


def short_round_label(info: Any) -> str:
    """A round on a chart axis: its number and opening day."""
    return f"#{info.number} {info.opens_on.isoformat()}"


def item_label(item: Any) -> str:
    """An item for axes and legends: its bank key, or the wording of a custom question."""
    return item.item_key or item.wording


def _readiness(construct: str | None) -> bool:
    """True for a change-readiness construct (``readiness.<element>``)."""
    return bool(construct) and construct.startswith(READINESS_PREFIX)


def _asks(items: Iterable[Any], construct: str, scale: str) -> bool:
    """True when some item of the construct and scale was asked in the group."""
    return any(i.construct == construct and i.scale == scale for i in items)


def _number(value: Any) -> float | None:
    """A figure as a float, or None."""
    return None if value is None else float(value)


# --- the group's headline figures --------------------------------------------------------------


def kpi_frame(group: Any) -> pd.DataFrame:
    """One row: the group's invited people, respondents (n), response rate (a fraction),
    engagement index (0–100) and eNPS (−100..100); a suppressed group keeps only its labels."""
    row = {
        "round": round_label(group.round),
        "unit": group.unit_path,
        "band": group.band,
        "suppressed": bool(group.suppressed),
        "message": group.message if group.suppressed else None,
    }
    if group.suppressed:
        row.update(dict.fromkeys(("invited", "n", "response_rate", "engagement_index", "enps")))
    else:
        row.update(
            invited=int(group.invited),
            n=int(group.n),
            response_rate=_number(group.response_rate),
            engagement_index=_number(group.engagement_index),
            enps=_number(group.enps),
        )
    return _frame([row], KPI_COLUMNS)


# --- trend across rounds ----------------------------------------------------------------------


def trend_frame(points: Sequence[Any]) -> pd.DataFrame:
    """One row per round and series: engagement index, eNPS, response rate (%) and each likert
    item's favourability (%), joined across rounds by the item version (``series_key``).

    A suppressed round is one row (series ``all``) with only its message. Inside a shown round,
    a measure hidden below the threshold is a row with the message and no value; a measure not
    asked in the round is left out.
    """
    rows: list[dict[str, Any]] = []
    for point in points:
        base = {
            "round_id": point.round.id,
            "round": short_round_label(point.round),
            "opens_on": point.round.opens_on,
        }
        if point.suppressed:
            rows.append({**base, "series": "all", "label": "All figures", "value": None,
                         "n": None, "suppressed": True, "message": point.message})
            continue
        if _asks(point.items, ENGAGEMENT, LIKERT5):
            rows.append(_trend_row(base, ENGAGEMENT_SERIES, SERIES_LABELS[ENGAGEMENT_SERIES],
                                   point.engagement_index, point.n))
        if _asks(point.items, ENPS, NPS11):
            rows.append(_trend_row(base, ENPS_SERIES, SERIES_LABELS[ENPS_SERIES], point.enps,
                                   point.n))
        if point.response_rate is not None:  # None only when nobody was invited
            rows.append(_trend_row(base, RESPONSE_RATE_SERIES, SERIES_LABELS[RESPONSE_RATE_SERIES],
                                   100 * point.response_rate, point.n))
        for item in point.items:
            if item.scale == LIKERT5:
                rows.append(_trend_row(base, item.series_key, item_label(item),
                                       item.favourable_pct, item.n))
    return _frame(rows, TREND_COLUMNS)


def _trend_row(base: dict[str, Any], series: str, label: str, value: float | None,
               n: int | None) -> dict[str, Any]:
    """One point of a trend line; a value hidden below the threshold keeps only the message."""
    hidden = value is None
    return {**base, "series": series, "label": label, "value": _number(value),
            "n": None if hidden else n, "suppressed": hidden,
            "message": SUPPRESSED_MESSAGE if hidden else None}


def rounds_with(trend: pd.DataFrame) -> list[str]:
    """The rounds of a trend frame on the x axis, oldest first."""
    return list(dict.fromkeys(trend["round"]))


# --- unit × item heatmap ------------------------------------------------------------------------


def heatmap_frame(groups: Sequence[Any]) -> pd.DataFrame:
    """One row per child unit and likert item: favourability (%) with the item's n and the
    unit's respondents. A suppressed unit has a row per item with only the message (or one row
    when no unit is shown and the items are not known); an item hidden below the threshold in a
    shown unit has the message; an item not asked in a unit has no value and no message."""
    columns: dict[str, Any] = {}
    for group in groups:
        if group.suppressed:
            continue
        for item in group.items:
            if item.scale == LIKERT5:
                columns.setdefault(item.series_key, item)
    rows: list[dict[str, Any]] = []
    for group in groups:
        base = {"unit_id": group.unit_id, "unit": group.unit_path}
        if group.suppressed:
            hidden = {"n": None, "item_n": None, "favourable_pct": None, "suppressed": True,
                      "message": group.message}
            if not columns:
                rows.append({**base, **hidden, "series": None, "item_key": None, "wording": None})
            for series, item in columns.items():
                rows.append({**base, **hidden, "series": series, "item_key": item_label(item),
                             "wording": item.wording})
            continue
        found = {i.series_key: i for i in group.items if i.scale == LIKERT5}
        for series, column in columns.items():
            item = found.get(series)
            hidden = item is not None and item.favourable_pct is None
            rows.append({
                **base,
                "n": int(group.n),
                "series": series,
                "item_key": item_label(column),
                "wording": column.wording,
                "item_n": None if item is None or hidden else item.n,
                "favourable_pct": None if item is None else _number(item.favourable_pct),
                "suppressed": hidden,
                "message": SUPPRESSED_MESSAGE if hidden else None,
            })
    return _frame(rows, HEATMAP_COLUMNS)


# --- change-readiness barriers -----------------------------------------------------------------


def barrier_frame(group: Any) -> pd.DataFrame:
    """Respondents per first change-readiness barrier (ADKAR order, then "no barrier") with
    their share of the n who answered a readiness item. One message row when the group, or its
    readiness answers, are below the threshold; no rows when no readiness item was asked."""
    if group.suppressed:
        return _frame([_hidden_barriers(group.message)], BARRIER_COLUMNS)
    if group.barriers is None:
        asked = any(_readiness(i.construct) for i in group.items)
        return _frame([_hidden_barriers(SUPPRESSED_MESSAGE)] if asked else [], BARRIER_COLUMNS)
    n = sum(int(group.barriers.get(b, 0)) for b in (*READINESS_ELEMENTS, NO_BARRIER))
    rows = [
        {
            "barrier": b,
            "respondents": int(group.barriers.get(b, 0)),
            "share": int(group.barriers.get(b, 0)) / n if n else None,
            "n": n,
            "suppressed": False,
            "message": None,
        }
        for b in (*READINESS_ELEMENTS, NO_BARRIER)
    ]
    return _frame(rows, BARRIER_COLUMNS)


def _hidden_barriers(message: str | None) -> dict[str, Any]:
    """The one row of a barrier distribution that may not be shown."""
    return {"barrier": None, "respondents": None, "share": None, "n": None, "suppressed": True,
            "message": message or SUPPRESSED_MESSAGE}


# --- drivers ----------------------------------------------------------------------------------


def driver_frame(drivers: Sequence[Any], group_suppressed: bool,
                 message: str | None = None) -> pd.DataFrame:
    """Each item's correlation with the engagement index: r, its 95% interval, n and whether the
    interval excludes 0; strongest first, items without an r last (in form order).

    A suppressed group is one message row; an item answered by fewer than k is a row with the
    message and no figures.
    """
    if group_suppressed:
        return _frame([{
            "item_key": None, "construct": None, "wording": None, "n": None, "r": None,
            "ci_low": None, "ci_high": None, "significant": None, "suppressed": True,
            "message": message or SUPPRESSED_MESSAGE,
        }], DRIVER_COLUMNS)
    rows = []
    # Strongest positive first; items without an r (hidden, or no variation) last, in form order.
    for d in sorted(drivers, key=lambda d: (d.r is None, -(d.r or 0.0))):
        hidden = d.n is None
        rows.append({
            "item_key": item_label(d),
            "construct": d.construct,
            "wording": d.wording,
            "n": d.n,
            "r": _number(d.r),
            "ci_low": _number(d.ci_low),
            "ci_high": _number(d.ci_high),
            "significant": None if hidden else bool(d.significant),
            "suppressed": hidden,
            "message": SUPPRESSED_MESSAGE if hidden else None,
        })
    return _frame(rows, DRIVER_COLUMNS)


# --- conversations and action plans ------------------------------------------------------------


def conversation_frame(unit: str, stats: Mapping[str, Any]) -> pd.DataFrame:
    """One row: comments shown to leaders, threads, threads awaiting a reply, closed threads and
    the median time from a round's results to a leader's first reply (hours; empty without any)."""
    wait = stats.get("median_first_reply")
    hours = None if wait is None else round(wait / dt.timedelta(hours=1), 1)
    return _frame([{
        "unit": unit,
        "comments": int(stats.get("comments") or 0),
        "threads": int(stats.get("threads") or 0),
        "awaiting_reply": int(stats.get("awaiting_reply") or 0),
        "closed": int(stats.get("closed") or 0),
        "median_hours_to_first_reply": hours,
    }], CONVERSATION_COLUMNS)


def plan_frame(statuses: Iterable[str]) -> pd.DataFrame:
    """Action plans per status, from each plan's status: every status listed (zeros included),
    in the order plans move through them."""
    counts = Counter(statuses)
    extra = sorted(s for s in counts if s not in PLAN_STATUSES)
    rows = [{"status": s, "plans": int(counts.get(s, 0))} for s in (*PLAN_STATUSES, *extra)]
    return _frame(rows, PLAN_COLUMNS)
