"""Per-user flood guard: one notice past the rate, a pause for that user only, admins exempt."""

from __future__ import annotations

import io
from pathlib import Path

from bot.app import App
from bot.channels.console.session import run_console
from bot.core.flood import LIMIT, PAUSE, FloodGuard, Verdict
from bot.core.router import Who
from tests.telegram_harness import ADMIN, USER, Harness
from tests.test_hostile_input import raw_text, reply_fields
from tests.test_wechat_security import served

NOTICE = "你发得太快了"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def guarded(app: App, clock: Clock, limit: int = LIMIT) -> None:
    app.conversation.flood = FloodGuard(limit=limit, clock=clock)


def test_guard_counts_a_sliding_window() -> None:
    clock = Clock()
    guard = FloodGuard(limit=3, window=10.0, pause=30.0, clock=clock)
    assert [guard.check("a") for _ in range(3)] == [Verdict.ANSWER] * 3
    clock.now += 10.0  # the first three left the window
    assert [guard.check("a") for _ in range(3)] == [Verdict.ANSWER] * 3
    assert guard.check("a") is Verdict.NOTICE
    assert guard.check("a") is Verdict.IGNORE
    assert guard.paused("a") and not guard.paused("b")
    assert guard.check("b") is Verdict.ANSWER  # others are not slowed
    clock.now += 30.0
    assert not guard.paused("a")
    assert guard.check("a") is Verdict.ANSWER


def test_guard_forgets_idle_users() -> None:
    clock = Clock()
    guard = FloodGuard(limit=3, window=10.0, pause=30.0, clock=clock, max_users=1000)
    for user in range(500):
        guard.check(user)
    assert len(guard) == 500
    clock.now += 31.0
    guard.check("new")
    assert len(guard) == 1
    for user in range(5000):
        guard.check(user)
    assert len(guard) <= 1000  # a hard cap even without idle time


async def test_past_the_limit_one_notice_then_silence(app: App) -> None:
    clock = Clock()
    guarded(app, clock)
    conversation = app.conversation
    flooder, other = Who("telegram", 7, 7), Who("telegram", 8, 8)
    for _ in range(LIMIT):
        reply = await conversation.text("准考证号忘了怎么办", flooder)
        assert "准考证" in reply.messages[0].text.plain_text
    notice = await conversation.command("steps", flooder)
    assert notice is not None and NOTICE in notice.messages[0].text.plain_text
    assert not notice.alert
    for _ in range(50):  # commands, texts and taps alike are ignored for a while
        ignored = await conversation.command("steps", flooder)
        assert ignored is not None and ignored.messages == ()
        assert (await conversation.text("你好", flooder)).messages == ()
        assert (await conversation.action("m", flooder)).messages == ()
    steps = await conversation.command("steps", other)
    assert steps is not None and "成绩查询四步走" in steps.messages[0].text.plain_text
    clock.now += PAUSE
    again = await conversation.command("steps", flooder)
    assert again is not None and "成绩查询四步走" in again.messages[0].text.plain_text


async def test_notice_for_a_tap_is_an_alert(app: App) -> None:
    clock = Clock()
    guarded(app, clock, limit=2)
    who = Who("telegram", 7, 7)
    await app.conversation.action("m", who)
    await app.conversation.action("m", who)
    notice = await app.conversation.action("m", who)
    assert notice.alert and NOTICE in notice.messages[0].text.plain_text


async def test_admins_are_exempt(app: App) -> None:
    guarded(app, Clock(), limit=2)
    admin = Who("telegram", ADMIN, ADMIN, is_admin=True)
    for _ in range(10):
        reply = await app.conversation.command("steps", admin)
        assert reply is not None and "成绩查询四步走" in reply.messages[0].text.plain_text


async def test_console_prints_nothing_for_ignored_lines(app: App) -> None:
    guarded(app, Clock(), limit=2)
    out = io.StringIO()
    user = Who("console", 1, 1)  # the console user on a shared database is no admin
    await run_console(app.conversation, io.StringIO("/steps\n/steps\n/steps\n"), out, who=user)
    text = out.getvalue()
    assert text.count(NOTICE) == 1
    assert text.count("成绩查询四步走") == 1  # /start counted first, then one /steps


async def test_telegram_flooder_gets_one_notice_and_nothing_more(tg: Harness) -> None:
    clock = Clock()
    guarded(tg.app.bot_data["app"], clock, limit=2)
    for _ in range(5):
        await tg.command("/steps")
    texts = tg.api.sent_texts(USER)
    assert sum("成绩查询四步走" in t for t in texts) == 2
    assert sum(NOTICE in t for t in texts) == 1
    assert len(texts) == 5  # two answers of two messages each, and the notice
    menu_id = tg.api.calls_of("sendMessage")[0].response["message_id"]
    await tg.feed(tg.api.push_callback("m", USER, menu_id))
    # Ignored: not even an answer (answers draw on the budget every chat shares).
    assert not tg.api.calls_of("answerCallbackQuery")
    assert not tg.api.calls_of("editMessageText")
    await tg.command("/steps", user=ADMIN)
    assert "成绩查询四步走" in tg.api.sent_texts(ADMIN)[-2]  # the first of its two messages


async def test_wechat_follower_past_the_rate_gets_one_notice_then_success(
    content_copy: Path,
) -> None:
    """Ignored messages are answered "success" (no reply), never an empty text reply."""
    async with served(content_copy) as wx:
        clock = Clock()
        guarded(wx.app, clock, limit=3)
        bodies = []
        for n in range(6):
            status, body = await wx.post(raw_text("菜单", msg_id=str(5000 + n)))
            assert status == 200
            bodies.append(body)
    assert all("<xml>" in b for b in bodies[:3])
    assert NOTICE in reply_fields(bodies[3])[1]
    assert bodies[4:] == ["success", "success"]


async def test_stickers_and_photos_count_too(app: App) -> None:
    clock = Clock()
    guarded(app, clock, limit=2)
    who = Who("wechat", 77, 77)
    answers = [app.conversation.free_text(who) for _ in range(4)]
    assert [bool(a.messages) for a in answers] == [True, True, True, False]
    assert NOTICE in answers[2].messages[0].text.plain_text
