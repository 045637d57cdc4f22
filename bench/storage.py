"""Storage benchmark: the repositories' hot operations on SQLite and on PostgreSQL, with the
SQLAlchemy Core prototype of three of them (bench/storage_sqlalchemy.py) as the baseline in
the same run; the figures behind choosing the small dialect layer (bot/storage/db.py).

Operations, each ``--ops`` times one after another and then as many spread over 32 tasks
(score-release day): save a reminder (one reminder and three alerts, one commit), claim an
alert (pending -> sending, one commit), mark it sent (one commit), claim and record a
broadcast delivery (two commits), record an unanswered question (an upsert, one commit),
and see a known chat (a read, the path of every message). Printed: time per operation (p50,
p99), operations and commits per second.

SQLite runs as the bot runs it (WAL, ``synchronous=FULL``); PostgreSQL is a server this
script starts in a temporary directory (tests/pg.py) with its durable defaults (fsync on,
``synchronous_commit=on``) on the same disk, reached over TCP on 127.0.0.1. Each engine and
layer gets a fresh database migrated by the bot's own code.

    .venv/bin/pip install -e '.[bench]'       # SQLAlchemy, for the baseline
    .venv/bin/python bench/storage.py         # 500 operations per case
    .venv/bin/python bench/storage.py --ops 200
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import machine_info  # noqa: E402
from bench.storage_sqlalchemy import SaReminders, engine_for  # noqa: E402
from bot.storage import BroadcastRepo, ChatRepo, Database, ReminderRepo, UnansweredRepo  # noqa: E402
from tests.pg import PgServer, running_server  # noqa: E402

NOW = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)
DUE = NOW + timedelta(days=3)
ALERTS = [(DUE - timedelta(minutes=m), m) for m in (1440, 120, 0)]
CONCURRENCY = 32
Job = Callable[[int], Awaitable[object]]
Row = tuple[str, str, str, int, int, float, float, float]


async def timed(job: Job, numbers: range, concurrency: int) -> tuple[list[float], float]:
    """Run ``job(n)`` for each n, at most ``concurrency`` at once: seconds each, wall time."""
    gate = asyncio.Semaphore(concurrency)
    took: list[float] = []

    async def one(n: int) -> None:
        async with gate:
            start = time.perf_counter()
            await job(n)
            took.append(time.perf_counter() - start)

    start = time.perf_counter()
    await asyncio.gather(*(one(n) for n in numbers))
    return took, time.perf_counter() - start


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def _cases(engine: str, layer: str, cases: list[tuple[str, int, Job]], ops: int) -> list[Row]:
    rows: list[Row] = []
    for name, commits, job in cases:
        for case, concurrency in (("sequential", 1), (f"{CONCURRENCY} at once", CONCURRENCY)):
            offset = 0 if concurrency == 1 else ops
            took, wall = await timed(job, range(offset, offset + ops), concurrency)
            p50, p99 = _percentile(took, 0.5) * 1000, _percentile(took, 0.99) * 1000
            rows.append((engine, layer, f"{name}, {case}", commits, ops, p50, p99, ops / wall))
    return rows


def _reminder(n: int) -> dict[str, Any]:
    return {"channel": "telegram", "user_id": n, "chat_id": n, "kind": "custom",
            "text": f"交材料{n}", "due_at": DUE, "alerts": ALERTS, "now": NOW}  # fmt: skip


async def _alert_ids(db: Database) -> list[int]:
    return [int(r[0]) for r in await db.fetchall("SELECT id FROM alerts ORDER BY id")]


async def bench_layer(engine: str, target: Path | str, ops: int) -> list[Row]:
    """The bot's repositories (the dialect layer) on one engine."""
    db = await Database.open(target)
    reminders, chats = ReminderRepo(db), ChatRepo(db)
    broadcasts, unanswered = BroadcastRepo(db), UnansweredRepo(db)
    try:
        for n in range(2 * ops):  # the audience of the broadcast, and chats that are known
            await chats.seen("telegram", n, "private", "", NOW, subscribe=True)
        broadcast_id = await broadcasts.create(admin_id=1, kind="text", text="通知",
                                               from_chat_id=None, from_message=None,
                                               run_at=None, now=NOW)  # fmt: skip
        await broadcasts.confirm(broadcast_id, "all", None, NOW)
        broadcast = await broadcasts.get(broadcast_id)
        assert broadcast is not None
        await broadcasts.start(broadcast, NOW, ["telegram"])

        async def save(n: int) -> object:
            return await reminders.add(**_reminder(n))

        rows = await _cases(engine, "dialect layer", [("save a reminder", 1, save)], ops)
        alert_ids = await _alert_ids(db)

        async def claim(n: int) -> object:
            return await reminders.claim(alert_ids[n])

        async def sent(n: int) -> object:
            return await reminders.finish(alert_ids[n], "sent", NOW)

        async def deliver(n: int) -> object:
            assert await broadcasts.claim(broadcast_id, "telegram", n)
            return await broadcasts.record(broadcast_id, "telegram", n, "sent")

        async def ask(n: int) -> object:
            return await unanswered.record(f"问题{n % (ops // 2 or 1)}", f"问题{n}？", NOW)

        async def seen(n: int) -> object:
            return await chats.seen("telegram", n, "private", "", NOW)

        rows += await _cases(
            engine,
            "dialect layer",
            [("claim an alert", 1, claim), ("mark alert sent", 1, sent),
             ("claim + record a delivery", 2, deliver), ("record an unanswered question", 1, ask),
             ("known chat seen (read)", 0, seen)],
            ops,
        )  # fmt: skip
    finally:
        await db.close()
    return rows


async def bench_sqlalchemy(engine: str, target: Path | str, ops: int) -> list[Row]:
    """The SQLAlchemy Core prototype on one engine (schema from the bot's migrations)."""
    db = await Database.open(target)
    await db.close()
    sa_engine = engine_for(target)
    repo = SaReminders(sa_engine)
    lease = (datetime.now(UTC) + timedelta(minutes=1)).isoformat(timespec="seconds")
    try:

        async def save(n: int) -> object:
            return await repo.add(**_reminder(n))

        rows = await _cases(engine, "SQLAlchemy Core", [("save a reminder", 1, save)], ops)
        db = await Database.open(target)
        try:
            alert_ids = await _alert_ids(db)
        finally:
            await db.close()

        async def claim(n: int) -> object:
            return await repo.claim(alert_ids[n], lease)

        async def sent(n: int) -> object:
            return await repo.finish(alert_ids[n], "sent", NOW)

        cases = [("claim an alert", 1, claim), ("mark alert sent", 1, sent)]
        rows += await _cases(engine, "SQLAlchemy Core", cases, ops)
    finally:
        await sa_engine.dispose()
    return rows


async def run(ops: int, directory: Path, server: PgServer) -> list[Row]:
    rows: list[Row] = []
    for engine in ("SQLite", "PostgreSQL"):
        for layer, bench in (("layer", bench_layer), ("sa", bench_sqlalchemy)):
            target: Path | str = directory / f"{layer}.db"
            if engine == "PostgreSQL":
                target = await server.create_database()
            rows += await bench(engine, target, ops)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ops", type=int, default=500, help="operations per case")
    args = parser.parse_args()
    print(machine_info())
    print(f"SQLite {sqlite3.sqlite_version} (WAL, synchronous=FULL); PostgreSQL: ", end="")
    with tempfile.TemporaryDirectory() as tmp, running_server(settings={}) as server:
        print(f"{server.bindir.parent.name} (fsync on, synchronous_commit=on), TCP 127.0.0.1")
        rows = asyncio.run(run(args.ops, Path(tmp), server))
    print()
    print("| engine | layer | operation | commits/op | ops | p50 ms | p99 ms | ops/s | commits/s |")
    print("|---|---|---|--:|--:|--:|--:|--:|--:|")
    for engine, layer, name, commits, ops, p50, p99, rate in rows:
        print(
            f"| {engine} | {layer} | {name} | {commits} | {ops} | {p50:.2f} | {p99:.2f} |"
            f" {rate:,.0f} | {rate * commits:,.0f} |"
        )


if __name__ == "__main__":
    main()
