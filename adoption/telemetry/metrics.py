"""Adoption metric definitions, as code: each has a name, a version, a formula and a window.

Everything here is pure pandas/numpy: no Flask, no database, no clock (dates are passed in).
The inputs are

- ``usage``: daily usage rows ``day, employee_id, event_type, events`` (``daily_usage``: matched,
  qualifying events only, integration and API traffic already excluded), **already attributed to
  the scope**: a row is present only if its person belonged to the scope's units on that day;
- ``licensed``: the ids of the employees in scope holding a CRM licence as of the window's end.

A window is ``[start, end]``, both days included. "The 30 days ending on d" is ``[d - 29, d]``.
A ratio whose denominator is zero is ``None`` (unknown), never 0 and never a division error.
``docs/metrics.md`` explains each definition; bump a metric's version (and
``DEFINITIONS_VERSION``) whenever its meaning changes.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

#: Version of the set of definitions below, returned with every figure computed from them.
DEFINITIONS_VERSION = "2026-11.1"

#: Days in the rolling window of MAU (stickiness) and of dormancy.
ROLLING_DAYS = 30

USAGE_COLUMNS = ["day", "employee_id", "event_type", "events"]


@dataclass(frozen=True)
class MetricDefinition:
    """One metric: what it is called, which version of its meaning, how and over what it is computed."""

    name: str
    version: int
    formula: str
    window: str
    # What the metric is when its denominator is zero.
    when_empty: str


DEFINITIONS: dict[str, MetricDefinition] = {
    d.name: d
    for d in (
        MetricDefinition(
            "active_users", 1,
            "People with at least one qualifying event in the window, counted in the scope only "
            "for the days they belonged to it (licensed or not).",
            "[start, end]", "0 when nobody used the CRM"),
        MetricDefinition(
            "licensed_users", 1,
            "Employees in the scope on the window's last day whom the roster names a CRM user for "
            "(crm_user_id or crm_username).",
            "the window's last day", "0"),
        MetricDefinition(
            "adoption_rate", 1,
            "Licensed users who are active users / licensed users.",
            "[start, end]; licensed as of end", "None when nobody is licensed"),
        MetricDefinition(
            "key_behaviour_adoption", 1,
            "For each of the initiative's key behaviours (event types): licensed users who performed "
            "it at least once / licensed users.",
            "[start, end]; licensed as of end", "None for every behaviour when nobody is licensed"),
        MetricDefinition(
            "stickiness", 1,
            "Mean over the days d of the window with MAU(d) > 0 of DAU(d) / MAU(d), where DAU(d) = "
            "people active on d and MAU(d) = people active in the 30 days ending on d.",
            "[start, end], each day looking back 29 days", "None when no day of the window has MAU > 0"),
        MetricDefinition(
            "breadth", 1,
            "Mean over active users of the distinct event types they used.",
            "[start, end]", "None when there is no active user"),
        MetricDefinition(
            "depth", 1,
            "Qualifying events / active users.",
            "[start, end]", "None when there is no active user"),
        MetricDefinition(
            "dormant_users", 1,
            "Licensed users with no qualifying event in the 30 days ending on the window's last day.",
            "[end - 29, end]", "0 when nobody is licensed"),
    )
}


def lookback_start(start: dt.date) -> dt.date:
    """The first day of usage the metrics of a window starting on ``start`` need (MAU, dormancy)."""
    return start - dt.timedelta(days=ROLLING_DAYS - 1)


def empty_usage() -> pd.DataFrame:
    """A usage frame with no rows."""
    return pd.DataFrame({"day": pd.Series(dtype="datetime64[ns]"), "employee_id": pd.Series(dtype="int64"),
                         "event_type": pd.Series(dtype="object"), "events": pd.Series(dtype="int64")})


def prepare_usage(usage: pd.DataFrame) -> pd.DataFrame:
    """``usage`` with ``day`` as datetime64 and rows without events dropped (idempotent)."""
    frame = usage
    if not pd.api.types.is_datetime64_any_dtype(frame["day"]):
        frame = frame.assign(day=pd.to_datetime(frame["day"]))
    empty_rows = frame["events"] <= 0
    return frame[~empty_rows] if empty_rows.any() else frame


def _between(usage: pd.DataFrame, first: dt.date, last: dt.date) -> pd.DataFrame:
    """Rows of ``usage`` (prepared) from ``first`` to ``last`` inclusive."""
    days = usage["day"]
    return usage[(days >= pd.Timestamp(first)) & (days <= pd.Timestamp(last))]


def _ratio(numerator: float, denominator: float) -> float | None:
    """``numerator / denominator``, or None when the denominator is zero."""
    return None if not denominator else float(numerator) / float(denominator)


def active_set(usage: pd.DataFrame, start: dt.date, end: dt.date) -> set[int]:
    """Ids of the people with at least one qualifying event in ``[start, end]``."""
    window = _between(prepare_usage(usage), start, end)
    return {int(e) for e in window["employee_id"].unique()}


def active_users(usage: pd.DataFrame, start: dt.date, end: dt.date) -> int:
    """Active users: people with ≥ 1 qualifying event in the window."""
    return len(active_set(usage, start, end))


def licensed_users(licensed: Collection[int]) -> int:
    """Licensed users: employees in scope with a CRM licence as of the window's end."""
    return len(set(licensed))


def adoption_rate(usage: pd.DataFrame, licensed: Collection[int], start: dt.date, end: dt.date) -> float | None:
    """Adoption rate: active licensed users / licensed users (None when nobody is licensed)."""
    licensed = set(licensed)
    return _ratio(len(licensed & active_set(usage, start, end)), len(licensed))


def key_behaviour_adoption(
    usage: pd.DataFrame, licensed: Collection[int], behaviours: Iterable[str], start: dt.date, end: dt.date
) -> dict[str, float | None]:
    """Per key behaviour, the share of licensed users who performed it in the window."""
    licensed = set(licensed)
    window = _between(prepare_usage(usage), start, end)
    performers = window.groupby("event_type", observed=True)["employee_id"].unique()
    shares: dict[str, float | None] = {}
    for behaviour in dict.fromkeys(behaviours):
        people = {int(p) for p in performers[behaviour]} if behaviour in performers.index else set()
        shares[behaviour] = _ratio(len(licensed & people), len(licensed))
    return shares


def daily_active_and_monthly_active(usage: pd.DataFrame, start: dt.date, end: dt.date) -> pd.DataFrame:
    """DAU(d) and MAU(d) (people active in the 30 days ending on d) for each day d of the window."""
    days = pd.date_range(start, end, freq="D")
    first = lookback_start(start)
    frame = _between(prepare_usage(usage), first, end)
    span = (end - first).days + 1
    if frame.empty:
        zeros = np.zeros(len(days), dtype="int64")
        return pd.DataFrame({"day": days, "dau": zeros, "mau": zeros})
    codes, people = pd.factorize(frame["employee_id"])
    offsets = ((frame["day"] - pd.Timestamp(first)).dt.days).to_numpy()
    # One row per person, one column per day of [first, end]: True when active that day.
    active = np.zeros((len(people), span), dtype=bool)
    active[codes, offsets] = True
    # Active days in [d - 29, d] per person from a running count: one pass, no per-day loop.
    running = np.zeros((len(people), span + 1), dtype=np.int32)
    np.cumsum(active, axis=1, out=running[:, 1:])
    lead = ROLLING_DAYS - 1  # window days begin this many columns after ``first``
    columns = np.arange(lead, span)
    in_month = running[:, columns + 1] - running[:, columns + 1 - ROLLING_DAYS]
    return pd.DataFrame({
        "day": days,
        "dau": active[:, columns].sum(axis=0).astype("int64"),
        "mau": (in_month > 0).sum(axis=0).astype("int64"),
    })


def stickiness(usage: pd.DataFrame, start: dt.date, end: dt.date) -> float | None:
    """Stickiness: mean of DAU(d) / MAU(d) over the window's days with MAU(d) > 0 (None if none)."""
    daily = daily_active_and_monthly_active(usage, start, end)
    counted = daily[daily["mau"] > 0]
    if counted.empty:
        return None
    return float((counted["dau"] / counted["mau"]).mean())


def breadth(usage: pd.DataFrame, start: dt.date, end: dt.date) -> float | None:
    """Breadth: mean distinct event types per active user (None without active users)."""
    window = _between(prepare_usage(usage), start, end)
    if window.empty:
        return None
    return float(window.groupby("employee_id")["event_type"].nunique().mean())


def depth(usage: pd.DataFrame, start: dt.date, end: dt.date) -> float | None:
    """Depth: qualifying events per active user (None without active users)."""
    window = _between(prepare_usage(usage), start, end)
    return _ratio(int(window["events"].sum()), window["employee_id"].nunique())


def dormant_users(usage: pd.DataFrame, licensed: Collection[int], end: dt.date) -> int:
    """Dormant users: licensed, with no qualifying event in the 30 days ending on ``end``."""
    recent = active_set(usage, lookback_start(end), end)
    return len(set(licensed) - recent)


def summarize(
    usage: pd.DataFrame, licensed: Collection[int], start: dt.date, end: dt.date, key_behaviours: Iterable[str]
) -> dict:
    """Every metric of the window ``[start, end]``, keyed by name, with ``definitions_version``."""
    usage = prepare_usage(usage)
    licensed = set(licensed)
    return {
        "licensed": licensed_users(licensed),
        "active_users": active_users(usage, start, end),
        "adoption_rate": adoption_rate(usage, licensed, start, end),
        "key_behaviours": key_behaviour_adoption(usage, licensed, key_behaviours, start, end),
        "stickiness": stickiness(usage, start, end),
        "breadth": breadth(usage, start, end),
        "depth": depth(usage, start, end),
        "dormant": dormant_users(usage, licensed, end),
        "definitions_version": DEFINITIONS_VERSION,
    }
