"""Small values with an expiry, shared by every replica: what a conversation remembers between
two messages, so that the next message may reach any replica.

Rows are keyed by ``(scope, key)``: a /remind in progress (``remind``), WeChat's numbered
choices and "继续" pages (``wechat_session``), WeChat messages already answered
(``wechat_msg``), signed WeChat requests already seen (``wechat_nonce``). Values are text
(JSON where structured). An expired row counts as absent and is deleted now and then. Expiry
times are wall-clock UTC; replicas' clocks only need to agree to within the lifetimes here
(minutes).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from bot.storage.db import Database
from bot.storage.leases import stamp, wall_clock

PURGE_EVERY = 60.0  # seconds between two deletions of expired rows (per process)


class SharedState:
    """The ``shared_state`` table."""

    def __init__(self, db: Database, clock: Callable[[], datetime] = wall_clock) -> None:
        self.db = db
        self.clock = clock
        self._purged: datetime | None = None

    def scope(self, name: str, ttl: float) -> Scope:
        """The values of one kind, each kept ``ttl`` seconds after it was last written."""
        return Scope(self, name, ttl)

    async def get(self, scope: str, key: str) -> str | None:
        """The value, or None when absent or expired."""
        row = await self.db.fetchone(
            "SELECT value FROM shared_state WHERE scope = ? AND key = ? AND expires_at > ?",
            (scope, key, stamp(self.clock())),
        )
        return None if row is None else str(row[0])

    async def put(self, scope: str, key: str, value: str, ttl: float) -> None:
        """Set the value (replacing any), kept ``ttl`` seconds from now."""
        now = self.clock()
        async with self.db.transaction() as tx:
            await tx.execute(
                "INSERT INTO shared_state (scope, key, value, expires_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (scope, key) DO UPDATE"
                " SET value = excluded.value, expires_at = excluded.expires_at",
                (scope, key, value, self._until(now, ttl)),
            )
        await self._purge(now)

    async def claim(self, scope: str, key: str, value: str, ttl: float) -> bool:
        """Set the value only when there is none (or it expired): True for the one caller,
        among all replicas, that set it."""
        now = self.clock()
        async with self.db.transaction() as tx:
            changed = await tx.execute(
                "INSERT INTO shared_state (scope, key, value, expires_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (scope, key) DO UPDATE"
                " SET value = excluded.value, expires_at = excluded.expires_at"
                " WHERE shared_state.expires_at <= ?",
                (scope, key, value, self._until(now, ttl), stamp(now)),
            )
        await self._purge(now)
        return changed > 0

    async def delete(self, scope: str, key: str) -> None:
        """Forget the value."""
        async with self.db.transaction() as tx:
            await tx.execute("DELETE FROM shared_state WHERE scope = ? AND key = ?", (scope, key))

    async def purge(self) -> int:
        """Delete every expired row; how many."""
        async with self.db.transaction() as tx:
            return await tx.execute(
                "DELETE FROM shared_state WHERE expires_at <= ?", (stamp(self.clock()),)
            )

    async def _purge(self, now: datetime) -> None:
        if self._purged is None or (now - self._purged).total_seconds() > PURGE_EVERY:
            self._purged = now
            await self.purge()

    @staticmethod
    def _until(now: datetime, ttl: float) -> str:
        return stamp(now + timedelta(seconds=max(1.0, ttl)))


class Scope:
    """One kind of shared value (a scope name and a lifetime), JSON in and out."""

    def __init__(self, state: SharedState, name: str, ttl: float) -> None:
        self.state = state
        self.name = name
        self.ttl = ttl

    async def get(self, key: str) -> Any:
        """The decoded value, or None."""
        value = await self.state.get(self.name, key)
        return None if value is None else json.loads(value)

    async def put(self, key: str, value: Any) -> None:
        """Store ``value`` (JSON-able) for the scope's lifetime."""
        await self.state.put(self.name, key, _dumps(value), self.ttl)

    async def claim(self, key: str, value: Any) -> bool:
        """Store ``value`` unless one is there; True when this call stored it."""
        return await self.state.claim(self.name, key, _dumps(value), self.ttl)

    async def delete(self, key: str) -> None:
        """Forget the value."""
        await self.state.delete(self.name, key)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
