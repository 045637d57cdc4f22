"""Broadcasts and their per-recipient deliveries.

A delivery goes pending -> sending (committed before the send) -> sent / failed / blocked /
unsure. At most the runner's window is 'sending' at once, so after a kill -9 at most that
many recipients get it twice; nobody is skipped. Recipients are (channel, chat_id) pairs; a
broadcast reaches the channels the process that starts it can send to. Replicas sharing a
PostgreSQL database run a broadcast together: each delivery is claimed by one of them under
a lease (leases.py), and the broadcast is done only when no delivery is left pending or in
flight anywhere.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.storage.db import Database, Row, in_list
from bot.storage.leases import stamp as _ts

AUDIENCES = {  # chat types per audience (WeChat followers are 'private' chats on 'wechat')
    "all": ("private", "group", "supergroup", "channel"),
    "users": ("private",),
    "groups": ("group", "supergroup"),
    "channels": ("channel",),
}
ACTIVE = ("queued", "scheduled", "running")


@dataclass(frozen=True)
class Broadcast:
    """One announcement."""

    id: int
    admin_id: int
    audience: str
    kind: str  # text | copy
    text: str
    from_chat_id: int | None
    from_message: int | None
    status: str  # draft | queued | scheduled | running | done | cancelled
    run_at: datetime | None
    created_at: datetime
    progress_channel: str | None  # where the admin's progress message is edited
    progress_chat: int | None
    progress_msg: int | None
    # Follow-up buttons under the text (rows of (label, action)); private chats only.
    buttons: tuple[tuple[tuple[str, str], ...], ...] = ()


@dataclass(frozen=True)
class Counts:
    """How far a broadcast got."""

    sent: int = 0
    failed: int = 0
    blocked: int = 0
    left: int = 0
    unsure: int = 0  # sent but unanswered (a timeout): maybe delivered, not sent again

    @property
    def total(self) -> int:
        """All recipients."""
        return self.sent + self.failed + self.blocked + self.left + self.unsure


def _dt(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


_COLUMNS = (
    "id, admin_id, audience, kind, text, from_chat_id, from_message, status, run_at,"
    " created_at, progress_channel, progress_chat, progress_msg, buttons"
)


def _buttons(text: str | None) -> tuple[tuple[tuple[str, str], ...], ...]:
    rows = json.loads(text) if text else []
    return tuple(tuple((str(label), str(action)) for label, action in row) for row in rows)


def _row(row: Row) -> Broadcast:
    """A row of ``_COLUMNS``: the columns in the dataclass's order, times parsed."""
    created = _dt(row[9])
    assert created is not None
    return Broadcast(
        row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7],
        _dt(row[8]), created, row[10], row[11], row[12], _buttons(row[13]),
    )  # fmt: skip


class BroadcastRepo:
    """All broadcast SQL."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(
        self,
        *,
        admin_id: int,
        kind: str,
        text: str,
        from_chat_id: int | None,
        from_message: int | None,
        run_at: datetime | None,
        now: datetime,
        buttons: Sequence[Sequence[tuple[str, str]]] = (),
    ) -> int:
        """A draft, not sent until confirmed."""
        stored = json.dumps([list(row) for row in buttons], ensure_ascii=False) if buttons else None
        async with self.db.transaction() as tx:
            row = await tx.fetchone(
                "INSERT INTO broadcasts (admin_id, audience, kind, text, from_chat_id,"
                " from_message, status, run_at, created_at, buttons) VALUES (?, 'all', ?, ?, ?,"
                " ?, 'draft', ?, ?, ?) RETURNING id",
                (
                    admin_id,
                    kind,
                    text,
                    from_chat_id,
                    from_message,
                    _ts(run_at) if run_at else None,
                    _ts(now),
                    stored,
                ),
            )
        assert row is not None
        return int(row[0])

    async def get(self, broadcast_id: int) -> Broadcast | None:
        """One broadcast."""
        row = await self.db.fetchone(
            f"SELECT {_COLUMNS} FROM broadcasts WHERE id = ?", (broadcast_id,)
        )
        return _row(row) if row else None

    async def audience_size(self, audience: str, channels: Sequence[str]) -> int:
        """How many chats on ``channels`` an audience reaches right now."""
        type_marks, types = in_list(AUDIENCES[audience])
        channel_marks, names = in_list(channels)
        row = await self.db.fetchone(
            "SELECT COUNT(*) FROM chats WHERE member = 1 AND subscribed = 1"
            f" AND channel IN ({channel_marks}) AND type IN ({type_marks})",
            (*names, *types),
        )
        return int(row[0]) if row else 0

    async def confirm(
        self,
        broadcast_id: int,
        audience: str,
        progress: tuple[str, int, int] | None,
        now: datetime,
    ) -> bool:
        """draft -> queued (or scheduled when run_at is in the future).

        ``progress`` is the admin's message to edit: ``(channel, chat_id, message_id)``.
        """
        async with self.db.transaction() as tx:
            changed = await tx.execute(
                "UPDATE broadcasts SET audience = ?,"
                " status = CASE WHEN run_at IS NOT NULL AND run_at > ? THEN 'scheduled'"
                " ELSE 'queued' END, progress_channel = ?, progress_chat = ?, progress_msg = ?"
                " WHERE id = ? AND status = 'draft'",
                (audience, _ts(now), *(progress or (None, None, None)), broadcast_id),
            )
        return bool(changed)

    async def next_runnable(self, now: datetime) -> Broadcast | None:
        """The oldest broadcast that is running, queued, or scheduled and due."""
        row = await self.db.fetchone(
            f"SELECT {_COLUMNS} FROM broadcasts WHERE status IN ('running', 'queued')"
            " OR (status = 'scheduled' AND run_at <= ?) ORDER BY id LIMIT 1",
            (_ts(now),),
        )
        return _row(row) if row else None

    async def next_scheduled(self) -> datetime | None:
        """When the next scheduled broadcast is due."""
        row = await self.db.fetchone(
            "SELECT MIN(run_at) FROM broadcasts WHERE status = 'scheduled'"
        )
        return _dt(row[0]) if row else None

    async def start(self, broadcast: Broadcast, now: datetime, channels: Sequence[str]) -> None:
        """Write a delivery row per recipient on ``channels`` (the audience now), then run.

        A broadcast already running (a restart) keeps the rows it has.
        """
        type_marks, types = in_list(AUDIENCES[broadcast.audience])
        channel_marks, names = in_list(channels)
        # A delivery left 'sending' by a crash: it may or may not have arrived. With replicas
        # only one whose lease expired (the others are in flight on a live replica).
        expired, params = "", list[object]([broadcast.id])
        if self.db.replicas:
            expired = " AND (lease_until IS NULL OR lease_until < ?)"
            params.append(_ts(self.db.claims.clock()))
        async with self.db.transaction() as tx:
            if broadcast.status != "running":
                await tx.execute(
                    "INSERT INTO deliveries (broadcast_id, channel, chat_id)"
                    " SELECT ?, channel, chat_id FROM chats WHERE member = 1 AND subscribed = 1"
                    f" AND channel IN ({channel_marks}) AND type IN ({type_marks})"
                    " ON CONFLICT DO NOTHING",
                    (broadcast.id, *names, *types),
                )
            await tx.execute(
                "UPDATE broadcasts SET status = 'running', started_at = COALESCE(started_at, ?)"
                " WHERE id = ? AND status IN ('queued', 'scheduled', 'running')",
                (_ts(now), broadcast.id),
            )
            await tx.execute(
                "UPDATE deliveries SET status = 'pending' WHERE broadcast_id = ?"
                f" AND status = 'sending'{expired}",
                params,
            )

    async def pending(self, broadcast_id: int, limit: int = 500) -> list[tuple[str, int, int]]:
        """``(channel, chat_id, attempts)`` still to send, fewest attempts first."""
        rows = await self.db.fetchall(
            "SELECT channel, chat_id, attempts FROM deliveries"
            " WHERE broadcast_id = ? AND status = 'pending'"
            " ORDER BY attempts, channel, chat_id LIMIT ?",
            (broadcast_id, limit),
        )
        return [(str(r[0]), int(r[1]), int(r[2])) for r in rows]

    async def claim(self, broadcast_id: int, channel: str, chat_id: int) -> bool:
        """pending -> sending (under a lease), committed before the message goes out; False
        if another task or replica has it."""
        key = (broadcast_id, channel, chat_id)
        async with self.db.transaction() as tx:
            changed = await tx.execute(
                "UPDATE deliveries SET status = 'sending', attempts = attempts + 1,"
                " lease_until = ? WHERE status = 'pending'"
                " AND (broadcast_id, channel, chat_id) IN (SELECT broadcast_id, channel, chat_id"
                " FROM deliveries WHERE broadcast_id = ? AND channel = ? AND chat_id = ?"
                f" AND status = 'pending'{self.db.dialect.skip_locked})",
                (self.db.claims.lease_until(), *key),
            )
        if changed:
            self.db.claims.deliveries.add(key)
        return bool(changed)

    async def record(
        self, broadcast_id: int, channel: str, chat_id: int, status: str, error: str = ""
    ) -> None:
        """The outcome of one delivery (sent, failed, blocked, or pending to retry)."""
        async with self.db.transaction() as tx:
            await tx.execute(
                "UPDATE deliveries SET status = ?, error = ?"
                " WHERE broadcast_id = ? AND channel = ? AND chat_id = ?",
                (status, error[:200], broadcast_id, channel, chat_id),
            )
        self.db.claims.deliveries.discard((broadcast_id, channel, chat_id))

    async def counts(self, broadcast_id: int) -> Counts:
        """Sent, failed, blocked and left for one broadcast."""
        row = await self.db.fetchone(
            "SELECT COUNT(*) FILTER (WHERE status = 'sent'),"
            " COUNT(*) FILTER (WHERE status = 'failed'),"
            " COUNT(*) FILTER (WHERE status = 'blocked'),"
            " COUNT(*) FILTER (WHERE status IN ('pending', 'sending')),"
            " COUNT(*) FILTER (WHERE status = 'unsure')"
            " FROM deliveries WHERE broadcast_id = ?",
            (broadcast_id,),
        )
        return Counts(*(int(v or 0) for v in (row or (0, 0, 0, 0, 0))))

    async def failure_reasons(self, broadcast_id: int, limit: int = 3) -> list[tuple[str, int]]:
        """The most common reasons of failed deliveries, with counts."""
        rows = await self.db.fetchall(
            "SELECT error, COUNT(*) FROM deliveries WHERE broadcast_id = ? AND status = 'failed'"
            " GROUP BY error ORDER BY COUNT(*) DESC, error LIMIT ?",
            (broadcast_id, limit),
        )
        return [(str(r[0]), int(r[1])) for r in rows]

    async def finish(self, broadcast_id: int, status: str, now: datetime) -> bool:
        """done or cancelled; pending deliveries of a cancelled one are dropped.

        'done' only once no delivery is pending or in flight (on another replica, say);
        False when the broadcast did not change (not done yet, or already finished).
        """
        left = ""
        if status == "done":
            left = (
                " AND NOT EXISTS (SELECT 1 FROM deliveries WHERE broadcast_id = broadcasts.id"
                " AND status IN ('pending', 'sending'))"
            )
        async with self.db.transaction() as tx:
            changed = await tx.execute(
                "UPDATE broadcasts SET status = ?, finished_at = ? WHERE id = ?"
                f" AND status NOT IN ('done', 'cancelled'){left}",
                (status, _ts(now), broadcast_id),
            )
            if status == "cancelled":
                await tx.execute(
                    "UPDATE deliveries SET status = 'cancelled' WHERE broadcast_id = ?"
                    " AND status = 'pending'",
                    (broadcast_id,),
                )
        return bool(changed)

    async def status(self, broadcast_id: int) -> str | None:
        """The current status (the runner checks it for cancellation)."""
        row = await self.db.fetchone("SELECT status FROM broadcasts WHERE id = ?", (broadcast_id,))
        return str(row[0]) if row else None

    async def recent(self, limit: int = 10) -> list[tuple[Broadcast, Counts]]:
        """The latest broadcasts (not drafts) with their counts."""
        found = await self.db.fetchall(
            f"SELECT {_COLUMNS} FROM broadcasts WHERE status != 'draft' ORDER BY id DESC LIMIT ?",
            (limit,),
        )
        rows = [_row(r) for r in found]
        return [(b, await self.counts(b.id)) for b in rows]
