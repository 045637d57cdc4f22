"""Time rules: the time of day in the input (下午3点, 9:30, 3pm, 中午, 这个时候).

Refuses what would need a guess: 3点 without 上午/下午, 晚上1点 (midnight?), 上午15点, and a
part of day without an hour (明天下午, 明天一早) except 中午 (12:00).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time

from bot.dates.numbers import CN, NUM, number
from bot.dates.refusals import reject

_PERIOD_KINDS = {
    "早上": "am",
    "早晨": "am",
    "清晨": "am",
    "清早": "am",
    "一大早": "am",
    "大清早": "am",
    "大早上": "am",
    "一早": "am",
    "上午": "am",
    "上舞": "am",  # typos (same sound)
    "上无": "am",
    "上五": "am",
    "早": "am",
    "凌晨": "small_hours",
    "中午": "noon",
    "午间": "noon",
    "下午": "pm",
    "下舞": "pm",  # typos (same sound)
    "下无": "pm",
    "下五": "pm",
    "午后": "pm",
    "傍晚": "dusk",
    "黄昏": "dusk",
    "晚上": "night",
    "晚间": "night",
    "夜里": "night",
    "夜间": "night",
    "晚": "night",
    "半夜": "late",
    "深夜": "late",
    "午夜": "late",
}
_PERIOD_EXAMPLE_HOUR = {
    "am": 9,
    "small_hours": 5,
    "noon": 12,
    "pm": 3,
    "dusk": 6,
    "night": 8,
    "late": 11,
}
_PERIOD = re.compile("|".join(sorted(_PERIOD_KINDS, key=len, reverse=True)))
_NOW_WORDS = re.compile(r"现在这个时[候间]|这个时[候间]|这时候?|这会儿?|这个点|此时|同一时间")
_TIME_COLON = re.compile(r"(?P<h>[0-9]{1,2})\s*:\s*(?P<mi>[0-9]{2})(?![0-9])")
_TIME_DOT = re.compile(r"(?P<h>[0-9]{1,2})\.(?P<mi>[0-9]{2})(?![0-9])")
"""3.30 for 3:30, read only after a date or a part of day (12.10 alone is a date)."""
_TIME_DIAN = re.compile(
    rf"(?P<h>{NUM})\s*(?:点钟|点|时|店)"
    rf"(?:(?P<half>半)|(?P<quarter>一刻|三刻)|整"
    rf"|(?:[零〇](?=[0-9{CN}]))?(?:(?P<mi>[0-9]{{1,2}}(?![0-9])|[{CN}]{{2,3}})分?|(?P<mi_one>[{CN}])分))?"
)
_AM_PM = re.compile(
    r"(?P<h>[0-9]{1,2})(?:\s*:\s*(?P<mi>[0-9]{2}))?\s*(?P<ap>[aApP])\.?\s*[mM]\.?(?![a-zA-Z])"
)


@dataclass(frozen=True)
class TimeMatch:
    """A time of day found in the input."""

    value: time
    end: int
    text: str
    """The time as written (normalised), with its part of day: ``上午9点``."""
    bare_hour: bool = False
    """An hour written with 点 and no part of day (8点): 20:00 may have been meant."""


def _hour_label(minute: int) -> dict[str, str]:
    """Which sub-text says the hour in a refusal: 3点, 3点半 or 3点5分."""
    if minute == 0:
        return {"label": "hour_label"}
    if minute == 30:
        return {"label": "hour_label_half"}
    return {"label": "hour_label_minutes"}


def _midnight(word: str, hour: int, minute: int) -> Exception:
    small = 0 if hour == 12 else hour
    return reject(
        "midnight", _hour_label(minute), period=word, hour=hour, minute=minute, small=small
    )


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
    if kind in ("pm", "dusk"):
        if 1 <= hour <= 11:
            return hour + 12
        if 12 <= hour <= 23:
            return hour
    if kind in ("night", "late"):
        low = 6 if kind == "night" else 9
        if low <= hour <= 11:
            return hour + 12
        if low + 12 <= hour <= 23:
            return hour
        if hour <= 5 or hour == 12:
            raise _midnight(word, hour, minute)
    raise reject("period_hour_mismatch", period=word, hour=hour)


def _minute(dian: re.Match[str]) -> int:
    if dian["half"]:
        return 30
    if dian["quarter"]:
        return 15 if dian["quarter"] == "一刻" else 45
    if dian["mi"] or dian["mi_one"]:
        return number(dian["mi"] or dian["mi_one"])
    return 0


def match_time(
    text: str, pos: int, implied_period: str | None, prefix: str, now: time
) -> TimeMatch | None:
    """A time of day at ``pos``, or None when there is none; rejects invalid or ambiguous ones.

    ``prefix`` is the date text before it, used in the example when a period has no hour;
    ``now`` is the clock time that 这个时候 stands for.
    """
    start = pos
    period = implied_period
    found_period = _PERIOD.match(text, pos)
    if found_period:
        period = found_period[0]
        pos = found_period.end()
        while pos < len(text) and text[pos] in " 的":
            pos += 1
    now_words = None if found_period else _NOW_WORDS.match(text, pos)
    if now_words:
        return TimeMatch(now.replace(second=0, microsecond=0), now_words.end(), now_words[0])
    am_pm = _AM_PM.match(text, pos)
    colon = None if am_pm else _TIME_COLON.match(text, pos)
    if colon is None and am_pm is None and (pos > 0 or period is not None):
        colon = _TIME_DOT.match(text, pos)
    dian = None if am_pm or colon else _TIME_DIAN.match(text, pos)
    found = am_pm or colon or dian
    if found is None:
        if period is None:
            return None
        if _PERIOD_KINDS[period] == "noon":
            end = found_period.end() if found_period else pos
            return TimeMatch(time(12, 0), end, text[start:end])
        example_hour = _PERIOD_EXAMPLE_HOUR[_PERIOD_KINDS[period]]
        written = found_period[0] if found_period else ""
        raise reject("need_hour", date=prefix, period=written, hour=example_hour)
    hour = number(found["h"])
    minute = _minute(dian) if dian else int(found["mi"] or 0)
    if hour > 23:
        raise reject("no_such_hour", hour=hour)
    if minute > 59:
        raise reject("no_such_minute", minute=minute)
    if am_pm is not None:
        if not 1 <= hour <= 12:
            raise reject("no_such_hour", hour=hour)
        if am_pm["ap"] in "aA" and hour == 12:
            raise _midnight(am_pm[0], hour, minute)
        hour = hour % 12 + (12 if am_pm["ap"] in "pP" else 0)
        if period is not None and _apply_period(period, hour % 12 or 12, minute) != hour:
            raise reject("period_hour_mismatch", period=period, hour=am_pm[0])
    elif period is not None:
        hour = _apply_period(period, hour, minute)
    elif (dian is not None or not found["h"].startswith("0")) and 1 <= hour <= 5:
        clock = f"{hour + 12}:{minute:02d}"
        raise reject("ambiguous_hour", _hour_label(minute), hour=hour, minute=minute, clock=clock)
    end = found.end()
    bare = dian is not None and period is None
    return TimeMatch(time(hour, minute), end, text[start:end], bare_hour=bare)
