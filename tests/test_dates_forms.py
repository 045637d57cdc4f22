"""Typed reminders as people write them (issue 17): every form read_reminder learned, and the
questions it still asks. Phrases written for these tests; "now" is Tuesday 2026-11-24 10:00.

The labelled sets run through bench/dates_accuracy.py's scoring: the development set must
show no wrong datetime and no crash; the holdout (never looked at phrase by phrase) no crash
and no more wrong datetimes than measured when issue 17 was closed.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from bench.dates_accuracy import score
from bot.channels import CHANNELS
from bot.content import load_content
from bot.dates import NotUnderstood, When, explain, read_reminder

ROOT = Path(__file__).resolve().parent.parent
TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=TZ)
DATE_TEXTS = load_content(ROOT / "content", CHANNELS).ui.dates.model_dump()


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=TZ)


def read(text: str, now: datetime = NOW) -> When:
    result = read_reminder(text, now)
    assert isinstance(result, When), (text, result)
    return result


def asked(text: str, now: datetime = NOW) -> str:
    result = read_reminder(text, now)
    assert isinstance(result, NotUnderstood), (text, result)
    reason = explain(result, DATE_TEXTS)
    assert "{" not in reason, reason
    return reason


UNDERSTOOD = [
    # filler before the date, 提醒我 after it
    ("提醒我明天下午3点交材料", at(2026, 11, 25, 15, 0), "交材料"),
    ("帮我设个提醒：12月10日交材料", at(2026, 12, 10, 9, 0), "交材料"),
    ("记得12月10号交材料", at(2026, 12, 10, 9, 0), "交材料"),
    ("我要设置一个提醒，后天上午10点开会", at(2026, 11, 26, 10, 0), "开会"),
    ("设个闹钟明天早上7点起床", at(2026, 11, 25, 7, 0), "起床"),
    ("明天早上7点叫我起床", at(2026, 11, 25, 7, 0), "起床"),
    # time words after a date
    ("明天这个时候提醒我交材料", at(2026, 11, 25, 10, 0), "交材料"),
    ("后天这个时间 复核", at(2026, 11, 26, 10, 0), "复核"),
    ("明天3pm开会", at(2026, 11, 25, 15, 0), "开会"),
    ("明天 9am 打卡", at(2026, 11, 25, 9, 0), "打卡"),
    ("明天 3:30 pm 开会", at(2026, 11, 25, 15, 30), "开会"),
    ("明天中午交材料", at(2026, 11, 25, 12, 0), "交材料"),
    ("明天傍晚6点半散步", at(2026, 11, 25, 18, 30), "散步"),
    ("明天下午3.30交材料", at(2026, 11, 25, 15, 30), "交材料"),
    ("明天8点交材料", at(2026, 11, 25, 8, 0), "交材料"),
    ("本周四下午 5点 资格审核", at(2026, 11, 26, 17, 0), "资格审核"),
    # numeric forms
    ("12.10", at(2026, 12, 10, 9, 0), ""),
    ("12.1 9:00 交表", at(2026, 12, 1, 9, 0), "交表"),
    ("12.10 9.30 交表", at(2026, 12, 10, 9, 30), "交表"),
    ("20261210交材料", at(2026, 12, 10, 9, 0), "交材料"),
    ("26年12月10日", at(2026, 12, 10, 9, 0), ""),
    ("二〇二六年十二月十日交表", at(2026, 12, 10, 9, 0), "交表"),
    ("２０２６年１２月１０日 交表", at(2026, 12, 10, 9, 0), "交表"),
    # typos inside the date are read as meant, typos in the text kept
    ("12越10日交材料", at(2026, 12, 10, 9, 0), "交材料"),
    ("12月10曰交资格审核材料", at(2026, 12, 10, 9, 0), "交资格审核材料"),
    ("明天下午3店交才料", at(2026, 11, 25, 15, 0), "交才料"),
    ("明填下午三点交材料", at(2026, 11, 25, 15, 0), "交材料"),
    ("明天下舞4点打印", at(2026, 11, 25, 16, 0), "打印"),
    ("星期无交材料", at(2026, 11, 27, 9, 0), "交材料"),
    # month/day already past: next year; a bare day: next month
    ("1月3号交表", at(2027, 1, 3, 9, 0), "交表"),
    ("3月1日", at(2027, 3, 1, 9, 0), ""),
    ("5号交材料", at(2026, 12, 5, 9, 0), "交材料"),
    # holidays: the next one
    ("元旦", at(2027, 1, 1, 9, 0), ""),
    ("平安夜晚上8点聚餐", at(2026, 12, 24, 20, 0), "聚餐"),
    ("圣诞节", at(2026, 12, 25, 9, 0), ""),
    ("五一", at(2027, 5, 1, 9, 0), ""),
    ("五一劳动节前把继续教育学完", at(2027, 5, 1, 9, 0), "把继续教育学完"),
    ("国庆节前交材料", at(2027, 10, 1, 9, 0), "交材料"),
    ("春节", at(2027, 2, 6, 9, 0), ""),
    ("大年初一", at(2027, 2, 6, 9, 0), ""),
    ("除夕下午3点", at(2027, 2, 5, 15, 0), ""),
    ("元宵", at(2027, 2, 20, 9, 0), ""),
    ("正月十五", at(2027, 2, 20, 9, 0), ""),
    ("清明", at(2027, 4, 5, 9, 0), ""),
    ("中秋节", at(2027, 9, 15, 9, 0), ""),
    ("农历八月十五", at(2027, 9, 15, 9, 0), ""),
    ("明年春节", at(2027, 2, 6, 9, 0), ""),
    # relative forms
    ("下下周三", at(2026, 12, 9, 9, 0), ""),
    ("下下个月10号", at(2027, 1, 10, 9, 0), ""),
    ("3个月后", at(2027, 2, 24, 9, 0), ""),
    ("半个月后交材料", at(2026, 12, 9, 9, 0), "交材料"),
    ("1年后", at(2027, 11, 24, 9, 0), ""),
    ("大大后天", at(2026, 11, 28, 9, 0), ""),
    ("明儿早上8点去打印", at(2026, 11, 25, 8, 0), "去打印"),
    ("1.5小时后", at(2026, 11, 24, 11, 30), ""),
    ("过10分钟提醒我喝水", at(2026, 11, 24, 10, 10), "喝水"),
    # deadlines: the words stay out of the text
    ("12月10日前交材料", at(2026, 12, 10, 9, 0), "交材料"),
    ("12月10日之前交材料", at(2026, 12, 10, 9, 0), "交材料"),
    ("截止12月10日交材料", at(2026, 12, 10, 9, 0), "交材料"),
    ("截至12月10日下午5点交材料", at(2026, 12, 10, 17, 0), "交材料"),
    ("月底前交材料", at(2026, 11, 30, 9, 0), "交材料"),
    ("下个月底交材料", at(2026, 12, 31, 9, 0), "交材料"),
    ("12月10日(周四)交材料", at(2026, 12, 10, 9, 0), "交材料"),
    ("12月10日（四）下午3点交材料", at(2026, 12, 10, 15, 0), "交材料"),
    ("明天下午3点左右开会", at(2026, 11, 25, 15, 0), "开会"),
    ("明天上午9点前往考点", at(2026, 11, 25, 9, 0), "前往考点"),
    # the date or time not at the start
    ("交材料，明天下午3点", at(2026, 11, 25, 15, 0), "交材料"),
    ("明天交材料下午3点", at(2026, 11, 25, 15, 0), "交材料"),
    ("下午3点 明天交材料", at(2026, 11, 25, 15, 0), "交材料"),
    ("我明天下午3点要交材料", at(2026, 11, 25, 15, 0), "要交材料"),
    # minutes after 零, same-sound slips in date and time words
    ("明天下午3点零5分交材料", at(2026, 11, 25, 15, 5), "交材料"),
    ("明天下午三点零五交材料", at(2026, 11, 25, 15, 5), "交材料"),
    ("明天下午3点伴领证书", at(2026, 11, 25, 15, 30), "领证书"),
    ("后天上午10典现场确认", at(2026, 11, 26, 10, 0), "现场确认"),
    ("名天上午9点缴费", at(2026, 11, 25, 9, 0), "缴费"),
    ("夏午3点打印成绩单", at(2026, 11, 24, 15, 0), "打印成绩单"),
    ("后天上无9点交表", at(2026, 11, 26, 9, 0), "交表"),
    ("明天下五3点交材料", at(2026, 11, 25, 15, 0), "交材料"),
    ("下州三上午10点复核", at(2026, 12, 2, 10, 0), "复核"),
    ("星其五交材料", at(2026, 11, 27, 9, 0), "交材料"),
    ("12月10好交材料", at(2026, 12, 10, 9, 0), "交材料"),
    ("大年初三打印成绩单", at(2027, 2, 8, 9, 0), "打印成绩单"),
    # a clear date inside the text; deadline words and filler at either end
    ("资格审核12月10日截止", at(2026, 12, 10, 9, 0), "资格审核"),
    ("证书12月15号可以领", at(2026, 12, 15, 9, 0), "证书可以领"),
    ("资格审核结果下周一上午10点公布", at(2026, 11, 30, 10, 0), "资格审核结果公布"),
    ("成绩单明天上午10点去打印", at(2026, 11, 25, 10, 0), "成绩单去打印"),
    ("2027年3月1日继续教育截止", at(2027, 3, 1, 9, 0), "继续教育"),
    ("复核申请截止到12月8号", at(2026, 12, 8, 9, 0), "复核申请"),
    ("到时候叫我：后天上午9点领证书", at(2026, 11, 26, 9, 0), "领证书"),
    ("12月15号领证书，到时候叫我", at(2026, 12, 15, 9, 0), "领证书"),
    ("明天下午两点去人社局交材料，记得提醒我", at(2026, 11, 25, 14, 0), "去人社局交材料"),
    ("廿五号交材料", at(2026, 11, 25, 9, 0), "交材料"),
    ("冬月二十交照片", at(2026, 12, 28, 9, 0), "交照片"),
    ("继续教育最晚12月31日前完成", at(2026, 12, 31, 9, 0), "继续教育完成"),
    ("提醒我一下后天缴费", at(2026, 11, 26, 9, 0), "缴费"),
    ("帮我记下 12月15日前复核申请", at(2026, 12, 15, 9, 0), "复核申请"),
    ("设个闹钟下午3点缴费", at(2026, 11, 24, 15, 0), "缴费"),
    ("麻烦到时候提醒下，大后天下午2点交照片", at(2026, 11, 27, 14, 0), "交照片"),
    ("提醒我下周三上午9点去复核", at(2026, 12, 2, 9, 0), "去复核"),
    ("照片周五交给单位", at(2026, 11, 27, 9, 0), "照片交给单位"),
    ("报名费下个月5号之前交", at(2026, 12, 5, 9, 0), "报名费交"),
]


@pytest.mark.parametrize(("text", "expected", "rest"), UNDERSTOOD)
def test_understood(text: str, expected: datetime, rest: str) -> None:
    result = read(text)
    assert (result.at, result.rest) == (expected, rest)


def test_other_nows() -> None:
    assert read("1月3号交表", at(2026, 12, 28, 20, 0)).at == at(2027, 1, 3, 9, 0)
    assert read("今天交材料", at(2026, 11, 30, 8, 0)).at == at(2026, 11, 30, 9, 0)
    assert read("除夕", at(2027, 2, 1, 10, 0)).at == at(2027, 2, 5, 9, 0)
    assert read("元旦", at(2027, 1, 28, 9, 0)).at == at(2028, 1, 1, 9, 0)
    # 1月31日 + 1个月: February has no 31st, and the 28th is a guess
    assert "2月没有31日" in asked("1个月后", at(2027, 1, 31, 9, 0))
    assert read("周一下午3点", at(2027, 2, 1, 10, 0)).at == at(2027, 2, 1, 15, 0)
    assert read("90分钟后", at(2026, 12, 31, 23, 0)).at == at(2027, 1, 1, 0, 30)
    assert read("明天这个时候", at(2026, 12, 29, 21, 7)).at == at(2026, 12, 30, 21, 7)


ASKED = [
    # an hour 1-5 without a part of day, colon or not
    ("明天3点交材料", "上午还是下午"),
    ("明天3:00 领证书", "上午还是下午"),
    ("明天4店交材料", "上午还是下午"),
    ("明天交材料3点", "上午还是下午"),
    # a part of day without an hour (中午 aside)
    ("明天一早交材料", "具体几点"),
    ("明天半夜", "具体几点"),
    ("明天傍晚", "明天傍晚6点"),
    ("明天下班前交材料", "具体几点"),
    ("明天晚上12点前交", "半夜"),
    # already over today
    ("今天7点交材料", "今晚19:00"),
    ("8点交材料", "今晚20:00"),
    ("9:30 资格审核", "已经过了"),
    ("今天交材料", "已经过了"),
    ("周二交材料", "今天就是周二"),
    ("本周一交材料", "已经过去"),
    ("11月20日交材料", "今年已经过去了"),
    # impossible
    ("2月30日交材料", "2月没有30日"),
    ("2月29日交材料", "2027年2月没有29日"),
    ("13月1日", "没有13月"),
    ("明天25点", "没有25点"),
    ("明天10点61分", "没有61分"),
    ("12月10日（周五）交材料", "12月10日是周四，不是周五"),
    # no date, or not a day
    ("提醒我交材料", "没看懂"),
    ("12月 交材料", "“12月”是哪一天"),
    ("下周 交材料", "“下周”是哪一天"),
    ("下个月交材料", "“下个月”是哪一天"),
    ("过几天交材料", "“过几天”是哪一天"),
    ("一会儿提醒我交材料", "“一会儿”是哪一天"),
    ("初一交材料", "“初一”是哪一天"),
    ("十五 领证书", "“十五”是哪一天"),
    ("这周末交材料", "“这周末”是哪一天"),
    ("12月10日后交材料", "“12月10日后”是哪一天"),
    # two dates, or a festival's numerals (lunar or the calendar's?), or last year
    ("明天或后天去缴费", "“明天或后天”是哪一天"),
    ("12月10日或11日现场确认", "“12月10日或11日”是哪一天"),
    ("二月二交材料", "“二月二”是哪一天"),
    ("去年12月10日交材料", "2025-12-10"),
    ("明后天缴费", "“明后天”是哪一天"),
    ("周三周四去领证书", "“周三周四”是哪一天"),
    ("明天下午3点到5点现场确认", "“下午3点到5点”是哪一天"),
    ("明天上午9点或10点交材料", "“上午9点或10点”是哪一天"),
    ("每周五交周报", "没看懂"),
]


@pytest.mark.parametrize(("text", "words"), ASKED)
def test_asked(text: str, words: str) -> None:
    assert words in asked(text)


def test_a_date_just_past_across_new_year_is_asked() -> None:
    # 12月20日 said on 15 January: last month's (a slip?) or next December's? Ask
    assert "刚过去不久（2026-12-20）" in asked("12月20日资格审核", at(2027, 1, 15, 9, 0))


def test_a_time_word_not_read_is_never_09_00() -> None:
    for text in ("明天下吴3点", "明天下吴9点交材料", "12月10日下吴10点"):
        assert isinstance(read_reminder(text, NOW), NotUnderstood), text


def test_numbers_inside_the_text_are_no_date() -> None:
    for text in ("记得带5号电池", "交中秋节活动材料", "提醒我交第3号材料"):
        assert "没看懂" in asked(text), text


def test_holidays_and_long_texts_are_fast() -> None:
    read_reminder("清明", NOW)
    start = time.perf_counter()
    for _ in range(100):
        read_reminder("清明", NOW)
        read_reminder("交材料" * 60 + "明天", NOW)
    assert time.perf_counter() - start < 1.0  # about 0.1 ms each on the dev machine


def test_past_asked_in_other_nows() -> None:
    assert "今年已经过去了" in asked("12月28日交材料", at(2026, 12, 29, 21, 0))
    assert "今年已经过去了" in asked("1月3号交材料", at(2027, 1, 28, 9, 0))
    assert "已经过了" in asked("月底前交材料", at(2026, 12, 31, 23, 0))


def test_durations_keep_the_minutes() -> None:
    now = at(2026, 11, 24, 10, 7)
    assert read("半小时后喝水", now).at == now + timedelta(minutes=30)


def _set(name: str) -> list[dict[str, object]]:
    items = yaml.safe_load((ROOT / "tests" / "data" / name).read_text(encoding="utf-8"))
    assert isinstance(items, list)
    return items


def test_development_set_has_no_wrong_datetime_and_no_crash() -> None:
    scores = score(_set("dates_dev.yaml"))
    assert (scores.wrong, scores.crashes) == (0, 0), scores.misses
    assert scores.needless_asks <= 0.03 * scores.clear


@pytest.mark.parametrize(
    "name", ["dates_holdout.yaml", "dates_holdout2.yaml", "dates_holdout3.yaml"]
)
def test_opened_holdouts_have_no_wrong_datetime_and_no_crash(name: str) -> None:
    """Holdouts 1-3 were opened phrase by phrase to fix what they found (1, 5 and 6 wrong
    datetimes), each only after the next independent set was written: they are development
    sets now. The untouched holdout is dates_holdout4.yaml (see README)."""
    scores = score(_set(name))
    # holdout 3's writer asks about 明天 said at 00:30 (today or the next day?); the parser
    # takes the next day, as the agreed convention says nothing about it: one known difference
    agreed = {"dates_holdout3.yaml": 1}.get(name, 0)
    assert scores.crashes == 0 and scores.wrong <= agreed, scores.misses
    assert scores.needless_asks <= 0.03 * scores.clear, scores.misses


def test_untouched_holdout_keeps_its_measured_figures() -> None:
    """Holdout 4 is never read phrase by phrase, only counted: 0 wrong datetimes, 0 crashes,
    2 of 319 clear phrases asked back when issue 17 was closed."""
    scores = score(_set("dates_holdout4.yaml"))
    assert (scores.wrong, scores.crashes) == (0, 0)
    assert scores.needless_asks <= 0.03 * scores.clear
