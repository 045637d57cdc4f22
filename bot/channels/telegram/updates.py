"""Which updates are handled now: a bounded number at once, and a chat already being
answered goes ahead.

python-telegram-bot starts a task per update and lets ``max_concurrent_updates`` of them
run, the rest waiting in arrival order. On score-release day a candidate whose first answer
is still waiting for the flood budget and who writes again would then wait behind every
update that came in between before their second message is even read. Here the second
update of a chat that is already being handled skips that line (at most ``PER_CHAT`` at
once per chat), so its reply joins the chat's place in the flood budget and follows the
first answer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

PER_CHAT = 3  # updates of one chat handled at once (a user typing fast cannot take more)
UNBOUNDED = 1_000_000  # PTB's own gate stays open; the gate below bounds the work


class ChatFairProcessor(BaseUpdateProcessor):
    """At most ``limit`` chats handled at once; further updates of those chats join them."""

    def __init__(self, limit: int) -> None:
        super().__init__(UNBOUNDED)
        self.limit = limit
        self._gate = asyncio.Semaphore(limit)
        self._active: dict[int, int] = {}  # chat id -> updates being handled

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Handle ``update`` now when its chat is already being handled, else when a slot frees."""
        chat = (
            update.effective_chat.id
            if isinstance(update, Update) and update.effective_chat
            else None
        )
        if chat is not None and 0 < self._active.get(chat, 0) < PER_CHAT:
            await self._run(chat, coroutine)
            return
        async with self._gate:
            await self._run(chat, coroutine)

    async def _run(self, chat: int | None, coroutine: Awaitable[Any]) -> None:
        if chat is None:
            await coroutine
            return
        self._active[chat] = self._active.get(chat, 0) + 1
        try:
            await coroutine
        finally:
            left = self._active[chat] - 1
            if left:
                self._active[chat] = left
            else:
                del self._active[chat]

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to free."""
