"""Parse the date/time people type on phones ("明天下午3点", "12月10日 交材料") into a datetime.

:func:`parse_when` reads a date and/or time expression at the start of the text and returns
:class:`When` (an aware datetime in the time zone of ``now`` plus the text that follows), or
:class:`NotUnderstood` (render it with :func:`bot.dates.explain`). It never guesses silently:
an hour 1-5 such as "3点" or "3:00" without 上午/下午, a part of day without an hour
(明天下午, 明天一早; 中午 alone is 12:00), 晚上12点, a month/day that passed within the last
31 days (a typo?), a bare weekday that is today and over, a time already over today (今天7点
said at 10:00 offers 19:00), vague words (下周, 下个月, 12月, 过几天, 一会儿, 初一, 十五 alone), two
dates (明天或后天), a festival's numerals (二月二: lunar or not?), N个月后 landing on a day the
month lacks (1月31日 + 1个月) and
impossible dates (2月30日, 25点) are all answered with a question instead of a datetime. This
module is the entry point and the checks on the result (in the past, too far ahead); the
rules live in date_rules (written dates), relative_rules, holiday_rules, time_rules and
durations. :func:`bot.dates.read_reminder` adds what a typed reminder needs (filler such as
提醒我, deadline words such as 之前, a date not at the start).

Accepted forms (full-width input is fine, it is NFKC-normalised first):

* dates: 2026-12-10, 2026/12/10, 2026.12.10, 20261210, 2026年12月10日/号, 26年12月10日,
  二〇二六年十二月十日, 今年/明年/后年12月10日 (去年/前年: refused as past), 12月10日/号,
  12/10, 12-10, 12.10 (month first; a month/day over for more than 31 days is next year's),
  10号 (this month, next month's once past), 本月/下个月/下下个月10号, 月底, 下个月底,
  12月底, 今天, 明天/明儿,
  后天, 大后天, 大大后天, 今晚/明晚/今早/明早 (a date with a part of day), N天后, N周后,
  N个月后, 半个月后 (+15 days), N年后, 半年后, 周一..周日 (the coming one, today counts),
  星期X, 礼拜X, 下周X / 下下周X (weeks run Monday to Sunday), 本周X, 这周X;
* holidays, the next one: 元旦, 情人节, 五一, 国庆, 平安夜, 圣诞 and other fixed dates; 春节,
  除夕, 元宵, 端午, 七夕, 中秋, 重阳, 腊八, 正月十五, 腊月二十三, 农历八月十五, 大年初三
  (lunardate);
  清明, 冬至 (chinesecalendar's solar terms); 明年春节;
* times, after a date, before it (下午3点 明天) or alone (= today): 09:00, 9:30, 3.30 (after a
  date or part of day), 9点, 9点半, 9点30(分), 9点一刻, 9时, 3pm, 9am, 这个时候 (now's time),
  optionally after 早上/一早/上午/中午/下午/傍晚/晚上/半夜/凌晨; hours 6-12 without a part
  of day are taken as written;
* durations from now: N小时后, 半小时后, N个半小时后, 1.5小时后, N分钟后, 过10分钟, N秒后.

Numbers may be written with Chinese numerals up to 99 (十二月十日, 两天后, 下午三点). Common
typos inside the date are read as meant (3店, 10典, 12越10日, 10曰, 12月10好, 明填, 名天, 下舞,
下五, 上无, 夏午, 下州三, 星其五, 星期无, 3点伴), and minutes after 零 (3点零5分).

Issue 17 (``bench/dates_accuracy.py``, now Tuesday 2026-11-24 10:00): the first independent
set had 12 wrong datetimes and 101 of 337 clear phrases asked back before these rules; the
fourth, never opened (397 phrases), has 0 wrong, 0 crashes, 2 of 319 asked back (0.6 %);
p99 parse time 0.086 ms. README "Reading typed dates" tells how the sets were used.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import NoReturn

from bot.dates.date_rules import match_date
from bot.dates.durations import match_duration
from bot.dates.numbers import CN, normalise
from bot.dates.refusals import NotUnderstood, Reject, reject
from bot.dates.rules import DateMatch
from bot.dates.time_rules import TimeMatch, match_time

DEFAULT_TIME = time(9, 0)
"""Time of day used when only a date is given."""
MAX_INPUT_CHARS = 200
"""Only this many characters of the input are looked at."""
MAX_YEARS_AHEAD = 3
"""Reminders further ahead than this are refused."""

_SEPARATORS = " \t\r\n,，、;；:：\u3000"
_AFTER = re.compile(
    r"\s*(?:以后|之后|后(?![天日])"
    rf"|(?:或者?|还是|或是)\s*(?=[0-9{CN}今明后大下本这周星礼月]))"
)
"""After a date: 12月10日后 (which day?), 明天或后天, 12月10日或11日 (which one?): ask."""
_TWO_DAYS = re.compile(
    r"(?:下下|下|本|这)?(?:周|星期|礼拜)[一二三四五六日天]"
    r"(?:\s*[、和或/]\s*(?:周|星期|礼拜)?|(?:周|星期|礼拜))[一二三四五六日天](?![号日月])"
    r"|(?:今|明|后|大后)天\s*[、和或/]?\s*(?:明|后|大后)天"
)
"""Two days where one is meant (周三周四, 周三、四, 明天后天)."""
_OTHER_TIME = re.compile(
    rf"\s*(?:到|至|或者?|还是|-|~|～|—)\s*(?:下午|上午|晚上|早上)?\s*(?:[0-9]{{1,2}}|[{CN}]{{1,3}})"
    r"\s*(?:点|时|:|：)"
)
"""A second time after the first (下午3点到5点, 9点或10点): a range or a choice, ask."""
_UNREAD_TIME = re.compile(
    rf"[^0-9{CN}\s]{{0,2}}\s*(?:[0-9]{{1,2}}|[{CN}]{{1,3}})\s*(?:点|时|:|pm|am)", re.I
)
"""What looks like a time the rules could not read, right after a date."""
_DAY_PART = re.compile(
    r"(?:下班|上班|午饭|午休|早饭|晚饭|饭后|睡前|睡觉前|放学|白天|天亮|天黑|一上班)"
)
"""A time of day that is no clock time (明天下班前): ask, 09:00 would be a guess."""


@dataclass(frozen=True)
class When:
    """An understood date/time."""

    at: datetime
    """Aware, in the time zone of ``now``."""
    rest: str
    """Text after the date/time expression, stripped (``"12月10日 交材料"`` -> ``"交材料"``)."""
    has_time: bool
    """False when only a date was given; ``at`` is then that date at :data:`DEFAULT_TIME`."""


def parse_when(text: str, now: datetime, *, allow_past: bool = False) -> When | NotUnderstood:
    """Parse the date/time expression at the start of ``text`` relative to ``now`` (aware).

    With ``allow_past`` a resolved time before ``now`` is accepted (e.g. a score-release date
    that is already over); month/day without a year still means this year.
    Raises ValueError when ``now`` is naive (a programming error, not bad user input).
    """
    if now.utcoffset() is None:
        raise ValueError("parse_when needs an aware `now`")
    try:
        return _parse(text, now, allow_past)
    except Reject as rejection:
        return rejection.answer


def _parse(text: str, now: datetime, allow_past: bool) -> When:
    raw = text[:MAX_INPUT_CHARS]
    normal, origin = normalise(raw)
    lead = len(normal) - len(normal.lstrip())
    body = normal[lead:]
    if not body.strip():
        raise reject("empty")

    def rest_after(end: int) -> str:
        return raw[origin[lead + end] :].strip().lstrip(_SEPARATORS).strip()

    today = now.date()
    duration = match_duration(body)
    if duration is not None:
        delta, end = duration
        if delta <= timedelta(0):
            raise reject("zero_duration")
        at = (now.astimezone(UTC) + delta).astimezone(now.tzinfo)
        _check_not_too_far(at, now, has_time=True)
        return When(at=at, rest=rest_after(end), has_time=True)

    if two := _TWO_DAYS.match(body):  # 周三周四, 明天后天: which one?
        raise reject("vague", what=two[0])
    found_date = match_date(body, today)
    date_end = pos = found_date.end if found_date else 0
    if found_date is not None:
        while pos < len(body) and body[pos] in " \t的":
            pos += 1
        if after := _AFTER.match(body, date_end):
            raise reject("vague", what=body[: _second_date_end(body, after.end(), today)])
    implied_period = found_date.period if found_date else None
    found_time = match_time(body, pos, implied_period, body[:date_end], now.time())
    if found_date is None and found_time is None:
        raise reject("unrecognised")
    if found_time is not None and (other := _OTHER_TIME.match(body, found_time.end)):
        raise reject("vague", what=body[pos : other.end()])  # 下午3点到5点, 9点或10点
    if found_time is None and _UNREAD_TIME.match(body, pos):
        raise reject("unrecognised")  # 明天下舞4点: never 09:00 with the time in the text
    if found_time is None and _DAY_PART.match(body, pos):
        raise reject("need_hour", date=body[:date_end], period="", hour=17)
    if found_date is None and found_time is not None:
        found_date = _date_after_time(body, found_time.end, today)  # 下午3点 明天

    day = found_date.day if found_date else today
    if found_date and found_date.rolled and day < today and not allow_past:
        day = found_date.rolled
    clock = found_time.value if found_time else DEFAULT_TIME
    at = datetime.combine(day, clock, tzinfo=now.tzinfo)
    has_time = found_time is not None
    if not allow_past:
        if found_date is not None and found_date.past_hint and day < today:
            raise Reject(found_date.past_hint)
        if at <= now:
            _refuse_past(found_date, found_time, at, now)
    _check_not_too_far(at, now, has_time=has_time)
    end = max(found_time.end if found_time else 0, found_date.end if found_date else 0)
    return When(at=at, rest=rest_after(end), has_time=has_time)


def _second_date_end(body: str, start: int, today: date) -> int:
    """Where the other date of 明天或后天 ends (``start`` when there is none), for the question."""
    try:
        found = match_date(body[start:], today)
    except Reject:
        found = None
    return start + found.end if found is not None else start


def _date_after_time(body: str, end: int, today: date) -> DateMatch | None:
    """A date written after the time (下午3点 明天交材料), ending where the text starts."""
    pos = end
    while pos < len(body) and body[pos] in " \t,，的":
        pos += 1
    found = match_date(body[pos:], today)
    if found is None or found.period is not None:
        return None
    return replace(found, end=pos + found.end)


def _refuse_past(
    found_date: DateMatch | None, found_time: TimeMatch | None, at: datetime, now: datetime
) -> NoReturn:
    """The question to ask about a time that is already over."""
    today = at.date() == now.date()
    if today and found_date is not None and found_date.weekday_word:
        raise reject("weekday_today_past", weekday=found_date.weekday_word)
    if today and found_time is not None and found_time.bare_hour and 6 <= at.hour <= 11:
        evening = at + timedelta(hours=12)
        if evening > now:
            raise reject("past_today_offer", time=found_time.text, clock=f"{evening:%H:%M}")
    if found_date is None and found_time is not None:
        raise reject("time_past_today", time=found_time.text)
    if found_time is None and today:
        raise reject("default_time_past")
    raise reject("past", at=_fmt_at(at, found_time is not None))


def _fmt_date(day: date) -> str:
    return day.isoformat()


def _fmt_at(at: datetime, has_time: bool) -> str:
    """The moment for a refusal, as ISO digits (the form the parser itself accepts)."""
    return at.strftime("%Y-%m-%d %H:%M") if has_time else _fmt_date(at.date())


def _add_years(moment: datetime, years: int) -> datetime:
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:  # 29 February
        return moment.replace(year=moment.year + years, day=28)


def _check_not_too_far(at: datetime, now: datetime, *, has_time: bool) -> None:
    if at > _add_years(now, MAX_YEARS_AHEAD):
        raise reject("too_far", at=_fmt_at(at, has_time), years=MAX_YEARS_AHEAD)
