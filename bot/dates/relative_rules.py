"""Relative date rules: 明天, 大后天, 3天后, 2周后, 3个月后, 半个月后, 1年后, 下下个月10号,
月底, 周五, 下周三, 下下周一; and the vague words that need a question (下周, 过几天, 12月).

Weeks run Monday to Sunday: 下周三 is the Wednesday of the next such week, a bare 周三 the
coming Wednesday (today counts as itself).
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from bot.dates.numbers import COUNT, MONTH, NUM, number
from bot.dates.refusals import refusal, reject
from bot.dates.rules import DateMatch, Rules, add_months, make_date, month_end

RELATIVE_RULES = Rules()
VAGUE_RULES = Rules()

_LATER = r"(?:以后|之后|后)"

_DAY_WORDS: dict[str, tuple[int, str | None]] = {
    "大大后天": (4, None),
    "大后天": (3, None),
    "后天": (2, None),
    "今天": (0, None),
    "今日": (0, None),
    "今儿个": (0, None),
    "今儿": (0, None),
    "明天": (1, None),
    "明日": (1, None),
    "明儿个": (1, None),
    "明儿": (1, None),
    "今早": (0, "早上"),
    "明早": (1, "早上"),
    "明填": (1, None),  # typos of 天 (same sound)
    "明添": (1, None),
    "今填": (0, None),
    "今晚": (0, "晚上"),
    "今夜": (0, "晚上"),
    "明晚": (1, "晚上"),
}


@RELATIVE_RULES.add("|".join(sorted(_DAY_WORDS, key=len, reverse=True)))
def _day_word(m: re.Match[str], today: date) -> DateMatch:
    offset, period = _DAY_WORDS[m[0]]
    return DateMatch(today + timedelta(days=offset), m.end(), period=period)


@RELATIVE_RULES.add(rf"(?P<n>{COUNT})\s*(?:天|日){_LATER}")
def _days_later(m: re.Match[str], today: date) -> DateMatch:
    return DateMatch(today + timedelta(days=number(m["n"])), m.end())


@RELATIVE_RULES.add(rf"(?P<n>{COUNT})\s*个?(?:周|星期|礼拜){_LATER}")
def _weeks_later(m: re.Match[str], today: date) -> DateMatch:
    return DateMatch(today + timedelta(weeks=number(m["n"])), m.end())


@RELATIVE_RULES.add(rf"(?:(?P<half>半)|(?P<n>{COUNT})\s*)个月{_LATER}")
def _months_later(m: re.Match[str], today: date) -> DateMatch:
    if m["half"]:
        return DateMatch(today + timedelta(days=15), m.end())
    # 1月31日 + 1个月: 2月 has no 31st; which day is meant is not sure, so ask
    return DateMatch(add_months(today, number(m["n"]), clamp=False), m.end())


@RELATIVE_RULES.add(rf"(?:(?P<half>半)|(?P<n>{COUNT})\s*)年{_LATER}")
def _years_later(m: re.Match[str], today: date) -> DateMatch:
    months = 6 if m["half"] else 12 * number(m["n"])
    return DateMatch(add_months(today, months, clamp=False), m.end())


_NAMED_MONTHS = {
    "本月": 0,
    "这个月": 0,
    "这月": 0,
    "下个月": 1,
    "下月": 1,
    "下下个月": 2,
    "下下月": 2,
}
_NAMED = "|".join(sorted(_NAMED_MONTHS, key=len, reverse=True))


@RELATIVE_RULES.add(rf"(?P<mw>{_NAMED})\s*的?\s*(?P<d>{NUM})\s*[日号]")
def _day_of_named_month(m: re.Match[str], today: date) -> DateMatch:
    ahead = _NAMED_MONTHS[m["mw"]]
    first = add_months(today.replace(day=1), ahead)
    day = make_date(first.year, first.month, number(m["d"]))
    if ahead:
        return DateMatch(day, m.end())
    hint = refusal("this_month_day_past", day=day.day)
    return DateMatch(day, m.end(), past_hint=hint)


@RELATIVE_RULES.add(rf"(?:(?P<mw>{_NAMED})\s*的?\s*(?:月?底|月末)|月底|月末)")
def _end_of_named_month(m: re.Match[str], today: date) -> DateMatch:
    ahead = _NAMED_MONTHS[m["mw"]] if m["mw"] else 0
    return DateMatch(month_end(add_months(today.replace(day=1), ahead)), m.end())


@RELATIVE_RULES.add(rf"(?P<m>{NUM})\s*{MONTH}\s*(?:底|末)")
def _end_of_month(m: re.Match[str], today: date) -> DateMatch:
    day = month_end(make_date(today.year, number(m["m"]), 1))
    if day >= today:
        return DateMatch(day, m.end())
    return DateMatch(day, m.end(), rolled=month_end(day.replace(year=day.year + 1)))


_WEEKDAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "无": 4, "六": 5, "日": 6, "天": 6}
_WEEKDAYS.update({str(n): n - 1 for n in range(1, 8)})
_WEEKDAY_NAMES = "一二三四五六日"


def weekday_number(word: str) -> int:
    """0 (Monday) .. 6 (Sunday) for the day character of a :data:`WEEKDAY` match."""
    return _WEEKDAYS[word]


@RELATIVE_RULES.add(
    r"(?P<pre>下下个?|下个?|本|这个?|这一)?\s*(?P<word>周|星期|礼拜)(?P<wd>[一二三四五无六日天1-7])"
)
def _weekday(m: re.Match[str], today: date) -> DateMatch:
    weekday = _WEEKDAYS[m["wd"]]
    monday = today - timedelta(days=today.weekday())
    prefix = m["pre"] or ""
    if prefix.startswith("下下"):
        return DateMatch(monday + timedelta(days=14 + weekday), m.end())
    if prefix.startswith("下"):
        return DateMatch(monday + timedelta(days=7 + weekday), m.end())
    name = f"{m['word']}{_WEEKDAY_NAMES[weekday]}"
    if prefix:
        day = monday + timedelta(days=weekday)
        hint = refusal("this_week_day_past", weekday=name, month=day.month, day=day.day)
        return DateMatch(day, m.end(), past_hint=hint)
    ahead = (weekday - today.weekday()) % 7
    return DateMatch(today + timedelta(days=ahead), m.end(), weekday_word=name)


@VAGUE_RULES.add(
    r"(?:(?:下下|下|本|这|上)个?(?:周|星期|礼拜)末?|周末|下下个?月|下个?月|本月|这个?月|明后天"
    r"|[一两三四五六七八九十]{2}天[以之]?后"
    r"|过几天|几天[以之]?后|过两天|过些天|过段时间|过阵子|改天|回头|一会儿?|等一?会儿?"
    r"|待会儿?|稍后|晚点|晚些|月初|月中|上旬|中旬|下旬|年初|年底|年末|年后|节后|近期|最近"
    rf"|初[一二三四五六七八九十]|十五(?![号日点时分钟:0-9])|(?:{NUM})\s*{MONTH}份?)"
)
def _vague(m: re.Match[str], today: date) -> DateMatch:
    raise reject("vague", what=m[0])
