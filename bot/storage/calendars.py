"""Calendar links: who a calendar token belongs to (bot/calendar).

A link is a random token handed to one user; only its SHA-256 (``token_hash``) is stored, so
the table (or a backup of it) opens no calendar. Two kinds:

- ``feed``: the calendar subscription, valid until the user resets their links. A user may
  hold a few (each /ics hands out a new one, since a stored hash cannot be shown again);
  beyond :data:`KEEP_FEEDS` the oldest never fetched goes first, a subscribed one last.
- ``file``: a one-time download, valid until ``expires_at`` for ``uses_left`` fetches.

Every link of a user carries the same ``uid_key``, from which the feed derives stable event
UIDs that reveal no reminder id; a reset drops it with the links.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from bot.storage.db import Database, Tx

FEED, FILE = "feed", "file"
KEEP_FEEDS = 5  # subscription links per user
KEEP_FILES = 3  # unexpired download links per user


@dataclass(frozen=True)
class LinkOwner:
    """The user a valid token belongs to."""

    channel: str
    user_id: int
    uid_key: str
    used_at: datetime | None = None


def _ts(moment: datetime) -> str:
    """A stored time: UTC ISO-8601 to the microsecond (so two links made within one second
    still sort by age), sortable as text."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


class CalendarLinkRepo:
    """All calendar-link SQL."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def add_feed(
        self, *, channel: str, user_id: int, token_hash: str, new_key: str, now: datetime
    ) -> None:
        """Store a subscription token (the user's ``uid_key``, or ``new_key`` for their first)."""
        async with self.db.transaction() as tx:
            key = await self._key(tx, channel, user_id, new_key)
            await tx.execute(
                "INSERT INTO calendar_links (token_hash, kind, channel, user_id, uid_key,"
                " created_at) VALUES (?, ?, ?, ?, ?, ?)",
                (token_hash, FEED, channel, user_id, key, _ts(now)),
            )
            await self._keep(tx, FEED, channel, user_id, KEEP_FEEDS)

    async def add_file(
        self,
        *,
        channel: str,
        user_id: int,
        token_hash: str,
        new_key: str,
        now: datetime,
        expires_at: datetime,
        uses: int,
    ) -> None:
        """Store a download token valid until ``expires_at`` for ``uses`` fetches."""
        async with self.db.transaction() as tx:
            await tx.execute(
                "DELETE FROM calendar_links WHERE kind = ? AND (expires_at < ? OR uses_left < 1)",
                (FILE, _ts(now)),
            )
            key = await self._key(tx, channel, user_id, new_key)
            await tx.execute(
                "INSERT INTO calendar_links (token_hash, kind, channel, user_id, uid_key,"
                " created_at, expires_at, uses_left) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (token_hash, FILE, channel, user_id, key, _ts(now), _ts(expires_at), uses),
            )
            await self._keep(tx, FILE, channel, user_id, KEEP_FILES)

    @staticmethod
    async def _key(tx: Tx, channel: str, user_id: int, new_key: str) -> str:
        row = await tx.fetchone(
            "SELECT uid_key FROM calendar_links WHERE channel = ? AND user_id = ? LIMIT 1",
            (channel, user_id),
        )
        return str(row[0]) if row else new_key

    @staticmethod
    async def _keep(tx: Tx, kind: str, channel: str, user_id: int, keep: int) -> None:
        """Keep the user's ``keep`` links of ``kind`` that were used (subscribed) last, then
        the newest unused ones; drop the rest."""
        await tx.execute(
            "DELETE FROM calendar_links WHERE kind = ? AND channel = ? AND user_id = ?"
            " AND token_hash NOT IN (SELECT token_hash FROM calendar_links"
            " WHERE kind = ? AND channel = ? AND user_id = ?"
            " ORDER BY used_at IS NULL, COALESCE(used_at, created_at) DESC, created_at DESC"
            " LIMIT ?)",
            (kind, channel, user_id, kind, channel, user_id, keep),
        )

    async def feed_owner(self, token_hash: str) -> LinkOwner | None:
        """Whose subscription ``token_hash`` is, or None."""
        row = await self.db.fetchone(
            "SELECT channel, user_id, uid_key, used_at FROM calendar_links"
            " WHERE token_hash = ? AND kind = ?",
            (token_hash, FEED),
        )
        if row is None:
            return None
        used = datetime.fromisoformat(row[3]) if row[3] else None
        return LinkOwner(str(row[0]), int(row[1]), str(row[2]), used)

    async def touch(self, token_hash: str, now: datetime) -> None:
        """Record that a subscription was fetched (it is then kept over unused ones)."""
        async with self.db.transaction() as tx:
            await tx.execute(
                "UPDATE calendar_links SET used_at = ? WHERE token_hash = ?",
                (_ts(now), token_hash),
            )

    async def take_file(self, token_hash: str, now: datetime) -> LinkOwner | None:
        """Use one fetch of a download token; None when it is unknown, expired or used up."""
        async with self.db.transaction() as tx:
            row = await tx.fetchone(
                "UPDATE calendar_links SET uses_left = uses_left - 1, used_at = ?"
                " WHERE token_hash = ? AND kind = ? AND uses_left > 0 AND expires_at > ?"
                " RETURNING channel, user_id, uid_key",
                (_ts(now), token_hash, FILE, _ts(now)),
            )
        return LinkOwner(str(row[0]), int(row[1]), str(row[2]), now) if row else None

    async def revoke(self, channel: str, user_id: int) -> int:
        """Drop every link of the user (and their UID key); the number dropped."""
        async with self.db.transaction() as tx:
            return await tx.execute(
                "DELETE FROM calendar_links WHERE channel = ? AND user_id = ?", (channel, user_id)
            )
