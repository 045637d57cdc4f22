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
ERROR_PAUSE = 5.0


class Worker:
    """Subclasses implement :meth:`step` and, when they have a schedule, :meth:`upcoming`."""

    def __init__(self, clock: Callable[[], datetime], wake: asyncio.Event | None = None) -> None:
        self.clock = clock
        # Set by whoever changes the work (a new reminder, a confirmed broadcast).
        self._wake = wake or asyncio.Event()

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
        """Work until cancelled; errors are logged and retried after a pause."""
        while True:
            try:
                if not await self.step():
                    await self._sleep()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("%s failed; retrying in %.0f s", type(self).__name__, ERROR_PAUSE)
                await asyncio.sleep(ERROR_PAUSE)

    async def _sleep(self) -> None:
        timeout = MAX_SLEEP
        upcoming = await self.upcoming()
        if upcoming is not None:
            timeout = min(MAX_SLEEP, max(0.0, (upcoming - self.clock()).total_seconds()))
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout)
