"""The demo's calendar: every date of the demo follows the day it is loaded.

The demo's stories are written for one load day, Monday 23 November 2026
(``REFERENCE_LOAD_DAY``): CRM usage up to Sunday 22 November, the pulse's latest round open,
the last training wave under way, the current quarter well begun. Every date constant of the
demo modules (``adoption.demo_telemetry.TELEMETRY_END``, ``surveys.demo.FIRST_OPENS_ON``, the
training waves, ...) is a *reference* date: the date as loaded on that day.

Loaded on another day, the demo is the same data moved by a whole number of weeks, ``shift`` =
(the last Sunday before the load day) − 22 November 2026, so that usage ends the Sunday before
the load day and everything else keeps its place around it. Whole weeks keep every weekday what
it was (weekends stay quiet, the organization's weeks and the reminders' weekend rules do not
move), the data is the same on every day of one week (deterministic), and on 23 November 2026 it
is exactly the reference. What whole weeks cannot move, the loaders take from the real calendar
of the shifted dates: holidays in the usage (``adoption.demo_telemetry.day_factor``), months of
the pulse and of customer outcomes, and the sponsors' calendar quarters
(``dashboards.demo_sponsors``).

A ``DemoCalendar`` is passed explicitly to every demo loader (``loader(size, seed, calendar)``);
no module keeps the load day in a global.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from adoption.timekeeping import org_today

#: The load day the demo's reference dates are written for (its figures in docs and tests are
#: "as loaded on 2026-11-23").
REFERENCE_LOAD_DAY = dt.date(2026, 11, 23)
#: The last day of CRM usage when loaded on the reference day: the Sunday before it.
REFERENCE_USAGE_END = dt.date(2026, 11, 22)
_SUNDAY = 6


def last_sunday_before(day: dt.date) -> dt.date:
    """The Sunday before ``day`` (a week earlier when ``day`` is itself a Sunday)."""
    return day - dt.timedelta(days=(day.weekday() - _SUNDAY) % 7 or 7)


@dataclass(frozen=True)
class DemoCalendar:
    """The dates of one demo load: the load day, and the whole weeks every reference date moves."""

    loaded_on: dt.date  # the organization's date the demo is built for

    @property
    def usage_end(self) -> dt.date:
        """The last day of CRM usage: the Sunday before the load day (its last whole week)."""
        return last_sunday_before(self.loaded_on)

    @property
    def today(self) -> dt.date:
        """The demo's own "today", the day after its usage ends (a Monday): surveys, training,
        conversations and sponsor records reach up to the day before it, as real data would on
        the morning of that day."""
        return self.usage_end + dt.timedelta(days=1)

    @property
    def shift(self) -> dt.timedelta:
        """How far every reference date moves: a whole number of weeks (0 on the reference day)."""
        return self.usage_end - REFERENCE_USAGE_END

    def day(self, reference: dt.date) -> dt.date:
        """The date that reference date ``reference`` becomes in this load."""
        return reference + self.shift

    def moment(self, reference: dt.datetime) -> dt.datetime:
        """The instant that reference instant ``reference`` becomes in this load."""
        return reference + self.shift


#: The calendar of a load on the reference day: every date as written in the demo modules.
REFERENCE = DemoCalendar(REFERENCE_LOAD_DAY)


def calendar_for(loaded_on: dt.date | None, timezone: str) -> DemoCalendar:
    """The calendar of a demo built for ``loaded_on``, or for today in ``timezone`` (the
    organization's time zone) when it is None."""
    return DemoCalendar(loaded_on if loaded_on is not None else org_today(timezone))
