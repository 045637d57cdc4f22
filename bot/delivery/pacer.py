"""Pace outgoing messages under Telegram's limits, urgent ones first.

One pacer serves the whole bot: about 30 messages per second overall (we use 28) and at
most one message every 3 seconds into the same group (20 per minute). Reminders wait as
*urgent* and go ahead of a running broadcast, so a user's own reminder is never stuck
behind 10,000 announcements. A flood-limit answer (429) pauses everyone.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable

GROUP_GAP = 3.1  # seconds between two messages into one group (Telegram: 20 per minute)


class Pacer:
    """Hands out send slots ``1 / rate`` seconds apart, urgent waiters first."""

    def __init__(self, rate: float = 28.0, clock: Callable[[], float] = time.monotonic) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.interval = 1.0 / rate
        self.clock = clock
        self._next = 0.0
        self._queues: tuple[deque[asyncio.Future[None]], ...] = (deque(), deque())
        self._pump: asyncio.Task[None] | None = None
        self._group_next: dict[int, float] = {}

    async def wait(self, *, urgent: bool = False, chat_id: int | None = None) -> None:
        """Wait for a slot; ``chat_id`` of a group also keeps that group's own pace."""
        if chat_id is not None and chat_id < 0:
            ready = self._group_next.get(chat_id, 0.0)
            self._group_next[chat_id] = max(ready, self.clock()) + GROUP_GAP
            if ready > self.clock():
                await asyncio.sleep(ready - self.clock())
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queues[0 if urgent else 1].append(future)
        if self._pump is None or self._pump.done():
            self._pump = asyncio.create_task(self._run(), name="pacer")
        await future

    async def close(self) -> None:
        """Stop handing out slots (at shutdown); waiters still queued are cancelled."""
        if self._pump is not None and not self._pump.done():
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump
        for queue in self._queues:
            while queue:
                queue.popleft().cancel()

    def pause(self, seconds: float) -> None:
        """Give no slot for ``seconds`` from now (after a 429 with retry_after)."""
        self._next = max(self._next, self.clock() + seconds)

    async def _run(self) -> None:
        while any(self._queues):
            delay = self._next - self.clock()
            if delay > 0:
                await asyncio.sleep(delay)
                continue
            queue = self._queues[0] or self._queues[1]
            future = queue.popleft()
            if future.done():  # the waiter was cancelled
                continue
            future.set_result(None)
            self._next = max(self._next, self.clock()) + self.interval
