"""The database the repositories share: SQLite (one file, the default) or PostgreSQL (a URL).

Repositories write one SQL text for both engines, with ``?`` placeholders and bound values;
the PostgreSQL connection numbers them (``$1, $2, ...``) in one place
(:func:`bot.storage.postgres.numbered`). The few spots where the engines differ read the
:class:`Dialect`. Nothing runs at import time; :meth:`Database.open` picks the engine.
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from bot.storage.leases import ClaimKeeper
from bot.storage.migrations import LEGACY_WECHAT_ID_BASE, MIGRATIONS

__all__ = [
    "LEGACY_WECHAT_ID_BASE",
    "MIGRATIONS",
    "SYNCHRONOUS",
    "Database",
    "Dialect",
    "Row",
    "Tx",
    "in_list",
    "is_url",
    "redact",
]

# FULL: a commit that promises something to a user (a saved reminder, a confirmed broadcast)
# is on disk before the user is told, even after a power loss. Measured in bench/durability.py.
# (SQLite only; PostgreSQL's own default, synchronous_commit=on, promises the same.)
SYNCHRONOUS = "FULL"

URL_SCHEMES = ("postgresql://", "postgres://")

Row = tuple[Any, ...]
Params = Sequence[object]


@dataclass(frozen=True)
class Dialect:
    """What differs between the engines, for the few statements that need it."""

    name: str  # "sqlite" | "postgresql"
    # Several identical processes may share the database: a claim ('sending') is then held
    # under a lease its process renews, and only an expired lease is taken back (leases.py).
    replicas: bool
    skip_locked: str  # appended to a claim's inner SELECT: skip rows another replica locks
    string_agg: str  # the aggregate joining text with a separator


SQLITE = Dialect("sqlite", replicas=False, skip_locked="", string_agg="group_concat")
POSTGRESQL = Dialect(
    "postgresql", replicas=True, skip_locked=" FOR UPDATE SKIP LOCKED", string_agg="string_agg"
)


def in_list(values: Sequence[str]) -> tuple[str, tuple[str, ...]]:
    """Placeholders ``?,?,...`` and the bound values for ``column IN (...)``.

    A bare string is refused: ``"wechat"`` would otherwise become six one-letter names.
    An empty list gives ``IN (NULL)``, which matches nothing on both engines.
    """
    if isinstance(values, str):
        raise TypeError(f"expected a sequence of names, got the string {values!r}")
    bound = tuple(values)
    return (",".join("?" * len(bound)) or "NULL"), bound


# Dialect name -> how to open such a database. bot/storage/sqlite.py and postgres.py add
# themselves when imported (bot/storage/__init__.py imports both), so this module needs
# neither.
ENGINES: dict[str, Callable[[Any], Awaitable[Database]]] = {}


def is_url(target: Path | str) -> bool:
    """True for a PostgreSQL URL, False for a SQLite path."""
    return isinstance(target, str) and target.startswith(URL_SCHEMES)


def redact(target: Path | str) -> str:
    """The target as it may be printed: a URL's password replaced by ``***``."""
    text = str(target)
    if not is_url(text):
        return text
    scheme, _, rest = text.partition("://")
    credentials, at, location = rest.rpartition("@")
    if at and ":" in credentials:
        credentials = credentials.split(":", 1)[0] + ":***"
    return f"{scheme}://{credentials}{at}{location}"


class Tx(Protocol):
    """One open transaction (or, for reads, the database itself)."""

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement; the number of rows it changed."""
        ...

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        """Run one statement per parameter row."""
        ...

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        """The first row, or None."""
        ...

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        """Every row."""
        ...


class Database(ABC):
    """The engine behind every repository; open with :meth:`open`."""

    dialect: Dialect

    def __init__(self) -> None:
        # The claims ('sending' rows) this process holds, and their leases (replicas only).
        self.claims = ClaimKeeper(self)

    @property
    def replicas(self) -> bool:
        """Several processes may share this database (PostgreSQL)."""
        return self.dialect.replicas

    @classmethod
    async def open(cls, target: Path | str) -> Database:
        """A SQLite file (created with its folders as needed) or a ``postgresql://`` URL,
        migrated to the latest schema."""
        if is_url(target):
            return await ENGINES[POSTGRESQL.name](str(target))
        if isinstance(target, str) and "://" in target:
            raise ValueError(f"unsupported database URL {redact(target)!r}: use postgresql://")
        return await ENGINES[SQLITE.name](Path(target))

    @abstractmethod
    def transaction(self, *, immediate: bool = False) -> contextlib.AbstractAsyncContextManager[Tx]:
        """A write transaction: commit at the end of the block, roll back if it raises.

        ``immediate`` makes the block exclusive among immediate transactions of every
        process on this database (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: an advisory
        lock), so a read inside it stays true until the commit.
        """

    @abstractmethod
    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        """The first row of a read outside any transaction, or None."""

    @abstractmethod
    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        """Every row of a read outside any transaction."""

    @abstractmethod
    def stream(self, sql: str, params: Params = (), size: int = 1000) -> AsyncIterator[list[Row]]:
        """The rows of a large read, ``size`` at a time (copying a database)."""

    @abstractmethod
    async def schema_version(self) -> int:
        """The schema version the database is at."""

    @abstractmethod
    async def columns(self) -> dict[str, list[str]]:
        """Each table of the bot's schema and its columns, in order."""

    async def listen(self, channel: str, wake: Callable[[], None]) -> None:
        """Call ``wake`` whenever any process :meth:`notify`-s ``channel`` (replicas only;
        one process needs no telling)."""
        return None

    def notify(self, channel: str) -> None:
        """Tell every process listening on ``channel`` that something changed (soon, in the
        background; replicas only)."""
        return None

    async def close(self) -> None:
        """Stop renewing leases and close the connections (safe to call twice)."""
        await self.claims.stop()
