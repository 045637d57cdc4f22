"""SQLite through aiosqlite: one connection in WAL mode; the migrations of migrations.py."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterable
from pathlib import Path

import aiosqlite

from bot.storage import db as base
from bot.storage.db import SQLITE, Database, Params, Row, Tx
from bot.storage.migrations import MIGRATIONS

log = logging.getLogger(__name__)


class _Connection(Tx):
    """Statements on the one aiosqlite connection."""

    def __init__(self, connection: aiosqlite.Connection) -> None:
        self.connection = connection

    async def execute(self, sql: str, params: Params = ()) -> int:
        cursor = await self.connection.execute(sql, params)
        return cursor.rowcount

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        await self.connection.executemany(sql, rows)

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        rows = await self.connection.execute_fetchall(sql, params)  # one trip to its thread
        return tuple(next(iter(rows))) if rows else None

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        return [tuple(row) for row in await self.connection.execute_fetchall(sql, params)]


class SqliteDatabase(Database):
    """One aiosqlite connection in WAL mode; repositories share it."""

    dialect = SQLITE

    def __init__(self, connection: aiosqlite.Connection) -> None:
        super().__init__()
        self.connection = connection
        self._on = _Connection(connection)
        self._write = asyncio.Lock()

    @classmethod
    async def connect(cls, path: Path) -> SqliteDatabase:
        """Open (creating folders and file as needed) and migrate to the latest schema."""
        if str(path) != ":memory:":
            path.parent.mkdir(parents=True, exist_ok=True)
        connection = await aiosqlite.connect(path)
        try:
            await connection.execute("PRAGMA journal_mode=WAL")
            await connection.execute(f"PRAGMA synchronous={base.SYNCHRONOUS}")
            await connection.execute("PRAGMA foreign_keys=ON")
            await connection.execute("PRAGMA busy_timeout=5000")
            await _migrate(connection)
        except BaseException:
            await connection.close()
            raise
        return cls(connection)

    @contextlib.asynccontextmanager
    async def transaction(self, *, immediate: bool = False) -> AsyncIterator[Tx]:
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
                yield self._on
            except BaseException:
                await self.connection.rollback()
                raise
            await self.connection.commit()

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        return await self._on.fetchone(sql, params)

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        return await self._on.fetchall(sql, params)

    async def stream(
        self, sql: str, params: Params = (), size: int = 1000
    ) -> AsyncIterator[list[Row]]:
        async with self.connection.execute(sql, params) as cursor:
            while rows := await cursor.fetchmany(size):
                yield [tuple(row) for row in rows]

    async def schema_version(self) -> int:
        row = await self.fetchone("PRAGMA user_version")
        return int(row[0]) if row else 0

    async def columns(self) -> dict[str, list[str]]:
        tables = await self.fetchall(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            " ORDER BY name"
        )
        found: dict[str, list[str]] = {}
        for (table,) in tables:
            rows = await self.fetchall(
                "SELECT name FROM pragma_table_info(?) ORDER BY cid", (table,)
            )
            found[str(table)] = [str(name) for (name,) in rows]
        return found

    async def close(self) -> None:
        await super().close()
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


base.ENGINES[SQLITE.name] = SqliteDatabase.connect
