"""Deliver broadcasts: a small window of messages in flight, each recorded before and after.

Recipients are written to the database when a broadcast starts; each delivery is claimed
('sending', committed) before its message goes out and recorded after. Up to ``WINDOW``
deliveries are in flight at once, so the rate is the channel's ceiling rather than one per
round trip (28 msg/s needs 28 x 0.2 s = 5.6 in flight at a 200 ms round trip; 8 leaves
room). After a crash or restart the broadcast resumes by itself and the deliveries that were
in flight are sent again: after kill -9 at most ``WINDOW`` recipients get it twice, and
nobody is skipped. A send that timed out after the request went out may have arrived: it is
counted as unsure and not sent again. A permanent failure is final; flood limits and
network trouble are retried. Sends wait at broadcast priority, behind replies and reminders.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import datetime

from bot.broadcast.flow import BroadcastFlow
from bot.core.reply import Button, CopyOf, Message, Reply
from bot.core.text import Text, markup
from bot.delivery import NO_SENDER, Editor, Outcome, Priority, Result, Senders
from bot.delivery.worker import Worker
from bot.storage import Broadcast, BroadcastRepo, ChatRepo

log = logging.getLogger(__name__)

WINDOW = 8  # deliveries in flight at once: the most recipients a kill -9 can give it twice
MAX_ATTEMPTS = 9  # a delivery that keeps meeting flood limits or network trouble, then failed
PROGRESS_EVERY = 3.0  # seconds between progress edits


class BroadcastRunner(Worker):
    """The background task that sends broadcasts."""

    def __init__(
        self,
        repo: BroadcastRepo,
        chats: ChatRepo,
        senders: Senders,
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
        self.flow = flow
        self._started, self._sent_here, self._last_report = 0.0, 0, 0.0

    async def step(self) -> bool:
        """Run the oldest broadcast that is due, to its end."""
        broadcast = await self.repo.next_runnable(self.clock())
        if broadcast is None:
            return False
        return await self._run_one(broadcast)

    async def upcoming(self) -> datetime | None:
        """The next scheduled broadcast."""
        return await self.repo.next_scheduled()

    async def _run_one(self, broadcast: Broadcast) -> bool:
        """Send what is left of ``broadcast``; False when other replicas still have some of
        its deliveries in flight (they finish it; look again later)."""
        await self.repo.start(broadcast, self.clock(), self.channels)
        log.info("broadcast %d running", broadcast.id)
        self._started, self._sent_here, self._last_report = time.monotonic(), 0, 0.0
        window = asyncio.Semaphore(WINDOW)
        in_flight: set[asyncio.Task[None]] = set()
        try:
            while True:
                batch = await self.repo.pending(broadcast.id)
                if not batch:
                    if not in_flight:
                        break
                    await asyncio.wait(in_flight)  # some may come back as pending (retry)
                    continue
                for channel, chat_id, attempts in batch:
                    await window.acquire()
                    if self.stopping or await self.repo.status(broadcast.id) == "cancelled":
                        window.release()
                        await self._drain(in_flight)
                        if not self.stopping:
                            await self._report(broadcast, 0.0, final=True)
                        return True
                    if not await self.repo.claim(broadcast.id, channel, chat_id):
                        window.release()
                        continue
                    task = asyncio.create_task(
                        self._deliver(broadcast, channel, chat_id, attempts + 1)
                    )
                    in_flight.add(task)
                    task.add_done_callback(in_flight.discard)
                    task.add_done_callback(lambda _: window.release())
        finally:
            await self._drain(in_flight)
        done = await self.repo.finish(broadcast.id, "done", self.clock())
        if not done:
            if await self.repo.status(broadcast.id) == "running":
                log.info("broadcast %d: the rest is in flight on another replica", broadcast.id)
                return False
            return True  # another replica finished it, and reports it
        log.info("broadcast %d done", broadcast.id)
        await self._report(broadcast, 0.0, final=True)
        return True

    @staticmethod
    async def _drain(in_flight: set[asyncio.Task[None]]) -> None:
        """Let the sends in flight finish and be recorded."""
        if in_flight:
            await asyncio.wait(set(in_flight))

    async def _deliver(
        self, broadcast: Broadcast, channel: str, chat_id: int, attempt: int
    ) -> None:
        """One recipient: send, record, and now and then edit the progress report."""
        try:
            result = await self._send(broadcast, channel, chat_id)
        except Exception as exc:  # a sender must not raise; if it does, retry later
            log.exception("broadcast %d: sending to %s failed", broadcast.id, chat_id)
            result = Result(Outcome.RETRY, retry_after=5.0, reason=type(exc).__name__)
        self._sent_here += await self._record(broadcast.id, channel, chat_id, attempt, result)
        now = time.monotonic()
        if now - self._last_report >= PROGRESS_EVERY:
            self._last_report = now
            rate = self._sent_here / max(now - self._started, 1e-6)
            await self._report(broadcast, rate)

    @staticmethod
    def message(broadcast: Broadcast, *, private: bool = True) -> Reply:
        """What each recipient gets: the admin's text, or a copy of the admin's message.

        Follow-up buttons (a notice's "remind me", say) go to private chats only: in a group
        a tap would set the reminder for whoever tapped, into the group.
        """
        if broadcast.kind == "copy" and broadcast.from_chat_id and broadcast.from_message:
            source = CopyOf(
                broadcast.progress_channel or "telegram",
                broadcast.from_chat_id,
                broadcast.from_message,
            )
            return Reply((Message(Text(), copy_of=source),))
        rows = tuple(
            tuple(Button(label, action) for label, action in row) for row in broadcast.buttons
        )
        return Reply.single(markup(broadcast.text), rows if private else ())

    async def _send(self, broadcast: Broadcast, channel: str, chat_id: int) -> Result:
        sender = self.senders.get(channel)
        if sender is None:
            return NO_SENDER
        message = self.message(broadcast, private=chat_id > 0)  # groups and channels: < 0
        return await sender.send(chat_id, message, Priority.BROADCAST)

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
        if result.outcome is Outcome.UNSURE:  # may have arrived: never sent twice on purpose
            await self.repo.record(broadcast_id, channel, chat_id, "unsure", result.reason)
            return 0
        retry = result.outcome is Outcome.RETRY and attempts < MAX_ATTEMPTS
        if retry and result.retry_after:
            await asyncio.sleep(min(result.retry_after, 60.0))  # keeps its window slot
        status = "pending" if retry else "failed"
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
        lines = [reply.messages[0].text.strip()]
        if final and counts.failed:
            lines.append(self.flow.failures(await self.repo.failure_reasons(broadcast.id)))
        if counts.unsure:
            lines.append(self.flow.unsure(counts.unsure))
        reply = Reply.single(Text.join("\n", lines), reply.messages[0].buttons)
        await editor.edit(chat, message_id, reply)
