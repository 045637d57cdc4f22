"""PostgreSQL through asyncpg: a connection pool, for several identical replicas.

The repositories' SQL is written with ``?`` placeholders; :func:`numbered` turns them into
``$1, $2, ...`` here and nowhere else. The schema starts from the consolidated script of
pg_schema.py at its version and then follows ``PG_MIGRATIONS``; ``schema_version`` keeps one
row per version applied. Replicas starting at once migrate one after the other (an advisory
lock), and every ``immediate`` transaction holds another advisory lock, as SQLite's
``BEGIN IMMEDIATE`` holds its write lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import logging
import re
from collections.abc import AsyncIterator, Callable, Iterable
from datetime import UTC, datetime

import asyncpg

from bot.storage.db import ENGINES, POSTGRESQL, Database, Params, Row, Tx
from bot.storage.migrations import MIGRATIONS
from bot.storage.pg_schema import PG_BASELINE, PG_BASELINE_VERSION, PG_MIGRATIONS

log = logging.getLogger(__name__)

POOL_SIZE = 10  # connections per process; handlers wait for a free one
MIGRATE_LOCK = 0x626F7401  # advisory lock keys ("bot" + n), one per purpose
IMMEDIATE_LOCK = 0x626F7402

_TOKEN = re.compile(r"'(?:[^']|'')*'|\"[^\"]*\"|\?")


@functools.lru_cache(maxsize=1024)
def numbered(sql: str) -> str:
    """``?`` placeholders as PostgreSQL's ``$1, $2, ...`` (quoted text left alone)."""
    count = itertools.count(1)
    return _TOKEN.sub(lambda m: f"${next(count)}" if m.group(0) == "?" else m.group(0), sql)


def _changed(status: str) -> int:
    """Rows changed, from a command status such as ``UPDATE 3`` or ``INSERT 0 1``."""
    last = status.rpartition(" ")[2]
    return int(last) if last.isdigit() else 0


class _Connection(Tx):
    """Statements on one pooled connection (inside its transaction)."""

    def __init__(self, connection: asyncpg.Connection) -> None:
        self.connection = connection

    async def execute(self, sql: str, params: Params = ()) -> int:
        return _changed(await self.connection.execute(numbered(sql), *params))

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        await self.connection.executemany(numbered(sql), [tuple(row) for row in rows])

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        row = await self.connection.fetchrow(numbered(sql), *params)
        return tuple(row) if row is not None else None

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        return [tuple(row) for row in await self.connection.fetch(numbered(sql), *params)]


class PostgresDatabase(Database):
    """A pool of asyncpg connections; each transaction runs on a connection of its own."""

    dialect = POSTGRESQL

    def __init__(self, pool: asyncpg.Pool, url: str = "") -> None:
        super().__init__()
        self.pool = pool
        self.url = url
        self._listener: asyncpg.Connection | None = None  # LISTEN needs a connection of its own
        self._notifying: set[asyncio.Task[None]] = set()

    @classmethod
    async def connect(cls, url: str) -> PostgresDatabase:
        """Connect, migrate to the latest schema and start renewing claims."""
        pool = await asyncpg.create_pool(url, min_size=1, max_size=POOL_SIZE)
        try:
            async with pool.acquire() as connection:
                await _migrate(connection)
        except BaseException:
            await pool.close()
            raise
        db = cls(pool, url)
        db.claims.start()
        return db

    @contextlib.asynccontextmanager
    async def transaction(self, *, immediate: bool = False) -> AsyncIterator[Tx]:
        async with self.pool.acquire() as connection, connection.transaction():
            if immediate:
                await connection.execute("SELECT pg_advisory_xact_lock($1)", IMMEDIATE_LOCK)
            yield _Connection(connection)

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        row = await self.pool.fetchrow(numbered(sql), *params)
        return tuple(row) if row is not None else None

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        return [tuple(row) for row in await self.pool.fetch(numbered(sql), *params)]

    async def stream(
        self, sql: str, params: Params = (), size: int = 1000
    ) -> AsyncIterator[list[Row]]:
        async with self.pool.acquire() as connection, connection.transaction():
            cursor = await connection.cursor(numbered(sql), *params)
            while rows := await cursor.fetch(size):
                yield [tuple(row) for row in rows]

    async def schema_version(self) -> int:
        row = await self.fetchone("SELECT MAX(version) FROM schema_version")
        return int(row[0]) if row and row[0] is not None else 0

    async def columns(self) -> dict[str, list[str]]:
        rows = await self.fetchall(
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND table_name != 'schema_version'"
            " ORDER BY table_name, ordinal_position"
        )
        found: dict[str, list[str]] = {}
        for table, column in rows:
            found.setdefault(str(table), []).append(str(column))
        return found

    async def listen(self, channel: str, wake: Callable[[], None]) -> None:
        if self._listener is None:
            self._listener = await asyncpg.connect(self.url)
            self._listener.add_termination_listener(self._listener_lost)
        await self._listener.add_listener(channel, lambda *_: wake())

    def _listener_lost(self, connection: asyncpg.Connection) -> None:
        if self._listener is connection:  # not our own close
            self._listener = None
            log.warning("LISTEN connection lost: replicas wake by polling only")

    def notify(self, channel: str) -> None:
        task = asyncio.create_task(self._notify(channel))
        self._notifying.add(task)
        task.add_done_callback(self._notifying.discard)

    async def _notify(self, channel: str) -> None:
        try:
            await self.pool.execute("SELECT pg_notify($1, '')", channel)
        except Exception:  # the others still look every few seconds
            log.warning("NOTIFY %s failed", channel, exc_info=True)

    async def close(self) -> None:
        await super().close()
        if self._notifying:
            await asyncio.wait(set(self._notifying))
        listener, self._listener = self._listener, None
        if listener is not None:
            await listener.close()
        await self.pool.close()


async def _migrate(connection: asyncpg.Connection) -> None:
    latest = len(MIGRATIONS)
    async with connection.transaction():
        await connection.execute("SELECT pg_advisory_xact_lock($1)", MIGRATE_LOCK)
        await connection.execute(
            "CREATE TABLE IF NOT EXISTS schema_version"
            " (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"
        )
        version = await connection.fetchval("SELECT MAX(version) FROM schema_version") or 0
        if version > latest:
            raise RuntimeError(
                f"database schema version {version} is newer than this bot ({latest})"
            )
        steps: list[tuple[int, str]] = []
        if version == 0:
            steps.append((PG_BASELINE_VERSION, PG_BASELINE))
        start = max(version, PG_BASELINE_VERSION) + 1
        steps += [(target, PG_MIGRATIONS[target]) for target in range(start, latest + 1)]
        for target, script in steps:
            await connection.execute(script)
            await connection.execute(
                "INSERT INTO schema_version (version, applied_at) VALUES ($1, $2)",
                target,
                datetime.now(UTC).isoformat(timespec="seconds"),
            )
            log.info("database migrated to schema version %d", target)


ENGINES[POSTGRESQL.name] = PostgresDatabase.connect
