"""Date rules: the calendar-date expression at the start of the (normalised) input.

Each rule is a pattern plus a handler, tried in order; the first that matches wins.
A handler returns the date and, for a date given without its year or month, the refusal to
answer when that date already lies in the past.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from bot.dates.numbers import COUNT, NUM, number
from bot.dates.refusals import NotUnderstood, refusal, reject


@dataclass(frozen=True)
class DateMatch:
    """A date found at the start of the input."""

    day: date
    end: int
    past_hint: NotUnderstood | None = None
    """Answer when ``day`` lies before today (a year or month the user left out)."""
    roll_if_today: bool = False
    """Bare weekday that fell on today: today only counts with a time later than now."""
    period: str | None = None
    """Part of day implied by the date word (今晚 -> 晚上)."""


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


_DateHandler = Callable[[re.Match[str], date], DateMatch]
_DATE_RULES: list[tuple[re.Pattern[str], _DateHandler]] = []


def _date_rule(pattern: str) -> Callable[[_DateHandler], _DateHandler]:
    def register(handler: _DateHandler) -> _DateHandler:
        _DATE_RULES.append((re.compile(pattern), handler))
        return handler

    return register


@_date_rule(r"(?P<y>[0-9]{4})(?P<sep>[-/.])(?P<m>[0-9]{1,2})(?P=sep)(?P<d>[0-9]{1,2})(?![0-9])")
def _iso(m: re.Match[str], today: date) -> DateMatch:
    day = make_date(int(m["y"]), int(m["m"]), int(m["d"]), numeric=True)
    return DateMatch(day, m.end())


_YEAR_WORDS = {"今年": 0, "明年": 1, "后年": 2}


@_date_rule(
    rf"(?:(?P<y>[0-9]{{4}})\s*年|(?P<yw>今年|明年|后年))\s*(?P<m>{NUM})\s*月\s*"
    rf"(?P<d>{NUM})(?![0-9])(?:\s*[日号])?"
)
def _year_month_day(m: re.Match[str], today: date) -> DateMatch:
    year = int(m["y"]) if m["y"] else today.year + _YEAR_WORDS[m["yw"]]
    day = make_date(year, number(m["m"]), number(m["d"]))
    return DateMatch(day, m.end())


def _month_day(month: int, day_of_month: int, end: int, today: date, numeric: bool) -> DateMatch:
    day = make_date(today.year, month, day_of_month, numeric=numeric)
    hint = refusal(
        "month_day_past",
        month=month,
        day=day_of_month,
        example=f"{today.year + 1}-{month:02d}-{day_of_month:02d}",
    )
    return DateMatch(day, end, past_hint=hint)


@_date_rule(rf"(?P<m>{NUM})\s*月\s*(?P<d>{NUM})(?![0-9])(?:\s*[日号])?")
def _month_day_cn(m: re.Match[str], today: date) -> DateMatch:
    return _month_day(number(m["m"]), number(m["d"]), m.end(), today, numeric=False)


@_date_rule(r"(?P<m>[0-9]{1,2})(?P<sep>[/-])(?P<d>[0-9]{1,2})(?![0-9]|[/-][0-9])")
def _month_day_numeric(m: re.Match[str], today: date) -> DateMatch:
    return _month_day(int(m["m"]), int(m["d"]), m.end(), today, numeric=True)


@_date_rule(rf"(?P<mw>本月|这个月|这月|下个月|下月)\s*(?P<d>{NUM})[日号]")
def _day_of_named_month(m: re.Match[str], today: date) -> DateMatch:
    year, month = today.year, today.month
    if m["mw"].startswith("下"):
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return DateMatch(make_date(year, month, number(m["d"])), m.end())
    day = make_date(year, month, number(m["d"]))
    hint = refusal("this_month_day_past", day=day.day)
    return DateMatch(day, m.end(), past_hint=hint)


@_date_rule(rf"(?P<n>{COUNT})(?:天|日)(?:以后|之后|后)")
def _days_later(m: re.Match[str], today: date) -> DateMatch:
    return DateMatch(today + timedelta(days=number(m["n"])), m.end())


@_date_rule(rf"(?P<n>{COUNT})个?(?:周|星期|礼拜)(?:以后|之后|后)")
def _weeks_later(m: re.Match[str], today: date) -> DateMatch:
    return DateMatch(today + timedelta(weeks=number(m["n"])), m.end())


_DAY_WORDS: dict[str, tuple[int, str | None]] = {
    "大后天": (3, None),
    "后天": (2, None),
    "今天": (0, None),
    "今日": (0, None),
    "明天": (1, None),
    "明日": (1, None),
    "今早": (0, "早上"),
    "明早": (1, "早上"),
    "今晚": (0, "晚上"),
    "明晚": (1, "晚上"),
}


@_date_rule("|".join(_DAY_WORDS))
def _day_word(m: re.Match[str], today: date) -> DateMatch:
    offset, period = _DAY_WORDS[m[0]]
    return DateMatch(today + timedelta(days=offset), m.end(), period=period)


_WEEKDAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6}
_WEEKDAYS.update({str(n): n - 1 for n in range(1, 8)})
_WEEKDAY_NAMES = "一二三四五六日"


@_date_rule(r"(?P<pre>下个?|本|这个?)?(?P<word>周|星期|礼拜)(?P<wd>[一二三四五六日天1-7])")
def _weekday(m: re.Match[str], today: date) -> DateMatch:
    weekday = _WEEKDAYS[m["wd"]]
    monday = today - timedelta(days=today.weekday())
    prefix = m["pre"] or ""
    if prefix.startswith("下"):
        return DateMatch(monday + timedelta(days=7 + weekday), m.end())
    if prefix:
        day = monday + timedelta(days=weekday)
        name = f"{m['word']}{_WEEKDAY_NAMES[weekday]}"
        hint = refusal("this_week_day_past", weekday=name, month=day.month, day=day.day)
        return DateMatch(day, m.end(), past_hint=hint)
    ahead = (weekday - today.weekday()) % 7
    return DateMatch(today + timedelta(days=ahead), m.end(), roll_if_today=ahead == 0)


@_date_rule(rf"(?P<d>{NUM})[日号](?![0-9])")
def _day_of_this_month(m: re.Match[str], today: date) -> DateMatch:
    day = make_date(today.year, today.month, number(m["d"]))
    following = 1 if today.month == 12 else today.month + 1
    hint = refusal("day_of_month_past", day=day.day, next_month=following)
    return DateMatch(day, m.end(), past_hint=hint)


def match_date(text: str, today: date) -> DateMatch | None:
    """The date at the start of ``text``, or None; rejects dates that do not exist."""
    for pattern, handler in _DATE_RULES:
        found = pattern.match(text)
        if found:
            return handler(found, today)
    return None
