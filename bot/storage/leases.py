"""Leases on claims, so several replicas share reminder alerts and broadcast deliveries safely.

A claim moves one row pending -> 'sending' with a conditional UPDATE (on PostgreSQL its row is
locked ``FOR UPDATE SKIP LOCKED``, so a replica never waits for another's claim); only one
process can win it. The row also gets ``lease_until``. While the process lives it renews the
leases of the claims it holds every :data:`RENEW_EVERY` seconds; a replica killed mid-send
stops renewing, and once its leases expire (:data:`LEASE` seconds) any live replica puts
those rows back to pending, to be sent again: the in-flight window of a dead replica, at
most once more each. Nothing is ever left 'sending' for good.

With SQLite (one process per channel, the default) nothing runs here: a process that
starts takes back every 'sending' row of its channels at once, as before (reminders'
``recover``, broadcasts' ``start``). Lease times are wall-clock UTC, whatever clock the
caller schedules by (tests set :attr:`ClaimKeeper.clock`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

log = logging.getLogger(__name__)

# A replica killed mid-send holds its in-flight claims up to LEASE + RENEW_EVERY seconds; a
# live one loses a claim only if its event loop stalls for LEASE - RENEW_EVERY (15 s).
LEASE = 20.0  # seconds a claim stays with its process without a renewal
RENEW_EVERY = 5.0  # renewals (and looking for expired leases) this often
DeliveryKey = tuple[int, str, int]  # (broadcast_id, channel, chat_id)


def wall_clock() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


def stamp(moment: datetime) -> str:
    """The stored form of a time (UTC ISO-8601, sortable as text); naive times refused."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime")
    return moment.astimezone(UTC).isoformat(timespec="seconds")


class Transactional(Protocol):
    """What the keeper needs of a database (bot.storage.db.Database has it)."""

    def transaction(
        self, *, immediate: bool = False
    ) -> contextlib.AbstractAsyncContextManager[Any]:
        """A write transaction."""
        ...


class ClaimKeeper:
    """The claims this process holds, renewed while it lives; others' expired ones released."""

    def __init__(self, db: Transactional, clock: Callable[[], datetime] = wall_clock) -> None:
        self.db = db
        self.clock = clock
        self.alerts: set[int] = set()
        self.deliveries: set[DeliveryKey] = set()
        self._task: asyncio.Task[None] | None = None

    def lease_until(self) -> str:
        """When a claim made now expires unless renewed."""
        return stamp(self.clock() + timedelta(seconds=LEASE))

    def start(self) -> None:
        """Renew and release in the background (replicas only)."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="claim-keeper")

    async def stop(self) -> None:
        """Stop the background renewals (claims still held simply expire)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(RENEW_EVERY)
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("renewing claims failed; trying again in %.0f s", RENEW_EVERY)

    async def tick(self) -> int:
        """Renew this process's leases, then release expired ones; how many were released."""
        until, now = self.lease_until(), stamp(self.clock())
        alerts, deliveries = sorted(self.alerts), sorted(self.deliveries)
        async with self.db.transaction() as tx:
            if alerts:
                await tx.executemany(
                    "UPDATE alerts SET lease_until = ? WHERE id = ? AND status = 'sending'",
                    [(until, alert_id) for alert_id in alerts],
                )
            if deliveries:
                await tx.executemany(
                    "UPDATE deliveries SET lease_until = ? WHERE broadcast_id = ?"
                    " AND channel = ? AND chat_id = ? AND status = 'sending'",
                    [(until, *key) for key in deliveries],
                )
            released = 0
            for table in ("alerts", "deliveries"):
                released += await tx.execute(
                    f"UPDATE {table} SET status = 'pending', lease_until = NULL"
                    " WHERE status = 'sending' AND (lease_until IS NULL OR lease_until < ?)",
                    (now,),
                )
        if released:
            log.warning("%d claim(s) of a stopped replica expired: sending them again", released)
        return released
