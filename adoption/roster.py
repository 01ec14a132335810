"""Roster import from an HR export (CSV): plan (preview), then apply.

- ``plan_roster(source, effective=..., full=True) -> RosterPlan`` reads and validates, writes nothing;
- ``apply_roster(plan, force=False) -> RosterPlan`` writes the plan (flush only, the caller commits);
  raises ``SafetyStop`` when the plan trips a safety stop and ``force`` is false;
- ``import_roster(source, effective=..., full=True, force=False, dry_run=False) -> RosterPlan``
  does both.

A bad row is reported with its line and reason and nothing of it is written; people on a bad row
are never deactivated for being "missing". Re-importing the same file changes nothing.
"""
from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TextIO

from blinker import Namespace
from email_validator import EmailNotValidError, validate_email
from flask import current_app
from sqlalchemy import select

from adoption.erasure import erased_on, scrubber
from adoption.extensions import db
from adoption.models import Employee, OrgUnit, RosterImport, UnitMembership
from adoption.org import (
    UnitPathError,
    end_membership,
    ensure_unit,
    move_employee,
    normalize_unit_path,
)
from adoption.telemetry.identity import roster_changed

COLUMNS = (
    "employee_id",
    "email",
    "full_name",
    "title",
    "unit",
    "manager_employee_id",
    "start_date",
    "end_date",
    "crm_user_id",
    "crm_username",
    "is_executive",
)
REQUIRED_COLUMNS = ("employee_id", "email", "full_name", "unit")
# Roster column → Employee attribute, for the columns compared field by field.
FIELD_OF_COLUMN = {
    "email": "email",
    "full_name": "full_name",
    "title": "title",
    "unit": "unit",
    "manager_employee_id": "manager",
    "start_date": "start_date",
    "end_date": "end_date",
    "crm_user_id": "crm_user_id",
    "crm_username": "crm_username",
    "is_executive": "is_executive",
}
_TRUE = {"true", "yes", "y", "1", "x"}
_FALSE = {"false", "no", "n", "0", ""}
DEFAULT_MAX_DEACTIVATION_SHARE = 0.40
DEFAULT_MAX_EMAIL_CHANGE_SHARE = 0.05

#: Sent by ``apply_roster`` after it has written an import that changed something, with the app as
#: sender and ``plan=`` the applied plan, inside the import's transaction (receivers flush, never
#: commit). Feature packages connect to it in their ``init_app`` (training assigns new joiners)
#: so that ``adoption`` never imports them.
roster_imported = Namespace().signal("roster-imported")


class RosterFileError(ValueError):
    """The file as a whole cannot be read as a roster (encoding, header)."""


class SafetyStop(RuntimeError):
    """The import would change too much at once; it needs an explicit ``force``."""

    def __init__(self, reasons: list[str]):
        super().__init__("; ".join(reasons))
        self.reasons = reasons


@dataclass(frozen=True)
class RosterRow:
    """A row that passed validation, in canonical form."""

    line: int
    hr_id: str
    email: str
    full_name: str
    title: str | None
    unit: str
    manager_hr_id: str | None
    start_date: dt.date | None
    end_date: dt.date | None
    crm_user_id: str | None
    crm_username: str | None
    is_executive: bool

    def active_on(self, day: dt.date) -> bool:
        """An employee is active unless their end date has passed."""
        return self.end_date is None or self.end_date > day


@dataclass(frozen=True)
class RowError:
    """A row that was not taken, and why."""

    line: int
    employee_id: str | None
    reason: str


@dataclass
class EmployeeChange:
    """What an import changes for one existing employee: field → (old, new)."""

    hr_id: str
    full_name: str
    fields: dict[str, tuple[Any, Any]]
    # Why, when it is not a field of the row (e.g. "missing from a full import").
    note: str = ""


@dataclass
class RosterPlan:
    """Everything an import would do, computed without writing anything."""

    effective: dt.date
    full: bool
    columns: tuple[str, ...] = ()
    rows: dict[str, RosterRow] = field(default_factory=dict)
    creates: list[RosterRow] = field(default_factory=list)
    updates: list[EmployeeChange] = field(default_factory=list)
    deactivations: list[EmployeeChange] = field(default_factory=list)
    reactivations: list[str] = field(default_factory=list)
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    # Rows of leavers whose personal data was erased (adoption/erasure.py): not taken, and not kept.
    erased: list[RowError] = field(default_factory=list)
    new_units: list[str] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    safety_stops: list[str] = field(default_factory=list)
    applied: bool = False

    @property
    def moves(self) -> list[EmployeeChange]:
        """Updates that move someone to another unit."""
        return [c for c in self.updates if "unit" in c.fields]

    @property
    def has_changes(self) -> bool:
        """True when applying the plan would write anything."""
        return bool(self.creates or self.updates or self.deactivations or self.new_units)

    def kept(self, text: str) -> str:
        """The file as the import history keeps it: the rows of erased leavers as blank lines."""
        return blank_rows(text, {e.employee_id for e in self.erased if e.employee_id})

    def counts(self) -> dict[str, int]:
        """Headline numbers of the plan."""
        return {
            "rows": len(self.rows) + len(self.errors) + len(self.erased),
            "created": len(self.creates),
            "updated": len(self.updates),
            "moved": len(self.moves),
            "deactivated": len(self.deactivations),
            "reactivated": len(self.reactivations),
            "unchanged": self.unchanged,
            "rejected": len(self.errors),
            "erased": len(self.erased),
            "new_units": len(self.new_units),
        }

    def summary(self) -> dict[str, Any]:
        """A JSON-friendly account of the plan, kept with the upload and shown in the preview."""
        return {
            "effective": self.effective.isoformat(),
            "full": self.full,
            "applied": self.applied,
            "counts": self.counts(),
            "errors": [{"line": e.line, "employee_id": e.employee_id, "reason": e.reason} for e in self.errors],
            # Without the HR id: the point of the erasure is not to keep it.
            "erased": [{"line": e.line, "reason": e.reason} for e in self.erased],
            "safety_stops": list(self.safety_stops),
            "ignored_columns": list(self.ignored_columns),
            "new_units": list(self.new_units),
        }


# ---------------------------------------------------------------- reading and row checks


def _parse_date(value: str, column: str) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{column} {value!r} is not a date (use YYYY-MM-DD)") from None


def _parse_bool(value: str, column: str) -> bool:
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(f"{column} {value!r} is not true/false")


def _check_row(line: int, raw: dict[str, str], columns: tuple[str, ...]) -> RosterRow:
    """Validate one row on its own; raise ``ValueError`` with the reason."""
    def get(column: str) -> str:
        return (raw.get(column) or "").strip() if column in columns else ""

    hr_id = get("employee_id")
    if not hr_id:
        raise ValueError("employee_id is missing")
    if len(hr_id) > 64:
        raise ValueError("employee_id is longer than 64 characters")
    email_raw = get("email")
    if not email_raw:
        raise ValueError("email is missing")
    try:
        email = validate_email(email_raw, check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise ValueError(f"email {email_raw!r} is not valid: {exc}") from None
    full_name = get("full_name")
    if not full_name:
        raise ValueError("full_name is missing")
    if len(full_name) > 200:
        raise ValueError("full_name is longer than 200 characters")
    if not get("unit"):
        raise ValueError("unit is missing")
    try:
        unit = normalize_unit_path(get("unit"))
    except UnitPathError as exc:
        raise ValueError(str(exc)) from None
    start = _parse_date(get("start_date"), "start_date")
    end = _parse_date(get("end_date"), "end_date")
    if start and end and end < start:
        raise ValueError(f"end_date {end} is before start_date {start}")
    manager = get("manager_employee_id") or None
    if manager == hr_id:
        raise ValueError("manager cycle: the employee is their own manager")
    crm_user_id = get("crm_user_id") or None
    if crm_user_id and len(crm_user_id) > 64:
        raise ValueError("crm_user_id is longer than 64 characters")
    crm_username = get("crm_username") or None
    return RosterRow(
        line=line,
        hr_id=hr_id,
        email=email,
        full_name=full_name,
        title=get("title") or None,
        unit=unit,
        manager_hr_id=manager,
        start_date=start,
        end_date=end,
        crm_user_id=crm_user_id,
        crm_username=crm_username.lower() if crm_username else None,
        is_executive=_parse_bool(get("is_executive"), "is_executive"),
    )


def read_roster(source: TextIO | Iterable[str]) -> tuple[tuple[str, ...], list[str], list[RosterRow], list[RowError]]:
    """Read the CSV: (columns used, ignored columns, rows valid on their own, row errors)."""
    reader = csv.reader(source)
    try:
        header = next(reader)
    except StopIteration:
        raise RosterFileError("the file is empty") from None
    except csv.Error as exc:
        raise RosterFileError(f"line 1: {exc}") from None
    names = [h.strip().lstrip("\ufeff").lower() for h in header]
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    if missing:
        raise RosterFileError(
            f"the header lacks the column(s) {', '.join(missing)}; expected {','.join(COLUMNS)}"
        )
    if len(set(names)) != len(names):
        raise RosterFileError("the header names a column twice")
    columns = tuple(c for c in COLUMNS if c in names)
    ignored = [n for n in names if n not in COLUMNS]
    rows: list[RosterRow] = []
    errors: list[RowError] = []
    last_line = reader.line_num
    while True:
        try:
            values = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            errors.append(RowError(last_line + 1, None, f"unreadable CSV: {exc}"))
            last_line = reader.line_num
            continue
        line = last_line + 1
        last_line = reader.line_num
        if not values or all(not v.strip() for v in values):
            continue
        raw = dict(zip(names, values))
        if len(values) != len(names):
            errors.append(RowError(line, (raw.get("employee_id") or "").strip() or None,
                                   f"the row has {len(values)} fields, the header has {len(names)}"))
            continue
        try:
            rows.append(_check_row(line, raw, columns))
        except ValueError as exc:
            errors.append(RowError(line, (raw.get("employee_id") or "").strip() or None, str(exc)))
    return columns, ignored, rows, errors


# ---------------------------------------------------------------- planning


def _reject_duplicates(rows: list[RosterRow], key: str, label: str) -> tuple[list[RosterRow], list[RowError]]:
    """Reject every row sharing a value of ``key`` with another row: which one is right is unknowable."""
    lines: dict[Any, list[int]] = {}
    for row in rows:
        value = getattr(row, key)
        if value is not None:
            lines.setdefault(value, []).append(row.line)
    dup = {v for v, ls in lines.items() if len(ls) > 1}
    kept, errors = [], []
    for row in rows:
        value = getattr(row, key)
        if value in dup:
            others = ", ".join(str(n) for n in lines[value] if n != row.line)
            errors.append(RowError(row.line, row.hr_id, f"duplicate {label} {value} (also on line {others})"))
        else:
            kept.append(row)
    return kept, errors


def _cross_check(valid: dict[str, RosterRow], existing: dict[str, Employee], full: bool,
                 effective: dt.date, manager_hr: dict[int, str]) -> list[RowError]:
    """Errors that depend on other rows and on the database; run until nothing new is found."""
    errors: list[RowError] = []
    # Unique values held in the database by people this import will not rewrite.
    for attr, label in (("email", "email"), ("crm_user_id", "crm_user_id"), ("crm_username", "crm_username")):
        held = {getattr(e, attr): e for e in existing.values() if getattr(e, attr) and e.hr_id not in valid}
        for row in valid.values():
            holder = held.get(getattr(row, attr))
            if holder is not None and holder.hr_id != row.hr_id:
                state = "" if holder.active else "inactive "
                errors.append(RowError(row.line, row.hr_id,
                                       f"{label} {getattr(row, attr)} belongs to {state}employee {holder.hr_id}"))
    bad = {e.employee_id for e in errors}

    def manager_of(hr_id: str) -> str | None:
        if hr_id in valid:
            return valid[hr_id].manager_hr_id
        employee = existing.get(hr_id)
        return manager_hr.get(employee.manager_id) if employee and employee.manager_id else None

    for row in valid.values():
        if row.hr_id in bad or row.manager_hr_id is None:
            continue
        manager = row.manager_hr_id
        if manager not in valid:
            known = existing.get(manager)
            if known is None or full or not known.active:
                errors.append(RowError(row.line, row.hr_id, f"unknown manager {manager}"))
                bad.add(row.hr_id)
                continue
        # Follow the chain; coming back to this row means a cycle.
        seen = [row.hr_id]
        current = manager
        while current is not None and current not in seen and len(seen) <= len(valid) + len(existing):
            seen.append(current)
            current = manager_of(current)
        if current == row.hr_id:
            chain = " → ".join(seen + [row.hr_id])
            errors.append(RowError(row.line, row.hr_id, f"manager cycle: {chain}"))
            bad.add(row.hr_id)
    return errors


def _diff(row: RosterRow, employee: Employee, columns: tuple[str, ...], unit_path: str,
          manager_hr: str | None, effective: dt.date) -> dict[str, tuple[Any, Any]]:
    """Field-by-field differences between a row and the stored employee (absent columns are kept)."""
    changes: dict[str, tuple[Any, Any]] = {}
    current = {
        "email": employee.email,
        "full_name": employee.full_name,
        "title": employee.title,
        "unit": unit_path,
        "manager": manager_hr,
        "start_date": employee.start_date,
        "end_date": employee.end_date,
        "crm_user_id": employee.crm_user_id,
        "crm_username": employee.crm_username,
        "is_executive": employee.is_executive,
    }
    wanted = {
        "email": row.email,
        "full_name": row.full_name,
        "title": row.title,
        "unit": row.unit,
        "manager": row.manager_hr_id,
        "start_date": row.start_date,
        "end_date": row.end_date,
        "crm_user_id": row.crm_user_id,
        "crm_username": row.crm_username,
        "is_executive": row.is_executive,
    }
    for column in columns:
        name = FIELD_OF_COLUMN.get(column)
        if name and current[name] != wanted[name]:
            changes[name] = (current[name], wanted[name])
    active = row.active_on(effective)
    if employee.active != active:
        changes["active"] = (employee.active, active)
    return changes


def plan_roster(
    source: TextIO | Iterable[str],
    *,
    effective: dt.date,
    full: bool = True,
    max_deactivation_share: float = DEFAULT_MAX_DEACTIVATION_SHARE,
    max_email_change_share: float = DEFAULT_MAX_EMAIL_CHANGE_SHARE,
) -> RosterPlan:
    """Read and validate a roster and work out what importing it would change; writes nothing."""
    columns, ignored, rows, errors = read_roster(source)
    plan = RosterPlan(effective=effective, full=full, columns=columns, ignored_columns=ignored)
    for key, label in (("hr_id", "employee_id"), ("email", "email"),
                       ("crm_user_id", "crm_user_id"), ("crm_username", "crm_username")):
        rows, dup_errors = _reject_duplicates(rows, key, label)
        errors.extend(dup_errors)

    existing = {e.hr_id: e for e in db.session.scalars(select(Employee))}
    units = dict(db.session.execute(select(OrgUnit.id, OrgUnit.path)).all())
    hr_of_id = {e.id: e.hr_id for e in existing.values()}
    # An HR export may list leavers for years: one whose data was erased must not come back (someone
    # rehired under the same HR id is taken, as a new record).
    erased = erased_on([r.hr_id for r in rows if r.hr_id not in existing and not r.active_on(effective)])
    plan.erased = [RowError(r.line, r.hr_id, f"a leaver whose personal data was erased on {erased[r.hr_id]:%Y-%m-%d}: "
                                             "not imported again") for r in rows if r.hr_id in erased]
    rows = [r for r in rows if r.hr_id not in erased]

    valid = {row.hr_id: row for row in rows}
    while True:
        found = _cross_check(valid, existing, full, effective, hr_of_id)
        if not found:
            break
        for error in found:
            valid.pop(error.employee_id, None)
        errors.extend(found)
    errors.sort(key=lambda e: e.line)
    plan.errors = errors
    plan.rows = valid

    known_paths = set(units.values())
    new_units: set[str] = set()
    for row in valid.values():
        parts = row.unit.split("/")
        for depth in range(1, len(parts) + 1):
            path = "/".join(parts[:depth])
            if path not in known_paths:
                new_units.add(path)
    plan.new_units = sorted(new_units)

    email_changes = 0
    for row in valid.values():
        employee = existing.get(row.hr_id)
        if employee is None:
            plan.creates.append(row)
            continue
        manager_hr = hr_of_id.get(employee.manager_id) if employee.manager_id else None
        changes = _diff(row, employee, columns, units[employee.unit_id], manager_hr, effective)
        if not changes:
            plan.unchanged += 1
            continue
        change = EmployeeChange(row.hr_id, row.full_name, changes)
        if changes.get("active") == (True, False):
            plan.deactivations.append(change)
        else:
            if changes.get("active") == (False, True):
                plan.reactivations.append(row.hr_id)
            plan.updates.append(change)
        if "email" in changes and employee.active:
            email_changes += 1

    if full:
        # People on a rejected row are in the file: never deactivate them for being "missing".
        named = set(valid) | {e.employee_id for e in errors if e.employee_id}
        for employee in existing.values():
            if employee.active and employee.hr_id not in named:
                plan.deactivations.append(
                    EmployeeChange(employee.hr_id, employee.full_name,
                                   {"active": (True, False)}, note="missing from a full import")
                )

    active_count = sum(1 for e in existing.values() if e.active)
    if active_count:
        share = len(plan.deactivations) / active_count
        if share > max_deactivation_share:
            plan.safety_stops.append(
                f"{len(plan.deactivations)} of {active_count} active employees ({share:.0%}) would be "
                f"deactivated, more than the {max_deactivation_share:.0%} safety limit"
            )
        share = email_changes / active_count
        if share > max_email_change_share:
            plan.safety_stops.append(
                f"{email_changes} of {active_count} employees ({share:.0%}) would change e-mail address, "
                f"more than the {max_email_change_share:.0%} safety limit"
            )
    return plan


# ---------------------------------------------------------------- applying


def apply_roster(plan: RosterPlan, *, force: bool = False) -> RosterPlan:
    """Write ``plan``: creates, updates, unit moves (dated ``plan.effective``) and deactivations.

    Flushes, never commits. Raises ``SafetyStop`` when the plan trips a safety stop and
    ``force`` is false.
    """
    if plan.safety_stops and not force:
        raise SafetyStop(plan.safety_stops)
    effective = plan.effective
    unit_cache: dict[str, OrgUnit] = {}
    for path in plan.new_units:
        ensure_unit(path, unit_cache)

    by_hr: dict[str, Employee] = {}
    touched = {c.hr_id for c in plan.updates} | {c.hr_id for c in plan.deactivations}
    if touched or any(r.manager_hr_id for r in plan.rows.values()):
        wanted = touched | {r.manager_hr_id for r in plan.rows.values() if r.manager_hr_id}
        for employee in db.session.scalars(select(Employee).where(Employee.hr_id.in_(sorted(wanted)))):
            by_hr[employee.hr_id] = employee

    def unit_for(path: str) -> OrgUnit:
        unit = unit_cache.get(path)
        return unit if unit is not None else ensure_unit(path, unit_cache)

    # Unique values may move between people in one import (two people swap e-mails):
    # park the changed ones on placeholders first so no intermediate state collides.
    unique_fields = ("email", "crm_user_id", "crm_username")
    parked = False
    for change in plan.updates + plan.deactivations:
        employee = by_hr[change.hr_id]
        for name in unique_fields:
            if name in change.fields and getattr(employee, name) is not None:
                setattr(employee, name, f"~roster-{name}-{employee.id}" if name != "email" else f"~roster-{employee.id}@invalid")
                parked = True
    if parked:
        db.session.flush()

    for row in plan.creates:
        unit = unit_for(row.unit)
        employee = Employee(
            hr_id=row.hr_id, email=row.email, full_name=row.full_name, title=row.title, unit=unit,
            start_date=row.start_date, end_date=row.end_date, crm_user_id=row.crm_user_id,
            crm_username=row.crm_username, is_executive=row.is_executive, active=row.active_on(effective),
        )
        valid_from = row.start_date or effective
        valid_to = None
        if row.end_date is not None and not row.active_on(effective):
            valid_to = max(row.end_date, valid_from + dt.timedelta(days=1))
        db.session.add(employee)
        db.session.add(UnitMembership(employee=employee, unit=unit, valid_from=valid_from, valid_to=valid_to))
        by_hr[row.hr_id] = employee

    for change in plan.updates:
        row = plan.rows[change.hr_id]
        employee = by_hr[change.hr_id]
        _set_plain_fields(employee, change)
        unit = unit_for(row.unit)
        if change.fields.get("active") == (False, True):
            employee.active = True
            employee.unit = unit
            db.session.add(UnitMembership(employee=employee, unit=unit, valid_from=effective))
        elif "unit" in change.fields:
            if employee.active:
                db.session.flush()
                move_employee(employee, unit, effective)
            else:
                # A leaver's record is corrected; their closed history stays as it was.
                employee.unit = unit

    for change in plan.deactivations:
        employee = by_hr[change.hr_id]
        row = plan.rows.get(change.hr_id)
        if row is not None:
            _set_plain_fields(employee, change)
            if "unit" in change.fields:
                db.session.flush()
                move_employee(employee, unit_for(row.unit), effective)
        employee.active = False
        db.session.flush()
        leaving = row.end_date if row is not None and row.end_date is not None else effective
        end_membership(employee, leaving)

    # Manager links last, when every referenced employee exists.
    if "manager_employee_id" in plan.columns:
        for row in plan.creates:
            by_hr[row.hr_id].manager = by_hr[row.manager_hr_id] if row.manager_hr_id else None
        for change in plan.updates + plan.deactivations:
            if "manager" in change.fields:
                new_manager = change.fields["manager"][1]
                by_hr[change.hr_id].manager = by_hr[new_manager] if new_manager else None
    db.session.flush()
    if plan.has_changes:
        # New CRM keys may name actors whose events matched nobody, and memberships changed from
        # the effective date (or a row's own start/leaving date): attribute those events and
        # queue the weekly rollups from then on for recomputation.
        dated = [r.start_date for r in plan.creates if r.start_date]
        dated += [plan.rows[c.hr_id].end_date for c in plan.deactivations
                  if c.hr_id in plan.rows and plan.rows[c.hr_id].end_date]
        roster_changed(effective, min(dated, default=None))
        roster_imported.send(current_app._get_current_object(), plan=plan)
    plan.applied = True
    return plan


def _set_plain_fields(employee: Employee, change: EmployeeChange) -> None:
    """Copy the changed scalar fields; unit, manager and active need their own handling."""
    for name, (_, new) in change.fields.items():
        if name not in ("unit", "manager", "active"):
            setattr(employee, name, new)


def import_roster(
    source: TextIO | Iterable[str],
    *,
    effective: dt.date,
    full: bool = True,
    force: bool = False,
    dry_run: bool = False,
    max_deactivation_share: float = DEFAULT_MAX_DEACTIVATION_SHARE,
    max_email_change_share: float = DEFAULT_MAX_EMAIL_CHANGE_SHARE,
) -> RosterPlan:
    """Plan and, unless ``dry_run``, apply a roster import (flush only)."""
    plan = plan_roster(source, effective=effective, full=full,
                       max_deactivation_share=max_deactivation_share,
                       max_email_change_share=max_email_change_share)
    if not dry_run:
        apply_roster(plan, force=force)
    return plan


def import_roster_text(
    text: str,
    filename: str,
    *,
    effective: dt.date,
    now: dt.datetime,
    full: bool = True,
    force: bool = False,
    dry_run: bool = False,
    **limits: float,
) -> tuple[RosterImport | None, RosterPlan]:
    """``import_roster`` for a whole file (the CLI, the demo), kept in the import history like an
    upload applied from the admin page, so "Last roster import" and the admin's list show it.
    A dry run, or an import a safety stop refused, records nothing."""
    plan = import_roster(io.StringIO(text, newline=""), effective=effective, full=full, force=force,
                         dry_run=dry_run, **limits)
    if dry_run:
        return None, plan
    record = RosterImport(filename=filename[:255], content=plan.kept(text).encode("utf-8"), uploaded_by_id=None,
                          effective_date=effective, full=full, status="applied", summary=plan.summary(),
                          created_at=now, applied_at=now)
    db.session.add(record)
    db.session.flush()
    return record, plan


# ---------------------------------------------------------------- uploads (preview, then confirm)


def blank_rows(text: str, hr_ids: set[str], managers: dict[str, str] | None = None) -> str:
    """``text`` with the rows of these HR ids as blank lines (the other rows keep their line
    numbers, and an import skips blank lines), and each ``managers`` key in the manager column
    replaced by its value (that row is written again, in the file's line ending)."""
    managers = managers or {}
    if not hr_ids and not managers:
        return text
    lines = re.split(r"(?<=\n)", text)
    reader = csv.reader(lines)
    header = [h.strip().lstrip("\ufeff").lower() for h in next(reader, [])]
    if "employee_id" not in header:
        return text
    column, first = header.index("employee_id"), reader.line_num
    boss = header.index("manager_employee_id") if "manager_employee_id" in header else None
    try:
        for values in reader:
            if column < len(values) and values[column].strip() in hr_ids:
                lines[first:reader.line_num] = ["\n"] * (reader.line_num - first)
            elif boss is not None and boss < len(values) and values[boss].strip() in managers:
                values[boss] = managers[values[boss].strip()]
                ending = "\r\n" if lines[reader.line_num - 1].endswith("\r\n") else "\n"
                row = io.StringIO()
                csv.writer(row, lineterminator=ending).writerow(values)
                lines[first:reader.line_num] = [row.getvalue()] + [""] * (reader.line_num - first - 1)
            first = reader.line_num
    except csv.Error:
        pass  # an unreadable row stays as the import reported it
    return "".join(lines)


def erase_from_history(hr_id: str, pseudonymous_id: str, names: dict[str, str]) -> int:
    """Erase a person from every stored roster file and report (adoption/erasure.py): their rows
    become blank lines, another row naming them as manager names ``pseudonymous_id``, and their
    ``names`` (name, e-mail: each with its replacement) are rewritten wherever else they appear;
    in the reports, a field holding exactly their HR id is replaced too. Returns the files changed.

    The HR id is replaced only where it is a field, never inside text: HR ids are often numbers,
    and "3" is also a count. One file at a time (a daily import keeps hundreds), and only those
    that mention them are parsed."""
    needles = [n.lower().encode() for n in [hr_id, *names] if n]
    scrub = scrubber(names)
    changed = 0
    for import_id in db.session.scalars(select(RosterImport.id).order_by(RosterImport.id)).all():
        held = db.session.identity_key(RosterImport, import_id) in db.session.identity_map
        upload = db.session.get(RosterImport, import_id)
        lowered = upload.content.lower() + json.dumps(upload.summary).lower().encode()
        if any(needle in lowered for needle in needles):
            try:
                text = decode_upload(upload.content)
            except RosterFileError:
                text = ""  # never importable, so never read again: not worth keeping with them in it
            bom = codecs.BOM_UTF8 if upload.content.startswith(codecs.BOM_UTF8) else b""
            content = bom + scrub(blank_rows(text, {hr_id}, {hr_id: pseudonymous_id})).encode()
            summary = _scrub_strings(upload.summary, lambda value: pseudonymous_id if value == hr_id else scrub(value))
            if content != upload.content or summary != upload.summary:
                upload.content, upload.summary = content, summary
                changed += 1
                db.session.flush()
        if not held:
            db.session.expunge(upload)  # let it go: the next file may be as large
    return changed


def _scrub_strings(value: Any, scrub: Callable[[str], str]) -> Any:
    """``value`` (JSON) with ``scrub`` applied to its strings only (never to a number)."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, list):
        return [_scrub_strings(v, scrub) for v in value]
    if isinstance(value, dict):
        return {k: _scrub_strings(v, scrub) for k, v in value.items()}
    return value


def decode_upload(content: bytes) -> str:
    """The upload as text: UTF-8 (with or without BOM), else a ``RosterFileError``."""
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RosterFileError(f"the file is not UTF-8 text (byte {exc.start}); export it as CSV UTF-8") from None


def stage_upload(filename: str, content: bytes, *, uploaded_by_id: int | None, effective: dt.date,
                 full: bool, **limits: float) -> tuple[RosterImport, RosterPlan]:
    """Keep an uploaded roster and plan it for preview; nothing else is written."""
    text = decode_upload(content)
    plan = plan_roster(io.StringIO(text, newline=""), effective=effective, full=full, **limits)
    if plan.erased:
        content = plan.kept(text).encode()
    upload = RosterImport(filename=filename[:255], content=content, uploaded_by_id=uploaded_by_id,
                          effective_date=effective, full=full, status="previewed", summary=plan.summary())
    db.session.add(upload)
    db.session.flush()
    return upload, plan


def preview_upload(upload: RosterImport, **limits: float) -> RosterPlan:
    """Plan a kept upload again against the current database (for the preview page)."""
    plan = plan_roster(io.StringIO(decode_upload(upload.content), newline=""),
                       effective=upload.effective_date, full=upload.full, **limits)
    # The rows of erased leavers were blanked when the upload was kept: its report still lists them.
    found = {e.line for e in plan.erased}
    plan.erased = sorted(plan.erased + [RowError(e["line"], None, e["reason"]) for e in upload.summary.get("erased", [])
                                        if e["line"] not in found], key=lambda e: e.line)
    return plan


class UploadStateError(RuntimeError):
    """The upload was already applied or discarded."""


def apply_upload(upload: RosterImport, *, force: bool, now: dt.datetime, **limits: float) -> RosterPlan:
    """Apply a previewed upload, planned afresh so it matches the database as it is now."""
    if upload.status != "previewed":
        raise UploadStateError(f"this import is already {upload.status}")
    plan = preview_upload(upload, **limits)
    apply_roster(plan, force=force)
    if any(e.employee_id for e in plan.erased):  # a row of someone erased since the preview
        upload.content = plan.kept(decode_upload(upload.content)).encode()
    upload.status = "applied"
    upload.applied_at = now
    upload.summary = plan.summary()
    db.session.flush()
    return plan
