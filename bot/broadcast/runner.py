"""Deliver broadcasts: one recipient at a time, paced, recorded before and after each send.

Recipients are written to SQLite when a broadcast starts; each delivery is claimed
('sending', committed) before its message goes out and recorded after. After a crash or
restart the broadcast resumes by itself; the one delivery that was in flight is sent again,
so the worst case after kill -9 is one recipient getting the message twice. Reminders share
the pacer as urgent and overtake a running broadcast.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import datetime

from bot.broadcast.flow import BroadcastFlow
from bot.core.reply import CopyOf, Message, Reply
from bot.core.text import Text, markup
from bot.delivery import NO_SENDER, Editor, Outcome, Pacer, Result, Senders
from bot.delivery.worker import Worker
from bot.storage import Broadcast, BroadcastRepo, ChatRepo

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3  # a delivery failing for other reasons is tried this often, then counted
PROGRESS_EVERY = 3.0  # seconds between progress edits


class BroadcastRunner(Worker):
    """The background task that sends broadcasts."""

    def __init__(
        self,
        repo: BroadcastRepo,
        chats: ChatRepo,
        senders: Senders,
        pacer: Pacer,
        *,
        clock: Callable[[], datetime],
        flow: BroadcastFlow,
        wake: asyncio.Event | None = None,
    ) -> None:
        super().__init__(clock, wake)
        self.repo = repo
        self.chats = chats
        self.senders = senders
        self.channels = tuple(senders)  # a broadcast reaches the chats of these channels
        self.pacer = pacer
        self.flow = flow

    async def step(self) -> bool:
        """Run the oldest broadcast that is due, to its end."""
        broadcast = await self.repo.next_runnable(self.clock())
        if broadcast is None:
            return False
        await self._run_one(broadcast)
        return True

    async def upcoming(self) -> datetime | None:
        """The next scheduled broadcast."""
        return await self.repo.next_scheduled()

    async def _run_one(self, broadcast: Broadcast) -> None:
        await self.repo.start(broadcast, self.clock(), self.channels)
        log.info("broadcast %d running", broadcast.id)
        started, sent_here, last_report = time.monotonic(), 0, 0.0
        while batch := await self.repo.pending(broadcast.id):
            for channel, chat_id, attempts in batch:
                if await self.repo.status(broadcast.id) == "cancelled":
                    await self._report(broadcast, 0.0, final=True)
                    return
                await self.pacer.wait(chat_id=chat_id)
                if not await self.repo.claim(broadcast.id, channel, chat_id):
                    continue
                result = await self._send(broadcast, channel, chat_id)
                sent_here += await self._record(
                    broadcast.id, channel, chat_id, attempts + 1, result
                )
                now = time.monotonic()
                if now - last_report >= PROGRESS_EVERY:
                    last_report = now
                    await self._report(broadcast, sent_here / max(now - started, 1e-6))
        await self.repo.finish(broadcast.id, "done", self.clock())
        log.info("broadcast %d done", broadcast.id)
        await self._report(broadcast, 0.0, final=True)

    @staticmethod
    def message(broadcast: Broadcast) -> Reply:
        """What each recipient gets: the admin's text, or a copy of the admin's message."""
        if broadcast.kind == "copy" and broadcast.from_chat_id and broadcast.from_message:
            source = CopyOf(
                broadcast.progress_channel or "telegram",
                broadcast.from_chat_id,
                broadcast.from_message,
            )
            return Reply((Message(Text(), copy_of=source),))
        return Reply.single(markup(broadcast.text))

    async def _send(self, broadcast: Broadcast, channel: str, chat_id: int) -> Result:
        sender = self.senders.get(channel)
        if sender is None:
            return NO_SENDER
        return await sender.send(chat_id, self.message(broadcast))

    async def _record(
        self, broadcast_id: int, channel: str, chat_id: int, attempts: int, result: Result
    ) -> int:
        """Store the outcome; returns 1 when the message was delivered."""
        if result.outcome is Outcome.SENT:
            await self.repo.record(broadcast_id, channel, chat_id, "sent")
            return 1
        if result.outcome is Outcome.BLOCKED:
            await self.repo.record(broadcast_id, channel, chat_id, "blocked", result.reason)
            await self.chats.left(channel, chat_id, self.clock())
            return 0
        if result.outcome is Outcome.RETRY:
            self.pacer.pause(result.retry_after)
        retry = result.outcome is Outcome.RETRY or attempts < MAX_ATTEMPTS
        status = "pending" if retry and attempts < MAX_ATTEMPTS * 3 else "failed"
        await self.repo.record(broadcast_id, channel, chat_id, status, result.reason)
        return 0

    async def _report(self, broadcast: Broadcast, rate: float, *, final: bool = False) -> None:
        chat, message_id = broadcast.progress_chat, broadcast.progress_msg
        editor = self.senders.get(broadcast.progress_channel or "")
        if chat is None or message_id is None or not isinstance(editor, Editor):
            return
        fresh = await self.repo.get(broadcast.id) or broadcast
        counts = await self.repo.counts(broadcast.id)
        reply = self.flow.progress(fresh, counts, rate, final)
        if final and counts.failed:
            reasons = self.flow.failures(await self.repo.failure_reasons(broadcast.id))
            first = reply.messages[0]
            reply = Reply.single(Text.join("\n", [first.text.strip(), reasons]), first.buttons)
        await editor.edit(chat, message_id, reply)
