"""Pace outgoing messages under a global rate (Telegram: about 30 messages per second).

Slots are handed out in order, ``1 / rate`` seconds apart; a flood-limit answer pauses
everyone. Nothing here sleeps in a loop: each waiter sleeps once until its slot.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


class Pacer:
    """A slot schedule shared by every sender of the bot."""

    def __init__(self, rate: float = 28.0, clock: Callable[[], float] = time.monotonic) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.interval = 1.0 / rate
        self.clock = clock
        self._next = 0.0

    async def wait(self) -> None:
        """Wait for the next free slot."""
        now = self.clock()
        slot = max(now, self._next)
        self._next = slot + self.interval
        if slot > now:
            await asyncio.sleep(slot - now)

    def pause(self, seconds: float) -> None:
        """Give no slot for ``seconds`` from now (after a 429 with retry_after)."""
        self._next = max(self._next, self.clock() + seconds)
