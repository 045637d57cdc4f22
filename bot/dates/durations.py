"""Durations from now: 半小时后, 2个小时以后, 1.5小时后, 过10分钟, 30秒后.

The reminder is then exactly that long from now (minutes and seconds kept).
"""

from __future__ import annotations

import re
from datetime import timedelta

from bot.dates.numbers import COUNT, number

_LATER = r"(?:以后|之后|后)"
_HOURS = re.compile(
    rf"(?P<pre>再?过)?\s*(?:(?P<dec>[0-9]{{1,3}}\.[0-9])\s*个?|(?P<n>{COUNT})\s*个?(?P<half>半)?"
    rf"|(?P<only_half>半)个?)\s*(?:小时|钟头)(?P<post>{_LATER})?"
)
_MINUTES = re.compile(rf"(?P<pre>再?过)?\s*(?P<n>{COUNT})\s*(?:分钟|分)(?P<post>{_LATER})?")
_SECONDS = re.compile(rf"(?P<pre>再?过)?\s*(?P<n>{COUNT})\s*秒钟?(?P<post>{_LATER})?")


def match_duration(text: str) -> tuple[timedelta, int] | None:
    """``(how long from now, end)`` of a duration at the start of ``text``, or None."""
    found = _HOURS.match(text)
    if found and (found["pre"] or found["post"]):
        if found["only_half"]:
            return timedelta(minutes=30), found.end()
        if found["dec"]:
            return timedelta(minutes=round(float(found["dec"]) * 60)), found.end()
        minutes = number(found["n"]) * 60 + (30 if found["half"] else 0)
        return timedelta(minutes=minutes), found.end()
    found = _MINUTES.match(text)
    if found and (found["pre"] or found["post"]):
        return timedelta(minutes=number(found["n"])), found.end()
    found = _SECONDS.match(text)
    if found and (found["pre"] or found["post"]):
        return timedelta(seconds=number(found["n"])), found.end()
    return None
