"""Background job of the dashboards: re-evaluating the hypotheses register when new data arrives.

``adoption.signals.data_imported`` is sent after an outcomes or events import has been
committed; ``evaluate_after_import`` (connected in ``dashboards.init_app``) enqueues
``evaluate_hypotheses``, which is its own transaction boundary: it brings the derived data up to
date, evaluates every hypothesis and commits after each one. It is idempotent (an unchanged
verdict adds no history row) and two runs at once do not duplicate rows (``hypotheses.evaluate``).
"""
from __future__ import annotations

import logging

from flask import Flask, current_app

from adoption.extensions import db
from adoption.jobs import enqueue, job
from adoption.timekeeping import org_today

log = logging.getLogger(__name__)

JOB_NAME = "dashboards.evaluate_hypotheses"


@job(JOB_NAME)
def evaluate_hypotheses(trigger: str = "import") -> int:
    """Evaluate every hypothesis on the register (``trigger``: why), committing after each one;
    returns how many got a new history row."""
    from dashboards import bring_up_to_date, hypotheses

    if not hypotheses.has_active_hypotheses():
        db.session.rollback()
        return 0
    today = org_today(current_app.config["ORG_TIMEZONE"])
    bring_up_to_date(today)  # an events import leaves weekly rollups to recompute
    checks = hypotheses.evaluate_all(today, current_app.config, trigger,
                                     on_checked=lambda _check: db.session.commit())
    db.session.commit()
    return sum(check.changed for check in checks)


def evaluate_after_import(app: Flask, kind: str = "", accepted: int = 0, **_: object) -> None:
    """Receiver of ``adoption.signals.data_imported``: enqueue ``evaluate_hypotheses`` when the
    register has hypotheses. Never raises: the import is committed and must not fail on this
    (the daily ``evaluate-hypotheses`` run catches up)."""
    from dashboards.hypotheses import has_active_hypotheses

    try:
        if has_active_hypotheses():
            enqueue(JOB_NAME, "import")
    except Exception:
        log.exception("could not enqueue the hypotheses' evaluation after an import of %s %s", accepted, kind)
