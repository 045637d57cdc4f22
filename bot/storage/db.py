"""Open the database, apply migrations in order, close it. Nothing runs at import time."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import aiosqlite

from bot.storage.migrations import LEGACY_WECHAT_ID_BASE, MIGRATIONS

__all__ = ["LEGACY_WECHAT_ID_BASE", "MIGRATIONS", "SYNCHRONOUS", "Database", "in_list"]

log = logging.getLogger(__name__)

# FULL: a commit that promises something to a user (a saved reminder, a confirmed broadcast)
# is on disk before the user is told, even after a power loss. Measured in bench/durability.py.
SYNCHRONOUS = "FULL"


def in_list(values: Sequence[str]) -> tuple[str, tuple[str, ...]]:
    """Placeholders ``?,?,...`` and the bound values for ``column IN (...)``.

    A bare string is refused: ``"wechat"`` would otherwise become six one-letter names.
    An empty list gives ``IN ()``, which SQLite reads as false.
    """
    if isinstance(values, str):
        raise TypeError(f"expected a sequence of names, got the string {values!r}")
    bound = tuple(values)
    return ",".join("?" * len(bound)), bound


class Database:
    """One aiosqlite connection in WAL mode; repositories share it."""

    def __init__(self, connection: aiosqlite.Connection) -> None:
        self.connection = connection
        self._write = asyncio.Lock()

    @contextlib.asynccontextmanager
    async def transaction(self, *, immediate: bool = False) -> AsyncIterator[aiosqlite.Connection]:
        """One write transaction at a time on the shared connection: commit, or roll back.

        Concurrent handlers share one connection; without this, one handler's commit could
        land in the middle of another's multi-statement write. ``immediate`` takes the
        database's write lock at once (``BEGIN IMMEDIATE``), so a read inside the block is
        also what other processes see until the commit: a lock across processes.
        """
        async with self._write:
            try:
                if immediate:
                    await self.connection.execute("BEGIN IMMEDIATE")
                yield self.connection
            except BaseException:
                await self.connection.rollback()
                raise
            await self.connection.commit()

    @classmethod
    async def open(cls, path: Path) -> Database:
        """Open (creating folders and file as needed) and migrate to the latest schema."""
        if str(path) != ":memory:":
            path.parent.mkdir(parents=True, exist_ok=True)
        connection = await aiosqlite.connect(path)
        try:
            await connection.execute("PRAGMA journal_mode=WAL")
            await connection.execute(f"PRAGMA synchronous={SYNCHRONOUS}")
            await connection.execute("PRAGMA foreign_keys=ON")
            await connection.execute("PRAGMA busy_timeout=5000")
            await _migrate(connection)
        except BaseException:
            await connection.close()
            raise
        return cls(connection)

    async def close(self) -> None:
        """Close the connection (safe to call twice)."""
        await self.connection.close()


async def _migrate(connection: aiosqlite.Connection) -> None:
    async with connection.execute("PRAGMA user_version") as cursor:
        row = await cursor.fetchone()
    version = int(row[0]) if row else 0
    if version > len(MIGRATIONS):
        raise RuntimeError(
            f"database schema version {version} is newer than this bot ({len(MIGRATIONS)})"
        )
    for target, script in enumerate(MIGRATIONS[version:], start=version + 1):
        # executescript commits first; the script and the version bump run as one transaction.
        await connection.executescript(
            f"BEGIN;\n{script}\nPRAGMA user_version = {target};\nCOMMIT;"
        )
        log.info("database migrated to schema version %d", target)
