"""One send budget for every replica: the next free slot of a channel's overall rate, kept in
one row of the shared database and handed out on the database's own clock.

Telegram allows about 30 messages per second per bot, however many processes send them. With
several replicas each process's pacer still decides who goes next (replies before reminders
before broadcasts, each chat's own gap), but before handing a slot out it takes the next slot
of the shared grid here: one ``UPDATE ... RETURNING`` that moves the row's ``next_at`` on by
one interval and says how long until the slot taken. Replicas' slots interleave on one grid,
so together they never exceed the rate, and one replica alone may use all of it. There is no
leader to elect and nothing to take over when a replica dies: the row simply stops being
asked by it. The database's clock (``clock_timestamp()``) is the only clock, so replicas'
clocks need not agree.

A 429 that tells everyone to wait moves ``next_at`` past the wait for every replica.
SQLite databases have one process per channel and keep the pacer's local grid (nothing here
runs).
"""

from __future__ import annotations

from bot.storage.db import Database

# The database's clock in seconds (float: PostgreSQL 14+ gives extract() as numeric).
_NOW = "extract(epoch FROM clock_timestamp())::float8"


class SharedBudget:
    """The slot grid of one channel's overall rate, shared by every replica."""

    def __init__(self, db: Database, channel: str) -> None:
        if not db.replicas:
            raise ValueError("a shared send budget needs a database shared by replicas")
        self.db = db
        self.channel = channel
        self._ready = False

    async def _ensure_row(self) -> None:
        if not self._ready:
            async with self.db.transaction() as tx:
                await tx.execute(
                    "INSERT INTO send_budget (channel, next_at) VALUES (?, 0)"
                    " ON CONFLICT (channel) DO NOTHING",
                    (self.channel,),
                )
            self._ready = True

    async def take(self, interval: float) -> float:
        """Take the next slot; the seconds until it (0 when it is now).

        Slots keep to a grid ``interval`` apart while requests come a little late (as the
        local pacer does); after a pause the grid restarts from now.
        """
        await self._ensure_row()
        row = await self.db.fetchone(
            "UPDATE send_budget SET next_at = CASE"
            " WHEN now_.at - next_at BETWEEN 0 AND ? THEN next_at + ?"
            " ELSE GREATEST(next_at, now_.at) + ? END"
            f" FROM (SELECT {_NOW} AS at) AS now_"
            " WHERE channel = ? RETURNING next_at - ? - now_.at",
            (interval / 2, interval, interval, self.channel, interval),
        )
        if row is None:  # the row was deleted under us: make it again next time
            self._ready = False
            return 0.0
        return max(0.0, float(row[0]))

    async def pause(self, seconds: float) -> None:
        """No slot for anyone for ``seconds`` (a 429 for the whole bot)."""
        await self._ensure_row()
        async with self.db.transaction() as tx:
            await tx.execute(
                f"UPDATE send_budget SET next_at = GREATEST(next_at, {_NOW} + ?) WHERE channel = ?",
                (seconds, self.channel),
            )
