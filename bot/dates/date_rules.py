"""Date rules: the calendar-date expression at the start of the (normalised) input.

Rules are tried in order, the first that matches wins: written dates (this module: 2026-12-10,
20261210, 26年12月10日, 12月10日, 12.10, 12/10), then relative ones
(:mod:`bot.dates.relative_rules`), holidays (:mod:`bot.dates.holiday_rules`), and last a bare
day of the month (10号). A date written without its year (or month) that already passed is
taken as next year's (month) unless it passed within :data:`RECENT_PAST_DAYS`: then it is
probably a typo and the user is asked.
"""

from __future__ import annotations

import re
from datetime import date

from bot.dates.holiday_rules import HOLIDAY_RULES
from bot.dates.numbers import MONTH, NUM, YEAR, number, year_number
from bot.dates.refusals import Reject, refusal, reject
from bot.dates.relative_rules import RELATIVE_RULES, VAGUE_RULES
from bot.dates.rules import RECENT_PAST_DAYS, DateMatch, Rules, add_months, make_date

_WRITTEN = Rules()
_LAST = Rules()


@_WRITTEN.add(r"(?P<y>[0-9]{4})(?P<sep>[-/.])(?P<m>[0-9]{1,2})(?P=sep)(?P<d>[0-9]{1,2})(?![0-9])")
@_WRITTEN.add(r"(?P<y>20[0-9]{2})(?P<m>[01][0-9])(?P<d>[0-3][0-9])(?![0-9])")
def _numeric_year_month_day(m: re.Match[str], today: date) -> DateMatch:
    return DateMatch(make_date(int(m["y"]), int(m["m"]), int(m["d"]), numeric=True), m.end())


_YEAR_WORDS = {"前年": -2, "去年": -1, "今年": 0, "明年": 1, "后年": 2}


@_WRITTEN.add(
    rf"(?:(?P<y>{YEAR})\s*年|(?P<yw>前年|去年|今年|明年|后年))的?\s*(?P<m>{NUM})\s*{MONTH}\s*"
    rf"(?P<d>{NUM})(?![0-9])(?:\s*[日号曰])?"
)
def _year_month_day(m: re.Match[str], today: date) -> DateMatch:
    year = year_number(m["y"]) if m["y"] else today.year + _YEAR_WORDS[m["yw"]]
    return DateMatch(make_date(year, number(m["m"]), number(m["d"])), m.end())


def _last_year(month: int, day_of_month: int, today: date) -> date | None:
    try:
        return date(today.year - 1, month, day_of_month)
    except ValueError:
        return None


def month_day(month: int, day_of_month: int, end: int, today: date, numeric: bool) -> DateMatch:
    """A month and day without a year: this year's, or next year's once it is well past."""
    try:
        day = make_date(today.year, month, day_of_month, numeric=numeric)
    except Reject:
        if (month, day_of_month) != (2, 29) or today.month < 3:
            raise
        # this year's February is over: the next 29 February, or a refusal naming next year
        return DateMatch(make_date(today.year + 1, month, day_of_month), end)
    if day >= today:
        recent = _last_year(month, day_of_month, today)
        if recent is not None and (today - recent).days <= RECENT_PAST_DAYS:
            # 12月20日 said on 15 January: last month's, a typo, or next December? Ask
            hint = refusal(
                "month_day_last_year",
                month=month,
                day=day_of_month,
                at=recent.isoformat(),
                example=day.isoformat(),
            )
            return DateMatch(recent, end, past_hint=hint)
        return DateMatch(day, end)
    if (today - day).days > RECENT_PAST_DAYS:
        later = make_date(today.year + 1, month, day_of_month)
        return DateMatch(day, end, rolled=later)
    hint = refusal(
        "month_day_past",
        month=month,
        day=day_of_month,
        example=f"{today.year + 1}-{month:02d}-{day_of_month:02d}",
    )
    return DateMatch(day, end, past_hint=hint)


_FESTIVAL_NUMERALS = frozenset(
    {"二月二", "三月三", "五月五", "六月六", "七月七", "七月十五", "八月十五", "九月九"}
)
"""Chinese-numeral month/days without 日/号 that are also lunar festivals' names."""


# 好 for 号 (same sound, pinyin input) only after a month: a bare 10好 is no date.
@_WRITTEN.add(rf"(?P<m>{NUM})\s*{MONTH}\s*(?P<d>{NUM})(?![0-9])(?:\s*[日号曰好])?")
def _month_day_cn(m: re.Match[str], today: date) -> DateMatch:
    if m[0] in _FESTIVAL_NUMERALS:  # 二月二 (龙抬头), 八月十五: lunar or the calendar's? Ask
        raise reject("vague", what=m[0])
    return month_day(number(m["m"]), number(m["d"]), m.end(), today, numeric=False)


@_WRITTEN.add(
    r"(?P<m>[0-9]{1,2})(?P<sep>[/.-])(?P<d>[0-9]{1,2})(?![0-9]|[/.-][0-9])"
    r"(?!\s*(?:个|小时|钟头|分|秒|天|周|星期|年|月|元|块|万|%|倍|折))(?:\s*[日号曰])?"
)
def _month_day_numeric(m: re.Match[str], today: date) -> DateMatch:
    return month_day(int(m["m"]), int(m["d"]), m.end(), today, numeric=True)


@_LAST.add(rf"(?P<d>{NUM})\s*[日号曰](?![0-9])")
def _day_of_this_month(m: re.Match[str], today: date) -> DateMatch:
    day = make_date(today.year, today.month, number(m["d"]))
    if day >= today:
        return DateMatch(day, m.end())
    return DateMatch(day, m.end(), rolled=add_months(day, 1, clamp=False))


_ORDER = (_WRITTEN, RELATIVE_RULES, HOLIDAY_RULES, _LAST, VAGUE_RULES)


def match_date(text: str, today: date) -> DateMatch | None:
    """The date at the start of ``text``, or None; rejects dates that do not exist."""
    for rules in _ORDER:
        found = rules.match(text, today)
        if found is not None:
            return found
    return None
