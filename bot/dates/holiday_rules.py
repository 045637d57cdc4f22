"""Holiday rules: 元旦, 五一, 国庆, 圣诞, 春节, 除夕, 元宵, 端午, 中秋, 清明 ... = the next one.

Fixed-date holidays are a table; lunar ones come from the lunardate library (正月初一 ->
the solar date), 清明 and 冬至 from chinesecalendar's solar terms. The next occurrence is
this year's unless it is already over (today counts), then next year's. Lunar dates can also
be written out: 正月十五, 腊月二十三, 农历八月十五.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from functools import lru_cache

import chinese_calendar
from lunardate import LunarDate

from bot.dates.numbers import cn_number
from bot.dates.refusals import reject
from bot.dates.rules import DateMatch, Rules

HOLIDAY_RULES = Rules()

_FIXED = {
    "元旦节": (1, 1),
    "元旦": (1, 1),
    "情人节": (2, 14),
    "妇女节": (3, 8),
    "植树节": (3, 12),
    "愚人节": (4, 1),
    "五一劳动节": (5, 1),
    "劳动节": (5, 1),
    "五一节": (5, 1),
    "五一": (5, 1),
    "青年节": (5, 4),
    "儿童节": (6, 1),
    "建军节": (8, 1),
    "教师节": (9, 10),
    "十一国庆节": (10, 1),
    "国庆节": (10, 1),
    "国庆": (10, 1),
    "十一国庆": (10, 1),
    "双十一": (11, 11),
    "双11": (11, 11),
    "双十二": (12, 12),
    "双12": (12, 12),
    "平安夜": (12, 24),
    "圣诞节": (12, 25),
    "圣诞": (12, 25),
}
_LUNAR = {
    "春节": (1, 1),
    "大年初一": (1, 1),
    "元宵节": (1, 15),
    "元宵": (1, 15),
    "端午节": (5, 5),
    "端午": (5, 5),
    "七夕节": (7, 7),
    "七夕": (7, 7),
    "中秋节": (8, 15),
    "中秋": (8, 15),
    "重阳节": (9, 9),
    "重阳": (9, 9),
    "腊八节": (12, 8),
    "腊八": (12, 8),
}
_EVE = ("除夕夜", "除夕", "大年三十", "年三十")
_TERMS = {"清明节": "清明", "清明": "清明", "冬至": "冬至"}
_NAMES = [*_FIXED, *_LUNAR, *_EVE, *_TERMS]


@lru_cache(maxsize=512)
def _lunar(year: int, month: int, day: int) -> date | None:
    try:
        return LunarDate(year, month, day).to_solar_date()
    except ValueError:  # outside the library's years, or a 30th the month lacks
        return None


@lru_cache(maxsize=256)
def _term(year: int, name: str) -> date | None:
    try:
        terms = chinese_calendar.get_solar_terms(date(year, 1, 1), date(year, 12, 31))
    except (ValueError, KeyError, NotImplementedError):
        return None
    return next((day for day, term in terms if term == name), None)


def _occurrence(name: str, year: int) -> date | None:
    if name in _FIXED:
        return date(year, *_FIXED[name])
    if name in _LUNAR:
        return _lunar(year, *_LUNAR[name])
    if name in _EVE:
        new_year = _lunar(year + 1, 1, 1)
        return new_year - timedelta(days=1) if new_year else None
    return _term(year, _TERMS[name])


def next_occurrence(name: str, today: date) -> date:
    """The holiday ``name`` on or after ``today`` (lunar years start at 正月, so look at the
    year before too: 除夕 of lunar year 2026 falls in February 2027)."""
    for year in (today.year - 1, today.year, today.year + 1):
        day = _occurrence(name, year)
        if day is not None and day >= today:
            return day
    raise reject("unrecognised")


@HOLIDAY_RULES.add(
    r"(?:(?P<yw>今年|明年)的?)?(?P<name>" + "|".join(sorted(_NAMES, key=len, reverse=True)) + ")"
)
def _holiday(m: re.Match[str], today: date) -> DateMatch:
    day = next_occurrence(m["name"], today)
    if m["yw"]:  # 明年春节: the one in that calendar year
        year = today.year + (m["yw"] == "明年")
        day = _occurrence(m["name"], year) or day
    return DateMatch(day, m.end())


_LUNAR_MONTHS = {"正": 1, "冬": 11, "腊": 12}
_LUNAR_DAY = (
    r"(?:初[一二三四五六七八九十]|十[一二三四五六七八九]|二十[一二三四五六七八九]?"
    r"|廿[一二三四五六七八九]|三十|[一二三四五六七八九十]{1,3}|[0-9]{1,2})"
)


@HOLIDAY_RULES.add(
    rf"(?:农历|阴历)\s*(?P<m>[正冬腊]|[一二三四五六七八九十]{{1,2}}|[0-9]{{1,2}})月\s*(?P<d>{_LUNAR_DAY})"
    rf"|(?P<m2>[正冬腊])月\s*(?P<d2>{_LUNAR_DAY})"
    r"|大年(?P<d3>初[一二三四五六七八九十])"  # 大年初三 = 正月初三
)
def _lunar_date(m: re.Match[str], today: date) -> DateMatch:
    month_word = m["m"] or m["m2"] or "正"
    day_word = (m["d"] or m["d2"] or m["d3"]).removeprefix("初").replace("廿", "二十")
    month = _LUNAR_MONTHS.get(month_word) or cn_number(month_word)
    day_of_month = cn_number(day_word)
    if not month or not day_of_month or month > 12 or day_of_month > 30:
        raise reject("unrecognised")
    for year in (today.year - 1, today.year, today.year + 1):
        day = _lunar(year, month, day_of_month)
        if day is not None and day >= today:
            return DateMatch(day, m.end())
    raise reject("unrecognised")
