"""End to end: a broadcast to a few thousand chats under Telegram-like flood limits,
killed with SIGKILL midway and restarted: it completes, every active chat gets it, blocked
chats are counted, and at most the one message in flight at the kill is sent twice."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
from collections import Counter
from pathlib import Path

from bot.storage import Database
from tests.botproc import BotProcess
from tests.standin import Call, StandinServer

ADMIN = 999
USERS = range(700_000, 701_960)
GROUPS = range(-1_000_700_000, -1_000_700_040)
BLOCKED = set(range(700_000, 701_960, 65))  # 31 users who blocked the bot
TEXT = "📢 2026年成绩复核通知已发布，请按通知要求办理。"


async def seed(path: Path) -> None:
    db = await Database.open(path)
    await db.close()
    rows = [(u, "private", "考生", 1, 1, 1, "2026-11-24T00:00:00+00:00") for u in USERS]
    rows += [(g, "supergroup", "群", 1, 1, 1, "2026-11-24T00:00:00+00:00") for g in GROUPS]
    with sqlite3.connect(path) as conn:
        conn.executemany(
            "INSERT INTO chats (chat_id, type, title, member, subscribed, asked, updated_at,"
            " channel) VALUES (?, ?, ?, ?, ?, ?, ?, 'telegram')",
            rows,
        )


def broadcast_sends(calls: list[Call]) -> Counter[int | str | None]:
    return Counter(
        c.chat_id
        for c in calls
        if c.method == "sendMessage" and c.ok and c.params.get("text") == TEXT
    )


def last_button(calls: list[Call], prefix: str) -> tuple[str, int]:
    for call in reversed(calls):
        markup = call.params.get("reply_markup") or {}
        for row in markup.get("inline_keyboard", []):
            for button in row:
                if str(button.get("callback_data", "")).startswith(prefix):
                    message_id = call.params.get("message_id") or call.response["message_id"]
                    return button["callback_data"], int(message_id)
    raise AssertionError(f"no button {prefix!r}")


async def test_broadcast_survives_kill_9_under_flood_limits(tmp_path: Path) -> None:
    await seed(tmp_path / "bot.db")
    env = {"BOT_ADMIN_IDS": str(ADMIN)}
    async with StandinServer(flood_limits=True) as server:
        api = server.api
        for chat in BLOCKED:
            api.fail_chat(chat, 403, "Forbidden: bot was blocked by the user")
        first = BotProcess(api, server.base_url, tmp_path, env=env, name="first")
        await first.start()
        api.push_command(f"/broadcast {TEXT}", ADMIN)
        await api.wait_for(
            lambda calls: any("广播预览" in str(c.params.get("text")) for c in calls)
        )
        data, message_id = last_button(api.calls, "b:a:")
        api.push_callback(data, ADMIN, message_id)
        await api.wait_for(
            lambda calls: any("确认发送广播" in str(c.params.get("text")) for c in calls)
        )
        data, message_id = last_button(api.calls, "b:c:")
        api.push_callback(data, ADMIN, message_id)
        await api.wait_for(lambda calls: sum(broadcast_sends(calls).values()) >= 400, 60)
        assert await first.stop(signal.SIGKILL) == -signal.SIGKILL
        sent_before = sum(broadcast_sends(api.calls).values())
        async with BotProcess(api, server.base_url, tmp_path, env=env, name="second"):

            def finished(calls: list[Call]) -> bool:
                return any("已完成" in str(c.params.get("text")) for c in calls if c.ok)

            await api.wait_for(finished, 150)
            await asyncio.sleep(1)
        sends = broadcast_sends(api.calls)
        final = next(
            str(c.params["text"]) for c in api.calls if "已完成" in str(c.params.get("text"))
        )
    active = (set(USERS) | set(GROUPS)) - BLOCKED
    assert sent_before < len(active)  # the kill really happened midway
    assert set(sends) == active  # nobody active skipped, nothing to blocked chats
    duplicates = sum(n - 1 for n in sends.values())
    assert duplicates <= 1  # at most the one message in flight at the kill
    assert f"无法送达 {len(BLOCKED)}" in final
    assert not [c for c in api.calls if c.status == 429], "the pacer should stay under limits"
