"""Chinese date/time input: accepted forms, and polite refusals instead of guesses.

All cases use a fixed "now": Tuesday 2026-11-24 10:30 in Asia/Shanghai. Refusals are
rendered with the ``dates`` texts of the shipped content/ui.yaml, as the bot does.
"""

from __future__ import annotations

import ast
import re
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.channels import CHANNELS
from bot.content import load_content
from bot.content.placeholders import SECTION_PLACEHOLDERS
from bot.content.ui_models import DateTexts
from bot.dates import (
    CODES,
    DEFAULT_TIME,
    PIECES,
    PLACEHOLDERS,
    TEMPLATES,
    NotUnderstood,
    When,
    explain,
    parse_when,
)
from bot.dates.refusals import refusal

ROOT = Path(__file__).resolve().parent.parent

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 24, 10, 30, tzinfo=TZ)
DATE_TEXTS = load_content(ROOT / "content", CHANNELS).ui.dates.model_dump()
DATES_PACKAGE = ROOT / "bot" / "dates"


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=TZ)


def understood(text: str, **kwargs: bool) -> When:
    result = parse_when(text, NOW, **kwargs)
    assert isinstance(result, When), result
    assert result.at.tzinfo is TZ
    return result


def refused(text: str, **kwargs: bool) -> str:
    result = parse_when(text, NOW, **kwargs)
    assert isinstance(result, NotUnderstood), result
    reason = explain(result, DATE_TEXTS)
    assert 0 < len(reason) <= 120
    assert reason.count("\n") <= 1
    assert "{" not in reason and "}" not in reason, reason
    return reason


def test_now_is_a_tuesday() -> None:
    assert NOW.weekday() == 1


# --- dates without a time: at DEFAULT_TIME, has_time False ---------------------------------------

DATE_ONLY = [
    # ISO-ish
    ("2026-12-10", at(2026, 12, 10, 9, 0)),
    ("2026/12/10", at(2026, 12, 10, 9, 0)),
    ("2026.12.10", at(2026, 12, 10, 9, 0)),
    ("2027-1-5", at(2027, 1, 5, 9, 0)),
    ("2027-01-05", at(2027, 1, 5, 9, 0)),
    ("2026年12月10日", at(2026, 12, 10, 9, 0)),
    ("2026年12月10号", at(2026, 12, 10, 9, 0)),
    ("2026 年 12 月 10 日", at(2026, 12, 10, 9, 0)),
    ("明年3月1日", at(2027, 3, 1, 9, 0)),
    ("今年12月10日", at(2026, 12, 10, 9, 0)),
    # month/day without year (month first)
    ("12月10日", at(2026, 12, 10, 9, 0)),
    ("12月10号", at(2026, 12, 10, 9, 0)),
    ("12/10", at(2026, 12, 10, 9, 0)),
    ("12-10", at(2026, 12, 10, 9, 0)),
    ("12月31日", at(2026, 12, 31, 9, 0)),
    # day of month
    ("25号", at(2026, 11, 25, 9, 0)),
    ("下个月5号", at(2026, 12, 5, 9, 0)),
    ("本月30日", at(2026, 11, 30, 9, 0)),
    # relative days
    ("明天", at(2026, 11, 25, 9, 0)),
    ("明日", at(2026, 11, 25, 9, 0)),
    ("后天", at(2026, 11, 26, 9, 0)),
    ("大后天", at(2026, 11, 27, 9, 0)),
    ("3天后", at(2026, 11, 27, 9, 0)),
    ("3天以后", at(2026, 11, 27, 9, 0)),
    ("3天之后", at(2026, 11, 27, 9, 0)),
    ("10日后", at(2026, 12, 4, 9, 0)),
    ("2周后", at(2026, 12, 8, 9, 0)),
    ("1个星期后", at(2026, 12, 1, 9, 0)),
    # weekdays, from Tuesday 2026-11-24
    ("周五", at(2026, 11, 27, 9, 0)),
    ("周一", at(2026, 11, 30, 9, 0)),
    ("周三", at(2026, 11, 25, 9, 0)),
    ("周日", at(2026, 11, 29, 9, 0)),
    ("周天", at(2026, 11, 29, 9, 0)),
    ("周5", at(2026, 11, 27, 9, 0)),
    ("星期五", at(2026, 11, 27, 9, 0)),
    ("星期日", at(2026, 11, 29, 9, 0)),
    ("星期天", at(2026, 11, 29, 9, 0)),
    ("礼拜一", at(2026, 11, 30, 9, 0)),
    ("礼拜天", at(2026, 11, 29, 9, 0)),
    ("下周一", at(2026, 11, 30, 9, 0)),
    ("下周二", at(2026, 12, 1, 9, 0)),
    ("下周日", at(2026, 12, 6, 9, 0)),
    ("下星期三", at(2026, 12, 2, 9, 0)),
    ("下个礼拜五", at(2026, 12, 4, 9, 0)),
    ("本周五", at(2026, 11, 27, 9, 0)),
    ("这周五", at(2026, 11, 27, 9, 0)),
    ("这个星期六", at(2026, 11, 28, 9, 0)),
    ("本周日", at(2026, 11, 29, 9, 0)),
    # Chinese numerals
    ("十二月十日", at(2026, 12, 10, 9, 0)),
    ("十二月二十五号", at(2026, 12, 25, 9, 0)),
    ("二十五号", at(2026, 11, 25, 9, 0)),
    ("三天后", at(2026, 11, 27, 9, 0)),
    ("两天后", at(2026, 11, 26, 9, 0)),
    ("十天后", at(2026, 12, 4, 9, 0)),
    ("两周后", at(2026, 12, 8, 9, 0)),
    # full-width input
    ("２０２６－１２－１０", at(2026, 12, 10, 9, 0)),
    ("１２月１０日", at(2026, 12, 10, 9, 0)),
    ("１２／１０", at(2026, 12, 10, 9, 0)),
]


@pytest.mark.parametrize(("text", "expected"), DATE_ONLY)
def test_date_only(text: str, expected: datetime) -> None:
    result = understood(text)
    assert result.at == expected
    assert result.at.timetz().replace(tzinfo=None) == DEFAULT_TIME
    assert result.has_time is False
    assert result.rest == ""


# --- dates and times -----------------------------------------------------------------------------

WITH_TIME = [
    # time after an ISO-ish date, with or without a space
    ("2026-12-10 09:00", at(2026, 12, 10, 9, 0)),
    ("2026-12-10 9:30", at(2026, 12, 10, 9, 30)),
    ("2026/12/10 21:05", at(2026, 12, 10, 21, 5)),
    ("2026年12月10日上午9点", at(2026, 12, 10, 9, 0)),
    ("2026年12月10日 下午3点半", at(2026, 12, 10, 15, 30)),
    ("12/10 14:00", at(2026, 12, 10, 14, 0)),
    ("12-10 8:15", at(2026, 12, 10, 8, 15)),
    ("12月10日9点", at(2026, 12, 10, 9, 0)),
    ("12月10日 9点", at(2026, 12, 10, 9, 0)),
    ("12月10号下午3点", at(2026, 12, 10, 15, 0)),
    # clock forms
    ("明天9点", at(2026, 11, 25, 9, 0)),
    ("明天9点半", at(2026, 11, 25, 9, 30)),
    ("明天9点30", at(2026, 11, 25, 9, 30)),
    ("明天9点30分", at(2026, 11, 25, 9, 30)),
    ("明天9点05", at(2026, 11, 25, 9, 5)),
    ("明天9点5分", at(2026, 11, 25, 9, 5)),
    ("明天9时", at(2026, 11, 25, 9, 0)),
    ("明天9时30分", at(2026, 11, 25, 9, 30)),
    ("明天9点钟", at(2026, 11, 25, 9, 0)),
    ("明天9点整", at(2026, 11, 25, 9, 0)),
    ("明天9点一刻", at(2026, 11, 25, 9, 15)),
    ("明天12点", at(2026, 11, 25, 12, 0)),
    ("明天0点", at(2026, 11, 25, 0, 0)),
    ("明天6点", at(2026, 11, 25, 6, 0)),
    ("明天21:05", at(2026, 11, 25, 21, 5)),
    ("明天15点", at(2026, 11, 25, 15, 0)),
    ("明天 下午 3 点", at(2026, 11, 25, 15, 0)),
    # a colon hour 1-5 is asked (明天3:00), unless written with its leading zero
    ("明天03:30", at(2026, 11, 25, 3, 30)),
    # periods
    ("明天早上8点", at(2026, 11, 25, 8, 0)),
    ("明天上午9点", at(2026, 11, 25, 9, 0)),
    ("明天上午12点", at(2026, 11, 25, 12, 0)),
    ("明天中午12点", at(2026, 11, 25, 12, 0)),
    ("明天中午1点", at(2026, 11, 25, 13, 0)),
    ("明天下午3点", at(2026, 11, 25, 15, 0)),
    ("明天下午15点", at(2026, 11, 25, 15, 0)),
    ("明天下午3:30", at(2026, 11, 25, 15, 30)),
    ("明天傍晚6点", at(2026, 11, 25, 18, 0)),
    ("明天晚上8点", at(2026, 11, 25, 20, 0)),
    ("明天晚上8点半", at(2026, 11, 25, 20, 30)),
    ("明天晚上20:00", at(2026, 11, 25, 20, 0)),
    ("明天凌晨2点", at(2026, 11, 25, 2, 0)),
    ("明早8点", at(2026, 11, 25, 8, 0)),
    ("今晚8点", at(2026, 11, 24, 20, 0)),
    ("明晚9点", at(2026, 11, 25, 21, 0)),
    # relative and weekday dates with a time
    ("3天后下午3点", at(2026, 11, 27, 15, 0)),
    ("后天 10:00", at(2026, 11, 26, 10, 0)),
    ("周五下午3点", at(2026, 11, 27, 15, 0)),
    ("周二下午3点", at(2026, 11, 24, 15, 0)),  # today, later than now: today
    ("下周一上午10点", at(2026, 11, 30, 10, 0)),
    ("本周二晚上8点", at(2026, 11, 24, 20, 0)),
    # time only: today, when still ahead
    ("下午3点", at(2026, 11, 24, 15, 0)),
    ("中午12点", at(2026, 11, 24, 12, 0)),
    ("中午1点", at(2026, 11, 24, 13, 0)),
    ("晚上8点半", at(2026, 11, 24, 20, 30)),
    ("12点", at(2026, 11, 24, 12, 0)),
    ("11:00", at(2026, 11, 24, 11, 0)),
    ("23:59", at(2026, 11, 24, 23, 59)),
    # Chinese numerals
    ("下午三点", at(2026, 11, 24, 15, 0)),
    ("明天十点半", at(2026, 11, 25, 10, 30)),
    ("明天九点十五", at(2026, 11, 25, 9, 15)),
    ("明天九点零五分", at(2026, 11, 25, 9, 5)),
    ("明天九点十分", at(2026, 11, 25, 9, 10)),
    ("十二月十日上午十一点", at(2026, 12, 10, 11, 0)),
    ("二十五号晚上七点", at(2026, 11, 25, 19, 0)),
    ("晚上十一点", at(2026, 11, 24, 23, 0)),
    # full-width input
    ("２０２６年１２月１０日　上午９点", at(2026, 12, 10, 9, 0)),
    ("明天１４：００", at(2026, 11, 25, 14, 0)),
]


@pytest.mark.parametrize(("text", "expected"), WITH_TIME)
def test_date_and_time(text: str, expected: datetime) -> None:
    result = understood(text)
    assert result.at == expected
    assert result.has_time is True
    assert result.rest == ""


# --- durations from now --------------------------------------------------------------------------

DURATIONS = [
    ("3秒后", timedelta(seconds=3)),
    ("30秒钟后", timedelta(seconds=30)),
    ("10分钟后", timedelta(minutes=10)),
    ("5分后", timedelta(minutes=5)),
    ("90分钟以后", timedelta(minutes=90)),
    ("半小时后", timedelta(minutes=30)),
    ("半个小时后", timedelta(minutes=30)),
    ("1小时后", timedelta(hours=1)),
    ("2个小时之后", timedelta(hours=2)),
    ("两个小时后", timedelta(hours=2)),
    ("1个半小时后", timedelta(minutes=90)),
    ("三个钟头后", timedelta(hours=3)),
    ("十五分钟后", timedelta(minutes=15)),
    ("２０分钟后", timedelta(minutes=20)),
]


@pytest.mark.parametrize(("text", "delta"), DURATIONS)
def test_duration_from_now(text: str, delta: timedelta) -> None:
    result = understood(text)
    assert result.at == NOW + delta
    assert result.has_time is True
    assert result.rest == ""


# --- the text that follows -----------------------------------------------------------------------

REST = [
    ("12月10日 交材料", at(2026, 12, 10, 9, 0), False, "交材料"),
    ("12月10日交材料", at(2026, 12, 10, 9, 0), False, "交材料"),
    ("12月10 交材料", at(2026, 12, 10, 9, 0), False, "交材料"),
    ("１２月１０日　交材料", at(2026, 12, 10, 9, 0), False, "交材料"),
    ("  明天下午3点 开会  ", at(2026, 11, 25, 15, 0), True, "开会"),
    ("明天下午3点，查成绩", at(2026, 11, 25, 15, 0), True, "查成绩"),
    ("2026-12-10 09:00 打印准考证", at(2026, 12, 10, 9, 0), True, "打印准考证"),
    ("3天后 交照片 ＰＤＦ版", at(2026, 11, 27, 9, 0), False, "交照片 ＰＤＦ版"),
    ("半小时后 喝水", NOW + timedelta(minutes=30), True, "喝水"),
    ("3秒后 测试", NOW + timedelta(seconds=3), True, "测试"),
    ("下周一 报名", at(2026, 11, 30, 9, 0), False, "报名"),
    ("周五前交材料", at(2026, 11, 27, 9, 0), False, "前交材料"),
    ("明天9点一起复习", at(2026, 11, 25, 9, 0), True, "一起复习"),
    ("12/10 交材料", at(2026, 12, 10, 9, 0), False, "交材料"),
]


@pytest.mark.parametrize(("text", "expected", "has_time", "rest"), REST)
def test_rest_is_the_text_after_the_expression(
    text: str, expected: datetime, has_time: bool, rest: str
) -> None:
    result = understood(text)
    assert (result.at, result.has_time, result.rest) == (expected, has_time, rest)


def test_only_the_first_200_characters_are_read() -> None:
    result = understood("明天 " + "字" * 500)
    assert result.at == at(2026, 11, 25, 9, 0)
    assert result.rest == "字" * 197
    assert isinstance(parse_when(" " * 200 + "明天", NOW), NotUnderstood)


def test_result_is_in_the_time_zone_of_now() -> None:
    utc_now = datetime(2026, 11, 24, 10, 0, tzinfo=ZoneInfo("UTC"))
    result = parse_when("明天下午3点", utc_now)
    assert isinstance(result, When)
    assert result.at == datetime(2026, 11, 25, 15, 0, tzinfo=ZoneInfo("UTC"))


def test_naive_now_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="aware"):
        parse_when("明天", datetime(2026, 11, 24, 10, 30))


# --- past dates with allow_past ------------------------------------------------------------------

ALLOW_PAST = [
    ("2026-11-20", at(2026, 11, 20, 9, 0), False),
    ("2026年11月20日 上午10点", at(2026, 11, 20, 10, 0), True),
    ("3月1日", at(2026, 3, 1, 9, 0), False),  # still this year, no next-year guess
    ("11/20", at(2026, 11, 20, 9, 0), False),
    ("今天", at(2026, 11, 24, 9, 0), False),
    ("上午9点", at(2026, 11, 24, 9, 0), True),
    ("本周一", at(2026, 11, 23, 9, 0), False),
    ("2025-06-30", at(2025, 6, 30, 9, 0), False),
    ("2026-12-10", at(2026, 12, 10, 9, 0), False),  # future dates are fine too
]


@pytest.mark.parametrize(("text", "expected", "has_time"), ALLOW_PAST)
def test_allow_past(text: str, expected: datetime, has_time: bool) -> None:
    result = understood(text, allow_past=True)
    assert (result.at, result.has_time) == (expected, has_time)


def test_allow_past_still_refuses_bad_input() -> None:
    assert "2月没有30日" in refused("2026-02-30", allow_past=True)
    assert "上午还是下午" in refused("11月20日3点", allow_past=True)
    assert "太远" in refused("2030-01-01", allow_past=True)


# --- refusals ------------------------------------------------------------------------------------

REFUSED = [
    # already past
    ("2026-11-20", ["已经过去", "2026-11-20", "以后的时间"]),
    ("2026-11-24 10:00", ["已经过去", "2026-11-24 10:00"]),
    ("2025年12月10日", ["已经过去"]),
    ("今天", ["已经过了", "具体时间"]),
    ("11月24日", ["已经过了", "具体时间"]),
    ("上午9点", ["今天上午9点已经过了", "明天上午9点"]),
    ("9点", ["今天9点已经过了"]),
    ("10:30", ["已经过了"]),  # exactly now is not ahead
    ("凌晨2点", ["今天凌晨2点已经过了", "明天凌晨2点"]),
    ("今早8点", ["已经过去"]),
    # month/day without year within the last 31 days: probably a typo, ask for the year
    # (further back it is next year's: 3月1日 -> 2027-03-01, see test_past_dates_roll_on)
    ("11/20", ["11月20日今年已经过去了", "2027-11-20"]),
    ("11-1", ["11月1日今年已经过去了"]),
    ("十一月一日", ["11月1日今年已经过去了"]),
    ("这个月5号", ["已经过去", "下个月5号"]),
    # a bare weekday that is today, already over: this week's or next week's?
    ("周二", ["今天就是周二", "下周二"]),
    ("周二上午9点", ["今天就是周二", "下周二"]),
    ("周二10:30", ["今天就是周二"]),  # exactly now is not ahead
    # this-week day already past
    ("本周一", ["本周一", "已经过去", "下周一"]),
    ("这周一", ["本周一", "已经过去"]),
    ("本星期一下午3点", ["已经过去", "下星期一"]),
    ("本周二上午9点", ["已经过去", "2026-11-24 09:00"]),
    # ambiguous hour
    ("明天3点", ["上午还是下午", "上午3点", "下午3点", "15:00"]),
    ("12月10日4点", ["上午还是下午", "上午4点", "下午4点", "16:00"]),
    ("明天1点", ["上午还是下午", "13:00"]),
    ("明天5点半", ["上午还是下午", "上午5点半", "17:30"]),
    ("明天三点", ["上午还是下午"]),
    ("3点", ["上午还是下午"]),
    ("周五2点30分", ["上午还是下午", "14:30"]),
    # evening words with small-hours numbers
    ("明天晚上1点", ["半夜", "凌晨1点"]),
    ("明天晚上12点", ["半夜", "凌晨0点"]),
    # contradictory period and hour
    ("明天上午15点", ["上午没有15点", "15:00"]),
    ("明天中午5点", ["中午没有5点"]),
    # a part of day without an hour
    ("明天下午", ["具体几点", "明天下午3点"]),
    ("今晚", ["具体几点", "今晚8点"]),
    ("下午开会", ["具体几点", "下午3点"]),
    # invalid calendar dates and clock times
    ("2月30日", ["2月没有30日"]),
    ("2026-02-30", ["2月没有30日"]),
    ("2027年2月29日", ["2027年2月没有29日"]),
    ("11月31日", ["11月没有31日"]),
    ("13月1日", ["没有13月"]),
    ("13/1", ["没有13月", "月/日"]),
    ("0月5日", ["没有0月"]),
    ("12月0日", ["12月没有0日"]),
    ("25点", ["没有25点"]),
    ("明天25:00", ["没有25点"]),
    ("9点61分", ["没有61分"]),
    ("明天9:75", ["没有75分"]),
    ("31号", ["11月没有31日"]),
    # too far ahead
    ("2030-01-01", ["时间太远了", "3年"]),
    ("2029-11-25", ["时间太远了"]),
    ("2000天后", ["时间太远了"]),
    ("200周后", ["时间太远了"]),
    # zero durations
    ("0分钟后", ["大于0"]),
    # empty or unrecognised
    ("", ["请写一个时间", "2026-12-10", "12月10日上午9点", "明天下午3点", "3天后", "下周一"]),
    ("   ", ["请写一个时间"]),
    ("交材料", ["没看懂", "2026-12-10", "12月10日上午9点", "明天下午3点", "3天后", "下周一"]),
    ("hello", ["没看懂"]),
    ("下周", ["“下周”是哪一天"]),
    ("12月", ["“12月”是哪一天"]),
    ("12/10/2026", ["没看懂"]),
    ("明天3:00", ["上午还是下午", "15:00"]),
    ("交材料 明天", ["没看懂"]),  # the expression must come first
    ("十十月一日", ["没看懂"]),
]


@pytest.mark.parametrize(("text", "words"), REFUSED)
def test_refused(text: str, words: list[str]) -> None:
    reason = refused(text)
    for word in words:
        assert word in reason, (word, reason)


def test_time_only_past_message_names_the_time() -> None:
    reason = refused("上午9点")
    assert reason == "今天上午9点已经过了，请写“明天上午9点”或具体日期。"


def test_month_day_past_message_exactly() -> None:
    assert (
        refused("11月1日") == "11月1日今年已经过去了。如果是明年，请写完整日期，例如 2027-11-01。"
    )


def test_past_dates_roll_on() -> None:
    """Issue 17: a month/day over for more than 31 days is next year's, a bare day next month's."""
    assert understood("3月1日").at == at(2027, 3, 1, 9, 0)
    assert understood("三月一日").at == at(2027, 3, 1, 9, 0)
    assert understood("10号").at == at(2026, 12, 10, 9, 0)
    assert understood("12.10").at == at(2026, 12, 10, 9, 0)


def test_ambiguous_message_exactly() -> None:
    assert refused("明天3点") == "是上午还是下午？请写“上午3点”或“下午3点”（或 15:00）。"


def test_three_years_ahead_is_the_limit() -> None:
    assert understood("2029-11-24").at == at(2029, 11, 24, 9, 0)
    assert understood("2029-11-24 10:30").at == at(2029, 11, 24, 10, 30)
    assert "太远" in refused("2029-11-24 10:31")


# --- refusal texts live in content/ui.yaml, section dates -----------------------------------------


def _calls_in_package(*names: str) -> list[ast.Call]:
    """Calls of ``names`` in bot/dates, outside refusals.py (which defines them)."""
    calls = []
    for path in sorted(DATES_PACKAGE.glob("*.py")):
        if path.name == "refusals.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in names
            ):
                calls.append(node)
    return calls


def test_every_code_the_parser_raises_is_registered() -> None:
    calls = _calls_in_package("reject", "refusal")
    raised = set()
    for call in calls:
        first = call.args[0]
        assert isinstance(first, ast.Constant), ast.unparse(call)  # codes are literals
        raised.add(first.value)
        for keyword in call.keywords:
            assert keyword.arg is not None, ast.unparse(call)
    assert raised == CODES


def test_every_code_and_piece_has_a_template_in_content() -> None:
    assert set(DateTexts.model_fields) == TEMPLATES == CODES | PIECES
    assert set(DATE_TEXTS) == TEMPLATES
    assert all(DATE_TEXTS[name].strip() for name in TEMPLATES)


def test_templates_use_only_known_placeholders() -> None:
    assert SECTION_PLACEHOLDERS["dates"] == PLACEHOLDERS
    assert not PLACEHOLDERS & CODES
    for name, template in DATE_TEXTS.items():
        used = set(re.findall(r"\{([^{}]*)\}", template))
        assert used <= PLACEHOLDERS, (name, used - PLACEHOLDERS)


def test_shipped_content_loads_with_the_dates_section() -> None:
    content = load_content(ROOT / "content", CHANNELS)
    assert content.ui.dates.unrecognised.startswith("没看懂这个时间")


def test_refusals_carry_codes_not_text() -> None:
    result = parse_when("2026-02-30", NOW)
    assert result == NotUnderstood("no_such_day", {"month": "2", "day": "30"})
    assert not hasattr(result, "reason")
    with pytest.raises(ValueError, match="unknown refusal code"):
        refusal("no_such_code")
    with pytest.raises(ValueError, match="unknown values"):
        refusal("no_such_hour", hours=25)


def test_explain_fills_values_chosen_pieces_and_shared_pieces() -> None:
    templates = {
        "ambiguous_hour": "{label}? {examples} / {clock}",
        "hour_label_half": "{hour}h30",
        "examples": "e.g. {hour}",
    }
    result = parse_when("明天5点半", NOW)
    assert isinstance(result, NotUnderstood)
    assert result.parts == {"label": "hour_label_half"}
    assert explain(result, templates) == "5h30? e.g. 5 / 17:30"


def test_explain_does_not_fill_placeholders_inside_values() -> None:
    answer = NotUnderstood("time_past_today", {"time": "{examples}"})
    text = explain(answer, {"time_past_today": "[{time}]", "examples": "no"})
    assert text == "[{examples}]"


def test_explain_stops_at_self_reference() -> None:
    assert explain(NotUnderstood("past"), {"past": "a{past}"}) == "aaaa{past}"


def test_dates_package_imports_no_bot_feature() -> None:
    # bot.core.numbers is the one reader of typed digits; it imports nothing itself.
    allowed = ("bot.core.numbers",)
    for path in sorted(DATES_PACKAGE.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                inside = name.startswith("bot.dates.") or name in allowed
                assert top != "bot" or inside, (path.name, name)


EXACT_REFUSALS = [
    ("", "请写一个时间。可以这样写：2026-12-10、12月10日上午9点、明天下午3点、3天后、下周一。"),
    (
        "交材料",
        "没看懂这个时间。可以这样写：2026-12-10、12月10日上午9点、明天下午3点、3天后、下周一。",
    ),
    ("13月1日", "没有13月，月份是1到12。请检查后重新输入，例如 2026-12-10 或 12月10日上午9点。"),
    ("13/1", "没有13月，月份是1到12。日期请按“月/日”的顺序写，例如 12/10。"),
    ("11月31日", "11月没有31日。请检查后重新输入，例如 2026-12-10 或 12月10日上午9点。"),
    ("2027年2月29日", "2027年2月没有29日。请检查后重新输入，例如 2026-12-10 或 12月10日上午9点。"),
    ("这个月5号", "本月5号已经过去了。如果是下个月，请写“下个月5号”。"),
    ("本星期一", "本星期一（11月23日）已经过去了。如果是下周，请写“下星期一”。"),
    (
        "周二",
        "今天就是周二，这个时间已经过了。如果是下周，请写“下周二”；"
        "如果是今天，请写一个更晚的时间，例如“今天下午3点”。",
    ),
    (
        "今天7点",
        "今天7点已经过了。是指今晚19:00吗？是的话请写“今天19:00”；如果是明天，请写“明天7点”。",
    ),
    (
        "下周",
        "“下周”是哪一天几点？请写具体一点，例如："
        + "2026-12-10、12月10日上午9点、明天下午3点、3天后、下周一。",
    ),
    ("明天下午", "请写具体几点，例如“明天下午3点”。"),
    ("今晚", "请写具体几点，例如“今晚8点”。"),
    ("25点", "没有25点，小时是0到23。请重新输入，例如 明天下午3点 或 15:00。"),
    ("9点61分", "没有61分，分钟是0到59。请重新输入，例如 9点30分 或 9:30。"),
    ("明天5点半", "是上午还是下午？请写“上午5点半”或“下午5点半”（或 17:30）。"),
    ("明天2点5分", "是上午还是下午？请写“上午2点5分”或“下午2点5分”（或 14:05）。"),
    (
        "明天晚上1点",
        "“晚上1点”是指半夜吗？半夜请写“凌晨1点”并写上第二天的日期；"
        "晚上请写 24 小时制，例如 20:00。",
    ),
    (
        "明天晚上12点半",
        "“晚上12点半”是指半夜吗？半夜请写“凌晨0点”并写上第二天的日期；"
        "晚上请写 24 小时制，例如 20:00。",
    ),
    ("明天上午15点", "上午没有15点。请直接写 24 小时制时间，例如 15:00。"),
    ("0分钟后", "请写大于0的时长，例如“30分钟后”或“2小时后”。"),
    ("今天", "今天的默认提醒时间（上午9点）已经过了。请加上具体时间，例如“今天下午3点”。"),
    ("2026-11-24 10:00", "这个时间已经过去了（2026-11-24 10:00）。请写一个以后的时间。"),
    ("2026-11-20", "这个时间已经过去了（2026-11-20）。请写一个以后的时间。"),
    (
        "2030-01-01",
        "时间太远了（2030-01-01）。最多只能设置3年以内的提醒，请写一个近一点的时间。",
    ),
]


@pytest.mark.parametrize(("text", "expected"), EXACT_REFUSALS)
def test_refusal_texts_exactly(text: str, expected: str) -> None:
    assert refused(text) == expected
