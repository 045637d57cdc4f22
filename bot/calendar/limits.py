"""Rate limits for calendar requests: a token bucket per key (a token's hash, an address).

Kept in memory per process (with replicas each counts its own), bounded: the keys idle the
longest are forgotten first, and a forgotten key starts again with a full bucket.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

MAX_KEYS = 20_000


@dataclass(frozen=True)
class Limit:
    """``burst`` requests at once, then one more every ``every`` seconds."""

    burst: int
    every: float


class RateLimiter:
    """Token buckets keyed by any string."""

    def __init__(
        self,
        limit: Limit,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = MAX_KEYS,
    ) -> None:
        self.limit = limit
        self.clock = clock
        self.max_keys = max_keys
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key: (left, at)

    def allow(self, key: str) -> float:
        """0 when ``key`` may go now (and it is counted), else seconds until it may."""
        now = self.clock()
        left, at = self._buckets.pop(key, (float(self.limit.burst), now))
        left = min(float(self.limit.burst), left + (now - at) / self.limit.every)
        wait = 0.0
        if left >= 1.0:
            left -= 1.0
        else:
            wait = (1.0 - left) * self.limit.every
        self._buckets[key] = (left, now)
        while len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)
        return wait
