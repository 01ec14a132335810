"""Dashboard benchmark: server-side time of every dashboard callback on the large demo.

    python bench/dashboards.py                      # fresh SQLite file, large demo loaded first
    python bench/dashboards.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench
    python bench/dashboards.py --database-url ... --no-load   # the large demo is already there

Each callback of each page in ``PAGES`` is posted ``--calls`` times (default 100) to Dash's
dispatch view through the Flask test client — the whole server path (session, guard, scope,
queries, metrics, figure, JSON) without a network — with filters varied at random (seeded), as a
change leader (every unit) and as a manager (own subtree) — the executive dashboard as an
executive and a change leader. It prints p50/p95 per callback and
role against the budget (p95 ≤ 300 ms), and the ratio of each p50 to a baseline measured in the
same run: the framework's floor, an authenticated request for ``/_dash-dependencies``.
Later dashboards add their page to ``PAGES``. Results: docs/performance.md.

The pickers' callback is posted first, once per role; on the Engagement page it is the first
dispatch of the run and so prepares any closed round not yet prepared (``_fresh_results``)
before anything is timed.
"""
from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

BUDGET_P95_MS = 300.0
DISPATCH = "/dashboards/_dash-update-component"


Choices = dict[str, list[Any]]


def adoption_inputs(rng: random.Random, choices: Choices, today: dt.date) -> dict[str, Any]:
    """Random filters for the Adoption page: a unit in scope and a period of 4 to 52 weeks."""
    unit_ids = choices["adoption-unit.options"]
    weeks = rng.choice((4, 8, 13, 26, 52))
    end = today - dt.timedelta(days=rng.randrange(0, 120))
    start = end - dt.timedelta(weeks=weeks)
    return {
        "adoption-unit.value": rng.choice(unit_ids) if unit_ids else None,
        "adoption-period.start_date": start.isoformat(),
        "adoption-period.end_date": end.isoformat(),
    }


def engagement_inputs(rng: random.Random, choices: Choices, today: dt.date) -> dict[str, Any]:
    """Random filters for the Engagement page: a round with results (or the latest), the whole
    scope (the page's default, so one call in four) or a unit in scope, a tenure band (all
    tenures half the time)."""
    rounds, unit_ids = choices["engagement-round.options"], choices["engagement-unit.options"]
    whole_scope = not unit_ids or rng.random() < 0.25
    return {
        "engagement-round.value": rng.choice([None, *rounds]),
        "engagement-unit.value": None if whole_scope else rng.choice(unit_ids),
        "engagement-tenure.value": rng.choice(("all", "all", "all", "<1y", "1-3y", "3y+")),
    }


def training_inputs(rng: random.Random, choices: Choices, today: dt.date) -> dict[str, Any]:
    """Random filters for the Training page: every module (the default, one call in three) or
    one, the whole scope (one call in four) or a unit in scope, a period of 13 to 52 weeks ending
    up to 8 weeks ago."""
    modules, unit_ids = choices["training-module.options"], choices["training-unit.options"]
    whole_scope = not unit_ids or rng.random() < 0.25
    end = today - dt.timedelta(days=rng.randrange(0, 57))
    start = end - dt.timedelta(weeks=rng.choice((13, 26, 52)))
    return {
        "training-module.value": None if not modules or rng.random() < 1 / 3
        else rng.choice(modules),
        "training-unit.value": None if whole_scope else rng.choice(unit_ids),
        "training-period.start_date": start.isoformat(),
        "training-period.end_date": end.isoformat(),
    }


def evidence_inputs(rng: random.Random, choices: Choices, today: dt.date) -> dict[str, Any]:
    """Random questions for the Evidence page: x any metric, y an outcome (csat, nps, retention)
    three times in four, else any other metric; a lag −3..+3; the default 24 months (one call
    in four: the 12 months ending up to 3 months ago)."""
    metrics = choices["evidence-x.options"]
    if not metrics:
        return {"evidence-x.value": "adoption_rate", "evidence-y.value": "csat", "evidence-lag.value": 1}
    outcomes = [m for m in metrics if m in ("csat", "nps", "retention")]
    y = rng.choice(outcomes) if outcomes and rng.random() < 0.75 else rng.choice(metrics)
    x = rng.choice([m for m in metrics if m != y])
    values = {"evidence-x.value": x, "evidence-y.value": y, "evidence-lag.value": rng.randint(-3, 3)}
    if rng.random() < 0.25:
        end = today - dt.timedelta(days=30 * rng.randrange(0, 4))
        values["evidence-period.start_date"] = (end - dt.timedelta(days=365)).isoformat()
        values["evidence-period.end_date"] = end.isoformat()
    return values


def executive_inputs(rng: random.Random, choices: Choices, today: dt.date) -> dict[str, Any]:
    """Random filters for the executive dashboard: the current quarter three times in four, else
    one of the three before it (the page's picker offers these four)."""
    from dashboards.commitment_report import quarter_choices

    quarters = [value for value, _label in quarter_choices(today)]
    return {"executive-quarter.value": quarters[0] if rng.random() < 0.75 else rng.choice(quarters[1:])}


#: The roles every page is timed as: a change leader (every unit) and a manager (own subtree).
DEFAULT_ROLES = ("change_leader", "manager")

#: page slug → (prefix of its component ids, the input generator, an output of the callback
#: that fills the page's pickers or None when the layout holds them; the generator gets every
#: option list that callback returns, and the roles to time it as)
PAGES: dict[str, tuple[str, Callable[[random.Random, Choices, dt.date], dict[str, Any]], str | None, tuple[str, ...]]] = {
    "adoption": ("adoption-", adoption_inputs, "adoption-unit.options", DEFAULT_ROLES),
    "engagement": ("engagement-", engagement_inputs, "engagement-unit.options", DEFAULT_ROLES),
    "training": ("training-", training_inputs, "training-unit.options", DEFAULT_ROLES),
    "evidence": ("evidence-", evidence_inputs, "evidence-x.options", DEFAULT_ROLES),
    # Its users: executives (their own record and aggregates) and change leaders (every sponsor).
    "executive": ("executive-", executive_inputs, None, ("executive", "change_leader")),
}


def outputs_of(spec: dict[str, Any]) -> list[str]:
    """The "component.property" outputs of a callback spec from ``_dash-dependencies``."""
    output = spec["output"]
    return output[2:-2].split("...") if output.startswith("..") else [output]


def percentile(values: list[float], share: float) -> float:
    """The ``share`` quantile (0–1) of ``values`` by the nearest-rank method."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(share * len(ordered) + 0.5)))
    return ordered[rank - 1]


def callback_body(spec: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """The JSON Dash's renderer posts for ``spec`` with the given input/state values."""
    output = spec["output"]
    parts = output[2:-2].split("...") if output.startswith("..") else [output]
    outputs = [dict(zip(("id", "property"), part.rsplit(".", 1), strict=True)) for part in parts]
    # Dash expects a single-output callback's "outputs" as one object, a multi-output one's as a list.
    single = not output.startswith("..")

    def items(kind: str) -> list[dict[str, Any]]:
        return [{"id": i["id"], "property": i["property"], "value": values.get(f"{i['id']}.{i['property']}")}
                for i in spec[kind]]

    inputs = items("inputs")
    return {"output": output, "outputs": outputs[0] if single else outputs, "inputs": inputs, "state": items("state"),
            "changedPropIds": [f"{i['id']}.{i['property']}" for i in spec["inputs"]]}


def timed(call: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[float, Any]:
    """Milliseconds taken by ``call(*args, **kwargs)`` and its result."""
    started = time.perf_counter()
    result = call(*args, **kwargs)
    return (time.perf_counter() - started) * 1000, result


def main() -> int:
    """Parse arguments, prepare the database, time the callbacks, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="default: a fresh SQLite file in a temporary folder")
    parser.add_argument("--no-load", action="store_true", help="the large demo is already loaded")
    parser.add_argument("--calls", type=int, default=100, help="calls per callback and role")
    parser.add_argument("--size", default="large", choices=("small", "large"), help="demo size")
    parser.add_argument("--seed", type=int, default=1, help="seed of the random filters")
    parser.add_argument("--pages", default=",".join(PAGES),
                        help=f"comma-separated pages to time (default: {','.join(PAGES)})")
    args = parser.parse_args()
    pages = [p.strip() for p in args.pages.split(",") if p.strip()]
    unknown = sorted(set(pages) - set(PAGES))
    if unknown:
        parser.error(f"unknown page(s): {', '.join(unknown)}")

    from flask_migrate import upgrade
    from sqlalchemy import text

    from adoption import create_app
    from adoption.demo import DEMO_PASSWORD, load_demo
    from adoption.extensions import db
    from adoption.timekeeping import org_today

    instance = tempfile.mkdtemp(prefix="uptake-bench-")
    config = {"ENV": "development", "INSTANCE_PATH": instance, "WTF_CSRF_ENABLED": False,
              "LOGIN_RATE_LIMIT": "1000 per minute"}
    if args.database_url:
        config["DATABASE_URL"] = args.database_url
    app = create_app(config)
    with app.app_context():
        upgrade()
        if not args.no_load:
            started = time.perf_counter()
            summary = load_demo(size=args.size)
            db.session.commit()
            print(f"loaded the {args.size} demo in {time.perf_counter() - started:.1f} s "
                  f"({summary.employees} employees, {summary.teams} teams)")
        else:
            summary = load_demo(size=args.size)  # a no-op on a loaded demo; gives the logins
            db.session.commit()
        logins = dict(summary.logins)
        today = org_today(app.config["ORG_TIMEZONE"])
        if db.engine.dialect.name == "postgresql":
            # Planner statistics, as autovacuum keeps them in production (it may be off on a
            # bench machine, and a freshly bulk-loaded demo has none).
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("ANALYZE"))

    rng = random.Random(args.seed)
    print(f"database: {app.config['SQLALCHEMY_DATABASE_URI'].split('@')[-1]}; {args.calls} calls "
          f"per callback and role; budget p95 ≤ {BUDGET_P95_MS:.0f} ms")
    print(f"{'page':<10} {'callback output':<44} {'role':<14} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'p50/base':>9}  budget")
    over_budget = 0
    roles = list(dict.fromkeys(role for slug in pages for role in PAGES[slug][3]))
    for role in roles:
        client = app.test_client()
        response = client.post("/login", data={"email": logins[role], "password": DEMO_PASSWORD})
        if response.status_code not in (302, 303):
            print(f"cannot sign in as {role}: HTTP {response.status_code}", file=sys.stderr)
            return 2
        specs = client.get("/dashboards/_dash-dependencies").get_json()
        baseline = statistics.median(
            timed(client.get, "/dashboards/_dash-dependencies")[0] for _ in range(30))
        print(f"baseline ({role}): GET /dashboards/_dash-dependencies p50 {baseline:.1f} ms")
        for slug in pages:
            prefix, make_inputs, units_output, page_roles = PAGES[slug]
            if role not in page_roles:
                continue
            choices = {}
            pickers = next((s for s in specs if units_output in outputs_of(s)), None) if units_output else None
            filled = client.post(DISPATCH, json=callback_body(pickers, {})).get_json()["response"] if pickers else {}
            for output in outputs_of(pickers) if pickers else []:
                component, prop = output.rsplit(".", 1)
                if prop == "options":  # the pickers may also set a default value
                    choices[output] = [o["value"] for o in filled[component][prop]]
            for spec in specs:
                if prefix not in spec["output"]:
                    continue
                samples = []
                for _ in range(args.calls):
                    values = make_inputs(rng, choices, today)
                    # Download buttons and other clickables: pretend they were clicked once.
                    values.update({f"{i['id']}.n_clicks": 1 for i in spec["inputs"] if i["property"] == "n_clicks"})
                    elapsed, response = timed(client.post, DISPATCH, json=callback_body(spec, values))
                    if response.status_code not in (200, 204):
                        print(f"{spec['output']} failed: HTTP {response.status_code}", file=sys.stderr)
                        return 2
                    samples.append(elapsed)
                p50, p95 = percentile(samples, 0.50), percentile(samples, 0.95)
                # The first output names the callback (e.g. "adoption-rate-figure.figure").
                label = spec["output"].strip(".").split("...")[0]
                verdict = "ok" if p95 <= BUDGET_P95_MS else "OVER"
                over_budget += verdict == "OVER"
                print(f"{slug:<10} {label[:44]:<44} {role:<14} {p50:>8.1f} {p95:>8.1f} "
                      f"{max(samples):>8.1f} {p50 / baseline:>8.1f}x  {verdict}")
    print("all callbacks within budget" if not over_budget else f"{over_budget} callback(s) over budget")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
