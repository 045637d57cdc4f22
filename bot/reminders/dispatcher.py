"""Send alerts when they come due; SQLite is the schedule, nothing is held in memory.

At start-up alerts left 'sending' by a crash are released (sent again: at most one
duplicate). Then the loop asks the alerts_due index for what is due, claims each alert
(committed) before sending and records the outcome after; when nothing is due it sleeps
until the earliest pending alert, or until :meth:`Dispatcher.wake` says a new one exists.
Start-up time and memory do not depend on how many reminders are stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from bot.delivery import Outcome, Pacer, Sender
from bot.replies import Reply
from bot.storage import DueAlert, ReminderRepo

log = logging.getLogger(__name__)

MAX_SLEEP = 30.0  # re-check the schedule at least this often (clock changes, other writers)
BATCH = 200
CONCURRENT_SENDS = 8  # enough to fill the pacer's slots at 50-200 ms per request


class Dispatcher:
    """The background task that delivers reminders."""

    def __init__(
        self,
        repo: ReminderRepo,
        sender: Sender,
        render: Callable[[DueAlert, bool], Reply],
        *,
        clock: Callable[[], datetime],
        pacer: Pacer | None = None,
        on_blocked: Callable[[int], Awaitable[None]] | None = None,
    ) -> None:
        self.repo = repo
        self.sender = sender
        self.render = render
        self.clock = clock
        self.pacer = pacer or Pacer()
        self.on_blocked = on_blocked
        self.started_at = clock()
        self._wake = asyncio.Event()
        self._sends = asyncio.Semaphore(CONCURRENT_SENDS)
        self.sent = 0

    def wake(self) -> None:
        """A reminder was added or changed: look at the schedule again now."""
        self._wake.set()

    async def run(self) -> None:
        """Deliver until cancelled."""
        released = await self.repo.recover()
        if released:
            log.warning(
                "%d alert(s) were being sent at the last stop; sending them again", released
            )
        while True:
            try:
                batch = await self.repo.due(self.clock(), BATCH)
                if batch:
                    await asyncio.gather(*(self._deliver(alert) for alert in batch))
                    continue
                await self._sleep()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("reminder dispatcher error; retrying in 5 s")
                await asyncio.sleep(5)

    async def _sleep(self) -> None:
        upcoming = await self.repo.next_fire_at()
        timeout = MAX_SLEEP
        if upcoming is not None:
            timeout = min(MAX_SLEEP, max(0.0, (upcoming - self.clock()).total_seconds()))
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout)

    async def _deliver(self, alert: DueAlert) -> None:
        async with self._sends:
            if not await self.repo.claim(alert.id):
                return
            late = alert.fire_at < self.started_at
            await self.pacer.wait(urgent=True, chat_id=alert.chat_id)
            result = await self.sender.send(alert.chat_id, self.render(alert, late))
            if result.outcome is Outcome.SENT:
                await self.repo.finish(alert.id, "sent", self.clock())
                self.sent += 1
            elif result.outcome is Outcome.BLOCKED:
                await self.repo.finish(alert.id, "blocked", self.clock())
                stopped = await self.repo.block_chat(alert.chat_id)
                log.info("chat %s blocked the bot; %d alert(s) stopped", alert.chat_id, stopped)
                if self.on_blocked is not None:
                    await self.on_blocked(alert.chat_id)
            elif result.outcome is Outcome.RETRY:
                self.pacer.pause(result.retry_after)
                await self.repo.release(alert.id)
                await asyncio.sleep(result.retry_after)
            else:
                log.warning("alert %s failed: %s", alert.id, result.reason)
                await self.repo.finish(alert.id, "failed", self.clock())
