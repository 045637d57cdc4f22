"""The bot's audience: private users, groups and channels, and who wants announcements."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from bot.storage.db import Database

CHAT_TYPES = ("private", "wechat", "group", "supergroup", "channel")


@dataclass(frozen=True)
class ChatRow:
    """One known chat."""

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

    async def get(self, chat_id: int) -> ChatRow | None:
        """The stored chat, if known."""
        async with self.db.connection.execute(
            "SELECT chat_id, type, title, member, subscribed, asked FROM chats WHERE chat_id = ?",
            (chat_id,),
        ) as cursor:
            row = await cursor.fetchone()
        if row is None:
            return None
        return ChatRow(row[0], row[1], row[2], bool(row[3]), bool(row[4]), bool(row[5]))

    async def seen(
        self, chat_id: int, chat_type: str, title: str, now: datetime, *, subscribe: bool = False
    ) -> tuple[ChatRow, bool]:
        """Record a chat the bot can post in; returns the row and whether it is new.

        ``subscribe`` applies only to a chat seen for the first time (groups and channels
        the bot is added to get announcements until their admins turn them off).
        """
        async with self.db.transaction() as conn:
            title = title[:200]
            known = await self.get(chat_id)
            if known is None:
                await conn.execute(
                    "INSERT INTO chats (chat_id, type, title, member, subscribed, updated_at)"
                    " VALUES (?, ?, ?, 1, ?, ?)",
                    (chat_id, chat_type, title, int(subscribe), _ts(now)),
                )
                return ChatRow(chat_id, chat_type, title, True, subscribe, False), True
            if known.member and known.type == chat_type and known.title == title:
                return known, False
            await conn.execute(
                "UPDATE chats SET type = ?, title = ?, member = 1, updated_at = ?"
                " WHERE chat_id = ?",
                (chat_type, title, _ts(now), chat_id),
            )
        return ChatRow(chat_id, chat_type, title, True, known.subscribed, known.asked), False

    async def left(self, chat_id: int, now: datetime) -> None:
        """The bot was removed, kicked or blocked there: never post there again (until back)."""
        async with self.db.transaction() as conn:
            await conn.execute(
                "UPDATE chats SET member = 0, updated_at = ? WHERE chat_id = ?", (_ts(now), chat_id)
            )

    async def set_subscribed(self, chat_id: int, on: bool, now: datetime) -> None:
        """Turn announcements on or off for a chat (and remember the user was asked)."""
        async with self.db.transaction() as conn:
            await conn.execute(
                "UPDATE chats SET subscribed = ?, asked = 1, updated_at = ? WHERE chat_id = ?",
                (int(on), _ts(now), chat_id),
            )

    async def mark_asked(self, chat_id: int) -> None:
        """The private user has been offered a subscription once."""
        async with self.db.transaction() as conn:
            await conn.execute("UPDATE chats SET asked = 1 WHERE chat_id = ?", (chat_id,))

    async def migrate(self, old_id: int, new_id: int, now: datetime) -> None:
        """A group became a supergroup: keep its subscription under the new id."""
        async with self.db.transaction() as conn:
            await conn.execute(
                """
                INSERT INTO chats (chat_id, type, title, member, subscribed, asked, updated_at)
                SELECT ?, 'supergroup', title, member, subscribed, asked, ? FROM chats
                WHERE chat_id = ?
                ON CONFLICT (chat_id) DO UPDATE SET subscribed = excluded.subscribed,
                    member = excluded.member, updated_at = excluded.updated_at
                """,
                (new_id, _ts(now), old_id),
            )
            await conn.execute("DELETE FROM chats WHERE chat_id = ?", (old_id,))

    async def count(self, name: str, by: int = 1) -> None:
        """Add to a named counter (questions answered)."""
        async with self.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO counters (name, value) VALUES (?, ?)"
                " ON CONFLICT (name) DO UPDATE SET value = value + excluded.value",
                (name, by),
            )

    async def stats(self) -> AudienceStats:
        """Users, subscribers, groups, channels the bot can reach; questions answered."""
        async with self.db.connection.execute(
            """
            SELECT
              SUM(type IN ('private', 'wechat') AND member = 1),
              SUM(type IN ('private', 'wechat') AND member = 1 AND subscribed = 1),
              SUM(type IN ('group', 'supergroup') AND member = 1),
              SUM(type = 'channel' AND member = 1),
              (SELECT value FROM counters WHERE name = 'questions_answered')
            FROM chats
            """
        ) as cursor:
            row = await cursor.fetchone()
        values = [int(v or 0) for v in (row or (0, 0, 0, 0, 0))]
        return AudienceStats(*values)
