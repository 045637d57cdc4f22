"""Chinese working days: public holidays and adjusted working weekends (调休).

Where ``content/holidays.yaml`` lists a year, that official arrangement is used; otherwise
the chinesecalendar library's data; for a year neither covers, Monday-Friday, and the result
says it is approximate so the bot can tell the user.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

import chinese_calendar

from bot.dates.parse import MAX_YEARS_AHEAD
from bot.dates.refusals import reject

MAX_WORKDAYS = 250  # bound the walk; review windows are a few weeks at most
LAST_YEAR = 2100  # later start dates are refused: nothing is known of them, and date.max is near


@dataclass(frozen=True)
class YearArrangement:
    """One year's official arrangement: days off that are weekdays, and working weekends."""

    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()


@dataclass(frozen=True)
class Deadline:
    """The outcome of counting working days."""

    day: date
    exact: bool  # False when some year was computed with weekdays only
    years_without_data: tuple[int, ...] = ()


@dataclass(frozen=True)
class WorkCalendar:
    """Decides whether a date is a working day; counts working days forward."""

    overrides: Mapping[int, YearArrangement] = field(default_factory=dict)

    def is_workday(self, day: date) -> tuple[bool, bool]:
        """``(is working day, known exactly)`` for ``day``."""
        year = self.overrides.get(day.year)
        if year is not None:
            if day in year.workdays:
                return True, True
            if day in year.holidays:
                return False, True
            return day.weekday() < 5, True
        try:
            return chinese_calendar.is_workday(day), True
        except NotImplementedError:
            return day.weekday() < 5, False

    def add_workdays(self, start: date, count: int) -> Deadline:
        """The ``count``-th working day after ``start`` (``start`` itself is not counted).

        Raises :class:`~bot.dates.refusals.Reject` (``too_far``) for a ``start`` after
        :data:`LAST_YEAR`: counting from 9999-12-31 would run past ``date.max``.
        """
        if not 1 <= count <= MAX_WORKDAYS:
            raise ValueError(f"count must be 1..{MAX_WORKDAYS}, got {count}")
        if start.year > LAST_YEAR:
            raise reject("too_far", at=start.isoformat(), years=MAX_YEARS_AHEAD)
        day, left, unknown = start, count, set()
        while left:
            day += timedelta(days=1)
            working, exact = self.is_workday(day)
            if not exact:
                unknown.add(day.year)
            if working:
                left -= 1
        return Deadline(day, not unknown, tuple(sorted(unknown)))


def arrangement(holidays: Iterable[date], workdays: Iterable[date]) -> YearArrangement:
    """Build one year's arrangement from listed dates."""
    return YearArrangement(frozenset(holidays), frozenset(workdays))
