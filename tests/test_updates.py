"""Which updates are handled now: a bounded number of chats, and a chat already being
answered goes ahead of the line."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from telegram import Chat, Message, Update, User

from bot.channels.telegram.updates import PER_CHAT, ChatFairProcessor


def update(update_id: int, chat_id: int) -> Update:
    chat = Chat(chat_id, "private")
    user = User(chat_id, "考生", is_bot=False)
    message = Message(update_id, datetime(2026, 11, 24, tzinfo=UTC), chat, from_user=user)
    return Update(update_id, message=message)


async def test_a_chat_being_handled_skips_the_line() -> None:
    processor = ChatFairProcessor(limit=2)
    release = asyncio.Event()
    order: list[str] = []

    async def handler(name: str) -> None:
        order.append(f"start {name}")
        await release.wait()

    # Chats 1 and 2 take both slots; chat 3 waits; chat 1 writes again.
    tasks = [
        asyncio.create_task(processor.process_update(update(n, chat), handler(name)))
        for n, (chat, name) in enumerate([(1, "a1"), (2, "b1"), (3, "c1"), (1, "a2")])
    ]
    await asyncio.sleep(0.05)
    assert order == ["start a1", "start b1", "start a2"]  # a2 did not wait behind c1
    release.set()
    await asyncio.gather(*tasks)
    assert order[-1] == "start c1"
    assert processor._active == {}


async def test_one_chat_cannot_take_more_than_its_share() -> None:
    processor = ChatFairProcessor(limit=1)
    release = asyncio.Event()
    running = 0
    peak = 0

    async def handler() -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await release.wait()
        running -= 1

    tasks = [
        asyncio.create_task(processor.process_update(update(n, 7), handler())) for n in range(10)
    ]
    await asyncio.sleep(0.05)
    assert peak == PER_CHAT
    release.set()
    await asyncio.gather(*tasks)
