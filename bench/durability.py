"""Durability benchmark: what SQLite ``synchronous=FULL`` costs per commit that promises
something to a user (a saved reminder, a subscription, a confirmed broadcast).

The bot opens its database with ``synchronous=FULL`` (bot/storage/db.py: SYNCHRONOUS), so a
commit is on disk before the user is told, even after a power loss; ``NORMAL`` in WAL mode
may lose the last commits on power loss (not on a process crash). This script measures both
in the same run, on the same disk, through the bot's own repositories: ``--commits`` reminder
saves (one transaction each, reminder plus three alerts) and as many new subscribers,
one after another as the handlers do them, then the same number spread over 32 concurrent
tasks (score-release day). It prints the time per commit (p50, p99) and commits per second.

    .venv/bin/python bench/durability.py                 # 1,000 commits per case
    .venv/bin/python bench/durability.py --commits 300
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import bot.storage.db as db_module  # noqa: E402
from bench.common import machine_info  # noqa: E402
from bot.storage import ChatRepo, Database, ReminderRepo  # noqa: E402

NOW = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)
CONCURRENCY = 32


async def timed(jobs: Sequence[Callable[[], Awaitable[object]]], concurrency: int) -> list[float]:
    """Run ``jobs`` with at most ``concurrency`` at once; seconds each took."""
    gate = asyncio.Semaphore(concurrency)
    took: list[float] = []

    async def one(job: Callable[[], Awaitable[object]]) -> None:
        async with gate:
            start = time.perf_counter()
            await job()
            took.append(time.perf_counter() - start)

    await asyncio.gather(*(one(job) for job in jobs))
    return took


async def measure(mode: str, directory: Path, commits: int) -> dict[str, tuple[float, ...]]:
    """p50 ms, p99 ms, commits/s for each case with ``synchronous=mode``."""
    db_module.SYNCHRONOUS = mode
    db = await Database.open(directory / f"{mode}.db")
    reminders, chats = ReminderRepo(db), ChatRepo(db)
    due = NOW + timedelta(days=3)
    alerts = [(due - timedelta(minutes=m), m) for m in (1440, 120, 0)]
    results: dict[str, tuple[float, ...]] = {}
    try:
        for case, concurrency in (("sequential", 1), (f"{CONCURRENCY} at once", CONCURRENCY)):
            offset = 0 if concurrency == 1 else commits
            saves = [
                (
                    lambda n=n: reminders.add(
                        channel="telegram",
                        user_id=n,
                        chat_id=n,
                        kind="custom",
                        text=f"交材料{n}",
                        due_at=due,
                        alerts=alerts,
                        now=NOW,
                    )
                )
                for n in range(offset, offset + commits)
            ]
            subscribes = [
                (lambda n=n: chats.seen("telegram", n, "private", "考生", NOW, subscribe=True))
                for n in range(offset, offset + commits)
            ]
            for name, jobs in (("reminder saved", saves), ("new subscriber", subscribes)):
                start = time.perf_counter()
                took = await timed(jobs, concurrency)
                wall = time.perf_counter() - start
                took.sort()
                p99 = took[min(len(took) - 1, int(len(took) * 0.99))]
                results[f"{name}, {case}"] = (
                    statistics.median(took) * 1000,
                    p99 * 1000,
                    len(took) / wall,
                )
    finally:
        await db.close()
    return results


async def run(commits: int) -> int:
    with tempfile.TemporaryDirectory(prefix="durability-") as tmp:
        figures = {mode: await measure(mode, Path(tmp), commits) for mode in ("NORMAL", "FULL")}
    print(f"\nMarkdown ({commits} commits per case, WAL mode, one connection):\n")
    print("| case | NORMAL p50 / p99 ms | NORMAL commits/s | FULL p50 / p99 ms | FULL commits/s |")
    print("|---|--:|--:|--:|--:|")
    for case in figures["NORMAL"]:
        n50, n99, nrate = figures["NORMAL"][case]
        f50, f99, frate = figures["FULL"][case]
        print(
            f"| {case} | {n50:.2f} / {n99:.2f} | {nrate:,.0f} | {f50:.2f} / {f99:.2f} "
            f"| {frate:,.0f} |"
        )
    print(f"\nMachine: {machine_info()}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--commits", type=int, default=1000, metavar="N", help="default 1000")
    args = parser.parse_args(argv)
    if args.commits < 1:
        print("error: --commits must be at least 1", file=sys.stderr)
        return 2
    return asyncio.run(run(args.commits))


if __name__ == "__main__":
    sys.exit(main())
