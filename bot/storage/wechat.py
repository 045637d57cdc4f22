"""WeChat openid <-> the integer user id the core uses."""

from __future__ import annotations

from bot.storage.db import Database

WECHAT_ID_BASE = 10**15  # Telegram user ids stay far below this


class WeChatUserRepo:
    """Stable integer ids for WeChat users."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def user_id(self, openid: str) -> int:
        """The id of ``openid``, created on first sight."""
        async with self.db.transaction() as conn:
            await conn.execute("INSERT OR IGNORE INTO wechat_users (openid) VALUES (?)", (openid,))
            async with conn.execute(
                "SELECT id FROM wechat_users WHERE openid = ?", (openid,)
            ) as cursor:
                row = await cursor.fetchone()
        assert row is not None
        return WECHAT_ID_BASE + int(row[0])
