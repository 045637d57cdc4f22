"""Reminders and their alerts. An alert goes pending -> sending -> sent (or blocked/failed).

'sending' is written and committed before the message goes out and 'sent' right after, so a
crash in between leaves at most that one alert to be sent again after restart (at most one
duplicate); nothing is ever dropped.

Users and chats are keyed by (channel, id): the same number on 'telegram' and 'wechat' is two
different people. Each process delivers only the alerts of the channels it can reach. Replicas
sharing a PostgreSQL database claim alerts under a lease (leases.py): no alert is claimed by
two of them, and one a killed replica held is sent again once its lease expires.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.storage.db import Database, in_list
from bot.storage.leases import stamp as _ts


@dataclass(frozen=True)
class Reminder:
    """A deadline one user asked to be reminded of."""

    id: int
    channel: str
    user_id: int
    chat_id: int
    kind: str
    text: str
    due_at: datetime
    alerts: tuple[datetime, ...] = ()  # pending alert times, earliest first
    created_at: datetime | None = None  # when it was set (a calendar feed's DTSTAMP)


@dataclass(frozen=True)
class DueAlert:
    """An alert whose time has come, with what the message needs."""

    id: int
    channel: str
    reminder_id: int
    chat_id: int
    kind: str
    text: str
    due_at: datetime
    fire_at: datetime
    lead_min: int


def _dt(text: str) -> datetime:
    return datetime.fromisoformat(text)


class ReminderRepo:
    """All reminder SQL."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(
        self,
        *,
        channel: str,
        user_id: int,
        chat_id: int,
        kind: str,
        text: str,
        due_at: datetime,
        alerts: Sequence[tuple[datetime, int]],
        now: datetime,
    ) -> int:
        """Store a reminder with its alerts ``(fire_at, lead minutes)`` in one transaction."""
        async with self.db.transaction() as tx:
            row = await tx.fetchone(
                "INSERT INTO reminders (channel, user_id, chat_id, kind, text, due_at, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (channel, user_id, chat_id, kind, text, _ts(due_at), _ts(now)),
            )
            assert row is not None
            reminder_id = int(row[0])
            await tx.executemany(
                "INSERT INTO alerts (reminder_id, fire_at, lead_min) VALUES (?, ?, ?)",
                [(reminder_id, _ts(fire_at), lead) for fire_at, lead in alerts],
            )
        return reminder_id

    async def count_active(self, channel: str, user_id: int) -> int:
        """Active reminders of one user (for the per-user limit)."""
        row = await self.db.fetchone(
            "SELECT COUNT(*) FROM reminders WHERE channel = ? AND user_id = ? AND active = 1",
            (channel, user_id),
        )
        return int(row[0]) if row else 0

    async def list_active(self, channel: str, user_id: int, limit: int = 100) -> list[Reminder]:
        """A user's active reminders, soonest deadline first, with pending alert times."""
        rows = await self.db.fetchall(
            f"""
            SELECT r.id, r.channel, r.user_id, r.chat_id, r.kind, r.text, r.due_at,
                   (SELECT {self.db.dialect.string_agg}(fire_at, ' ') FROM
                      (SELECT fire_at FROM alerts a
                       WHERE a.reminder_id = r.id AND a.status = 'pending' ORDER BY fire_at) t),
                   r.created_at
            FROM reminders r WHERE r.channel = ? AND r.user_id = ? AND r.active = 1
            ORDER BY r.due_at LIMIT ?
            """,
            (channel, user_id, limit),
        )
        return [
            Reminder(
                row[0],
                row[1],
                row[2],
                row[3],
                row[4],
                row[5],
                _dt(row[6]),
                tuple(sorted(_dt(t) for t in (row[7] or "").split())),  # (aggregates keep no order)
                _dt(row[8]),
            )
            for row in rows
        ]

    async def cancel(self, channel: str, user_id: int, reminder_id: int) -> bool:
        """Cancel one of the user's own reminders; False if it is not theirs or not active."""
        async with self.db.transaction() as tx:
            changed = await tx.execute(
                "UPDATE reminders SET active = 0"
                " WHERE id = ? AND channel = ? AND user_id = ? AND active = 1",
                (reminder_id, channel, user_id),
            )
            if changed:
                await tx.execute(
                    "UPDATE alerts SET status = 'cancelled'"
                    " WHERE reminder_id = ? AND status IN ('pending', 'sending')",
                    (reminder_id,),
                )
        return bool(changed)

    async def snooze(self, channel: str, user_id: int, reminder_id: int, fire_at: datetime) -> bool:
        """Add one more alert at ``fire_at`` to the user's own active reminder."""
        async with self.db.transaction() as tx:
            changed = await tx.execute(
                "INSERT INTO alerts (reminder_id, fire_at, lead_min)"
                " SELECT id, ?, -1 FROM reminders"
                " WHERE id = ? AND channel = ? AND user_id = ? AND active = 1",
                (_ts(fire_at), reminder_id, channel, user_id),
            )
        return bool(changed)

    async def next_fire_at(self, channels: Sequence[str]) -> datetime | None:
        """Earliest pending alert time on ``channels`` (walks the alerts_due index), or None."""
        marks, names = in_list(channels)
        # CROSS JOIN keeps alerts the outer loop on SQLite: the planner could otherwise start
        # from reminders_by_user (it leads with channel) and sort every pending alert.
        row = await self.db.fetchone(
            "SELECT a.fire_at FROM alerts a CROSS JOIN reminders r"
            f" WHERE r.id = a.reminder_id AND a.status = 'pending' AND r.channel IN ({marks})"
            " ORDER BY a.fire_at LIMIT 1",
            names,
        )
        return _dt(row[0]) if row and row[0] else None

    async def due(self, now: datetime, limit: int, channels: Sequence[str]) -> list[DueAlert]:
        """Pending alerts on ``channels`` whose time has come, oldest first."""
        marks, names = in_list(channels)
        rows = await self.db.fetchall(
            f"""
            SELECT a.id, r.channel, a.reminder_id, r.chat_id, r.kind, r.text, r.due_at,
                   a.fire_at, a.lead_min
            FROM alerts a CROSS JOIN reminders r
            WHERE r.id = a.reminder_id AND a.status = 'pending' AND a.fire_at <= ?
              AND r.channel IN ({marks})
            ORDER BY a.fire_at LIMIT ?
            """,
            (_ts(now), *names, limit),
        )
        return [
            DueAlert(
                row[0], row[1], row[2], row[3], row[4], row[5], _dt(row[6]), _dt(row[7]), row[8]
            )
            for row in rows
        ]

    async def claim(self, alert_id: int) -> bool:
        """pending -> sending (under a lease), committed before the send; False if another
        task or replica has it (on PostgreSQL a row another replica is claiming is skipped,
        not waited for)."""
        async with self.db.transaction() as tx:
            changed = await tx.execute(
                "UPDATE alerts SET status = 'sending', lease_until = ?"
                " WHERE status = 'pending' AND id IN (SELECT id FROM alerts"
                f" WHERE id = ? AND status = 'pending'{self.db.dialect.skip_locked})",
                (self.db.claims.lease_until(), alert_id),
            )
        if changed:
            self.db.claims.alerts.add(alert_id)
        return bool(changed)

    async def finish(self, alert_id: int, status: str, now: datetime) -> None:
        """Record the outcome of a claimed alert: sent, failed."""
        async with self.db.transaction() as tx:
            await tx.execute(
                "UPDATE alerts SET status = ?, sent_at = ? WHERE id = ?",
                (status, _ts(now), alert_id),
            )
            await tx.execute(
                "UPDATE reminders SET active = 0"
                " WHERE id = (SELECT reminder_id FROM alerts WHERE id = ?)"
                " AND NOT EXISTS (SELECT 1 FROM alerts WHERE status IN ('pending', 'sending')"
                " AND reminder_id = (SELECT reminder_id FROM alerts WHERE id = ?))",
                (alert_id, alert_id),
            )
        self.db.claims.alerts.discard(alert_id)

    async def retry_unsure(self, alert_id: int) -> bool:
        """sending -> pending once after a send that may have arrived; False the second time."""
        async with self.db.transaction() as tx:
            changed = await tx.execute(
                "UPDATE alerts SET status = 'pending', unsure = unsure + 1"
                " WHERE id = ? AND status = 'sending' AND unsure = 0",
                (alert_id,),
            )
        if changed:
            self.db.claims.alerts.discard(alert_id)
        return bool(changed)

    async def release(self, alert_id: int) -> None:
        """sending -> pending (a transient failure: try again later)."""
        async with self.db.transaction() as tx:
            await tx.execute(
                "UPDATE alerts SET status = 'pending' WHERE id = ? AND status = 'sending'",
                (alert_id,),
            )
        self.db.claims.alerts.discard(alert_id)

    async def block_chat(self, channel: str, chat_id: int) -> int:
        """The user blocked the bot (403): stop every reminder into that chat."""
        async with self.db.transaction() as tx:
            blocked = await tx.execute(
                "UPDATE alerts SET status = 'blocked' WHERE status IN ('pending', 'sending')"
                " AND reminder_id IN (SELECT id FROM reminders WHERE channel = ? AND chat_id = ?)",
                (channel, chat_id),
            )
            await tx.execute(
                "UPDATE reminders SET active = 0 WHERE channel = ? AND chat_id = ?",
                (channel, chat_id),
            )
        return blocked

    async def recover(self, channels: Sequence[str]) -> int:
        """At start-up: alerts on ``channels`` left 'sending' by a crash go back to pending.

        With replicas only those whose lease expired (the others are being sent right now
        by a live replica).
        """
        marks, names = in_list(channels)
        expired, params = "", names
        if self.db.replicas:
            expired = " AND (lease_until IS NULL OR lease_until < ?)"
            params = (*names, _ts(self.db.claims.clock()))
        async with self.db.transaction() as tx:
            return await tx.execute(
                "UPDATE alerts SET status = 'pending' WHERE status = 'sending' AND reminder_id IN"
                f" (SELECT id FROM reminders WHERE channel IN ({marks})){expired}",
                params,
            )
