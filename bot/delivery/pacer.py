"""One budget for everything a channel sends: a global rate, a gap per chat, priorities.

Telegram allows about 30 messages per second overall, about one per second into one chat
and 20 per minute into one group. Every outgoing call of the Telegram channel waits here for
a slot (see ``channels/telegram/limiter.py``): first answers to users, then the rest of
those answers, then reminders, then broadcasts. Within a priority, chats are served in the
order they first asked, and a chat keeps its place while it has messages waiting, so a user
who writes again while the bot is busy is answered right after their first answer, not
behind the whole queue a second time.
A 429 pauses the chat (and, when told, every chat) for its ``retry_after``.

Several replicas share one overall rate through a :class:`SharedRate` (the database's slot
grid, ``bot/storage/budget.py``): each pacer still picks who goes next, then takes the next
slot of the shared grid before letting that send go.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Protocol

log = logging.getLogger(__name__)

RATE = 28.5  # messages per second overall (Telegram: about 30; at most 29 in any second)
# With replicas sharing the rate (a grid in the database), two processes' own scheduling
# jitter adds to the network's: one message per second more of margin (bench/replicas.py
# saw 1 x 429 in 2,000 replies at 28.5 with two replicas, reproducibly; none at 27.5).
SHARED_RATE = 27.5
CHAT_GAP = 1.05  # seconds between two messages into one private chat (Telegram: about 1/s)
GROUP_GAP = 3.1  # seconds between two messages into one group or channel (20 per minute)
FORGET_AFTER = 60.0  # per-chat times older than this are dropped (memory stays bounded)


class SharedRate(Protocol):
    """An overall rate shared with other processes (see bot/storage/budget.py)."""

    async def take(self, interval: float) -> float:
        """Take the next shared slot; the seconds until it."""
        ...

    async def pause(self, seconds: float) -> None:
        """No slot for anyone for ``seconds``."""
        ...


class Priority(IntEnum):
    """Who goes first when several sends wait."""

    REPLY = 0  # an answer to something a user just did (its first message)
    # The further messages of one answer (the welcome's subscription offer, the second part
    # of a long topic): in a burst every user's first answer goes before them.
    FOLLOW_UP = 1
    REMINDER = 2  # a reminder coming due
    BROADCAST = 3  # an announcement to many chats


@dataclass
class _Chat:
    """The sends waiting for one chat at one priority, oldest first."""

    waiters: deque[asyncio.Future[None]] = field(default_factory=deque)


def default_gap(chat_id: int) -> float:
    """Telegram's spacing: group and channel ids are negative, private chats positive."""
    return GROUP_GAP if chat_id < 0 else CHAT_GAP


class Pacer:
    """Hands out send slots: ``rate`` per second overall, ``gap(chat)`` apart per chat."""

    def __init__(
        self,
        rate: float = RATE,
        gap: Callable[[int], float] = default_gap,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.interval = 1.0 / rate
        self.gap = gap
        self.clock = clock
        self._next = 0.0  # the earliest moment of the next slot overall
        self._chat_next: dict[int, float] = {}  # the earliest next slot per chat
        self._queues: tuple[OrderedDict[int | str, _Chat], ...] = tuple(
            OrderedDict() for _ in Priority
        )
        self._anonymous = itertools.count()  # keys of sends bound to no chat
        self._changed = asyncio.Event()
        self._pump: asyncio.Task[None] | None = None
        self.waiting = 0
        # Set by :meth:`share` when replicas share the rate: slots then come from it.
        self.shared: SharedRate | None = None
        self._shared_failed = False
        self._background: set[asyncio.Task[None]] = set()

    def share(self, shared: SharedRate, rate: float = SHARED_RATE) -> None:
        """Take slots from ``shared`` (a rate several processes share) at ``rate``."""
        self.shared = shared
        self.interval = 1.0 / rate

    async def wait(
        self,
        chat_id: int | None = None,
        priority: Priority = Priority.REPLY,
        *,
        counts: bool = True,
    ) -> None:
        """Wait for a slot to send into ``chat_id`` (None: counts only against the rate).

        ``counts`` False (an edit of a message already sent): only the chat's own gap
        applies; the overall rate of new messages is left to the messages.
        """
        if not counts:
            if chat_id is not None:
                now = self.clock()
                ready = self._chat_next.get(chat_id, 0.0)
                self._chat_next[chat_id] = max(ready, now) + self.gap(chat_id)
                if ready > now:
                    await asyncio.sleep(ready - now)
            return
        key: int | str = chat_id if chat_id is not None else f"any{next(self._anonymous)}"
        queue = self._queues[priority]
        chat = queue.get(key)
        if chat is None:
            chat = queue[key] = _Chat()
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        chat.waiters.append(future)
        self.waiting += 1
        self._changed.set()
        if self._pump is None or self._pump.done():
            self._pump = asyncio.create_task(self._run(), name="pacer")
        try:
            await future
        except asyncio.CancelledError:
            if not future.done():
                future.cancel()
            raise

    def sent(self, chat_id: int) -> None:
        """A send into ``chat_id`` finished: its gap counts from now.

        The request reached Telegram at the latest now, so the next one, a gap later, arrives
        at least a gap after it whatever the round trip did.
        """
        self._chat_next[chat_id] = max(
            self._chat_next.get(chat_id, 0.0), self.clock() + self.gap(chat_id)
        )

    def pause(self, seconds: float, chat_id: int | None = None) -> None:
        """No slot for ``seconds`` (after a 429): for one chat, or for all when None."""
        until = self.clock() + seconds
        if chat_id is None:
            self._next = max(self._next, until)
            if self.shared is not None:  # every replica waits, not only this one
                task = asyncio.create_task(self._pause_shared(seconds))
                self._background.add(task)
                task.add_done_callback(self._background.discard)
        else:
            self._chat_next[chat_id] = max(self._chat_next.get(chat_id, 0.0), until)
        self._changed.set()

    async def close(self) -> None:
        """Stop handing out slots (at shutdown); waiters still queued are cancelled."""
        if self._pump is not None and not self._pump.done():
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump
        for queue in self._queues:
            for chat in queue.values():
                for future in chat.waiters:
                    future.cancel()
            queue.clear()
        self.waiting = 0

    def _pick(self, now: float) -> tuple[float, asyncio.Future[None] | None]:
        """The next waiter whose chat may receive now, or the moment the first one may.

        Higher priorities first; a lower one goes when every higher chat must still wait.
        """
        soonest = float("inf")
        for queue in self._queues:
            empty: list[int | str] = []
            picked: asyncio.Future[None] | None = None
            for key, chat in queue.items():
                while chat.waiters and chat.waiters[0].done():  # cancelled meanwhile
                    chat.waiters.popleft()
                    self.waiting -= 1
                if not chat.waiters:
                    empty.append(key)
                    continue
                ready = self._chat_next.get(key, 0.0) if isinstance(key, int) else 0.0
                if ready > now:
                    soonest = min(soonest, ready)
                    continue
                picked = chat.waiters.popleft()
                self.waiting -= 1
                if not chat.waiters:
                    empty.append(key)
                if isinstance(key, int):
                    self._chat_next[key] = now + self.gap(key)
                break
            for key in empty:
                del queue[key]
            if picked is not None:
                return now, picked
        return soonest, None

    async def _run(self) -> None:
        last_forget = self.clock()
        while any(self._queues):
            now = self.clock()
            if self._next > now:
                # No slot before then whoever arrives, so a plain sleep: waking on every new
                # waiter here (without clearing the signal) spun the loop between slots.
                await asyncio.sleep(self._next - now)
                continue
            self._changed.clear()
            soonest, future = self._pick(now)
            if future is not None:
                if self.shared is not None:
                    await asyncio.sleep(await self._shared_slot())
                else:
                    self._next = self._following(now)
                if not future.done():  # cancelled while a shared slot was taken: it lapses
                    future.set_result(None)
            elif soonest != float("inf"):
                await self._sleep(soonest - now)
            if now - last_forget > FORGET_AFTER:
                last_forget = now
                self._chat_next = {k: t for k, t in self._chat_next.items() if t > now}

    async def _shared_slot(self) -> float:
        """Seconds until the next slot of the shared rate; when the database cannot be asked,
        a local slot at half the rate (replicas together then stay within it)."""
        assert self.shared is not None
        try:
            delay = await self.shared.take(self.interval)
        except Exception:
            if not self._shared_failed:
                log.exception("shared send budget unavailable; pacing locally at half rate")
            self._shared_failed = True
            return 2 * self.interval
        if self._shared_failed:
            log.info("shared send budget available again")
            self._shared_failed = False
        return delay

    async def _pause_shared(self, seconds: float) -> None:
        assert self.shared is not None
        try:
            await self.shared.pause(seconds)
        except Exception:
            log.warning("could not pause the shared send budget", exc_info=True)

    def _following(self, now: float) -> float:
        """The slot after one handed out at ``now``.

        Slots keep to a grid ``interval`` apart while the pump is only a little late (timers
        fire up to a millisecond late, which would otherwise cost about 2 % of the rate); after
        a longer stall (nobody waiting, a busy loop) the grid restarts from now, so a stall is
        never made up by a run of slots closer together than half an interval.
        """
        if 0.0 <= now - self._next <= self.interval / 2:
            return self._next + self.interval
        return max(self._next, now) + self.interval

    async def _sleep(self, seconds: float) -> None:
        """Sleep until ``seconds`` pass or something changes (a new waiter, a pause)."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(max(0.0, seconds)):
                await self._changed.wait()
