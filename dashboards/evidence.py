"""The evidence service (issue 6, points 3–4): a question about two metrics → the linkage JSON.

One path for every way in — ``flask evidence``, ``GET /api/v1/evidence``, the Evidence page and
the hypotheses register — so they cannot disagree: read the panel (``evidence_panel``) for the
user's ``Scope``, pair x with y at each lag (``metrics.evidence.scan``, Holm-adjusted when
several lags are asked at once), read the verdict for an expected direction and smallest effect,
and write the reading, which cites the reverse lag's result.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import select

from adoption.extensions import db
from adoption.initiative import current_initiative
from adoption.models import Role
from adoption.models.outcomes import OutcomeMeasure
from adoption.scope import Scope
from dashboards import evidence_panel
from dashboards.metrics import evidence as ev

#: The organization as a whole: every unit's aggregates, no person — what the CLI, the
#: hypotheses register and the demo ask with (the verdicts are the organization's).
ORGANIZATION = Scope(Role.CHANGE_LEADER, None, None, None, False)

#: Default of a question without a hypothesis: a positive relation of at least r = 0.1 ("small").
DEFAULT_DIRECTION = 1
DEFAULT_SMALLEST_EFFECT = 0.1
#: Default window: this many calendar months, the last one being the month of ``today``.
DEFAULT_MONTHS = 24
MAX_LAG = 12
LAG_PROFILE = tuple(range(-3, 4))
LAG_RANGE = re.compile(r"^\s*(-?\d+)\s*\.\.\s*(-?\d+)\s*$")

LABELS = {
    evidence_panel.ADOPTION_RATE: "adoption rate",
    evidence_panel.ACTIVE_SHARE: "share of active days",
    evidence_panel.ENGAGEMENT_INDEX: "engagement index",
    evidence_panel.ENPS: "eNPS",
    evidence_panel.READINESS: "change readiness",
    evidence_panel.TRAINING_COMPLETION: "training completion",
    evidence_panel.COMMITMENT_KEPT: "commitments kept",
    "csat": "CSAT",
    "nps": "NPS",
    "retention": "customer retention",
}


class EvidenceError(ValueError):
    """A question that cannot be asked as put (unknown metric, bad lag, level or dates)."""


@dataclass(frozen=True)
class Question:
    """What is asked: x at month t against y at t+lag for each lag, for the units of ``level``
    and the whole months from ``start`` to ``end``, read as a hypothesis in ``direction`` (+1/−1)
    with ``smallest_effect`` on the r scale."""

    x: str
    y: str
    lags: tuple[int, ...]
    start: dt.date
    end: dt.date
    level: str | int = "team"
    direction: int = DEFAULT_DIRECTION
    smallest_effect: float = DEFAULT_SMALLEST_EFFECT


@dataclass(frozen=True)
class Assessment:
    """One lag's answer: the linkage, its verdict (and what would decide it) and the reading."""

    question: Question
    linkage: ev.Linkage
    verdict: str
    decider: str | None
    reading: str

    def as_dict(self) -> dict[str, Any]:
        """The JSON of the CLI's ``--json`` and of the API (docs/evidence.md)."""
        return ev.as_dict(self.linkage, self.question.x, self.question.y,
                          (self.verdict, self.decider), self.reading)


def label(metric: str) -> str:
    """A metric's name in words for readings and charts ("adoption rate", "CSAT")."""
    if metric in LABELS:
        return LABELS[metric]
    if metric.startswith(evidence_panel.KEY_BEHAVIOUR):
        return "share doing " + metric[len(evidence_panel.KEY_BEHAVIOUR):].replace("_", " ")
    return metric.replace("_", " ")


def default_window(today: dt.date, months: int = DEFAULT_MONTHS) -> tuple[dt.date, dt.date]:
    """The ``months`` calendar months ending with ``today``'s month: (first day, today)."""
    first = (pd.Period(today, freq="M") - (months - 1)).start_time.date()
    return first, today


def parse_lags(lag: str | int | None = None, lags: str | None = None) -> tuple[int, ...]:
    """The lags of a question: ``lag`` (one integer) or ``lags`` ("A..B", both ends included);
    neither means lag 1. Raises ``EvidenceError`` for both, bad text, or |lag| > ``MAX_LAG``."""
    if lag is not None and lags is not None:
        raise EvidenceError("Give either a lag or a range of lags, not both.")
    if lags is not None:
        match = LAG_RANGE.match(str(lags))
        if match is None:
            raise EvidenceError(f"Lags must be a range 'A..B' of whole months, e.g. '-3..3' (got {lags!r}).")
        low, high = int(match.group(1)), int(match.group(2))
        if low > high:
            raise EvidenceError(f"The range {lags!r} runs backwards: write the smaller lag first.")
        wanted = tuple(range(low, high + 1))
    elif lag is not None:
        try:
            wanted = (int(str(lag).strip()),)
        except ValueError:
            raise EvidenceError(f"The lag must be a whole number of months (got {lag!r}).") from None
    else:
        wanted = (1,)
    if any(abs(v) > MAX_LAG for v in wanted):
        raise EvidenceError(f"Lags are limited to -{MAX_LAG}..{MAX_LAG} months.")
    return wanted


def parse_level(level: str | int | None) -> str | int:
    """A unit level: "team" (default; also "leaf"), "region", "company" or a depth ≥ 0."""
    if level is None or level == "":
        return "team"
    text = str(level).strip().lower()
    if text in evidence_panel.LEAF_LEVELS or text in evidence_panel.LEVEL_DEPTHS:
        return text
    if text.isdigit():
        return int(text)
    raise EvidenceError(f"Unknown level {level!r}: use 'team', 'region', 'company' or a depth (0, 1, 2...).")


def parse_direction(direction: str | int | None) -> int:
    """+1 or −1 from "positive"/"negative", "+"/"-", "1"/"-1"; None means positive."""
    if direction is None or direction == "":
        return DEFAULT_DIRECTION
    text = str(direction).strip().lower()
    if text in ("positive", "+", "1", "+1", "up"):
        return 1
    if text in ("negative", "-", "-1", "down"):
        return -1
    raise EvidenceError(f"The expected direction is 'positive' or 'negative' (got {direction!r}).")


def parse_smallest_effect(value: str | float | None) -> float:
    """The smallest effect that matters, on the r scale (0 ≤ δ < 1); None means 0.1."""
    if value is None or value == "":
        return DEFAULT_SMALLEST_EFFECT
    try:
        effect = float(value)
    except (TypeError, ValueError):
        raise EvidenceError(f"The smallest effect is a correlation between 0 and 1 (got {value!r}).") from None
    if not 0 <= effect < 1:
        raise EvidenceError(f"The smallest effect is a correlation between 0 and 1 (got {value!r}).")
    return effect


def _metric_name(name: str | None, which: str) -> str:
    """A metric name as asked (``check_known`` says whether it exists), or ``EvidenceError``
    when it is empty."""
    text = (name or "").strip()
    if not text:
        raise EvidenceError(f"Say which metric is {which} (e.g. adoption_rate, csat).")
    return text


def make_question(x: str | None, y: str | None, *, lag: str | int | None = None, lags: str | None = None,
                  level: str | int | None = None, start: dt.date | None = None, end: dt.date | None = None,
                  direction: str | int | None = None, smallest_effect: str | float | None = None,
                  today: dt.date) -> Question:
    """A ``Question`` from loose arguments (CLI options, query parameters), checked; dates
    default to ``default_window(today)``. Raises ``EvidenceError`` with a message for people."""
    x_name, y_name = _metric_name(x, "x"), _metric_name(y, "y")
    if x_name == y_name:
        raise EvidenceError("x and y are the same metric; pick two different ones.")
    first, last = default_window(today)
    start, end = start or first, end or last
    if end < start:
        raise EvidenceError(f"The period ends ({end}) before it starts ({start}).")
    return Question(x=x_name, y=y_name, lags=parse_lags(lag, lags), start=start, end=end,
                    level=parse_level(level), direction=parse_direction(direction),
                    smallest_effect=parse_smallest_effect(smallest_effect))


def available_metrics(panel: pd.DataFrame) -> list[str]:
    """The metrics a long panel holds, built-in ones first, then key behaviours, then outcomes."""
    present = set(panel["metric"].unique()) if not panel.empty else set()
    built_in = [m for m in evidence_panel.BUILT_IN if m in present]
    behaviours = sorted(m for m in present if m.startswith(evidence_panel.KEY_BEHAVIOUR))
    outcomes = sorted(present - set(built_in) - set(behaviours))
    return built_in + behaviours + outcomes


def known_metrics() -> list[str]:
    """Every metric a question may name: the panel's built-in ones, the initiative's key
    behaviours and every outcome metric imported so far."""
    initiative = current_initiative()
    behaviours = sorted(initiative.key_behaviours or []) if initiative is not None else []
    outcomes = db.session.scalars(select(OutcomeMeasure.metric).distinct().order_by(OutcomeMeasure.metric)).all()
    return [*evidence_panel.BUILT_IN, *(evidence_panel.KEY_BEHAVIOUR + b for b in behaviours), *outcomes]


def check_known(question: Question) -> None:
    """Raise ``EvidenceError`` naming the metrics one may ask for when x or y is not one of them."""
    known = known_metrics()
    for name in (question.x, question.y):
        if name not in known:
            raise EvidenceError(f"Unknown metric {name!r}. Known metrics: {', '.join(known)}.")


def panel_for(scope: Scope, question: Question, config: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """The long panel of x and y only, for the question's level and months, in ``scope``."""
    return evidence_panel.unit_period_panel(
        scope, level=question.level, start=question.start, end=question.end,
        metrics=[question.x, question.y], config=config,
    )


def assess_panel(question: Question, panel: pd.DataFrame | ev.Grid) -> list[Assessment]:
    """The question answered on a wide panel (``evidence_panel.wide``) or its grid: one
    ``Assessment`` per lag, in the order asked, Holm-adjusted when there are several."""
    grid = panel if isinstance(panel, ev.Grid) else ev.panel_grid(panel)
    results = ev.scan(grid, question.lags)
    by_lag = {r.lag: r for r in results}
    assessments = []
    for result in results:
        reverse = None
        if result.lag != 0:
            # The reading cites only the reverse lag's r and interval.
            reverse = by_lag.get(-result.lag) or ev.linkage(grid, -result.lag, models=False)
        decided = ev.verdict(result, question.direction, question.smallest_effect)
        text = ev.reading(result, decided, label(question.x), label(question.y), reverse=reverse)
        assessments.append(Assessment(question, result, decided[0], decided[1], text))
    return assessments


def assess(scope: Scope, question: Question, config: Mapping[str, Any] | None = None) -> list[Assessment]:
    """Check the metric names, read the panel for ``scope`` and answer ``question`` (see
    ``assess_panel``)."""
    check_known(question)
    long = panel_for(scope, question, config)
    return assess_panel(question, evidence_panel.wide(long, question.x, question.y))


def as_json(assessments: Iterable[Assessment], single: bool) -> dict[str, Any] | list[dict[str, Any]]:
    """One object for a single lag (``--lag``/``lag=``), a list for a range (``--lags``/``lags=``)."""
    answers = [a.as_dict() for a in assessments]
    return answers[0] if single else answers
