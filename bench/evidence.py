"""Evidence benchmark (issue 6, point 8): the panel and one linkage for 1,200 units × 24 months.

    python bench/evidence.py                      # fresh SQLite file in a temporary folder
    python bench/evidence.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench_evidence

Builds an organization of ``--units`` teams (in 10 regions) with ``--months`` months of weekly
adoption rollups (``weekly_unit_usage``, what the panel reads for ``adoption_rate``) and a
monthly CSAT per team (``outcome_measures``, with responses), bulk-inserted; then times, ``--repeat``
times each, what ``flask evidence --x adoption_rate --y csat --lag 1`` does after start-up:

- the panel: ``unit_period_panel`` for the two metrics (two SQL aggregates) and ``wide``;
- the linkage: ``metrics.evidence.linkage`` (r, the closed-form REML multilevel model, the
  within-unit change) on that panel;
- the whole answer: ``dashboards.evidence.assess`` (panel, linkage, verdict, reverse lag, reading).

Baseline, measured in the same run on the same panel: the same multilevel model fitted by
statsmodels' ``MixedLM`` (the reference engine of ``linkage(engine="statsmodels")``), the way a
first version would have done it. Budget: the whole answer ≤ 2 s. Results: docs/performance.md.
"""
from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

BUDGET_S = 2.0


def build(units: int, months: int, seed: int) -> tuple[dt.date, dt.date]:
    """Insert the organization, weekly rollups and CSAT; returns the first and last day covered."""
    import pandas as pd
    from sqlalchemy import insert

    from adoption.extensions import db
    from adoption.models import OrgUnit, WeeklyUnitUsage
    from adoption.models.outcomes import OutcomeMeasure

    rng = np.random.default_rng(seed)
    root = OrgUnit(name="Bench", path="Bench", depth=0)
    db.session.add(root)
    db.session.flush()
    regions = []
    for r in range(10):
        region = OrgUnit(name=f"Region {r:02d}", path=f"Bench/Region {r:02d}", depth=1, parent_id=root.id)
        db.session.add(region)
        regions.append(region)
    db.session.flush()
    team_rows = [{"name": f"Team {t:04d}", "path": f"{regions[t % 10].path}/Team {t:04d}", "depth": 2,
                  "parent_id": regions[t % 10].id} for t in range(units)]
    db.session.execute(insert(OrgUnit), team_rows)
    teams = db.session.execute(
        OrgUnit.__table__.select().where(OrgUnit.depth == 2).order_by(OrgUnit.id)).all()
    last_month = pd.Period("2026-10", freq="M")
    first_month = last_month - (months - 1)
    first, last = first_month.start_time.date(), last_month.end_time.date()
    # Mondays from the first Monday on or after the first day.
    monday = first + dt.timedelta(days=(7 - first.weekday()) % 7)
    weeks = []
    while monday <= last:
        weeks.append(monday)
        monday += dt.timedelta(days=7)
    level = rng.uniform(0.3, 0.9, units)
    usage = []
    for i, team in enumerate(teams):
        licensed = int(rng.integers(10, 25))
        for w in weeks:
            share = min(max(level[i] + rng.normal(0, 0.08), 0.0), 1.0)
            active = round(share * licensed)
            usage.append({"week_start": w, "unit_id": team.id, "licensed": licensed, "active": active,
                          "active_days": active * 3, "events": active * 20, "event_types": active * 3})
    for start in range(0, len(usage), 20_000):
        db.session.execute(insert(WeeklyUnitUsage), usage[start:start + 20_000])
    now = dt.datetime(2026, 11, 1)
    outcomes = []
    for i, team in enumerate(teams):
        for month in pd.period_range(first_month, last_month, freq="M"):
            outcomes.append({
                "unit_id": team.id, "metric": "csat", "period_start": month.start_time.date(),
                "period_end": month.end_time.date(),
                "value": float(np.clip(75 + 10 * (level[i] - 0.6) + rng.normal(0, 4), 0, 100)),
                "responses": int(rng.integers(15, 60)), "source": "file", "content_hash": f"{i}-{month}",
                "created_at": now, "updated_at": now,
            })
    for start in range(0, len(outcomes), 20_000):
        db.session.execute(insert(OutcomeMeasure), outcomes[start:start + 20_000])
    db.session.commit()
    return first, last


def timed(function, repeat: int) -> tuple[list[float], object]:
    """Wall times in seconds of ``repeat`` calls, and the last result."""
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
    return times, result


def main() -> int:
    """Build the data, time panel, linkage and answer, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="default: a fresh SQLite file in a temporary folder")
    parser.add_argument("--units", type=int, default=1200)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=20261206)
    args = parser.parse_args()

    from flask_migrate import upgrade
    from sqlalchemy import text

    from adoption import create_app
    from adoption.extensions import db
    from dashboards import evidence, evidence_panel
    from dashboards.metrics import evidence as ev

    instance = tempfile.mkdtemp(prefix="uptake-bench-")
    config = {"ENV": "development", "INSTANCE_PATH": instance}
    if args.database_url:
        config["DATABASE_URL"] = args.database_url
    app = create_app(config)
    with app.app_context():
        upgrade()
        if db.session.execute(text("SELECT count(*) FROM org_units")).scalar():
            print("the database is not empty: give a fresh one", file=sys.stderr)
            return 2
        started = time.perf_counter()
        first, last = build(args.units, args.months, args.seed)
        print(f"built {args.units} teams × {args.months} months in {time.perf_counter() - started:.1f} s "
              f"({first} to {last}); database: {app.config['SQLALCHEMY_DATABASE_URI'].split('@')[-1]}")
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("ANALYZE"))
        question = evidence.make_question("adoption_rate", "csat", lag=1, start=first, end=last,
                                          today=last)

        def panel():
            long = evidence.panel_for(evidence.ORGANIZATION, question, app.config)
            return evidence_panel.wide(long, "adoption_rate", "csat")

        # Warm-up: imports and the first statement's planning are start-up costs of the process.
        wide = panel()
        ev.linkage(wide, 1)
        rows = [
            ("panel (2 SQL aggregates + wide)", timed(panel, args.repeat)),
            ("linkage, closed-form REML", timed(lambda: ev.linkage(wide, 1), args.repeat)),
            # Once: it takes minutes at this size.
            ("linkage, statsmodels MixedLM (baseline)",
             timed(lambda: ev.linkage(wide, 1, engine=ev.STATSMODELS), 1)),
            ("whole answer: evidence.assess", timed(lambda: evidence.assess(evidence.ORGANIZATION, question, app.config),
                                                   args.repeat)),
        ]
        result = rows[1][1][1]
        print(f"{result.n_units} units, {result.n_observations} unit-months at lag 1; r = {result.r:.3f}, "
              f"slope = {result.slope:.4g}; {args.repeat} runs each")
        print(f"{'step':<42} {'median s':>9} {'max s':>7}")
        for name, (times, _result) in rows:
            print(f"{name:<42} {statistics.median(times):>9.3f} {max(times):>7.3f}")
        closed, baseline = statistics.median(rows[1][1][0]), statistics.median(rows[2][1][0])
        whole = statistics.median(rows[3][1][0])
        print(f"closed-form / statsmodels linkage: {closed / baseline:.4f} ({baseline / closed:,.0f}x faster)")
        print(f"whole answer {whole:.2f} s vs budget {BUDGET_S:.1f} s: "
              f"{'within budget' if max(rows[3][1][0]) <= BUDGET_S else 'OVER BUDGET'}")
        return 0 if max(rows[3][1][0]) <= BUDGET_S else 1


if __name__ == "__main__":
    raise SystemExit(main())
