"""Normalising the input: full-width characters (NFKC) and numbers written in Chinese.

Also the regular-expression pieces for numbers that the date and time rules share. Digits
are what :mod:`bot.core.numbers` calls digits (ASCII and full-width): NFKC would also turn
``①`` or ``²`` into ``1`` and ``2``, so characters like those stay as typed (text).
"""

from __future__ import annotations

import re
import unicodedata

from bot.core.numbers import ASCII_DIGITS, is_digit, parse_int
from bot.dates.refusals import reject

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
CN = "零〇一二两三四五六七八九十廿"
"""Characters of a Chinese numeral."""
NUM = rf"(?:[0-9]{{1,2}}|[{CN}]{{1,3}})"
"""Pattern of a month, day, hour or minute."""
COUNT = rf"(?:[0-9]{{1,4}}|[{CN}]{{1,3}})"
"""Pattern of how many days/hours/... from now."""
YEAR = r"(?:[0-9]{4}|[0-9]{2}|[〇零一二三四五六七八九]{4}|[〇零一二三四五六七八九]{2})"
"""Pattern of a year: 2026, 26, 二〇二六, 二六."""
MONTH = "[月越]"
"""月, or its usual typo."""


def cn_number(token: str) -> int | None:
    """Value of ASCII digits or a Chinese numeral up to 99 (十二, 二十五, 两, 零五), else None."""
    value = parse_int(token, max_digits=4)
    if value is not None:
        return value
    if token.startswith("廿") and len(token) <= 2:  # 廿五 = 二十五
        token = "二十" + token[1:]
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


def year_number(token: str) -> int:
    """The year of a :data:`YEAR` token; two digits are this century's (26 -> 2026)."""
    if token[0] in _CN_DIGITS:
        value = int("".join(str(_CN_DIGITS[char]) for char in token))
    else:
        value = int(token)
    return 2000 + value if len(token) == 2 else value


def number(token: str) -> int:
    """Like :func:`cn_number`, but a token that is no number refuses the whole input."""
    value = cn_number(token)
    if value is None:
        raise reject("unrecognised")
    return value


_TYPOS = {
    "名天": "明天",
    "夏午": "下午",
    "下州": "下周",
    "这州": "这周",
    "本州": "本周",
    "星其": "星期",
    "点伴": "点半",
    "典": "点",
}
"""Same-sound slips of pinyin input in date and time words (each the length of its fix)."""
_TYPO = re.compile(r"名天|夏午|[下这本]州|星其|点伴|(?<=[0-9一二三四五六七八九十两])典")


def normalise(raw: str) -> tuple[str, list[int]]:
    """NFKC-normalise character by character; also return, for each position of the result
    (and its end), the index of the raw character it came from, so that ``rest`` keeps the
    user's own spelling."""
    parts: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(raw):
        normal = unicodedata.normalize("NFKC", char)
        if not is_digit(char) and any(c in ASCII_DIGITS for c in normal):
            normal = char  # ①, ², ㋀ (1月), 𝟏: digit-like, but not a digit the user typed
        parts.append(normal)
        origin.extend([index] * len(normal))
    origin.append(len(raw))
    text = _TYPO.sub(lambda m: _TYPOS[m.group(0)], "".join(parts))
    return text, origin
