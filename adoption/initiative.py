"""The CRM initiative being tracked: its targets, key behaviours and sponsors."""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence

from sqlalchemy import select

from adoption.extensions import db
from adoption.models import Employee, Initiative

# Event type names as the telemetry uses them: lower snake case.
_EVENT_TYPE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


class InitiativeError(ValueError):
    """An initiative setting breaks a rule; the message says which."""


def save_initiative(
    name: str,
    *,
    start_date: dt.date,
    licensed_seats: int,
    adoption_target_pct: float,
    key_behaviours: Sequence[str],
    sponsors: Sequence[Employee] = (),
) -> Initiative:
    """Create the initiative called ``name`` or update it in place (idempotent by name)."""
    name = name.strip()
    if not name:
        raise InitiativeError("the initiative needs a name")
    if licensed_seats < 0:
        raise InitiativeError("licensed seats cannot be negative")
    if not 0 <= adoption_target_pct <= 100:
        raise InitiativeError("the adoption target is a percentage between 0 and 100")
    behaviours = list(dict.fromkeys(b.strip() for b in key_behaviours))
    bad = [b for b in behaviours if not _EVENT_TYPE.match(b)]
    if bad:
        raise InitiativeError(f"key behaviours must be event type names like 'activity_logged', not {bad}")
    not_executives = [s.hr_id for s in sponsors if not s.is_executive or not s.active]
    if not_executives:
        raise InitiativeError(f"sponsors must be active executives; {', '.join(not_executives)} is not")
    initiative = db.session.scalar(select(Initiative).where(Initiative.name == name))
    if initiative is None:
        initiative = Initiative(name=name)
        db.session.add(initiative)
    initiative.start_date = start_date
    initiative.licensed_seats = licensed_seats
    initiative.adoption_target_pct = adoption_target_pct
    initiative.key_behaviours = behaviours
    initiative.sponsors = list(sponsors)
    db.session.flush()
    return initiative


def current_initiative() -> Initiative | None:
    """The initiative being tracked (the most recently started one)."""
    return db.session.scalar(select(Initiative).order_by(Initiative.start_date.desc(), Initiative.id.desc()))
