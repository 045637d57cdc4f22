"""WeChat openid <-> the integer user id the core uses (on channel 'wechat')."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.storage.db import Database


class WeChatUserRepo:
    """Stable integer ids for WeChat users: ``wechat_users.id``, always with channel 'wechat'.

    The id is unique only within the channel; a Telegram user may have the same number.
    """

    def __init__(self, db: Database) -> None:
        self.db = db

    async def user_id(self, openid: str, now: datetime | None = None) -> int:
        """The id of ``openid``, created on first sight; ``now`` records the user's message."""
        async with self.db.transaction() as conn:
            await conn.execute("INSERT OR IGNORE INTO wechat_users (openid) VALUES (?)", (openid,))
            if now is not None:
                await conn.execute(
                    "UPDATE wechat_users SET last_message = ? WHERE openid = ?",
                    (now.astimezone(UTC).isoformat(timespec="seconds"), openid),
                )
            async with conn.execute(
                "SELECT id FROM wechat_users WHERE openid = ?", (openid,)
            ) as cursor:
                row = await cursor.fetchone()
        assert row is not None
        return int(row[0])

    async def recipient(self, user_id: int) -> tuple[str, datetime | None] | None:
        """``(openid, time of the user's last message)`` for a WeChat user id."""
        async with self.db.connection.execute(
            "SELECT openid, last_message FROM wechat_users WHERE id = ?", (user_id,)
        ) as cursor:
            row = await cursor.fetchone()
        if row is None:
            return None
        return str(row[0]), datetime.fromisoformat(row[1]) if row[1] else None

    async def grant(self, openid: str) -> None:
        """The user confirmed one subscription message."""
        async with self.db.transaction() as conn:
            await conn.execute("INSERT OR IGNORE INTO wechat_users (openid) VALUES (?)", (openid,))
            await conn.execute(
                "UPDATE wechat_users SET grants = grants + 1 WHERE openid = ?", (openid,)
            )

    async def use_grant(self, openid: str) -> bool:
        """Take one confirmed grant; False when the user has none left."""
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE wechat_users SET grants = grants - 1 WHERE openid = ? AND grants > 0",
                (openid,),
            )
        return bool(cursor.rowcount)

    async def give_back(self, openid: str) -> None:
        """A grant that could not be used (the send failed) is kept for the next try."""
        await self.grant(openid)
