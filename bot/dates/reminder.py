"""A typed reminder ("提醒我明天下午3点交材料") read into its datetime and its text.

:func:`read_reminder` is what the reminders flow uses on a one-line reminder. Around
:func:`bot.dates.parse_when` it removes what is not the reminder's text: filler before the
date (提醒我, 帮我设个提醒：, 记得) and right after it (提醒我), deadline words (截止12月10日,
12月10日前/之前/为止, 下午3点左右), and a weekday in brackets after a date (12月10日(周四)),
which must agree with the date or the user is asked. A date that does not come first
(交材料，明天下午3点) is looked for further on: after a separator or words like 是/在, or
anywhere when it is unmistakable (资格审核12月10日截止, 成绩单明天上午10点去打印: a full
month and day, a year, 今天/明天/后天, 下周三); a bare 5号 or a holiday's name inside the text
is no date (带5号电池, 交中秋节活动材料). The words around a date cut out of the text join
without a space. Filler and deadline words at the end go too (领证书，到时候叫我;
继续教育截止).
"""

from __future__ import annotations

import re
from datetime import datetime

from bot.dates.date_rules import match_date
from bot.dates.durations import match_duration
from bot.dates.numbers import MONTH, NUM, YEAR, normalise
from bot.dates.parse import When, parse_when
from bot.dates.refusals import NotUnderstood, refusal
from bot.dates.relative_rules import weekday_number

_SEP = r"[\s,，、;；:：.。!！~～]*"
_FILLER = re.compile(
    r"(?:(?:请|麻烦你?|帮我|帮忙|给我|我要|我想|你)?\s*"
    r"(?:设置?|定|加|建|添加|新建|订|设定|弄)?\s*一?个?\s*(?:提醒|闹钟|备忘)"
    r"(?:我(?:一下|一声|下(?=[\s,，、:：]))?|一下|下(?=[\s,，、:：]))?"
    r"|到时候?(?:记得)?(?:叫|提醒|通知|喊)我?(?:一下|一声|下(?=[\s,，、:：]))?"
    r"|记得提醒我(?:一下|一声)?"
    r"|记得要?|别忘了?|别忘记|不要忘了?|不要忘记|记住|叫我|通知我|记一?下|帮我|麻烦|请"
    r"|截止(?:到|日期?为?|时间为?)?|截至|最晚|最迟|不晚于|务必在|必须在|要在|在|于|我)" + _SEP
)
_BRACKET_WEEKDAY = re.compile(
    r"(?<=[日号天0-9０-９])\s*(?:(?P<open>[(（\[【]?)\s*(?:周|星期|礼拜)"
    r"(?P<wd>[一二三四五六日天1-7１-７])\s*(?P<close>[)）\]】]?)"
    r"|[(（](?P<wd2>[一二三四五六日天])[)）])"
)
_AFTER_DATE = re.compile(
    r"(?:之前|以前|前(?![往台面去])|为止|截止(?:日期)?|截至|到期|左右|前后"
    r"|提醒我一下|提醒一下|提醒我|叫我|通知我|记得要?)" + _SEP
)
_TRAILING = re.compile(
    r"(?:截[止至](?:日期|时间)?(?:到|为|是)?|最[晚迟](?:到|在)?|在|于|是)?" + _SEP + "$"
)
_TAIL = re.compile(
    r"(?:" + _SEP + r"(?:截[止至]|为止|到期)"
    r"|" + _SEP + r"(?:到时候?)?(?:记得)?(?:叫|提醒|通知|喊)我(?:一下|一声)?(?:哦|哈|啊|呀)?"
    r")" + _SEP + "$"
)
"""Deadline words and filler at the end of the text (继续教育截止; 领证书，到时候叫我)."""
_STRONG = re.compile(
    rf"(?:{YEAR}\s*年\s*)?{NUM}\s*{MONTH}\s*{NUM}\s*[日号曰]|[0-9]{{4}}\s*[-/.年]"
    r"|今天|明天|后天|大后天|今晚|明晚|明早|今早"
    r"|(?:下下|下|本|这)?个?(?:周|星期|礼拜)[一二三四五六日天1-7]"
    rf"|(?:下下|下|本|这)个?月\s*{NUM}\s*[号日]"
)
"""Dates clear enough to be one wherever they stand (资格审核12月10日截止, 成绩单明天去打印);
a bare 5号 or a holiday's name is a date further on only after a separator."""
_WEEKDAY_NAMES = "一二三四五六日"
_TIME_WORD = re.compile(
    r"(?:早上|上午|中午|下午|傍晚|晚上|凌晨)\s*[0-9０-９一二三四五六七八九十两]"
    r"|(?<![0-9０-９])(?:[0-9０-９]{1,2}|[二三四五六七八九十两]|十[一二]|一(?!点))\s*(?:点|时|[:：][0-9０-９]{2})"
)


def read_reminder(text: str, now: datetime, *, allow_past: bool = False) -> When | NotUnderstood:
    """The reminder's datetime and text (``rest``), or the question to ask back."""
    text, weekday = _without_bracket_weekday(text)
    body = text.strip()
    for _ in range(4):
        found = _FILLER.match(body)
        if not found or not found.end():
            break
        body = body[found.end() :]
    result = parse_when(body, now, allow_past=allow_past)
    if isinstance(result, NotUnderstood) and result.code == "unrecognised":
        result = _date_further_on(text.strip(), now, allow_past) or result
    elif isinstance(result, When) and not result.has_time:
        result = _time_further_on(body, result, now, allow_past)
    if isinstance(result, NotUnderstood):
        return result
    if weekday is not None:
        mismatch = _weekday_mismatch(result, weekday)
        if mismatch is not None:
            return mismatch
    return When(at=result.at, rest=_clean_rest(result.rest), has_time=result.has_time)


def _without_bracket_weekday(text: str) -> tuple[str, str | None]:
    """``12月10日(周四)下午3点`` -> ``12月10日 下午3点`` and the weekday written (四)."""
    found = _BRACKET_WEEKDAY.search(text, 0, 40)
    if found is None or bool(found["open"]) != bool(found["close"]):
        return text, None
    return text[: found.start()] + " " + text[found.end() :], found["wd"] or found["wd2"]


def _weekday_mismatch(result: When, written: str) -> NotUnderstood | None:
    wanted = weekday_number(written.translate(str.maketrans("１２３４５６７", "1234567")))
    actual = result.at.weekday()
    if actual == wanted:
        return None
    return refusal(
        "weekday_mismatch",
        month=result.at.month,
        day=result.at.day,
        actual=f"周{_WEEKDAY_NAMES[actual]}",
        weekday=f"周{_WEEKDAY_NAMES[wanted]}",
    )


def _clean_rest(rest: str) -> str:
    for _ in range(3):
        found = _AFTER_DATE.match(rest)
        if not found or not found.end():
            break
        rest = rest[found.end() :]
    return _TAIL.sub("", rest).strip()


def _date_further_on(text: str, now: datetime, allow_past: bool) -> When | NotUnderstood | None:
    """The first date/time that is not at the start (交材料，明天下午3点), with the words
    before it as the text; None when there is none."""
    for index in range(1, len(text)):
        if text[index - 1].isdigit() or text[index] not in _STARTS or text[index - 1] in "最每":
            continue
        result = parse_when(text[index:], now, allow_past=allow_past)
        if isinstance(result, NotUnderstood):
            if result.code in ("unrecognised", "empty"):
                continue
            return result
        if not _starts_with_date(text[index:], now):
            continue  # a time alone further on (明填下午3点): which day is not sure
        if (
            result.rest
            and not _BEFORE_A_DATE.search(text[:index])
            and not _STRONG.match(normalise(text[index:])[0])
        ):
            continue  # inside the text (带5号电池, 交中秋节活动材料): not a date
        before = _TRAILING.sub("", text[:index])
        for _ in range(4):
            found = _FILLER.match(before)
            if not found or not found.end():
                break
            before = before[found.end() :]
        rest = _clean_rest(result.rest)
        joined = _join(before, rest)
        return When(at=result.at, rest=_TAIL.sub("", joined).strip(), has_time=result.has_time)
    return None


def _time_further_on(
    body: str, found: When, now: datetime, allow_past: bool
) -> When | NotUnderstood:
    """明天交材料下午3点: a time later in the text belongs to the date (never 09:00 silently)."""
    rest = found.rest
    time_word = _TIME_WORD.search(rest)
    if time_word is None or not rest or not body.rstrip().endswith(rest):
        return found
    date_part = body.rstrip()[: len(body.rstrip()) - len(rest)]
    result = parse_when(date_part + rest[time_word.start() :], now, allow_past=allow_past)
    if isinstance(result, NotUnderstood) or not result.has_time:
        return result
    before = _TRAILING.sub("", rest[: time_word.start()])
    after = _clean_rest(result.rest)
    joined = _join(before, after)
    return When(at=result.at, rest=joined, has_time=True)


def _join(before: str, after: str) -> str:
    """The text around a date cut out of it: Chinese joins without a space (资格审核结果公布),
    other writing with one."""
    before, after = before.strip(), after.strip()
    if not before or not after:
        return before or after
    cjk = _CJK.match(before[-1]) and _CJK.match(after[0])
    return before + after if cjk else f"{before} {after}"


_CJK = re.compile(r"[\u3400-\u9fff]")


def _starts_with_date(text: str, now: datetime) -> bool:
    normal = normalise(text)[0]
    return match_duration(normal) is not None or match_date(normal, now.date()) is not None


_BEFORE_A_DATE = re.compile(r"(?:[\s,，、;；:：.。!！~～(（)）]|[我在于是到等])$")
"""What may stand right before a date further on (交材料，明天; 截止日期是12月10日)."""
_STARTS = frozenset(
    "0123456789０１２３４５６７８９〇零一二三四五六七八九十两半过再"
    "今明后大下本这上周星礼月底末元平圣五国春除年正腊农阴清冬端中七重双情妇植愚劳青儿建教十"
    "早凌午傍黄晚夜深一白"
)
"""Characters a date or time can start with: elsewhere the search does not look."""
