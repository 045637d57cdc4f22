"""Questions the bot could not answer: normalised text, how often, when last asked, handled.

A row is *handled* once an admin taught the bot its answer (see ``learned.py``); it stays
(later asks still count) but leaves the /unanswered list.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.storage.db import Database

MAX_STORED_CHARS = 200


@dataclass(frozen=True)
class UnansweredQuestion:
    """One distinct unanswered question."""

    id: int
    normalized: str
    example: str
    count: int
    last_seen: datetime
    handled: bool = False


_COLUMNS = "id, normalized, example, count, last_seen, handled_at IS NOT NULL"


def _row(row: tuple[object, ...]) -> UnansweredQuestion:
    return UnansweredQuestion(
        int(str(row[0])),
        str(row[1]),
        str(row[2]),
        int(str(row[3])),
        datetime.fromisoformat(str(row[4])),
        bool(row[5]),
    )


class UnansweredRepo:
    """Counts unanswered questions so content authors see what people ask."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def record(self, normalized: str, example: str, now: datetime) -> int:
        """Count one more ask of ``normalized``; keep the latest wording. Returns the row id."""
        async with self.db.transaction() as tx:
            stamp = now.isoformat()
            row = await tx.fetchone(
                """
                INSERT INTO unanswered (normalized, example, count, first_seen, last_seen)
                VALUES (?, ?, 1, ?, ?)
                ON CONFLICT (normalized) DO UPDATE SET count = unanswered.count + 1,
                    example = excluded.example, last_seen = excluded.last_seen
                RETURNING id
                """,
                (normalized[:MAX_STORED_CHARS], example[:MAX_STORED_CHARS], stamp, stamp),
            )
        assert row is not None
        return int(row[0])

    async def top(self, limit: int = 20, offset: int = 0) -> list[UnansweredQuestion]:
        """The most asked open (not yet handled) ones first (ties: most recent first)."""
        rows = await self.db.fetchall(
            f"""
            SELECT {_COLUMNS} FROM unanswered WHERE handled_at IS NULL
            ORDER BY count DESC, last_seen DESC, id LIMIT ? OFFSET ?
            """,
            (limit, offset),
        )
        return [_row(row) for row in rows]

    async def open_count(self) -> int:
        """How many distinct questions wait for an answer."""
        row = await self.db.fetchone("SELECT COUNT(*) FROM unanswered WHERE handled_at IS NULL")
        return int(row[0]) if row else 0

    async def get(self, row_id: int) -> UnansweredQuestion | None:
        """One row by id, handled or not (None: no such row)."""
        row = await self.db.fetchone(f"SELECT {_COLUMNS} FROM unanswered WHERE id = ?", (row_id,))
        return _row(row) if row is not None else None
