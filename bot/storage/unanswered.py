"""Questions the bot could not answer: normalised text, how often, when last asked."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.storage.db import Database

MAX_STORED_CHARS = 200


@dataclass(frozen=True)
class UnansweredQuestion:
    """One distinct unanswered question."""

    normalized: str
    example: str
    count: int
    last_seen: datetime


class UnansweredRepo:
    """Counts unanswered questions so content authors see what people ask."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def record(self, normalized: str, example: str, now: datetime) -> None:
        """Count one more ask of ``normalized``; keep the latest wording as the example."""
        async with self.db.transaction() as conn:
            stamp = now.isoformat()
            await conn.execute(
                """
                INSERT INTO unanswered (normalized, example, count, first_seen, last_seen)
                VALUES (?, ?, 1, ?, ?)
                ON CONFLICT (normalized) DO UPDATE SET
                    count = count + 1, example = excluded.example, last_seen = excluded.last_seen
                """,
                (normalized[:MAX_STORED_CHARS], example[:MAX_STORED_CHARS], stamp, stamp),
            )

    async def top(self, limit: int = 20) -> list[UnansweredQuestion]:
        """The most asked ones first (ties: most recent first)."""
        async with self.db.connection.execute(
            """
            SELECT normalized, example, count, last_seen FROM unanswered
            ORDER BY count DESC, last_seen DESC LIMIT ?
            """,
            (limit,),
        ) as cursor:
            rows = await cursor.fetchall()
        return [
            UnansweredQuestion(row[0], row[1], int(row[2]), datetime.fromisoformat(row[3]))
            for row in rows
        ]
