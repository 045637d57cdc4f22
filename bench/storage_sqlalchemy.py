"""The other option, as a minimal prototype for bench/storage.py: SQLAlchemy Core (2.x) with
aiosqlite and asyncpg, doing what three of the bot's hot repository operations do, with the
same statements and the same commits: save a reminder with its alerts, claim an alert
(pending -> sending under a lease; ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, which
SQLAlchemy leaves out on SQLite by itself) and mark it sent (deactivating the reminder when
no alert is left). It works on the schema the bot's own migrations create.

Needs the ``bench`` extra: ``.venv/bin/pip install -e '.[bench]'``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import BigInteger, Column, Integer, MetaData, Table, Text, event, insert, select
from sqlalchemy import update as sa_update
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

_meta = MetaData()
REMINDERS = Table(
    "reminders",
    _meta,
    Column("id", BigInteger, primary_key=True),
    Column("user_id", BigInteger),
    Column("chat_id", BigInteger),
    Column("kind", Text),
    Column("text", Text),
    Column("due_at", Text),
    Column("active", Integer),
    Column("created_at", Text),
    Column("channel", Text),
)
ALERTS = Table(
    "alerts",
    _meta,
    Column("id", BigInteger, primary_key=True),
    Column("reminder_id", BigInteger),
    Column("fire_at", Text),
    Column("lead_min", Integer),
    Column("status", Text),
    Column("sent_at", Text),
    Column("unsure", Integer),
    Column("lease_until", Text),
)


def _ts(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def engine_for(target: Path | str, pool: int = 10) -> AsyncEngine:
    """An engine on the bot's database: SQLite with the bot's pragmas, or PostgreSQL."""
    if isinstance(target, str):
        url = target.replace("postgresql://", "postgresql+asyncpg://", 1)
        return create_async_engine(url, pool_size=pool, max_overflow=0)
    engine = create_async_engine(f"sqlite+aiosqlite:///{target}", connect_args={"timeout": 30})

    @event.listens_for(engine.sync_engine, "connect")
    def _pragmas(connection: Any, _record: Any) -> None:
        cursor = connection.cursor()
        for pragma in ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON"):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    return engine


class SaReminders:
    """Reminder operations in SQLAlchemy Core."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

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
        async with self.engine.begin() as conn:
            result = await conn.execute(
                insert(REMINDERS)
                .values(channel=channel, user_id=user_id, chat_id=chat_id, kind=kind,
                        text=text, due_at=_ts(due_at), active=1, created_at=_ts(now))
                .returning(REMINDERS.c.id)
            )  # fmt: skip
            reminder_id = int(result.scalar_one())
            await conn.execute(
                insert(ALERTS),
                [
                    {"reminder_id": reminder_id, "fire_at": _ts(at), "lead_min": lead,
                     "status": "pending", "unsure": 0}
                    for at, lead in alerts
                ],
            )  # fmt: skip
        return reminder_id

    async def claim(self, alert_id: int, lease_until: str) -> bool:
        inner = (
            select(ALERTS.c.id)
            .where(ALERTS.c.id == alert_id, ALERTS.c.status == "pending")
            .with_for_update(skip_locked=True)
        )
        async with self.engine.begin() as conn:
            result = await conn.execute(
                sa_update(ALERTS)
                .where(ALERTS.c.status == "pending", ALERTS.c.id.in_(inner))
                .values(status="sending", lease_until=lease_until)
            )
        return bool(result.rowcount)

    async def finish(self, alert_id: int, status: str, now: datetime) -> None:
        owner = select(ALERTS.c.reminder_id).where(ALERTS.c.id == alert_id).scalar_subquery()
        busy = (
            select(ALERTS.c.id)
            .where(ALERTS.c.status.in_(("pending", "sending")), ALERTS.c.reminder_id == owner)
            .exists()
        )
        async with self.engine.begin() as conn:
            await conn.execute(
                sa_update(ALERTS)
                .where(ALERTS.c.id == alert_id)
                .values(status=status, sent_at=_ts(now))
            )
            await conn.execute(
                sa_update(REMINDERS).where(REMINDERS.c.id == owner, ~busy).values(active=0)
            )
