"""Admin broadcasts through the real Application: preview, confirm, delivery, resume."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from tests.telegram_harness import ADMIN, GROUP, Harness, buttons, harness, membership

SUBSCRIBER, OPTED_OUT, BLOCKED = 5001, 5002, 5003


async def audience(tg: Harness) -> None:
    """Three private users (two subscribed, one of them blocks the bot) and a group."""
    repo = tg.app.bot_data["app"].audience.repo
    clock = tg.app.bot_data["app"].clock
    for user in (SUBSCRIBER, OPTED_OUT, BLOCKED):
        await repo.seen("telegram", user, "private", "考生", clock())
    await repo.set_subscribed("telegram", SUBSCRIBER, True, clock())
    await repo.set_subscribed("telegram", BLOCKED, True, clock())
    group = {"id": GROUP, "type": "supergroup", "title": "交流群"}
    await tg.feed(tg.api.push_update(membership(group, "member")))
    tg.api.fail_chat(BLOCKED, 403, "Forbidden: bot was blocked by the user")


def tap(tg: Harness, label: str) -> dict[str, Any]:
    """The callback update for the button ``label`` on the last message the admin saw."""
    calls = [
        c
        for c in tg.api.calls
        if c.method in ("sendMessage", "editMessageText") and c.ok and c.chat_id == ADMIN
    ]
    last = calls[-1]
    data = dict(buttons(last.params))
    message_id = int(last.params.get("message_id") or last.response["message_id"])
    return tg.api.push_callback(data[label], ADMIN, message_id)


async def wait_done(tg: Harness) -> str:
    def finished(calls: list[Any]) -> bool:
        return any("已完成" in str(c.params.get("text")) for c in calls if c.ok)

    await tg.api.wait_for(finished, 15)
    return next(
        str(c.params["text"]) for c in tg.api.calls if "已完成" in str(c.params.get("text"))
    )


async def test_non_admin_cannot_broadcast(tg: Harness) -> None:
    await tg.command("/broadcast 大家好")
    assert "仅限管理员" in tg.sent()[-1]["text"]
    await tg.command("/broadcasts", user=ADMIN)
    assert "还没有发过广播" in tg.sent()[-1]["text"]


async def test_broadcast_to_all_after_preview_and_confirm(tg: Harness) -> None:
    await audience(tg)
    await tg.command("/broadcast 📢 <b>成绩已发布</b>，请及时查询", user=ADMIN)
    preview = tg.sent()[-1]
    assert "广播预览" in preview["text"] and "<b>成绩已发布</b>" in preview["text"]
    await asyncio.sleep(0.2)
    assert tg.api.sent_texts(SUBSCRIBER) == []  # nothing before the confirm
    await tg.feed(tap(tg, "全部（用户+群组+频道）"))
    assert "共 3 个聊天" in tg.sent("editMessageText")[-1]["text"]
    await tg.feed(tap(tg, "✅ 确认发送"))
    final = await wait_done(tg)
    assert "已发送 2" in final and "无法送达 1" in final
    assert len(tg.api.sent_texts(SUBSCRIBER)) == 1
    assert len(tg.api.sent_texts(GROUP)) == 1
    assert tg.api.sent_texts(OPTED_OUT) == []
    repo = tg.app.bot_data["app"].audience.repo
    assert not (await repo.get("telegram", BLOCKED)).member  # 403: never tried again
    await tg.command("/broadcasts", user=ADMIN)
    assert "#1 已完成" in tg.sent()[-1]["text"]


async def test_reply_is_copied_to_users_only(tg: Harness) -> None:
    await audience(tg)
    command = tg.api.push_command("/broadcast", ADMIN)
    command["message"]["reply_to_message"] = {
        "message_id": 77,
        "date": 1_760_000_000,
        "chat": {"id": ADMIN, "type": "private"},
        "text": "带格式的通知",
        "from": {"id": ADMIN, "is_bot": False, "first_name": "管理员"},
    }
    await tg.feed(command)
    assert "原样转发" in tg.sent()[-1]["text"]
    await tg.feed(tap(tg, "订阅的用户"))
    await tg.feed(tap(tg, "✅ 确认发送"))
    await wait_done(tg)
    copies = [c for c in tg.api.calls_of("copyMessage") if c.ok]
    assert [(c.chat_id, c.params["message_id"]) for c in copies] == [(SUBSCRIBER, "77")]


async def test_cancelled_draft_sends_nothing(tg: Harness) -> None:
    await audience(tg)
    await tg.command("/broadcast 测试", user=ADMIN)
    await tg.feed(tap(tg, "✖️ 取消"))
    assert "没有发送任何消息" in tg.sent("editMessageText")[-1]["text"]
    await asyncio.sleep(0.3)
    assert tg.api.sent_texts(SUBSCRIBER) == []


async def test_scheduled_broadcast_waits_for_its_time(tg: Harness) -> None:
    await audience(tg)
    await tg.command("/broadcast_at 6秒后 复核通知已发布", user=ADMIN)
    assert "定时" in tg.sent()[-1]["text"]
    await tg.feed(tap(tg, "订阅的用户"))
    await tg.feed(tap(tg, "✅ 确认发送"))
    assert "将于" in tg.sent("editMessageText")[-1]["text"]
    assert tg.api.sent_texts(SUBSCRIBER) == []
    await wait_done(tg)
    assert tg.api.sent_texts(SUBSCRIBER) == ["复核通知已发布"]


async def test_flood_answer_is_honoured_and_other_errors_counted(tg: Harness) -> None:
    await audience(tg)
    tg.api.unfail_chat(BLOCKED)
    tg.api.fail_chat(SUBSCRIBER, 429, "Too Many Requests: retry after 1", times=1, retry_after=1)
    tg.api.fail_chat(BLOCKED, 400, "Bad Request: message text is empty")
    await tg.command("/broadcast 注意查收", user=ADMIN)
    await tg.feed(tap(tg, "订阅的用户"))
    await tg.feed(tap(tg, "✅ 确认发送"))
    final = await wait_done(tg)
    assert tg.api.sent_texts(SUBSCRIBER) == ["注意查收"]  # sent once, after the 429
    attempts = [c for c in tg.api.calls_of("sendMessage") if c.chat_id == BLOCKED]
    assert len(attempts) == 1  # a permanent failure is final: not retried, counted as failed
    assert "已发送 1，失败 1" in final
    assert "Message text is empty × 1" in final  # the admin sees why


async def test_running_broadcast_can_be_stopped(tg: Harness) -> None:
    repo = tg.app.bot_data["app"].audience.repo
    clock = tg.app.bot_data["app"].clock
    for user in range(9000, 9300):
        await repo.seen("telegram", user, "private", "考生", clock())
        await repo.set_subscribed("telegram", user, True, clock())
    await tg.command("/broadcast 很长的广播", user=ADMIN)
    await tg.feed(tap(tg, "订阅的用户"))
    await tg.feed(tap(tg, "✅ 确认发送"))

    def delivered() -> int:
        return len([t for t in tg.api.sent_texts() if t == "很长的广播"])

    await tg.api.wait_for(lambda calls: delivered() >= 20, 10)
    await tg.feed(tap(tg, "⏹ 停止发送"))
    await asyncio.sleep(0.5)
    sent = delivered()
    assert 20 <= sent < 300
    await asyncio.sleep(0.5)
    assert delivered() <= sent + 1  # at most the one in flight when stopped
    assert "已停止" in tg.sent("editMessageText")[-1]["text"]


async def test_broadcast_reaches_wechat_followers_through_their_channel(
    content_copy: Path,
) -> None:
    from bot.core.reply import Reply
    from bot.delivery import Outcome, Priority, Result

    delivered: list[tuple[int, str]] = []

    class FakeWeChat:
        async def send(self, chat_id: int, reply: Reply, priority: Priority) -> Result:
            assert priority is Priority.BROADCAST
            delivered.append((chat_id, reply.messages[0].text.plain_text))
            return Result(Outcome.SENT)

    async def close() -> None:
        return None

    follower = 1  # the same number as a Telegram user would not matter: the channel differs
    async with harness(content_copy, lambda db, store: {"wechat": (FakeWeChat(), close)}) as tg:
        await tg.app.bot_data["app"].audience.followed("wechat", follower)
        await audience(tg)
        await tg.command("/broadcast 复核通知已发布", user=ADMIN)
        await tg.feed(tap(tg, "订阅的用户"))
        assert "共 3 个聊天" in tg.sent("editMessageText")[-1]["text"]  # 2 Telegram + WeChat
        await tg.feed(tap(tg, "✅ 确认发送"))
        final = await wait_done(tg)
    assert delivered == [(follower, "复核通知已发布")]
    assert tg.api.sent_texts(SUBSCRIBER) == ["复核通知已发布"]
    assert "已发送 2" in final and "无法送达 1" in final
