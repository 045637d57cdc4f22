"""Copy one database into another, table by table (``python -m bot migrate-db SRC DST``).

Both sides are opened (so migrated) to the same schema version first; then every table is
copied in one destination transaction (a failure leaves the destination as it was), its
rows in key order, ``BATCH`` at a time, ids included. Afterwards each table is read back on
both sides and compared: row count and a SHA-256 over every row in key order. A destination
that already holds rows is refused unless ``force`` (then its rows are replaced).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from bot.storage.db import Database, is_url, redact

BATCH = 1000

# Every table of the schema, parents before children, with the key that orders its rows.
TABLES: tuple[tuple[str, str], ...] = (
    ("reminders", "id"),
    ("alerts", "id"),
    ("chats", "channel, chat_id"),
    ("counters", "name"),
    ("broadcasts", "id"),
    ("deliveries", "broadcast_id, channel, chat_id"),
    ("wechat_users", "id"),
    ("wechat_tokens", "app_id"),
    ("unanswered", "id"),
    ("learned_examples", "id"),
    ("suggestion_votes", "normalized, topic"),
    ("shared_state", "scope, key"),
    ("notices", "id"),
    ("watched_pages", "page"),
    ("calendar_links", "token_hash"),
)
# Tables whose rows mean something only to the processes running now (the send budget's next
# slot, on the source's clock): not copied; the destination starts them afresh.
TRANSIENT = ("send_budget",)
IDENTITIES = (
    "reminders",
    "alerts",
    "broadcasts",
    "wechat_users",
    "unanswered",
    "learned_examples",
    "notices",
)


class CopyRefused(Exception):
    """The copy did not start: the destination has data, or the schemas differ."""


@dataclass(frozen=True)
class TableCopy:
    """One table after the copy: rows and checksum on each side."""

    table: str
    source_rows: int
    source_sum: str
    copied_rows: int
    copied_sum: str

    @property
    def ok(self) -> bool:
        """Nothing lost, nothing changed."""
        return (self.source_rows, self.source_sum) == (self.copied_rows, self.copied_sum)


async def filled_tables(db: Database) -> list[str]:
    """The tables that hold at least one row."""
    return [t for t, _ in TABLES if await db.fetchone(f"SELECT 1 FROM {t} LIMIT 1") is not None]


async def _columns(source: Database, destination: Database) -> dict[str, list[str]]:
    """The columns to copy; CopyRefused unless both sides have the same schema."""
    versions = (await source.schema_version(), await destination.schema_version())
    if versions[0] != versions[1]:
        raise CopyRefused(f"schema versions differ: source {versions[0]}, copy {versions[1]}")
    columns = await source.columns()
    if columns != await destination.columns():
        raise CopyRefused("the two databases have different tables or columns")
    listed = {table for table, _ in TABLES}
    if set(columns) - set(TRANSIENT) != listed:
        unknown = (set(columns) - set(TRANSIENT)) ^ listed
        raise CopyRefused(f"tables not in the copy list: {sorted(unknown)}")
    return columns


async def summary(db: Database, table: str, key: str, columns: list[str]) -> tuple[int, str]:
    """Row count and SHA-256 of every row, in key order."""
    digest, rows = hashlib.sha256(), 0
    query = f"SELECT {', '.join(columns)} FROM {table} ORDER BY {key}"
    async for batch in db.stream(query, size=BATCH):
        for row in batch:
            digest.update(json.dumps(row, ensure_ascii=False, default=str).encode())
            digest.update(b"\n")
        rows += len(batch)
    return rows, digest.hexdigest()


async def copy_database(
    source: Database, destination: Database, *, force: bool = False
) -> list[TableCopy]:
    """Copy every row of ``source`` into ``destination``; the comparison, table by table."""
    columns = await _columns(source, destination)
    filled = await filled_tables(destination)
    if filled and not force:
        raise CopyRefused(f"the destination already has data in: {', '.join(filled)}")
    async with destination.transaction() as tx:
        for table, _ in reversed(TABLES):
            await tx.execute(f"DELETE FROM {table}")
        for table, key in TABLES:
            names = ", ".join(columns[table])
            marks = ", ".join("?" * len(columns[table]))
            insert = f"INSERT INTO {table} ({names}) VALUES ({marks})"
            async for batch in source.stream(f"SELECT {names} FROM {table} ORDER BY {key}"):
                await tx.executemany(insert, batch)
            if destination.dialect.name == "postgresql" and table in IDENTITIES:
                # New rows continue after the copied ids.
                await tx.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                    f" COALESCE(MAX(id), 0) + 1, false) FROM {table}"
                )
    report = []
    for table, key in TABLES:
        before = await summary(source, table, key, columns[table])
        after = await summary(destination, table, key, columns[table])
        report.append(TableCopy(table, *before, *after))
    return report


async def migrate(source: str, destination: str, *, force: bool = False) -> list[TableCopy]:
    """Open both (migrating them to the latest schema), copy, compare, close."""
    src = await Database.open(source)
    try:
        dst = await Database.open(destination)
        try:
            return await copy_database(src, dst, force=force)
        finally:
            await dst.close()
    finally:
        await src.close()


def report_lines(source: str, destination: str, report: list[TableCopy]) -> list[str]:
    """The comparison as printed: one line per table, then the verdict."""
    lines = [
        f"{redact(source)} -> {redact(destination)}",
        f"{'table':<18} {'rows':>8} {'copied':>8}  sha256 (source / copy)",
    ]
    for t in report:
        sums = t.source_sum[:16] + (" same" if t.ok else f" / {t.copied_sum[:16]}  DIFFERENT")
        lines.append(f"{t.table:<18} {t.source_rows:>8} {t.copied_rows:>8}  {sums}")
    if all(t.ok for t in report):
        total = sum(t.copied_rows for t in report)
        lines.append(
            f"copied {total} rows in {len(report)} tables; every count and checksum matches"
        )
    return lines


def run_copy(source: str, destination: str, *, force: bool) -> int:
    """``python -m bot migrate-db``: copy, print the comparison, exit 0 / 1 (differs or
    refused) / 2 (no source)."""
    if not is_url(source) and not Path(source).is_file():
        print(f"error: no database at {source}", file=sys.stderr)
        return 2
    try:
        report = asyncio.run(migrate(source, destination, force=force))
    except CopyRefused as exc:
        print(f"error: {exc} (--force replaces the destination's rows)", file=sys.stderr)
        return 1
    print("\n".join(report_lines(source, destination, report)))
    if not all(table.ok for table in report):
        print("error: the copy differs from the source", file=sys.stderr)
        return 1
    return 0
