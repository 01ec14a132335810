"""The access log: who gave whom which rights, and when.

``record`` is called by the services that change access (adoption/accounts.py,
adoption/tokens.py) in the same transaction as the change, so a change and its log row are
committed together or not at all. Only admins read the log (``access_log``, ``account_history``:
checked here, in the data layer); a person reads the changes to their own account in their
personal data (adoption/personal_data.py).
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Select, func, select
from sqlalchemy.orm import aliased, contains_eager

from adoption.csv_export import csv_text
from adoption.extensions import db
from adoption.models import AccessChange, ApiToken, User
from adoption.models.access_changes import ACCESS_ACTIONS
from adoption.scope import Scope
from adoption.timekeeping import utcnow


def record(action: str, *, actor: User | int | None = None, user: User | None = None,
           token: ApiToken | None = None, before: str | None = None, after: str | None = None,
           at: dt.datetime | None = None) -> AccessChange:
    """Add one change to the log, in the caller's transaction (the caller flushes; ``user`` and
    ``token`` may be new, their ids are set at that flush)."""
    if action not in ACCESS_ACTIONS:
        raise ValueError(f"unknown access change {action!r}")
    change = AccessChange(action=action, at=at or utcnow(),
                          actor_id=actor.id if isinstance(actor, User) else actor,
                          user=user, token=token, before=before, after=after)
    db.session.add(change)
    return change


def _with_names(action: str | None = None, search: str | None = None) -> Select:
    """The log, newest first (by time: the demo dates some changes in the past), with each
    change's account, admin and token loaded; ``search``
    matches the account's or the admin's e-mail or the token's name."""
    account, admin = aliased(User), aliased(User)
    statement = (select(AccessChange)
                 .outerjoin(account, AccessChange.user.of_type(account))
                 .outerjoin(admin, AccessChange.actor.of_type(admin))
                 .outerjoin(ApiToken, AccessChange.token)
                 .options(contains_eager(AccessChange.user.of_type(account)),
                          contains_eager(AccessChange.actor.of_type(admin)),
                          contains_eager(AccessChange.token))
                 .order_by(AccessChange.at.desc(), AccessChange.id.desc()))
    if action:
        if action not in ACCESS_ACTIONS:
            raise ValueError(f"unknown access change {action!r}")
        statement = statement.where(AccessChange.action == action)
    if search and search.strip():
        pattern = f"%{search.strip().lower()}%"
        statement = statement.where(func.lower(account.email).like(pattern)
                                    | func.lower(admin.email).like(pattern)
                                    | func.lower(ApiToken.name).like(pattern))
    return statement


def access_log(scope: Scope, *, action: str | None = None, search: str | None = None) -> Select:
    """The access log, newest first, as a statement to paginate (admins only)."""
    scope.require_admin("read the access log")
    return _with_names(action, search)


#: The columns of the log's CSV download.
LOG_COLUMNS = ["at_utc", "action", "change", "account", "token", "before", "after", "by"]


def access_log_csv(scope: Scope, *, action: str | None = None, search: str | None = None) -> str:
    """Every change ``access_log`` selects, newest first, as spreadsheet-safe CSV (admins only)."""
    changes = db.session.scalars(access_log(scope, action=action, search=search))
    return csv_text(LOG_COLUMNS, (
        [c.at.isoformat(sep=" "), c.action, c.what, c.user.email if c.user else "",
         f"{c.token.name} ({c.token.prefix})" if c.token else "", c.before or "", c.after or "", c.by]
        for c in changes))


def account_history(scope: Scope, user: User, limit: int = 20) -> list[AccessChange]:
    """The latest changes to one account, newest first (admins only)."""
    scope.require_admin("read an account's access history")
    return list(db.session.scalars(_with_names().where(AccessChange.user_id == user.id).limit(limit)))


def own_history(user: User) -> list[dict]:
    """Every change to ``user``'s account, oldest first, as records of their personal data (the
    caller has checked who may read it)."""
    changes = db.session.scalars(_with_names().where(AccessChange.user_id == user.id))
    return [{"at": c.at, "change": c.what, "before": c.before, "after": c.after, "by": c.by}
            for c in reversed(list(changes))]
