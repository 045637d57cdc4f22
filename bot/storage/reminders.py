"""Reminders and their alerts. An alert goes pending -> sending -> sent (or blocked/failed).

'sending' is written and committed before the message goes out and 'sent' right after, so a
crash in between leaves at most that one alert to be sent again after restart (at most one
duplicate); nothing is ever dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.storage.db import Database


@dataclass(frozen=True)
class Reminder:
    """A deadline one user asked to be reminded of."""

    id: int
    user_id: int
    chat_id: int
    kind: str
    text: str
    due_at: datetime
    alerts: tuple[datetime, ...] = ()  # pending alert times, earliest first


@dataclass(frozen=True)
class DueAlert:
    """An alert whose time has come, with what the message needs."""

    id: int
    reminder_id: int
    chat_id: int
    kind: str
    text: str
    due_at: datetime
    fire_at: datetime
    lead_min: int


ChatRange = tuple[int, int]  # [low, high) of chat ids one channel delivers to
ALL_CHATS: ChatRange = (-(2**63), 2**63 - 1)


def _ts(moment: datetime) -> str:
    """UTC ISO string; sortable as text."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime")
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def _dt(text: str) -> datetime:
    return datetime.fromisoformat(text)


class ReminderRepo:
    """All reminder SQL."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(
        self,
        *,
        user_id: int,
        chat_id: int,
        kind: str,
        text: str,
        due_at: datetime,
        alerts: Sequence[tuple[datetime, int]],
        now: datetime,
    ) -> int:
        """Store a reminder with its alerts ``(fire_at, lead minutes)`` in one transaction."""
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "INSERT INTO reminders (user_id, chat_id, kind, text, due_at, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (user_id, chat_id, kind, text, _ts(due_at), _ts(now)),
            )
            reminder_id = cursor.lastrowid
            assert reminder_id is not None
            await conn.executemany(
                "INSERT INTO alerts (reminder_id, fire_at, lead_min) VALUES (?, ?, ?)",
                [(reminder_id, _ts(fire_at), lead) for fire_at, lead in alerts],
            )
        return reminder_id

    async def count_active(self, user_id: int) -> int:
        """Active reminders of one user (for the per-user limit)."""
        async with self.db.connection.execute(
            "SELECT COUNT(*) FROM reminders WHERE user_id = ? AND active = 1", (user_id,)
        ) as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    async def list_active(self, user_id: int, limit: int = 100) -> list[Reminder]:
        """A user's active reminders, soonest deadline first, with pending alert times."""
        async with self.db.connection.execute(
            """
            SELECT r.id, r.user_id, r.chat_id, r.kind, r.text, r.due_at,
                   (SELECT group_concat(fire_at, ' ') FROM
                      (SELECT fire_at FROM alerts a
                       WHERE a.reminder_id = r.id AND a.status = 'pending' ORDER BY fire_at))
            FROM reminders r WHERE r.user_id = ? AND r.active = 1
            ORDER BY r.due_at LIMIT ?
            """,
            (user_id, limit),
        ) as cursor:
            rows = await cursor.fetchall()
        return [
            Reminder(
                row[0],
                row[1],
                row[2],
                row[3],
                row[4],
                _dt(row[5]),
                tuple(_dt(t) for t in (row[6] or "").split()),
            )
            for row in rows
        ]

    async def cancel(self, user_id: int, reminder_id: int) -> bool:
        """Cancel one of the user's own reminders; False if it is not theirs or not active."""
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE reminders SET active = 0 WHERE id = ? AND user_id = ? AND active = 1",
                (reminder_id, user_id),
            )
            if cursor.rowcount:
                await conn.execute(
                    "UPDATE alerts SET status = 'cancelled'"
                    " WHERE reminder_id = ? AND status IN ('pending', 'sending')",
                    (reminder_id,),
                )
        return bool(cursor.rowcount)

    async def snooze(self, user_id: int, reminder_id: int, fire_at: datetime) -> bool:
        """Add one more alert at ``fire_at`` to the user's own active reminder."""
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "INSERT INTO alerts (reminder_id, fire_at, lead_min)"
                " SELECT id, ?, -1 FROM reminders WHERE id = ? AND user_id = ? AND active = 1",
                (_ts(fire_at), reminder_id, user_id),
            )
        return bool(cursor.rowcount)

    async def next_fire_at(self, chats: ChatRange = ALL_CHATS) -> datetime | None:
        """Earliest pending alert time into ``chats`` (walks the alerts_due index), or None."""
        async with self.db.connection.execute(
            "SELECT a.fire_at FROM alerts a JOIN reminders r ON r.id = a.reminder_id"
            " WHERE a.status = 'pending' AND r.chat_id >= ? AND r.chat_id < ?"
            " ORDER BY a.fire_at LIMIT 1",
            chats,
        ) as cursor:
            row = await cursor.fetchone()
        return _dt(row[0]) if row and row[0] else None

    async def due(
        self, now: datetime, limit: int = 200, chats: ChatRange = ALL_CHATS
    ) -> list[DueAlert]:
        """Pending alerts into ``chats`` whose time has come, oldest first."""
        async with self.db.connection.execute(
            """
            SELECT a.id, a.reminder_id, r.chat_id, r.kind, r.text, r.due_at, a.fire_at,
                   a.lead_min
            FROM alerts a JOIN reminders r ON r.id = a.reminder_id
            WHERE a.status = 'pending' AND a.fire_at <= ? AND r.chat_id >= ? AND r.chat_id < ?
            ORDER BY a.fire_at LIMIT ?
            """,
            (_ts(now), *chats, limit),
        ) as cursor:
            rows = await cursor.fetchall()
        return [
            DueAlert(row[0], row[1], row[2], row[3], row[4], _dt(row[5]), _dt(row[6]), row[7])
            for row in rows
        ]

    async def claim(self, alert_id: int) -> bool:
        """pending -> sending, committed before the send; False if someone else has it."""
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE alerts SET status = 'sending' WHERE id = ? AND status = 'pending'",
                (alert_id,),
            )
        return bool(cursor.rowcount)

    async def finish(self, alert_id: int, status: str, now: datetime) -> None:
        """Record the outcome of a claimed alert: sent, failed."""
        async with self.db.transaction() as conn:
            await conn.execute(
                "UPDATE alerts SET status = ?, sent_at = ? WHERE id = ?",
                (status, _ts(now), alert_id),
            )
            await conn.execute(
                "UPDATE reminders SET active = 0"
                " WHERE id = (SELECT reminder_id FROM alerts WHERE id = ?)"
                " AND NOT EXISTS (SELECT 1 FROM alerts WHERE status IN ('pending', 'sending')"
                " AND reminder_id = (SELECT reminder_id FROM alerts WHERE id = ?))",
                (alert_id, alert_id),
            )

    async def release(self, alert_id: int) -> None:
        """sending -> pending (a transient failure: try again later)."""
        async with self.db.transaction() as conn:
            await conn.execute(
                "UPDATE alerts SET status = 'pending' WHERE id = ? AND status = 'sending'",
                (alert_id,),
            )

    async def block_chat(self, chat_id: int) -> int:
        """The user blocked the bot (403): stop every reminder into that chat."""
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE alerts SET status = 'blocked' WHERE status IN ('pending', 'sending')"
                " AND reminder_id IN (SELECT id FROM reminders WHERE chat_id = ?)",
                (chat_id,),
            )
            await conn.execute("UPDATE reminders SET active = 0 WHERE chat_id = ?", (chat_id,))
        return cursor.rowcount

    async def recover(self, chats: ChatRange = ALL_CHATS) -> int:
        """At start-up: alerts into ``chats`` left 'sending' by a crash go back to pending."""
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE alerts SET status = 'pending' WHERE status = 'sending' AND reminder_id IN"
                " (SELECT id FROM reminders WHERE chat_id >= ? AND chat_id < ?)",
                chats,
            )
        return cursor.rowcount
