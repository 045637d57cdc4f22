"""The bot's audience: private users, groups and channels, and who wants announcements.

A chat is keyed by (channel, chat_id): the channel is the platform ('telegram', 'wechat',
'console'), so the same number on two platforms is two chats. A WeChat follower is a
'private' chat on channel 'wechat'.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.storage.db import Database, Row
from bot.storage.leases import stamp as _ts

CHAT_TYPES = ("private", "group", "supergroup", "channel")


@dataclass(frozen=True)
class ChatRow:
    """One known chat."""

    channel: str
    chat_id: int
    type: str
    title: str
    member: bool
    subscribed: bool
    asked: bool


@dataclass(frozen=True)
class AudienceStats:
    """Counts for /stats."""

    users: int
    subscribers: int
    groups: int
    channels: int
    questions_answered: int


_GET = (
    "SELECT channel, chat_id, type, title, member, subscribed, asked FROM chats"
    " WHERE channel = ? AND chat_id = ?"
)


def _chat(row: Row | None) -> ChatRow | None:
    if row is None:
        return None
    return ChatRow(row[0], row[1], row[2], row[3], bool(row[4]), bool(row[5]), bool(row[6]))


def _unchanged(known: ChatRow, chat_type: str, title: str) -> bool:
    """Seeing the chat again changes nothing (a private chat never becomes a group; only a
    group may become a supergroup)."""
    upgrade = (known.type, chat_type) == ("group", "supergroup")
    return known.member and not upgrade and known.title == title


class ChatRepo:
    """All SQL about chats, subscriptions and counters."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, channel: str, chat_id: int) -> ChatRow | None:
        """The stored chat, if known."""
        return _chat(await self.db.fetchone(_GET, (channel, chat_id)))

    async def seen(
        self,
        channel: str,
        chat_id: int,
        chat_type: str,
        title: str,
        now: datetime,
        *,
        subscribe: bool = False,
    ) -> tuple[ChatRow, bool]:
        """Record a chat the bot can post in; returns the row and whether it is new.

        ``subscribe`` applies only to a chat seen for the first time (groups and channels
        the bot is added to get announcements until their admins turn them off). A known
        chat keeps its type (a private chat never becomes a group or the other way round);
        only a group may become a supergroup. Its channel is part of its key.
        """
        title = title[:200]
        known = await self.get(channel, chat_id)  # most messages: a known chat, nothing to write
        if known is not None and _unchanged(known, chat_type, title):
            return known, False
        async with self.db.transaction() as tx:
            if known is None:
                inserted = await tx.execute(
                    "INSERT INTO chats"
                    " (channel, chat_id, type, title, member, subscribed, updated_at)"
                    " VALUES (?, ?, ?, ?, 1, ?, ?) ON CONFLICT DO NOTHING",
                    (channel, chat_id, chat_type, title, int(subscribe), _ts(now)),
                )
                if inserted:
                    return ChatRow(channel, chat_id, chat_type, title, True, subscribe, False), True
                # Another task or replica added it a moment ago: it is known after all.
                known = _chat(await tx.fetchone(_GET, (channel, chat_id)))
                assert known is not None
                if _unchanged(known, chat_type, title):
                    return known, False
            if (known.type, chat_type) != ("group", "supergroup"):
                chat_type = known.type
            await tx.execute(
                "UPDATE chats SET type = ?, title = ?, member = 1, updated_at = ?"
                " WHERE channel = ? AND chat_id = ?",
                (chat_type, title, _ts(now), channel, chat_id),
            )
        row = ChatRow(channel, chat_id, chat_type, title, True, known.subscribed, known.asked)
        return row, False

    async def left(self, channel: str, chat_id: int, now: datetime) -> None:
        """The bot was removed, kicked or blocked there: never post there again (until back)."""
        async with self.db.transaction() as tx:
            await tx.execute(
                "UPDATE chats SET member = 0, updated_at = ? WHERE channel = ? AND chat_id = ?",
                (_ts(now), channel, chat_id),
            )

    async def set_subscribed(self, channel: str, chat_id: int, on: bool, now: datetime) -> None:
        """Turn announcements on or off for a chat (and remember the user was asked)."""
        async with self.db.transaction() as tx:
            await tx.execute(
                "UPDATE chats SET subscribed = ?, asked = 1, updated_at = ?"
                " WHERE channel = ? AND chat_id = ?",
                (int(on), _ts(now), channel, chat_id),
            )

    async def mark_asked(self, channel: str, chat_id: int) -> None:
        """The private user has been offered a subscription once."""
        async with self.db.transaction() as tx:
            await tx.execute(
                "UPDATE chats SET asked = 1 WHERE channel = ? AND chat_id = ?", (channel, chat_id)
            )

    async def migrate(self, channel: str, old_id: int, new_id: int, now: datetime) -> None:
        """A group became a supergroup: keep its subscription under the new id."""
        async with self.db.transaction() as tx:
            await tx.execute(
                """
                INSERT INTO chats
                    (channel, chat_id, type, title, member, subscribed, asked, updated_at)
                SELECT channel, ?, 'supergroup', title, member, subscribed, asked, ? FROM chats
                WHERE channel = ? AND chat_id = ?
                ON CONFLICT (channel, chat_id) DO UPDATE SET subscribed = excluded.subscribed,
                    member = excluded.member, updated_at = excluded.updated_at
                """,
                (new_id, _ts(now), channel, old_id),
            )
            await tx.execute(
                "DELETE FROM chats WHERE channel = ? AND chat_id = ?", (channel, old_id)
            )

    async def count(self, name: str, by: int = 1) -> None:
        """Add to a named counter (questions answered)."""
        async with self.db.transaction() as tx:
            await tx.execute(
                "INSERT INTO counters (name, value) VALUES (?, ?)"
                " ON CONFLICT (name) DO UPDATE SET value = counters.value + excluded.value",
                (name, by),
            )

    async def counter(self, name: str) -> int:
        """A named counter's value (0 when never counted)."""
        row = await self.db.fetchone("SELECT value FROM counters WHERE name = ?", (name,))
        return int(row[0]) if row is not None and row[0] is not None else 0

    async def stats(self) -> AudienceStats:
        """Reachable users, subscribers, groups, channels (all platforms); questions answered."""
        row = await self.db.fetchone(
            """
            SELECT
              COUNT(*) FILTER (WHERE type = 'private' AND member = 1),
              COUNT(*) FILTER (WHERE type = 'private' AND member = 1 AND subscribed = 1),
              COUNT(*) FILTER (WHERE type IN ('group', 'supergroup') AND member = 1),
              COUNT(*) FILTER (WHERE type = 'channel' AND member = 1),
              (SELECT value FROM counters WHERE name = 'questions_answered')
            FROM chats
            """
        )
        values = [int(v or 0) for v in (row or (0, 0, 0, 0, 0))]
        return AudienceStats(*values)
