"""Send alerts when they come due; SQLite is the schedule, nothing is held in memory.

At start-up alerts left 'sending' by a crash are released (sent again: at most one
duplicate). Then the loop asks the alerts_due index for what is due, claims each alert
(committed) before sending and records the outcome after; when nothing is due it sleeps
until the earliest pending alert, or until :meth:`Dispatcher.wake` says a new one exists.
Start-up time and memory do not depend on how many reminders are stored.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

from bot.core.reply import Reply
from bot.delivery import NO_SENDER, Outcome, Priority, Senders
from bot.delivery.worker import Worker
from bot.storage import DueAlert, ReminderRepo

log = logging.getLogger(__name__)

BATCH = 200
CONCURRENT_SENDS = 8  # enough to fill the flood budget's slots at 50-200 ms per request


class Dispatcher(Worker):
    """The background task that delivers reminders."""

    def __init__(
        self,
        repo: ReminderRepo,
        senders: Senders,
        render: Callable[[DueAlert, bool], Reply],
        *,
        clock: Callable[[], datetime],
        wake: asyncio.Event | None = None,
    ) -> None:
        super().__init__(clock, wake)
        self.channels = tuple(senders)  # this process delivers alerts into these channels
        self.repo = repo
        self.senders = senders
        self.render = render
        self.started_at = clock()
        self._sends = asyncio.Semaphore(CONCURRENT_SENDS)
        self.sent = 0

    async def run(self) -> None:
        """Release alerts a crash left in flight, then deliver until cancelled."""
        released = await self.repo.recover(self.channels)
        if released:
            log.warning(
                "%d alert(s) were being sent at the last stop; sending them again", released
            )
        await super().run()

    async def step(self) -> bool:
        """Send what is due now (a batch at a time)."""
        batch = await self.repo.due(self.clock(), BATCH, self.channels)
        await asyncio.gather(*(self._deliver(alert) for alert in batch))
        return bool(batch)

    async def upcoming(self) -> datetime | None:
        """The earliest pending alert."""
        return await self.repo.next_fire_at(self.channels)

    async def _deliver(self, alert: DueAlert) -> None:
        async with self._sends:
            if not await self.repo.claim(alert.id):
                return
            late = alert.fire_at < self.started_at
            sender = self.senders.get(alert.channel)
            reply = self.render(alert, late)
            result = (
                NO_SENDER
                if sender is None
                else await sender.send(alert.chat_id, reply, Priority.REMINDER)
            )
            if result.outcome is Outcome.SENT:
                await self.repo.finish(alert.id, "sent", self.clock())
                self.sent += 1
            elif result.outcome is Outcome.BLOCKED:
                await self.repo.finish(alert.id, "blocked", self.clock())
                stopped = await self.repo.block_chat(alert.channel, alert.chat_id)
                log.info("chat %s blocked the bot; %d alert(s) stopped", alert.chat_id, stopped)
            elif result.outcome is Outcome.RETRY:
                await self.repo.release(alert.id)
                await asyncio.sleep(result.retry_after)
            elif result.outcome is Outcome.UNSURE:
                # The request went out but no answer came back: it may have arrived. Send it
                # once more (a reminder that never arrives is worse than one twice), no more.
                if not await self.repo.retry_unsure(alert.id):
                    await self.repo.finish(alert.id, "unsure", self.clock())
                log.info("alert %s may have been delivered: %s", alert.id, result.reason)
            else:
                log.warning("alert %s failed: %s", alert.id, result.reason)
                await self.repo.finish(alert.id, "failed", self.clock())
