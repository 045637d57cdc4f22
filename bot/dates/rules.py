"""What the date rules share: the match they return, calendar checks, and a rule registry.

A rule is a compiled pattern plus a handler; :class:`Rules` keeps them in the order they are
tried. The rule modules (absolute dates, relative dates, holidays) each fill one list, and
:mod:`bot.dates.date_rules` tries the lists in a fixed order.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from bot.dates.refusals import NotUnderstood, reject

RECENT_PAST_DAYS = 31
"""A month/day without a year this many days ago or fewer is probably a typo: ask."""


@dataclass(frozen=True)
class DateMatch:
    """A date found at the start of the input."""

    day: date
    end: int
    past_hint: NotUnderstood | None = None
    """Answer when ``day`` lies before today (a year or month the user left out)."""
    rolled: date | None = None
    """The date meant when ``day`` lies before today (next year's 1月3号, next month's 5号)."""
    period: str | None = None
    """Part of day implied by the date word (今晚 -> 晚上)."""
    weekday_word: str | None = None
    """A bare weekday (周二): when it is today and already over, say so."""


def make_date(year: int, month: int, day: int, *, numeric: bool = False) -> date:
    """The calendar date, or a rejection naming what does not exist (2月没有30日)."""
    if not 1 <= month <= 12:
        hint = "month_day_order" if numeric else "check_date"
        raise reject("no_such_month", {"hint": hint}, month=month)
    if not 1 <= year <= 9999:
        raise reject("unrecognised")
    last = calendar.monthrange(year, month)[1]
    if not 1 <= day <= last:
        if month == 2 and day == 29:
            raise reject("no_such_day_in_year", year=year, month=month, day=day)
        raise reject("no_such_day", month=month, day=day)
    return date(year, month, day)


def add_months(day: date, months: int, *, clamp: bool = True) -> date:
    """The same day of the month ``months`` later (the month's last day if it is shorter)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    if day.day > last and not clamp:
        raise reject("no_such_day", month=month + 1, day=day.day)
    return date(year, month + 1, min(day.day, last))


def month_end(day: date) -> date:
    """The last day of ``day``'s month."""
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


DateHandler = Callable[[re.Match[str], date], DateMatch]


class Rules:
    """An ordered list of date rules; ``@rules.add(pattern)`` registers a handler."""

    def __init__(self) -> None:
        self.items: list[tuple[re.Pattern[str], DateHandler]] = []

    def add(self, pattern: str) -> Callable[[DateHandler], DateHandler]:
        """Register ``handler`` for ``pattern`` (matched at the start of the input)."""

        def register(handler: DateHandler) -> DateHandler:
            self.items.append((re.compile(pattern), handler))
            return handler

        return register

    def match(self, text: str, today: date) -> DateMatch | None:
        """The first rule's date at the start of ``text``, or None."""
        for pattern, handler in self.items:
            found = pattern.match(text)
            if found:
                return handler(found, today)
        return None
