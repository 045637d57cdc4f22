"""A background loop that does work when there is some and otherwise sleeps until the next
scheduled moment or until woken. Shared by the reminder dispatcher and the broadcast runner.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime

log = logging.getLogger(__name__)

MAX_SLEEP = 30.0  # look again at least this often (clock changes, other writers)
# With replicas, work another replica started (a broadcast confirmed there) or left behind
# (its claims expired) is looked for this often.
REPLICA_SLEEP = 5.0
ERROR_PAUSE = 5.0


class Worker:
    """Subclasses implement :meth:`step` and, when they have a schedule, :meth:`upcoming`."""

    def __init__(self, clock: Callable[[], datetime], wake: asyncio.Event | None = None) -> None:
        self.clock = clock
        # Set by whoever changes the work (a new reminder, a confirmed broadcast).
        self._wake = wake or asyncio.Event()
        self.stopping = False
        self.max_sleep = MAX_SLEEP

    def stop(self) -> None:
        """Finish the work in hand, start nothing new, then return from :meth:`run`."""
        self.stopping = True
        self._wake.set()

    def wake(self) -> None:
        """Something changed: look at the work again now."""
        self._wake.set()

    async def step(self) -> bool:
        """Do some work; True when there may be more right away."""
        raise NotImplementedError

    async def upcoming(self) -> datetime | None:
        """When the next scheduled work is due, if any."""
        return None

    async def run(self) -> None:
        """Work until stopped or cancelled; a step that raises is logged and run again."""
        while not self.stopping:
            try:
                if not await self.step() and not self.stopping:
                    await self._sleep()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("%s failed; restarting in %.0f s", type(self).__name__, ERROR_PAUSE)
                await asyncio.sleep(ERROR_PAUSE)

    async def _sleep(self) -> None:
        # Clear first: a wake-up that arrives while the next due time is being read is kept.
        self._wake.clear()
        timeout = self.max_sleep
        upcoming = await self.upcoming()
        if upcoming is not None:
            timeout = min(timeout, max(0.0, (upcoming - self.clock()).total_seconds()))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout)
