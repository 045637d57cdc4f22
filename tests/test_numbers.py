"""The one number reader: ASCII and full-width digits are numbers, every other digit is text."""

from __future__ import annotations

import io
import time
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from wechatpy import parse_message

from bot.app import App
from bot.channels.console.session import CONSOLE_USER, answer_line, render, run_console
from bot.channels.wechat.adapter import WeChatAdapter
from bot.core.conversation import Conversation
from bot.core.numbers import is_digit, parse_int
from bot.core.router import Who
from bot.dates import NotUnderstood, parse_when
from bot.storage import ReminderRepo, WeChatUserRepo

NOT_NUMBERS = [
    "①",  # circled: str.isdigit() is true, int() raises
    "²",  # superscript: NFKC makes it "2"
    "٣",  # Arabic-Indic: int() reads it as 3
    "۷",  # Extended Arabic-Indic
    "३",  # Devanagari
    "𝟏",  # mathematical bold
    "⑴",
    "⒈",
    "",
    " ",
    "-1",
    "+1",
    "1.5",
    "1e3",
    "1 2",
    "1_000",
    "12a",
    "\u200b1",  # zero-width space
]
SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 20, 10, 0, tzinfo=SHANGHAI)
USER = Who("telegram", 4242, 4242)


@pytest.mark.parametrize("text", NOT_NUMBERS)
def test_other_digits_are_text(text: str) -> None:
    assert parse_int(text) is None


@pytest.mark.parametrize(
    ("text", "value"), [("7", 7), ("０", 0), ("１２", 12), ("1２", 12), (" 42 ", 42), ("007", 7)]
)
def test_ascii_and_full_width_digits_are_numbers(text: str, value: int) -> None:
    assert parse_int(text) == value


def test_length_is_bounded_before_any_conversion() -> None:
    assert parse_int("9" * 9) == 999_999_999
    assert parse_int("9" * 10) is None
    assert parse_int("1" * 5000, max_digits=18) is None
    assert parse_int("123", max_digits=3) == 123
    assert parse_int("1234", max_digits=3) is None


def test_is_digit_is_one_ascii_or_full_width_digit() -> None:
    assert all(is_digit(c) for c in "0123456789０１２３４５６７８９")
    assert not any(is_digit(c) for c in "①²٣𝟏a ")
    assert not is_digit("12")


@pytest.mark.parametrize("text", ["①月②日", "12月①日", "٣月5日", "㋀5日", "𝟏𝟐月10日", "12月⑩日"])
def test_dates_refuse_digit_lookalikes(text: str) -> None:
    assert isinstance(parse_when(text, NOW), NotUnderstood)


def test_dates_take_full_width_digits_and_keep_lookalikes_as_text() -> None:
    when = parse_when("１２月１０日 ９点", NOW)
    assert not isinstance(when, NotUnderstood)
    assert when.at == datetime(2026, 12, 10, 9, 0, tzinfo=SHANGHAI)
    # "²点" is not 2 o'clock: it stays part of the text, the time is the default.
    when = parse_when("12月10日 ²点", NOW)
    assert not isinstance(when, NotUnderstood)
    assert (when.at.hour, when.rest) == (9, "²点")


async def test_remind_with_circled_digits_is_politely_refused(app: App) -> None:
    conversation = app.conversation
    for args in ("①月②日", "review ①月②日", "明天 ⑨点", "12月①日 交材料"):
        reply = await conversation.command("remind", USER, args)
        assert reply is not None
        text = reply.messages[-1].text.plain_text
        if args == "明天 ⑨点":
            # Tomorrow is a date; "⑨点" is no time, so it is the reminder's text.
            assert "⑨点" in text
        elif args == "12月①日 交材料":
            # "12月" is read, "①日" is no day: which day of December? (issue 17)
            assert "“12月”是哪一天" in text, text
        else:
            assert "没看懂这个时间" in text, text
    stored = await ReminderRepo(app.db).list_active("telegram", USER.user_id)
    assert [r.text for r in stored] == ["⑨点"]
    assert stored[0].due_at.astimezone(SHANGHAI).hour == 9  # the default time, not ⑨


async def test_guided_remind_refuses_lookalike_dates(conversation: Conversation) -> None:
    await conversation.command("remind", USER)
    await conversation.action("r:k:audit", USER)
    reply = await conversation.text("①月②日", USER)
    assert "没看懂这个时间" in reply.messages[0].text.plain_text
    assert "r:x" in [b.action for row in reply.last_buttons for b in row]  # asked again


async def test_forged_reminder_ids_of_any_digit_class_are_not_found(app: App) -> None:
    conversation = app.conversation
    await conversation.command("remind", USER, "review 2026-12-10 09:00")
    for data in ("r:del:①", "r:del:٣", "r:del:" + "9" * 5000, "r:snz:²", "r:del:-1"):
        reply = await conversation.action(data, USER)
        assert "找不到这个提醒" in reply.messages[0].text.plain_text, data
    assert len(await ReminderRepo(app.db).list_active("telegram", USER.user_id)) == 1
    reminder_id = (await ReminderRepo(app.db).list_active("telegram", USER.user_id))[0].id
    full_width = str(reminder_id).translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    await conversation.action(f"r:del:{full_width}", USER)  # full-width digits are digits
    assert await ReminderRepo(app.db).list_active("telegram", USER.user_id) == []


async def test_forged_broadcast_ids_are_not_found(conversation: Conversation) -> None:
    admin = Who("telegram", 900, 900, is_admin=True)
    for data in ("b:a:①:all", "b:c:" + "1" * 5000 + ":all", "b:x:٣"):
        reply = await conversation.action(data, admin)
        assert "找不到这个广播" in reply.messages[0].text.plain_text, data


async def test_console_choices_take_full_width_and_refuse_lookalikes(
    conversation: Conversation,
) -> None:
    start = await conversation.command("start", CONSOLE_USER)
    assert start is not None
    _, choices = render(start)
    first = await answer_line(conversation, "１", choices)
    assert first is not None and "发布" in first.messages[0].text.plain_text
    for line in ("①", "²", "٣", "9" * 5000):
        reply = await answer_line(conversation, line, choices)
        assert reply is not None and reply.messages  # answered as text, no crash
        assert "请输入 1 到" not in reply.messages[0].text.plain_text


async def test_console_session_survives_digit_lookalikes(conversation: Conversation) -> None:
    out = io.StringIO()
    lines = "①\n²\n٣\n" + "9" * 5000 + "\n/remind ①月②日\n/steps\n"
    await run_console(conversation, io.StringIO(lines), out)
    assert "成绩查询四步走" in out.getvalue()  # still answering at the end


def _wechat_text(content: str, msg_id: int) -> object:
    return parse_message(
        "<xml><ToUserName><![CDATA[gh]]></ToUserName><FromUserName><![CDATA[oNumbers]]>"
        f"</FromUserName><CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]>"
        f"</MsgType><Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId></xml>"
    )


def _content(xml: str) -> str:
    return str(parse_message(xml).content)


async def test_wechat_typed_choices_take_full_width_and_refuse_lookalikes(app: App) -> None:
    adapter = WeChatAdapter(app, WeChatUserRepo(app.db))
    menu = _content(await adapter.once(_wechat_text("菜单", 1)))
    assert "1." in menu
    chosen = _content(await adapter.once(_wechat_text("１", 2)))
    assert "发布" in chosen  # full-width 1: the first choice (谁发布成绩)
    await adapter.once(_wechat_text("菜单", 3))
    for n, text in enumerate(("①", "²", "٣", "9" * 5000), 4):
        answer = _content(await adapter.once(_wechat_text(text, n)))
        assert answer and "谁发布成绩" not in answer.splitlines()[0]
