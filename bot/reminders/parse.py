"""Parse the date/time people type on phones ("明天下午3点", "12月10日 交材料") into a datetime.

:func:`parse_when` reads a date and/or time expression at the start of the text and returns
:class:`When` (an aware datetime in the time zone of ``now`` plus the text that follows), or
:class:`NotUnderstood` with a short, polite explanation in Chinese. It never guesses silently:
an hour such as "3点" without 上午/下午, a month/day that has already passed this year, or a
time that is already over are all answered with a question instead of a datetime.

Accepted forms (full-width input is fine, it is NFKC-normalised first):

* dates: 2026-12-10, 2026/12/10, 2026.12.10, 2026年12月10日/号, 今年/明年/后年12月10日,
  12月10日/号, 12/10, 12-10 (month first), 10号 (this month), 本月/下个月10号,
  今天, 明天, 后天, 大后天, 今晚/明晚/今早/明早 (a date with a part of day),
  N天后, N周后, 周一..周日, 星期一..星期日/星期天, 礼拜一..礼拜天, 下周一, 本周五, 这周五;
* times, after a date or alone (= today): 09:00, 9:30, 9点, 9点半, 9点30(分), 9点一刻, 9时,
  optionally after 早上/上午/中午/下午/傍晚/晚上/凌晨;
* durations from now: N小时后, 半小时后, N个半小时后, N分钟后, N秒后.

Numbers may be written with Chinese numerals up to 99 (十二月十日, 两天后, 下午三点).
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

DEFAULT_TIME = time(9, 0)
"""Time of day used when only a date is given."""
MAX_INPUT_CHARS = 200
"""Only this many characters of the input are looked at."""
MAX_YEARS_AHEAD = 3
"""Reminders further ahead than this are refused."""

EXAMPLES = "2026-12-10、12月10日上午9点、明天下午3点、3天后、下周一"
_UNRECOGNISED = f"没看懂这个时间。可以这样写：{EXAMPLES}。"
_EMPTY = f"请写一个时间。可以这样写：{EXAMPLES}。"
_CHECK_DATE = "请检查后重新输入，例如 2026-12-10 或 12月10日上午9点。"


@dataclass(frozen=True)
class When:
    """An understood date/time."""

    at: datetime
    """Aware, in the time zone of ``now``."""
    rest: str
    """Text after the date/time expression, stripped (``"12月10日 交材料"`` -> ``"交材料"``)."""
    has_time: bool
    """False when only a date was given; ``at`` is then that date at :data:`DEFAULT_TIME`."""


@dataclass(frozen=True)
class NotUnderstood:
    """The input could not be turned into a datetime without guessing."""

    reason: str
    """Polite explanation in Chinese with an example of what is accepted (one or two lines)."""


class _Reject(Exception):
    """Raised inside the parser to answer with a :class:`NotUnderstood`."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# --- numbers ---------------------------------------------------------------------------------

_CN_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_CN = "零〇一二两三四五六七八九十"
_NUM = rf"(?:[0-9]{{1,2}}|[{_CN}]{{1,3}})"  # a month, day, hour or minute
_COUNT = rf"(?:[0-9]{{1,4}}|[{_CN}]{{1,3}})"  # how many days/hours/... from now


def _cn_number(token: str) -> int | None:
    """Value of ASCII digits or a Chinese numeral up to 99 (十二, 二十五, 两, 零五), else None."""
    if token.isascii() and token.isdigit():
        return int(token)
    head, ten, tail = token.partition("十")
    if not ten:
        if len(token) == 1:
            return _CN_DIGITS.get(token)
        if len(token) == 2 and token[0] in "零〇":
            return _CN_DIGITS.get(token[1])
        return None
    if len(head) > 1 or len(tail) > 1:
        return None
    tens = _CN_DIGITS.get(head) if head else 1
    ones = _CN_DIGITS.get(tail) if tail else 0
    if tens is None or ones is None or tens == 0:
        return None
    return tens * 10 + ones


def _number(token: str) -> int:
    value = _cn_number(token)
    if value is None:
        raise _Reject(_UNRECOGNISED)
    return value


# --- normalisation ---------------------------------------------------------------------------


def _normalise(raw: str) -> tuple[str, list[int]]:
    """NFKC-normalise character by character; also return, for each position of the result
    (and its end), the index of the raw character it came from, so that ``rest`` keeps the
    user's own spelling."""
    parts: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(raw):
        normal = unicodedata.normalize("NFKC", char)
        parts.append(normal)
        origin.extend([index] * len(normal))
    origin.append(len(raw))
    return "".join(parts), origin


# --- formatting helpers for messages -----------------------------------------------------------


def _fmt_date(day: date) -> str:
    return day.isoformat()


def _fmt_at(at: datetime, has_time: bool) -> str:
    return at.strftime("%Y-%m-%d %H:%M") if has_time else _fmt_date(at.date())


def _make_date(year: int, month: int, day: int, *, numeric: bool = False) -> date:
    """The calendar date, or a rejection naming what does not exist (2月没有30日)."""
    if not 1 <= month <= 12:
        hint = "日期请按“月/日”的顺序写，例如 12/10。" if numeric else _CHECK_DATE
        raise _Reject(f"没有{month}月，月份是1到12。{hint}")
    if not 1 <= year <= 9999:
        raise _Reject(_UNRECOGNISED)
    last = calendar.monthrange(year, month)[1]
    if not 1 <= day <= last:
        prefix = f"{year}年" if month == 2 and day == 29 else ""
        raise _Reject(f"{prefix}{month}月没有{day}日。{_CHECK_DATE}")
    return date(year, month, day)


def _add_years(moment: datetime, years: int) -> datetime:
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:  # 29 February
        return moment.replace(year=moment.year + years, day=28)


# --- dates -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _DateMatch:
    day: date
    end: int
    past_hint: str | None = None
    """Answer when ``day`` lies before today (a year or month the user left out)."""
    roll_if_today: bool = False
    """Bare weekday that fell on today: today only counts with a time later than now."""
    period: str | None = None
    """Part of day implied by the date word (今晚 -> 晚上)."""


_DateHandler = Callable[[re.Match[str], date], _DateMatch]
_DATE_RULES: list[tuple[re.Pattern[str], _DateHandler]] = []


def _date_rule(pattern: str) -> Callable[[_DateHandler], _DateHandler]:
    def register(handler: _DateHandler) -> _DateHandler:
        _DATE_RULES.append((re.compile(pattern), handler))
        return handler

    return register


@_date_rule(r"(?P<y>[0-9]{4})(?P<sep>[-/.])(?P<m>[0-9]{1,2})(?P=sep)(?P<d>[0-9]{1,2})(?![0-9])")
def _iso(m: re.Match[str], today: date) -> _DateMatch:
    day = _make_date(int(m["y"]), int(m["m"]), int(m["d"]), numeric=True)
    return _DateMatch(day, m.end())


_YEAR_WORDS = {"今年": 0, "明年": 1, "后年": 2}


@_date_rule(
    rf"(?:(?P<y>[0-9]{{4}})\s*年|(?P<yw>今年|明年|后年))\s*(?P<m>{_NUM})\s*月\s*"
    rf"(?P<d>{_NUM})(?![0-9])(?:\s*[日号])?"
)
def _year_month_day(m: re.Match[str], today: date) -> _DateMatch:
    year = int(m["y"]) if m["y"] else today.year + _YEAR_WORDS[m["yw"]]
    day = _make_date(year, _number(m["m"]), _number(m["d"]))
    return _DateMatch(day, m.end())


def _month_day(month: int, day_of_month: int, end: int, today: date, numeric: bool) -> _DateMatch:
    day = _make_date(today.year, month, day_of_month, numeric=numeric)
    hint = (
        f"{month}月{day_of_month}日今年已经过去了。如果是明年，请写完整日期，"
        f"例如 {today.year + 1}-{month:02d}-{day_of_month:02d}。"
    )
    return _DateMatch(day, end, past_hint=hint)


@_date_rule(rf"(?P<m>{_NUM})\s*月\s*(?P<d>{_NUM})(?![0-9])(?:\s*[日号])?")
def _month_day_cn(m: re.Match[str], today: date) -> _DateMatch:
    return _month_day(_number(m["m"]), _number(m["d"]), m.end(), today, numeric=False)


@_date_rule(r"(?P<m>[0-9]{1,2})(?P<sep>[/-])(?P<d>[0-9]{1,2})(?![0-9]|[/-][0-9])")
def _month_day_numeric(m: re.Match[str], today: date) -> _DateMatch:
    return _month_day(int(m["m"]), int(m["d"]), m.end(), today, numeric=True)


@_date_rule(rf"(?P<mw>本月|这个月|这月|下个月|下月)\s*(?P<d>{_NUM})[日号]")
def _day_of_named_month(m: re.Match[str], today: date) -> _DateMatch:
    year, month = today.year, today.month
    if m["mw"].startswith("下"):
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return _DateMatch(_make_date(year, month, _number(m["d"])), m.end())
    day = _make_date(year, month, _number(m["d"]))
    hint = f"本月{day.day}号已经过去了。如果是下个月，请写“下个月{day.day}号”。"
    return _DateMatch(day, m.end(), past_hint=hint)


@_date_rule(rf"(?P<n>{_COUNT})(?:天|日)(?:以后|之后|后)")
def _days_later(m: re.Match[str], today: date) -> _DateMatch:
    return _DateMatch(today + timedelta(days=_number(m["n"])), m.end())


@_date_rule(rf"(?P<n>{_COUNT})个?(?:周|星期|礼拜)(?:以后|之后|后)")
def _weeks_later(m: re.Match[str], today: date) -> _DateMatch:
    return _DateMatch(today + timedelta(weeks=_number(m["n"])), m.end())


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
def _day_word(m: re.Match[str], today: date) -> _DateMatch:
    offset, period = _DAY_WORDS[m[0]]
    return _DateMatch(today + timedelta(days=offset), m.end(), period=period)


_WEEKDAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6}
_WEEKDAYS.update({str(n): n - 1 for n in range(1, 8)})
_WEEKDAY_NAMES = "一二三四五六日"


@_date_rule(r"(?P<pre>下个?|本|这个?)?(?P<word>周|星期|礼拜)(?P<wd>[一二三四五六日天1-7])")
def _weekday(m: re.Match[str], today: date) -> _DateMatch:
    weekday = _WEEKDAYS[m["wd"]]
    monday = today - timedelta(days=today.weekday())
    prefix = m["pre"] or ""
    if prefix.startswith("下"):
        return _DateMatch(monday + timedelta(days=7 + weekday), m.end())
    if prefix:
        day = monday + timedelta(days=weekday)
        name = f"{m['word']}{_WEEKDAY_NAMES[weekday]}"
        hint = f"本{name}（{day.month}月{day.day}日）已经过去了。如果是下周，请写“下{name}”。"
        return _DateMatch(day, m.end(), past_hint=hint)
    ahead = (weekday - today.weekday()) % 7
    return _DateMatch(today + timedelta(days=ahead), m.end(), roll_if_today=ahead == 0)


@_date_rule(rf"(?P<d>{_NUM})[日号](?![0-9])")
def _day_of_this_month(m: re.Match[str], today: date) -> _DateMatch:
    day = _make_date(today.year, today.month, _number(m["d"]))
    following = 1 if today.month == 12 else today.month + 1
    hint = (
        f"{day.day}号这个月已经过去了。如果是下个月，请写完整日期，例如 {following}月{day.day}日。"
    )
    return _DateMatch(day, m.end(), past_hint=hint)


def _match_date(text: str, today: date) -> _DateMatch | None:
    for pattern, handler in _DATE_RULES:
        found = pattern.match(text)
        if found:
            return handler(found, today)
    return None


# --- durations from now ------------------------------------------------------------------------

_LATER = r"(?:以后|之后|后)"
_HOURS_LATER = re.compile(
    rf"(?:(?P<n>{_COUNT})个?(?P<half>半)?|(?P<only_half>半)个?)(?:小时|钟头){_LATER}"
)
_MINUTES_LATER = re.compile(rf"(?P<n>{_COUNT})(?:分钟|分){_LATER}")
_SECONDS_LATER = re.compile(rf"(?P<n>{_COUNT})秒钟?{_LATER}")


def _match_duration(text: str) -> tuple[timedelta, int] | None:
    found = _HOURS_LATER.match(text)
    if found:
        if found["only_half"]:
            return timedelta(minutes=30), found.end()
        minutes = _number(found["n"]) * 60 + (30 if found["half"] else 0)
        return timedelta(minutes=minutes), found.end()
    found = _MINUTES_LATER.match(text)
    if found:
        return timedelta(minutes=_number(found["n"])), found.end()
    found = _SECONDS_LATER.match(text)
    if found:
        return timedelta(seconds=_number(found["n"])), found.end()
    return None


# --- times -------------------------------------------------------------------------------------

_PERIOD_KINDS = {
    "早上": "am",
    "早晨": "am",
    "清晨": "am",
    "上午": "am",
    "早": "am",
    "凌晨": "small_hours",
    "中午": "noon",
    "下午": "pm",
    "傍晚": "pm",
    "晚上": "night",
    "夜里": "night",
    "晚": "night",
}
_PERIOD_EXAMPLE_HOUR = {"am": 9, "small_hours": 5, "noon": 12, "pm": 3, "night": 8}
_PERIOD = re.compile("|".join(sorted(_PERIOD_KINDS, key=len, reverse=True)))
_TIME_COLON = re.compile(r"(?P<h>[0-9]{1,2}):(?P<mi>[0-9]{2})(?![0-9])")
_TIME_DIAN = re.compile(
    rf"(?P<h>{_NUM})\s*(?:点钟|点|时)"
    rf"(?:(?P<half>半)|(?P<quarter>一刻|三刻)|整"
    rf"|(?P<mi>[0-9]{{1,2}}(?![0-9])|[{_CN}]{{2,3}})分?|(?P<mi_one>[{_CN}])分)?"
)


@dataclass(frozen=True)
class _TimeMatch:
    value: time
    end: int
    text: str


def _hour_label(hour: int, minute: int) -> str:
    if minute == 0:
        return f"{hour}点"
    if minute == 30:
        return f"{hour}点半"
    return f"{hour}点{minute}分"


def _apply_period(word: str, hour: int, minute: int) -> int:
    """The 24-hour hour for ``hour`` said with a part of day such as 下午."""
    kind = _PERIOD_KINDS[word]
    if kind == "am" and hour <= 12:
        return hour
    if kind == "small_hours" and hour <= 12:
        return 0 if hour == 12 else hour
    if kind == "noon":
        if 11 <= hour <= 14:
            return hour
        if 1 <= hour <= 2:
            return hour + 12
    if kind == "pm":
        if 1 <= hour <= 11:
            return hour + 12
        if 12 <= hour <= 23:
            return hour
    if kind == "night":
        if 6 <= hour <= 11:
            return hour + 12
        if 18 <= hour <= 23:
            return hour
        if hour <= 5 or hour == 12:
            small = 0 if hour == 12 else hour
            raise _Reject(
                f"“{word}{_hour_label(hour, minute)}”是指半夜吗？半夜请写“凌晨{small}点”"
                f"并写上第二天的日期；晚上请写 24 小时制，例如 20:00。"
            )
    raise _Reject(f"{word}没有{hour}点。请直接写 24 小时制时间，例如 15:00。")


def _match_time(text: str, pos: int, implied_period: str | None, prefix: str) -> _TimeMatch | None:
    """A time of day at ``pos``, or None when there is none; rejects invalid or ambiguous ones.

    ``prefix`` is the date text before it, used in the example when a period has no hour.
    """
    start = pos
    period = implied_period
    found_period = _PERIOD.match(text, pos)
    if found_period:
        period = found_period[0]
        pos = found_period.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    colon = _TIME_COLON.match(text, pos)
    dian = None if colon else _TIME_DIAN.match(text, pos)
    found = colon or dian
    if found is None:
        if period is None:
            return None
        example_hour = _PERIOD_EXAMPLE_HOUR[_PERIOD_KINDS[period]]
        example = f"{prefix}{found_period[0] if found_period else ''}{example_hour}点"
        raise _Reject(f"请写具体几点，例如“{example}”。")
    hour = _number(found["h"])
    if dian is not None:
        if dian["half"]:
            minute = 30
        elif dian["quarter"]:
            minute = 15 if dian["quarter"] == "一刻" else 45
        elif dian["mi"] or dian["mi_one"]:
            minute = _number(dian["mi"] or dian["mi_one"])
        else:
            minute = 0
    else:
        minute = int(found["mi"])
    if hour > 23:
        raise _Reject(f"没有{hour}点，小时是0到23。请重新输入，例如 明天下午3点 或 15:00。")
    if minute > 59:
        raise _Reject(f"没有{minute}分，分钟是0到59。请重新输入，例如 9点30分 或 9:30。")
    if period is not None:
        hour = _apply_period(period, hour, minute)
    elif dian is not None and 1 <= hour <= 5:
        label = _hour_label(hour, minute)
        raise _Reject(
            f"是上午还是下午？请写“上午{label}”或“下午{label}”（或 {hour + 12}:{minute:02d}）。"
        )
    end = found.end()
    return _TimeMatch(time(hour, minute), end, text[start:end])


# --- entry point -------------------------------------------------------------------------------

_SEPARATORS = " \t\r\n,，、;；:：\u3000"


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
    except _Reject as rejection:
        return NotUnderstood(rejection.reason)


def _parse(text: str, now: datetime, allow_past: bool) -> When:
    raw = text[:MAX_INPUT_CHARS]
    normal, origin = _normalise(raw)
    lead = len(normal) - len(normal.lstrip())
    body = normal[lead:]
    if not body.strip():
        raise _Reject(_EMPTY)

    def rest_after(end: int) -> str:
        return raw[origin[lead + end] :].strip().lstrip(_SEPARATORS).strip()

    today = now.date()
    duration = _match_duration(body)
    if duration is not None:
        delta, end = duration
        if delta <= timedelta(0):
            raise _Reject("请写大于0的时长，例如“30分钟后”或“2小时后”。")
        at = (now.astimezone(UTC) + delta).astimezone(now.tzinfo)
        _check_not_too_far(at, now, has_time=True)
        return When(at=at, rest=rest_after(end), has_time=True)

    found_date = _match_date(body, today)
    date_end = pos = found_date.end if found_date else 0
    if found_date is not None:
        while pos < len(body) and body[pos].isspace():
            pos += 1
    implied_period = found_date.period if found_date else None
    found_time = _match_time(body, pos, implied_period, body[:date_end])
    if found_date is None and found_time is None:
        raise _Reject(_UNRECOGNISED)

    day = found_date.day if found_date else today
    clock = found_time.value if found_time else DEFAULT_TIME
    at = datetime.combine(day, clock, tzinfo=now.tzinfo)
    if found_date is not None and found_date.roll_if_today and (found_time is None or at <= now):
        day += timedelta(days=7)
        at = datetime.combine(day, clock, tzinfo=now.tzinfo)
    has_time = found_time is not None

    if not allow_past:
        if found_date is not None and found_date.past_hint and day < today:
            raise _Reject(found_date.past_hint)
        if at <= now:
            if found_date is None and found_time is not None:
                label = found_time.text
                raise _Reject(f"今天{label}已经过了，请写“明天{label}”或具体日期。")
            if not has_time and day == today:
                raise _Reject(
                    "今天的默认提醒时间（上午9点）已经过了。请加上具体时间，例如“今天下午3点”。"
                )
            raise _Reject(f"这个时间已经过去了（{_fmt_at(at, has_time)}）。请写一个以后的时间。")
    _check_not_too_far(at, now, has_time=has_time)
    end = found_time.end if found_time else date_end
    return When(at=at, rest=rest_after(end), has_time=has_time)


def _check_not_too_far(at: datetime, now: datetime, *, has_time: bool) -> None:
    if at > _add_years(now, MAX_YEARS_AHEAD):
        raise _Reject(
            f"时间太远了（{_fmt_at(at, has_time)}）。"
            f"最多只能设置{MAX_YEARS_AHEAD}年以内的提醒，请写一个近一点的时间。"
        )
