"""The bot's audience: private users, groups and channels, and who wants announcements.

A chat is keyed by (channel, chat_id): the channel is the platform ('telegram', 'wechat',
'console'), so the same number on two platforms is two chats. A WeChat follower is a
'private' chat on channel 'wechat'.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from bot.storage.db import Database

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


def _ts(now: datetime) -> str:
    return now.astimezone(UTC).isoformat(timespec="seconds")


class ChatRepo:
    """All SQL about chats, subscriptions and counters."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, channel: str, chat_id: int) -> ChatRow | None:
        """The stored chat, if known."""
        async with self.db.connection.execute(
            "SELECT channel, chat_id, type, title, member, subscribed, asked FROM chats"
            " WHERE channel = ? AND chat_id = ?",
            (channel, chat_id),
        ) as cursor:
            row = await cursor.fetchone()
        if row is None:
            return None
        return ChatRow(row[0], row[1], row[2], row[3], bool(row[4]), bool(row[5]), bool(row[6]))

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
        async with self.db.transaction() as conn:
            title = title[:200]
            known = await self.get(channel, chat_id)
            if known is not None and (known.type, chat_type) != ("group", "supergroup"):
                chat_type = known.type
            if known is None:
                await conn.execute(
                    "INSERT INTO chats"
                    " (channel, chat_id, type, title, member, subscribed, updated_at)"
                    " VALUES (?, ?, ?, ?, 1, ?, ?)",
                    (channel, chat_id, chat_type, title, int(subscribe), _ts(now)),
                )
                return ChatRow(channel, chat_id, chat_type, title, True, subscribe, False), True
            if known.member and known.type == chat_type and known.title == title:
                return known, False
            await conn.execute(
                "UPDATE chats SET type = ?, title = ?, member = 1, updated_at = ?"
                " WHERE channel = ? AND chat_id = ?",
                (chat_type, title, _ts(now), channel, chat_id),
            )
        row = ChatRow(channel, chat_id, chat_type, title, True, known.subscribed, known.asked)
        return row, False

    async def left(self, channel: str, chat_id: int, now: datetime) -> None:
        """The bot was removed, kicked or blocked there: never post there again (until back)."""
        async with self.db.transaction() as conn:
            await conn.execute(
                "UPDATE chats SET member = 0, updated_at = ? WHERE channel = ? AND chat_id = ?",
                (_ts(now), channel, chat_id),
            )

    async def set_subscribed(self, channel: str, chat_id: int, on: bool, now: datetime) -> None:
        """Turn announcements on or off for a chat (and remember the user was asked)."""
        async with self.db.transaction() as conn:
            await conn.execute(
                "UPDATE chats SET subscribed = ?, asked = 1, updated_at = ?"
                " WHERE channel = ? AND chat_id = ?",
                (int(on), _ts(now), channel, chat_id),
            )

    async def mark_asked(self, channel: str, chat_id: int) -> None:
        """The private user has been offered a subscription once."""
        async with self.db.transaction() as conn:
            await conn.execute(
                "UPDATE chats SET asked = 1 WHERE channel = ? AND chat_id = ?", (channel, chat_id)
            )

    async def migrate(self, channel: str, old_id: int, new_id: int, now: datetime) -> None:
        """A group became a supergroup: keep its subscription under the new id."""
        async with self.db.transaction() as conn:
            await conn.execute(
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
            await conn.execute(
                "DELETE FROM chats WHERE channel = ? AND chat_id = ?", (channel, old_id)
            )

    async def count(self, name: str, by: int = 1) -> None:
        """Add to a named counter (questions answered)."""
        async with self.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO counters (name, value) VALUES (?, ?)"
                " ON CONFLICT (name) DO UPDATE SET value = value + excluded.value",
                (name, by),
            )

    async def stats(self) -> AudienceStats:
        """Reachable users, subscribers, groups, channels (all platforms); questions answered."""
        async with self.db.connection.execute(
            """
            SELECT
              SUM(type = 'private' AND member = 1),
              SUM(type = 'private' AND member = 1 AND subscribed = 1),
              SUM(type IN ('group', 'supergroup') AND member = 1),
              SUM(type = 'channel' AND member = 1),
              (SELECT value FROM counters WHERE name = 'questions_answered')
            FROM chats
            """
        ) as cursor:
            row = await cursor.fetchone()
        values = [int(v or 0) for v in (row or (0, 0, 0, 0, 0))]
        return AudienceStats(*values)
