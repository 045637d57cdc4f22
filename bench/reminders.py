"""Reminder benchmark: start-up time and memory with many stored reminders, and a due burst.

The issue this answers: "with 1,000,000 reminders stored, start-up time, resident memory, and
the delay between due time and send for 10,000 reminders due in the same minute (sending
paced by the rate limiter)".

Steps, all in one run and in a temporary directory:

1. Build a database: the schema comes from ``Database.open`` (the bot's own migrations), then
   ``--stored`` reminders with one pending alert each, due 1-365 days ahead (so none is due
   during the run), are bulk-inserted with the stdlib ``sqlite3`` module.
2. Baseline: start ``python -m bot run`` against an empty, freshly migrated database; measure
   the start-up time (process spawn until its first ``getUpdates``) and the resident memory
   (``VmRSS`` from ``/proc/<pid>/status``, read after ``--idle`` seconds of idling). Stop it
   with SIGTERM.
3. Insert ``--burst`` more reminders into the big database, each into its own private chat,
   whose alerts fall uniformly within one minute starting ``--lead`` seconds from now. Start
   the bot against it, measure start-up time and memory the same way, then wait until every
   burst chat got its message. For each, the delay is the stand-in's answer time (wall clock)
   minus the alert's ``fire_at``. The stand-in (:class:`tests.standin.StandinServer`, only
   127.0.0.1) answers after ``--latency`` seconds and enforces Telegram's flood limits
   (HTTP 429 above 30 messages per second), so pacing faults show up as 429s.
4. Check that no burst chat was skipped or got two messages and that nothing was sent to the
   stored (future) reminders' chats, then stop the bot with SIGTERM.

The bot paces reminders at 28 messages per second, so 10,000 alerts due in one minute take
about 6 minutes to send: the later ones are necessarily delayed by up to ~5 minutes.

    .venv/bin/python bench/reminders.py                          # 1,000,000 stored, 10,000 due
    .venv/bin/python bench/reminders.py --stored 20000 --burst 300

Exit status: 0 when both runs finished and every burst alert was sent exactly once, 1
otherwise. ``--timeout`` bounds the whole run (plus at most 10 s to stop the bot process that
is running when it expires).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import create_schema, fmt, machine_info  # noqa: E402
from tests.botproc import BotProcess  # noqa: E402
from tests.standin import Call, FakeBotAPI, StandinServer  # noqa: E402

STARTUP_TIMEOUT = 120.0
STOP_TIMEOUT = 10.0
PACED_RATE = 28.0  # bot/delivery/pacer.py default; only used to size the time budget
CHUNK = 100_000  # rows per transaction when bulk-inserting
FIRST_STORED_USER = 100_000_000
USERS_PER_REMINDER = 3  # stored reminders per user (a user has a few deadlines)
FIRST_BURST_CHAT = 900_000_000
KINDS = ("review", "audit", "certificate", "custom")
LEADS_MIN = (0, 60, 1440, 4320)
DAY = 86_400


def _ts(epoch: float) -> str:
    """The storage format: ``datetime.astimezone(UTC).isoformat(timespec="seconds")``."""
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds")


def _size_mb(path: Path) -> float:
    """Size of a database file in MB (after a WAL checkpoint, so it is all of it)."""
    return path.stat().st_size / 1e6


def _rss_kib(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak RSS) of a process in KiB; empty if it is gone."""
    values: dict[str, int] = {}
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0])
    return values


# --------------------------------------------------------------------------- database


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA cache_size=-262144")  # 256 MiB: keep the indexes in memory
    return conn


def _insert(
    conn: sqlite3.Connection,
    reminders: Iterator[tuple[object, ...]],
    alerts: Iterator[tuple[object, ...]],
    count: int,
    deadline: float,
) -> None:
    """Insert ``count`` reminder rows and their alert rows, CHUNK per transaction."""
    done = 0
    while done < count:
        if time.monotonic() > deadline:
            raise TimeoutError("global timeout reached while building the database")
        n = min(CHUNK, count - done)
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO reminders (id, user_id, chat_id, kind, text, due_at, active, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, 1, ?)",
            (next(reminders) for _ in range(n)),
        )
        conn.executemany(
            "INSERT INTO alerts (id, reminder_id, fire_at, lead_min, status)"
            " VALUES (?, ?, ?, ?, 'pending')",
            (next(alerts) for _ in range(n)),
        )
        conn.execute("COMMIT")
        done += n


def fill_stored(path: Path, stored: int, now: float, deadline: float) -> None:
    """``stored`` reminders, one pending alert each, firing 1-365 days from ``now``."""
    rng = random.Random(20_261_210)
    created = _ts(now)
    fire_times = [int(now + DAY + rng.random() * 364 * DAY) for _ in range(stored)]

    def reminders() -> Iterator[tuple[object, ...]]:
        for i, fire in enumerate(fire_times):
            user = FIRST_STORED_USER + i // USERS_PER_REMINDER
            kind = KINDS[i % len(KINDS)]
            lead = LEADS_MIN[i % len(LEADS_MIN)]
            yield (i + 1, user, user, kind, f"第{i}号提醒", _ts(fire + lead * 60), created)

    def alerts() -> Iterator[tuple[object, ...]]:
        for i, fire in enumerate(fire_times):
            yield (i + 1, i + 1, _ts(fire), LEADS_MIN[i % len(LEADS_MIN)])

    conn = _connect(path)
    try:
        _insert(conn, reminders(), alerts(), stored, deadline)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()


def add_burst(path: Path, burst: int, start: int, deadline: float) -> dict[int, int]:
    """``burst`` reminders due within the minute from ``start``; returns chat id -> fire_at."""
    with contextlib.closing(_connect(path)) as conn:
        row = conn.execute("SELECT COALESCE(MAX(id), 0) FROM reminders").fetchone()
        first_id = int(row[0]) + 1
        row = conn.execute("SELECT COALESCE(MAX(id), 0) FROM alerts").fetchone()
        first_alert = int(row[0]) + 1
        fire = {FIRST_BURST_CHAT + i: start + (i * 60) // burst for i in range(burst)}
        created = _ts(time.time())
        reminders = (
            (first_id + i, chat, chat, KINDS[i % len(KINDS)], f"突发{i}", _ts(at), created)
            for i, (chat, at) in enumerate(fire.items())
        )
        alerts = ((first_alert + i, first_id + i, _ts(at), 0) for i, at in enumerate(fire.values()))
        _insert(conn, reminders, alerts, burst, deadline)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return fire


def alert_statuses(path: Path) -> dict[str, int]:
    """How many alerts are in each status (read after the bot stopped)."""
    with contextlib.closing(sqlite3.connect(path)) as conn:
        rows = conn.execute("SELECT status, COUNT(*) FROM alerts GROUP BY status").fetchall()
    return {str(status): int(n) for status, n in rows}


# --------------------------------------------------------------------------- runs


@dataclass
class StartResult:
    """Start-up of one bot process against one database."""

    label: str
    stored: int
    db_mb: float
    startup: float | None = None
    rss_kib: int | None = None
    error: str | None = None


@dataclass
class BurstResult:
    """Delivery of the alerts due in one minute."""

    alerts: int
    delays: list[float] = field(default_factory=list)
    sent: int = 0
    duplicates: int = 0
    throttled: int = 0  # 429 answers to sendMessage
    failed: int = 0  # other non-200 answers to sendMessage into burst chats
    stray: int = 0  # sendMessage into chats that are not burst chats
    rate: float | None = None
    seconds: float | None = None
    rss_end_kib: int | None = None
    rss_peak_kib: int | None = None
    statuses: dict[str, int] = field(default_factory=dict)
    error: str | None = None

    @property
    def complete(self) -> bool:
        """Every burst alert sent exactly once, nothing else sent, no error."""
        return (
            self.error is None
            and self.sent == self.alerts
            and self.duplicates == 0
            and self.stray == 0
        )


class BurstTracker:
    """Predicate for ``FakeBotAPI.wait_for``: every burst chat got a successful sendMessage.

    Scans only the calls recorded since the previous evaluation.
    """

    def __init__(self, chats: set[int]) -> None:
        self.chats = chats
        self.sends: dict[int, list[float]] = {}
        self.throttled = 0
        self.failed = 0
        self.stray = 0
        self._scanned = 0

    def scan(self, calls: list[Call]) -> None:
        """Account for calls recorded since the last scan."""
        for call in calls[self._scanned :]:
            if call.method != "sendMessage":
                continue
            chat = call.chat_id
            if call.status == 429:
                self.throttled += 1
            elif chat not in self.chats:
                self.stray += 1
            elif call.ok:
                assert isinstance(chat, int)
                self.sends.setdefault(chat, []).append(call.at)
            else:
                self.failed += 1
        self._scanned = len(calls)

    def __call__(self, calls: list[Call]) -> bool:
        self.scan(calls)
        return len(self.sends) == len(self.chats)


async def _start(
    api: FakeBotAPI, base_url: str, workdir: Path, db: Path, name: str, idle: float
) -> tuple[BotProcess, float, int | None]:
    """Start a bot on ``db``; return it, its start-up seconds and its RSS after idling."""
    bot = BotProcess(
        api,
        base_url,
        workdir,
        env={"BOT_DB": str(db)},
        name=name,
        startup_timeout=STARTUP_TIMEOUT,
        stop_timeout=STOP_TIMEOUT,
    )
    spawned = time.monotonic()
    await bot.start()
    first_poll = api.calls_of("getUpdates")[0].at
    await asyncio.sleep(idle)
    assert bot.proc is not None
    return bot, first_poll - spawned, _rss_kib(bot.proc.pid).get("VmRSS")


async def run_baseline(db: Path, workdir: Path, latency: float, idle: float) -> StartResult:
    """Start and stop the bot against an empty database."""
    result = StartResult("empty", 0, _size_mb(db))
    async with StandinServer(latency=latency, flood_limits=True) as server:
        try:
            bot, result.startup, result.rss_kib = await _start(
                server.api, server.base_url, workdir, db, "bot-empty", idle
            )
        except RuntimeError as exc:
            result.error = str(exc)
            return result
        code = await bot.stop()
        if code != 0:
            result.error = f"exit code {code} after SIGTERM\n{bot.log_tail(15)}"
    return result


async def _sample_rss(pid: int, burst: BurstResult, tracker: BurstTracker) -> None:
    """Track the peak RSS while the burst is sent; print progress every 30 s."""
    last_report = time.monotonic()
    while True:
        rss = _rss_kib(pid).get("VmRSS")
        if rss is not None:
            burst.rss_peak_kib = max(burst.rss_peak_kib or 0, rss)
        if time.monotonic() - last_report >= 30:
            last_report = time.monotonic()
            print(
                f"  {len(tracker.sends)}/{burst.alerts} burst alerts sent, "
                f"RSS {(rss or 0) / 1024:.0f} MiB",
                file=sys.stderr,
                flush=True,
            )
        await asyncio.sleep(0.5)


async def run_stored(
    db: Path, workdir: Path, args: argparse.Namespace, deadline: float
) -> tuple[StartResult, BurstResult]:
    """Add the burst to the big database, start the bot on it, wait for the burst."""
    result = StartResult(f"{args.stored:,} stored", args.stored, 0.0)
    burst = BurstResult(args.burst)
    start = math.ceil(time.time() + args.lead)
    fire = await asyncio.to_thread(add_burst, db, args.burst, start, deadline)
    result.db_mb = _size_mb(db)
    async with StandinServer(latency=args.latency, flood_limits=True) as server:
        api: FakeBotAPI = server.api
        offset = time.time() - time.monotonic()
        try:
            bot, result.startup, result.rss_kib = await _start(
                api, server.base_url, workdir, db, "bot-stored", args.idle
            )
        except RuntimeError as exc:
            result.error = burst.error = str(exc)
            return result, burst
        assert bot.proc is not None
        pid = bot.proc.pid
        if time.time() > start:
            print(
                f"  warning: the bot was ready only after the burst minute began "
                f"(raise --lead above {args.lead:.0f} s)",
                file=sys.stderr,
                flush=True,
            )
        tracker = BurstTracker(set(fire))
        budget = start + 60 - time.time() + 1.5 * args.burst / PACED_RATE + 60
        sampler = asyncio.create_task(_sample_rss(pid, burst, tracker))
        try:
            error = await bot.race(api.wait_for(tracker, max(1.0, budget)))
            burst.rss_end_kib = _rss_kib(pid).get("VmRSS")
            if error is None:
                await asyncio.sleep(args.grace)  # duplicates would show up now
        finally:
            sampler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sampler
            tracker.scan(api.calls)
            code = await bot.stop()
        if error is not None:
            burst.error = error
        elif code != 0:
            burst.error = f"exit code {code} after SIGTERM"
        if burst.error is not None:
            burst.error += f"\n  last lines of {bot.log_path}:\n{bot.log_tail(20)}"
    burst.sent = len(tracker.sends)
    burst.duplicates = sum(len(times) - 1 for times in tracker.sends.values())
    burst.throttled, burst.failed, burst.stray = tracker.throttled, tracker.failed, tracker.stray
    firsts = sorted(times[0] for times in tracker.sends.values())
    burst.delays = sorted(min(t) + offset - fire[chat] for chat, t in tracker.sends.items())
    if len(firsts) > 1:
        burst.seconds = firsts[-1] - firsts[0]
        burst.rate = (len(firsts) - 1) / burst.seconds if burst.seconds > 0 else None
    burst.statuses = await asyncio.to_thread(alert_statuses, db)
    return result, burst


# --------------------------------------------------------------------------- report


def _mib(kib: int | None) -> float | None:
    return None if kib is None else kib / 1024


def _quantile(values: list[float], q: float) -> float | None:
    """Nearest-rank quantile of sorted ``values``."""
    if not values:
        return None
    return values[max(0, math.ceil(q * len(values)) - 1)]


def report(starts: list[StartResult], burst: BurstResult | None, args: argparse.Namespace) -> str:
    """The plain tables, the markdown rows for the README and the machine line."""
    lines = [
        f"{'DB':<18}  {'stored':>9}  {'DB MB':>7}  {'start-up s':>10}  {'RSS MiB':>8}",
    ]
    for s in starts:
        lines.append(
            f"{s.label:<18}  {s.stored:>9}  {s.db_mb:>7.1f}  {fmt(s.startup, '10.2f'):>10}  "
            f"{fmt(_mib(s.rss_kib), '8.1f'):>8}"
        )
    lines.append(
        f"start-up: process spawn until its first getUpdates; RSS: VmRSS after {args.idle:g} s "
        "idle."
    )
    median = p99 = worst = None
    if burst is not None:
        median = statistics.median(burst.delays) if burst.delays else None
        p99, worst = _quantile(burst.delays, 0.99), _quantile(burst.delays, 1.0)
        lines += [
            "",
            f"{'alerts':>7}  {'sent':>6}  {'dups':>5}  {'429s':>5}  {'failed':>6}  "
            f"{'stray':>5}  {'msg/s':>6}  {'send s':>7}  {'delay med':>9}  {'p99':>7}  "
            f"{'max':>7}  {'RSS end':>7}  {'RSS peak':>8}",
            f"{burst.alerts:>7}  {burst.sent:>6}  {burst.duplicates:>5}  {burst.throttled:>5}  "
            f"{burst.failed:>6}  {burst.stray:>5}  {fmt(burst.rate, '6.1f'):>6}  "
            f"{fmt(burst.seconds, '7.1f'):>7}  {fmt(median, '9.1f'):>9}  "
            f"{fmt(p99, '7.1f'):>7}  {fmt(worst, '7.1f'):>7}  "
            f"{fmt(_mib(burst.rss_end_kib), '7.1f'):>7}  "
            f"{fmt(_mib(burst.rss_peak_kib), '8.1f'):>8}",
            "delay: stand-in answer time minus the alert's fire_at (seconds); msg/s and send s: "
            "first to last burst message; stray: messages into other chats; RSS in MiB at the "
            "end of the burst and the highest sample during it.",
            "alert statuses afterwards: "
            + ", ".join(f"{k} {v}" for k, v in sorted(burst.statuses.items())),
        ]
    lines += [
        "",
        f"Markdown (stand-in latency {args.latency * 1000:.0f} ms per request, flood limits on):",
        "",
        "| DB | stored reminders | start-up s | RSS MiB |",
        "|---|--:|--:|--:|",
    ]
    for s in starts:
        lines.append(
            f"| {s.label} | {s.stored:,} | {fmt(s.startup, '.2f')} | "
            f"{fmt(_mib(s.rss_kib), '.0f')} |"
        )
    if burst is not None:
        lines += [
            "",
            "| alerts due in one minute | sent | duplicates | 429s | msg/s | "
            "delay median s | delay p99 s | delay max s |",
            "|--:|--:|--:|--:|--:|--:|--:|--:|",
            f"| {burst.alerts:,} | {burst.sent:,} | {burst.duplicates} | {burst.throttled} | "
            f"{fmt(burst.rate, '.1f')} | {fmt(median, '.1f')} | {fmt(p99, '.1f')} | "
            f"{fmt(worst, '.1f')} |",
        ]
    lines += ["", f"Machine: {machine_info()}"]
    return "\n".join(lines)


# --------------------------------------------------------------------------- main


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bench/reminders.py", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--stored", type=int, default=1_000_000, metavar="N", help="default 1000000"
    )
    parser.add_argument(
        "--burst", type=int, default=10_000, metavar="N", help="alerts due in one minute"
    )
    parser.add_argument(
        "--latency", type=float, default=0.05, metavar="S", help="seconds per API request"
    )
    parser.add_argument(
        "--lead",
        type=float,
        default=40.0,
        metavar="S",
        help="the burst minute starts this long after the burst is stored (default 40)",
    )
    parser.add_argument(
        "--idle", type=float, default=2.0, metavar="S", help="idle time before reading RSS"
    )
    parser.add_argument(
        "--grace",
        type=float,
        default=5.0,
        metavar="S",
        help="keep watching this long after the last burst alert, for duplicates",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        metavar="S",
        help="bound for the whole run (default: derived from the sizes)",
    )
    return parser


async def run(
    args: argparse.Namespace, total: float
) -> tuple[list[StartResult], BurstResult | None]:
    """Build the databases, run the baseline and the big database within the timeout."""
    deadline = time.monotonic() + total
    starts: list[StartResult] = []
    burst: BurstResult | None = None
    with tempfile.TemporaryDirectory(prefix="bench-reminders-") as tmp:
        workdir = Path(tmp)
        empty, big = workdir / "empty.db", workdir / "stored.db"
        try:
            async with asyncio.timeout(total):
                await create_schema(empty)
                await create_schema(big)
                print(f"storing {args.stored:,} reminders ...", file=sys.stderr, flush=True)
                began = time.perf_counter()
                await asyncio.to_thread(fill_stored, big, args.stored, time.time(), deadline)
                print(
                    f"  {time.perf_counter() - began:.1f} s, {_size_mb(big):.0f} MB",
                    file=sys.stderr,
                    flush=True,
                )
                print("bot on the empty database ...", file=sys.stderr, flush=True)
                baseline = await run_baseline(empty, workdir, args.latency, args.idle)
                starts.append(baseline)
                if baseline.error:
                    print(f"  FAILED: {baseline.error}", file=sys.stderr, flush=True)
                print(
                    f"bot on {args.stored:,} reminders, {args.burst:,} due in one minute ...",
                    file=sys.stderr,
                    flush=True,
                )
                stored, burst = await run_stored(big, workdir, args, deadline)
                starts.append(stored)
                if burst.error:
                    print(f"  FAILED: {burst.error}", file=sys.stderr, flush=True)
        except TimeoutError:
            print(f"global timeout of {total:.0f}s reached; stopping", file=sys.stderr)
    return starts, burst


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments, run the benchmark, print the report."""
    args = _parser().parse_args(argv)
    if args.stored < 0 or args.burst < 1 or args.latency < 0 or args.lead < 0:
        print("error: bad --stored/--burst/--latency/--lead", file=sys.stderr)
        return 2
    # Building ~1M rows takes well under a minute; the burst needs lead + 60 s + the paced
    # sending time. Allow generously for each, plus two start-ups and stops.
    total = args.timeout or (
        120.0
        + args.stored / 5_000
        + 2 * (STARTUP_TIMEOUT + STOP_TIMEOUT + args.idle)
        + args.lead
        + 60.0
        + 1.5 * args.burst / PACED_RATE
        + 60.0
        + args.grace
    )
    with contextlib.suppress(KeyboardInterrupt):
        starts, burst = asyncio.run(run(args, total))
        if starts:
            print(report(starts, burst, args))
        ok = len(starts) == 2 and not any(s.error for s in starts)
        return 0 if ok and burst is not None and burst.complete else 1
    return 1


if __name__ == "__main__":
    sys.exit(main())
