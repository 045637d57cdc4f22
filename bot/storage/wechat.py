"""WeChat openid <-> the integer user id the core uses (on channel 'wechat'), subscription
grants, and the access token every process shares."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from bot.storage.db import Database, Tx

StoredToken = tuple[str, datetime]  # (access token, when it expires)
_ADD_USER = "INSERT INTO wechat_users (openid) VALUES (?) ON CONFLICT DO NOTHING"


class WeChatUserRepo:
    """Stable integer ids for WeChat users: ``wechat_users.id``, always with channel 'wechat'.

    The id is unique only within the channel; a Telegram user may have the same number.
    """

    def __init__(self, db: Database) -> None:
        self.db = db

    async def user_id(self, openid: str, now: datetime | None = None) -> int:
        """The id of ``openid``, created on first sight; ``now`` records the user's message."""
        async with self.db.transaction() as tx:
            await tx.execute(_ADD_USER, (openid,))
            if now is not None:
                await tx.execute(
                    "UPDATE wechat_users SET last_message = ? WHERE openid = ?",
                    (now.astimezone(UTC).isoformat(timespec="seconds"), openid),
                )
            row = await tx.fetchone("SELECT id FROM wechat_users WHERE openid = ?", (openid,))
        assert row is not None
        return int(row[0])

    async def recipient(self, user_id: int) -> tuple[str, datetime | None] | None:
        """``(openid, time of the user's last message)`` for a WeChat user id."""
        row = await self.db.fetchone(
            "SELECT openid, last_message FROM wechat_users WHERE id = ?", (user_id,)
        )
        if row is None:
            return None
        return str(row[0]), datetime.fromisoformat(row[1]) if row[1] else None

    async def grant(self, openid: str) -> None:
        """The user confirmed one subscription message.

        WeChat does not add up confirmations of one scene (one message, however often the
        user confirms), so neither does this: at most one grant is held.
        """
        async with self.db.transaction() as tx:
            await tx.execute(_ADD_USER, (openid,))
            await tx.execute("UPDATE wechat_users SET grants = 1 WHERE openid = ?", (openid,))

    async def use_grant(self, openid: str) -> bool:
        """Take one confirmed grant; False when the user has none left."""
        async with self.db.transaction() as tx:
            used = await tx.execute(
                "UPDATE wechat_users SET grants = grants - 1 WHERE openid = ? AND grants > 0",
                (openid,),
            )
        return bool(used)

    async def give_back(self, openid: str) -> None:
        """A grant that could not be used (the send failed) is kept for the next try."""
        await self.grant(openid)


class AccessTokenRepo:
    """The WeChat access token of an app id, shared by every process on this database.

    Refreshing happens inside an immediate transaction (SQLite's ``BEGIN IMMEDIATE``, an
    advisory lock on PostgreSQL): the first process to see a stale token fetches a new one
    while the others wait for the lock and then read it.
    """

    def __init__(self, db: Database) -> None:
        self.db = db

    async def read(self, app_id: str) -> StoredToken | None:
        """The stored token and its expiry, if any."""
        return await self._read(self.db, app_id)

    async def refresh(
        self,
        app_id: str,
        usable: Callable[[StoredToken], bool],
        fetch: Callable[[], Awaitable[StoredToken]],
    ) -> str:
        """Under the write lock: the stored token if ``usable`` says so, else ``fetch`` one.

        ``fetch`` runs while the lock is held (keep it short: other writers wait for it);
        when it raises, nothing is stored.
        """
        async with self.db.transaction(immediate=True) as tx:
            stored = await self._read(tx, app_id)
            if stored is not None and usable(stored):
                return stored[0]
            token, expires_at = await fetch()
            await tx.execute(
                "INSERT INTO wechat_tokens (app_id, token, expires_at) VALUES (?, ?, ?)"
                " ON CONFLICT (app_id) DO UPDATE"
                " SET token = excluded.token, expires_at = excluded.expires_at",
                (app_id, token, expires_at.astimezone(UTC).isoformat(timespec="seconds")),
            )
        return token

    @staticmethod
    async def _read(on: Tx | Database, app_id: str) -> StoredToken | None:
        row = await on.fetchone(
            "SELECT token, expires_at FROM wechat_tokens WHERE app_id = ?", (app_id,)
        )
        return (str(row[0]), datetime.fromisoformat(row[1])) if row else None
