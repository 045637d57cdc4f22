"""Time rules: durations from now (半小时后) and the time of day (下午3点, 9:30) in the input.

Refuses what would need a guess: 3点 without 上午/下午, 晚上1点 (midnight?), 上午15点.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time, timedelta

from bot.dates.numbers import CN, COUNT, NUM, number
from bot.dates.refusals import reject

# --- durations from now ------------------------------------------------------------------------

_LATER = r"(?:以后|之后|后)"
_HOURS_LATER = re.compile(
    rf"(?:(?P<n>{COUNT})个?(?P<half>半)?|(?P<only_half>半)个?)(?:小时|钟头){_LATER}"
)
_MINUTES_LATER = re.compile(rf"(?P<n>{COUNT})(?:分钟|分){_LATER}")
_SECONDS_LATER = re.compile(rf"(?P<n>{COUNT})秒钟?{_LATER}")


def match_duration(text: str) -> tuple[timedelta, int] | None:
    """``(how long from now, end)`` of a duration at the start of ``text``, or None."""
    found = _HOURS_LATER.match(text)
    if found:
        if found["only_half"]:
            return timedelta(minutes=30), found.end()
        minutes = number(found["n"]) * 60 + (30 if found["half"] else 0)
        return timedelta(minutes=minutes), found.end()
    found = _MINUTES_LATER.match(text)
    if found:
        return timedelta(minutes=number(found["n"])), found.end()
    found = _SECONDS_LATER.match(text)
    if found:
        return timedelta(seconds=number(found["n"])), found.end()
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
    rf"(?P<h>{NUM})\s*(?:点钟|点|时)"
    rf"(?:(?P<half>半)|(?P<quarter>一刻|三刻)|整"
    rf"|(?P<mi>[0-9]{{1,2}}(?![0-9])|[{CN}]{{2,3}})分?|(?P<mi_one>[{CN}])分)?"
)


@dataclass(frozen=True)
class TimeMatch:
    """A time of day found in the input."""

    value: time
    end: int
    text: str
    """The time as written (normalised), with its part of day: ``上午9点``."""


def _hour_label(minute: int) -> dict[str, str]:
    """Which sub-text says the hour in a refusal: 3点, 3点半 or 3点5分."""
    if minute == 0:
        return {"label": "hour_label"}
    if minute == 30:
        return {"label": "hour_label_half"}
    return {"label": "hour_label_minutes"}


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
            raise reject(
                "midnight", _hour_label(minute), period=word, hour=hour, minute=minute, small=small
            )
    raise reject("period_hour_mismatch", period=word, hour=hour)


def match_time(text: str, pos: int, implied_period: str | None, prefix: str) -> TimeMatch | None:
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
        written = found_period[0] if found_period else ""
        raise reject("need_hour", date=prefix, period=written, hour=example_hour)
    hour = number(found["h"])
    if dian is not None:
        if dian["half"]:
            minute = 30
        elif dian["quarter"]:
            minute = 15 if dian["quarter"] == "一刻" else 45
        elif dian["mi"] or dian["mi_one"]:
            minute = number(dian["mi"] or dian["mi_one"])
        else:
            minute = 0
    else:
        minute = int(found["mi"])
    if hour > 23:
        raise reject("no_such_hour", hour=hour)
    if minute > 59:
        raise reject("no_such_minute", minute=minute)
    if period is not None:
        hour = _apply_period(period, hour, minute)
    elif dian is not None and 1 <= hour <= 5:
        clock = f"{hour + 12}:{minute:02d}"
        raise reject("ambiguous_hour", _hour_label(minute), hour=hour, minute=minute, clock=clock)
    end = found.end()
    return TimeMatch(time(hour, minute), end, text[start:end])
