"""Per-user flood guard: past a rate, one polite notice, then a short pause for that user.

Counted per (channel, user id), so one user who sends 100 messages a second does not slow
anybody else, whichever channel they came from. Memory stays bounded: users are kept in
order of their last message and forgotten once idle for longer than the window and the
pause (and, as a last resort, beyond ``max_users``).
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from enum import Enum

LIMIT = 20  # messages (commands, texts, taps) allowed within WINDOW seconds
WINDOW = 10.0
PAUSE = 30.0  # seconds a user who went past the limit is ignored
MAX_USERS = 100_000


class Verdict(Enum):
    """What to do with one input."""

    ANSWER = "answer"
    NOTICE = "notice"  # the input that went past the limit: tell the user, once
    IGNORE = "ignore"  # during the pause: say nothing


@dataclass
class _User:
    times: deque[float] = field(default_factory=deque)
    paused_until: float = 0.0
    last: float = 0.0


class FloodGuard:
    """Counts each user's recent inputs; ``check`` says whether to answer one more."""

    def __init__(
        self,
        *,
        limit: int = LIMIT,
        window: float = WINDOW,
        pause: float = PAUSE,
        clock: Callable[[], float] = time.monotonic,
        max_users: int = MAX_USERS,
    ) -> None:
        self.limit = limit
        self.window = window
        self.pause = pause
        self.clock = clock
        self.max_users = max_users
        self._users: OrderedDict[Hashable, _User] = OrderedDict()

    def __len__(self) -> int:
        """How many users are remembered right now."""
        return len(self._users)

    def check(self, key: Hashable) -> Verdict:
        """Count one input of ``key`` (a user) and say what to do with it."""
        now = self.clock()
        self._forget_idle(now)
        user = self._users.pop(key, None) or _User()
        user.last = now
        self._users[key] = user  # the most recently active user goes last
        if now < user.paused_until:
            return Verdict.IGNORE
        times = user.times
        while times and times[0] <= now - self.window:
            times.popleft()
        times.append(now)
        if len(times) <= self.limit:
            return Verdict.ANSWER
        times.clear()
        user.paused_until = now + self.pause
        return Verdict.NOTICE

    def paused(self, key: Hashable) -> bool:
        """True while ``key`` is being ignored (does not count as an input)."""
        user = self._users.get(key)
        return user is not None and self.clock() < user.paused_until

    def _forget_idle(self, now: float) -> None:
        keep = max(self.window, self.pause)
        users = self._users
        while users:
            oldest = next(iter(users.values()))
            if now - oldest.last < keep and len(users) < self.max_users:
                break
            users.popitem(last=False)
