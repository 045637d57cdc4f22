"""SQLite storage: migrations, WAL, unanswered questions counted and listed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.storage import Database, UnansweredRepo
from bot.storage.db import MIGRATIONS

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


async def test_open_migrates_and_reopens(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "bot.db"
    db = await Database.open(path)
    try:
        async with db.connection.execute("PRAGMA journal_mode") as cursor:
            mode = (await cursor.fetchone())[0]
    finally:
        await db.close()
    db = await Database.open(path)  # second open: nothing to migrate, data kept
    try:
        async with db.connection.execute("PRAGMA user_version") as cursor:
            version = (await cursor.fetchone())[0]
    finally:
        await db.close()
    assert mode == "wal"
    assert version == len(MIGRATIONS)


async def test_unanswered_counts_and_orders(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "bot.db")
    repo = UnansweredRepo(db)
    try:
        await repo.record("二建成绩什么时候出", "二建成绩什么时候出？", T0)
        await repo.record("明年报名", "明年报名？", T0)
        await repo.record("二建成绩什么时候出", "二建成绩 什么时候出", T0 + timedelta(hours=1))
        await repo.record("'); DROP TABLE unanswered; --", "'); DROP TABLE unanswered; --", T0)
        rows = await repo.top(10)
    finally:
        await db.close()
    assert (rows[0].normalized, rows[0].count) == ("二建成绩什么时候出", 2)
    assert rows[0].example == "二建成绩 什么时候出"  # the latest wording
    assert rows[0].last_seen == T0 + timedelta(hours=1)
    assert len(rows) == 3  # the SQL-looking text was stored as text, the table is intact


async def test_stored_text_is_bounded(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "bot.db")
    repo = UnansweredRepo(db)
    try:
        await repo.record("长" * 5000, "长" * 5000, T0)
        (row,) = await repo.top(1)
    finally:
        await db.close()
    assert len(row.normalized) == 200 and len(row.example) == 200
