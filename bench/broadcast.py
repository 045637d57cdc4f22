"""Broadcast benchmark: one announcement to 10,000 chats through the Bot API stand-in.

The question this answers: "how long does a broadcast to 10,000 recipients take under
Telegram's flood limits, does it stay under them, and does every chat get it exactly once?"

Steps, in a temporary directory:

1. Build the bot's database: the schema comes from ``Database.open`` (the bot's own
   migrations), then ``--recipients`` chats are inserted with the stdlib ``sqlite3`` module:
   ``--groups`` supergroups (negative ids) and the rest private users, all subscribed.
   ``--blocked`` of the private users, spread evenly, answer every request with 403 "bot was
   blocked by the user" in the stand-in.
2. Start the stand-in (:class:`tests.standin.StandinServer`, only 127.0.0.1) with flood limits
   on (HTTP 429 with ``retry_after`` above 30 messages per second overall or 20 per minute
   into one group) and ``--latency`` seconds per request; start ``python -m bot run`` with
   ``BOT_ADMIN_IDS`` set. The admin then drives the real flow in private: ``/broadcast TEXT``,
   tap the audience button "全部（用户+群组+频道）" (``b:a:ID:all``) on the preview, tap
   "✅ 确认发送" (``b:c:ID:all``) on the confirm question.
3. Measure from the confirm tap until the bot edits its progress message into the final
   report (the one containing "已完成"): total seconds, delivered messages per second against
   the 30/s ceiling, the most successful sends within any one second, the stand-in's 429
   answers, duplicates (a chat with more than one successful sendMessage of the broadcast
   text), losses (active, not blocked chats that got none), blocked chats the bot tried, and
   stray sends (the broadcast text into a chat that is not a recipient). After ``--grace``
   seconds more (late duplicates would show up then) the bot is stopped with SIGTERM and the
   deliveries table is read.

With ``--latency 0`` (the default) the bot's pacer (28 messages per second, below the 30/s
ceiling) is what limits; the runner keeps one message in flight, so with ``--latency 0.05``
it can do at most 1 / 0.05 = 20 messages per second.

    .venv/bin/python bench/broadcast.py                                 # 10,000 recipients
    .venv/bin/python bench/broadcast.py --recipients 300 --groups 5 --blocked 5
    .venv/bin/python bench/broadcast.py --latency 0.05

Exit status: 0 when the broadcast finished with no duplicate, loss or stray send, 1
otherwise. ``--timeout`` bounds the whole run (plus at most 10 s to stop the bot process).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import re
import sqlite3
import sys
import tempfile
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import create_schema, fmt, machine_info  # noqa: E402
from tests.botproc import BotProcess  # noqa: E402
from tests.standin import FLOOD_MAX_PER_SECOND, Call, FakeBotAPI, StandinServer  # noqa: E402

ADMIN_ID = 999
FIRST_USER = 700_000_000
FIRST_GROUP = -1_001_000_000_000  # supergroup ids look like -100xxxxxxxxxx
TEXT = "📢 2026年成绩复核通知已发布，请在12月10日前按通知要求办理。"  # no HTML specials
BLOCKED_DESCRIPTION = "Forbidden: bot was blocked by the user"
STARTUP_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0
STEP_TIMEOUT = 30.0  # for the preview and the confirm question
PACED_RATE = 28.0  # bot/delivery/pacer.py default; only used to size the time budget
DONE_MARK = "已完成"
CONFIRM_SIZE_RE = re.compile(r"共\s*(\d+)\s*个聊天")
FINAL_COUNTS_RE = re.compile(r"已发送\s*(\d+)，失败\s*(\d+)，无法送达\s*(\d+)")


# --------------------------------------------------------------------------- database


@dataclass(frozen=True)
class Audience:
    """The chats written to the database."""

    users: list[int]
    groups: list[int]
    blocked: set[int]

    @property
    def all(self) -> set[int]:
        """Every recipient."""
        return set(self.users) | set(self.groups)

    @property
    def active(self) -> set[int]:
        """Recipients that should get the message."""
        return self.all - self.blocked


def fill_chats(path: Path, recipients: int, groups: int, blocked: int) -> Audience:
    """Insert the recipients; choose the blocked users evenly among the private ones."""
    users = [FIRST_USER + i for i in range(recipients - groups)]
    group_ids = [FIRST_GROUP - i for i in range(groups)]
    chosen = {users[i * len(users) // blocked] for i in range(blocked)} if blocked else set()
    now = datetime.now(UTC).isoformat(timespec="seconds")
    rows = [(u, "private", "考生", 1, 1, 1, now) for u in users]
    rows += [(g, "supergroup", "考生交流群", 1, 1, 0, now) for g in group_ids]
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as conn:
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO chats (chat_id, type, title, member, subscribed, asked, updated_at,"
            " channel) VALUES (?, ?, ?, ?, ?, ?, ?, 'telegram')",
            rows,
        )
        conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return Audience(users, group_ids, chosen)


def delivery_statuses(path: Path) -> dict[str, int]:
    """How many deliveries are in each status (read after the bot stopped)."""
    with contextlib.closing(sqlite3.connect(path)) as conn:
        rows = conn.execute("SELECT status, COUNT(*) FROM deliveries GROUP BY status").fetchall()
    return {str(status): int(n) for status, n in rows}


# --------------------------------------------------------------------------- tracking


class Tracker:
    """Predicate for ``FakeBotAPI.wait_for``: the progress message was edited to "已完成".

    Scans only the calls recorded since the previous evaluation and accounts for every
    broadcast send on the way.
    """

    def __init__(self, audience: Audience, progress_msg: int) -> None:
        self.recipients = audience.all
        self.blocked_chats = audience.blocked
        self.progress_msg = progress_msg
        self.sends: dict[int, list[float]] = {}  # chat -> times of successful sends
        self.attempts = 0  # sendMessage calls with the broadcast text, any answer
        self.throttled = 0  # 429 answers, any method
        self.blocked_tried: set[int] = set()
        self.blocked_answers = 0
        self.failed = 0  # other non-200 answers to broadcast sends
        self.stray = 0  # the broadcast text sent successfully into a non-recipient
        self.edits = 0  # progress edits
        self.first_send: float | None = None
        self.last_send: float | None = None
        self.final: Call | None = None
        self._window: deque[float] = deque()
        self.peak_1s = 0
        self._scanned = 0

    def scan(self, calls: list[Call]) -> None:
        """Account for calls recorded since the last scan."""
        for call in calls[self._scanned :]:
            if call.status == 429:
                self.throttled += 1
            if call.method == "editMessageText" and call.chat_id == ADMIN_ID:
                if call.ok and int(call.params.get("message_id") or 0) == self.progress_msg:
                    self.edits += 1
                    if self.final is None and DONE_MARK in str(call.params.get("text")):
                        self.final = call
                continue
            if call.method != "sendMessage" or call.params.get("text") != TEXT:
                continue
            self.attempts += 1
            chat = call.chat_id
            if self.first_send is None:
                self.first_send = call.at
            self.last_send = call.at
            if call.ok:
                if chat not in self.recipients:
                    self.stray += 1
                    continue
                assert isinstance(chat, int)
                self.sends.setdefault(chat, []).append(call.at)
                self._window.append(call.at)
                while self._window[0] <= call.at - 1.0:
                    self._window.popleft()
                self.peak_1s = max(self.peak_1s, len(self._window))
            elif call.status == 403 and chat in self.blocked_chats:
                assert isinstance(chat, int)
                self.blocked_answers += 1
                self.blocked_tried.add(chat)
            elif call.status != 429:
                self.failed += 1
        self._scanned = len(calls)

    def __call__(self, calls: list[Call]) -> bool:
        self.scan(calls)
        return self.final is not None


@dataclass
class Result:
    """Outcome of one broadcast run."""

    recipients: int
    groups: int
    blocked: int
    latency: float
    audience_shown: int | None = None
    seconds: float | None = None  # confirm tap -> final edit
    first_send_after: float | None = None  # confirm tap -> first broadcast send
    send_seconds: float | None = None  # first -> last broadcast send
    delivered: int = 0
    attempts: int = 0
    peak_1s: int = 0
    throttled: int = 0
    duplicates: int = 0
    losses: int = 0
    blocked_tried: int = 0
    blocked_answers: int = 0
    failed: int = 0
    stray: int = 0
    edits: int = 0
    final_text: str | None = None
    final_counts: tuple[int, int, int] | None = None
    statuses: dict[str, int] = field(default_factory=dict)
    exit_code: int | None = None
    error: str | None = None

    @property
    def rate(self) -> float | None:
        """Delivered messages per second, confirm tap to final edit."""
        return self.delivered / self.seconds if self.seconds else None

    @property
    def attempt_rate(self) -> float | None:
        """Broadcast sendMessage calls (any answer) per second, first to last."""
        if not self.send_seconds or self.attempts < 2:
            return None
        return (self.attempts - 1) / self.send_seconds

    @property
    def ok(self) -> bool:
        """Finished, nothing lost, duplicated or sent astray."""
        return (
            self.error is None
            and self.seconds is not None
            and self.duplicates == 0
            and self.losses == 0
            and self.stray == 0
        )


# --------------------------------------------------------------------------- run


def _button(calls: list[Call], pattern: re.Pattern[str]) -> tuple[str, int] | None:
    """The newest button whose callback data matches, with its message id (admin chat)."""
    for call in reversed(calls):
        if not call.ok or call.chat_id != ADMIN_ID:
            continue
        markup = call.params.get("reply_markup") or {}
        for row in markup.get("inline_keyboard", []) if isinstance(markup, dict) else []:
            for button in row:
                data = str(button.get("callback_data", ""))
                if pattern.fullmatch(data):
                    message_id = call.params.get("message_id") or call.response["message_id"]
                    return data, int(message_id)
    return None


async def _tap(
    bot: BotProcess, api: FakeBotAPI, pattern: re.Pattern[str], what: str
) -> tuple[str, int]:
    """Wait for a button, return its data and message id."""
    found: list[tuple[str, int]] = []

    def ready(calls: list[Call]) -> bool:
        hit = _button(calls, pattern)
        if hit is not None:
            found.append(hit)
        return hit is not None

    error = await bot.race(api.wait_for(ready, STEP_TIMEOUT))
    if error is not None:
        raise RuntimeError(f"no {what} button: {error}")
    return found[-1]


async def _report_progress(tracker: Tracker, total: int, started: float) -> None:
    """Print progress to stderr every 30 s."""
    while True:
        await asyncio.sleep(30)
        elapsed = time.monotonic() - started
        print(
            f"  {elapsed:5.0f} s: {len(tracker.sends)}/{total} delivered, "
            f"{len(tracker.blocked_tried)} blocked, {tracker.throttled} × 429",
            file=sys.stderr,
            flush=True,
        )


async def run_broadcast(
    db: Path, workdir: Path, audience: Audience, args: argparse.Namespace, deadline: float
) -> Result:
    """Start the stand-in and the bot, drive the admin flow, wait for the final report."""
    result = Result(len(audience.all), len(audience.groups), len(audience.blocked), args.latency)
    async with StandinServer(latency=args.latency, flood_limits=True) as server:
        api: FakeBotAPI = server.api
        for chat in audience.blocked:
            api.fail_chat(chat, 403, BLOCKED_DESCRIPTION)
        bot = BotProcess(
            api,
            server.base_url,
            workdir,
            env={"BOT_DB": str(db), "BOT_ADMIN_IDS": str(ADMIN_ID)},
            name="bot-broadcast",
            startup_timeout=STARTUP_TIMEOUT,
            stop_timeout=STOP_TIMEOUT,
        )
        try:
            await bot.start()
        except RuntimeError as exc:
            result.error = str(exc)
            return result
        tracker: Tracker | None = None
        tapped = time.monotonic()
        reporter: asyncio.Task[None] | None = None
        try:
            api.push_command(f"/broadcast {TEXT}", ADMIN_ID)
            data, message_id = await _tap(bot, api, re.compile(r"b:a:\d+:all"), "audience")
            api.push_callback(data, ADMIN_ID, message_id)
            number = data.split(":")[2]
            data, message_id = await _tap(bot, api, re.compile(rf"b:c:{number}:all"), "confirm")
            question = api.messages.get((ADMIN_ID, message_id), {}).get("text", "")
            if match := CONFIRM_SIZE_RE.search(str(question)):
                result.audience_shown = int(match.group(1))
            tracker = Tracker(audience, message_id)
            tracker.scan(api.calls)  # nothing of the broadcast yet; skip the flow's calls
            tapped = time.monotonic()
            api.push_callback(data, ADMIN_ID, message_id)
            print("  confirmed; sending ...", file=sys.stderr, flush=True)
            reporter = asyncio.create_task(_report_progress(tracker, len(audience.all), tapped))
            budget = max(1.0, deadline - time.monotonic() - STOP_TIMEOUT - args.grace)
            error = await bot.race(api.wait_for(tracker, budget))
            if error is None:
                assert tracker.final is not None
                result.seconds = tracker.final.at - tapped
                await asyncio.sleep(args.grace)  # duplicates would show up now
            else:
                result.error = error
        except RuntimeError as exc:
            result.error = str(exc)
        finally:
            if reporter is not None:
                reporter.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await reporter
            result.exit_code = await bot.stop()
        if tracker is not None:
            tracker.scan(api.calls)
            _collect(result, tracker, audience, tapped)
        if result.error is None and result.exit_code != 0:
            result.error = f"exit code {result.exit_code} after SIGTERM"
        if result.error is not None or not result.ok:
            detail = result.error or "duplicates, losses or stray sends"
            result.error = f"{detail}\n  last lines of {bot.log_path}:\n{bot.log_tail(25)}"
    result.statuses = await asyncio.to_thread(delivery_statuses, db)
    return result


def _collect(result: Result, tracker: Tracker, audience: Audience, tapped: float) -> None:
    """Copy the tracker's figures into the result."""
    result.delivered = len(tracker.sends)
    result.attempts = tracker.attempts
    result.peak_1s = tracker.peak_1s
    result.throttled = tracker.throttled
    result.duplicates = sum(len(times) - 1 for times in tracker.sends.values())
    result.losses = len(audience.active - set(tracker.sends))
    result.blocked_tried = len(tracker.blocked_tried)
    result.blocked_answers = tracker.blocked_answers
    result.failed = tracker.failed
    result.stray = tracker.stray
    result.edits = tracker.edits
    if tracker.first_send is not None:
        result.first_send_after = tracker.first_send - tapped
    if tracker.first_send is not None and tracker.last_send is not None:
        result.send_seconds = tracker.last_send - tracker.first_send
    if tracker.final is not None:
        result.final_text = str(tracker.final.params.get("text"))
        if match := FINAL_COUNTS_RE.search(result.final_text):
            sent, failed, blocked = (int(g) for g in match.groups())
            result.final_counts = (sent, failed, blocked)


# --------------------------------------------------------------------------- report


def report(result: Result) -> str:
    """The plain table, the markdown rows for the README and the machine line."""
    share = None if result.rate is None else result.rate / FLOOD_MAX_PER_SECOND
    counts = (
        "—"
        if result.final_counts is None
        else "sent {} / failed {} / blocked {}".format(*result.final_counts)
    )
    lines = [
        f"{'recipients':>10}  {'groups':>6}  {'blocked':>7}  {'latency':>7}  {'seconds':>8}  "
        f"{'msg/s':>6}  {'of 30/s':>7}  {'peak 1s':>7}  {'429s':>5}  {'delivered':>9}  "
        f"{'dups':>5}  {'lost':>5}  {'blocked tried':>13}  {'failed':>6}  {'stray':>5}",
        f"{result.recipients:>10}  {result.groups:>6}  {result.blocked:>7}  "
        f"{result.latency * 1000:>5.0f}ms  {fmt(result.seconds, '8.1f'):>8}  "
        f"{fmt(result.rate, '6.1f'):>6}  {fmt(share, '.0%'):>7}  {result.peak_1s:>7}  "
        f"{result.throttled:>5}  {result.delivered:>9}  {result.duplicates:>5}  "
        f"{result.losses:>5}  {result.blocked_tried:>13}  {result.failed:>6}  {result.stray:>5}",
        "seconds: confirm tap until the progress message says 已完成; msg/s: delivered messages "
        "over those seconds (30/s is the flood ceiling); peak 1s: most deliveries within one "
        "second; 429s: flood-limit answers of the stand-in; dups: extra successful sends into "
        "one chat; lost: active chats that got nothing; blocked tried: blocked users the bot "
        "attempted (each answered 403).",
        f"confirm question showed {fmt(result.audience_shown, 'd')} chats; first send "
        f"{fmt(result.first_send_after, '.2f')} s after the tap; sends from first to last "
        f"{fmt(result.send_seconds, '.1f')} s ({result.attempts} attempts, "
        f"{fmt(result.attempt_rate, '.1f')}/s); {result.edits} progress edits.",
        f"bot's final report: {counts}; deliveries afterwards: "
        + (", ".join(f"{k} {v}" for k, v in sorted(result.statuses.items())) or "—"),
        "",
        f"Markdown (stand-in latency {result.latency * 1000:.0f} ms per request, flood limits "
        "on, 30 msg/s ceiling):",
        "",
        "| recipients | groups | blocked | seconds | msg/s | peak in 1 s | 429s | "
        "duplicates | lost |",
        "|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
        f"| {result.recipients:,} | {result.groups} | {result.blocked} | "
        f"{fmt(result.seconds, '.0f')} | {fmt(result.rate, '.1f')} | {result.peak_1s} | "
        f"{result.throttled} | {result.duplicates} | {result.losses} |",
        "",
        f"Machine: {machine_info()}",
    ]
    return "\n".join(lines)


# --------------------------------------------------------------------------- main


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bench/broadcast.py", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--recipients", type=int, default=10_000, metavar="N", help="chats (default 10000)"
    )
    parser.add_argument(
        "--blocked",
        type=int,
        default=100,
        metavar="N",
        help="private users who blocked the bot (default 100)",
    )
    parser.add_argument(
        "--groups", type=int, default=50, metavar="N", help="of the recipients (default 50)"
    )
    parser.add_argument(
        "--latency",
        type=float,
        default=0.0,
        metavar="S",
        help="seconds per API request (default 0: the flood ceiling limits)",
    )
    parser.add_argument(
        "--grace",
        type=float,
        default=5.0,
        metavar="S",
        help="keep watching this long after the final report, for duplicates",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        metavar="S",
        help="bound for the whole run (default: derived from N and the latency)",
    )
    return parser


async def run(args: argparse.Namespace, total: float) -> Result | None:
    """Build the database and run the broadcast within the timeout."""
    deadline = time.monotonic() + total
    result: Result | None = None
    with tempfile.TemporaryDirectory(prefix="bench-broadcast-") as tmp:
        workdir = Path(tmp)
        db = workdir / "bot.db"
        try:
            async with asyncio.timeout(total):
                await create_schema(db)
                audience = await asyncio.to_thread(
                    fill_chats, db, args.recipients, args.groups, args.blocked
                )
                print(
                    f"broadcast to {args.recipients:,} chats ({args.groups} groups, "
                    f"{args.blocked} blocked), latency {args.latency * 1000:.0f} ms ...",
                    file=sys.stderr,
                    flush=True,
                )
                result = await run_broadcast(db, workdir, audience, args, deadline)
                if result.error:
                    print(f"  FAILED: {result.error}", file=sys.stderr, flush=True)
        except TimeoutError:
            print(f"global timeout of {total:.0f}s reached; stopping", file=sys.stderr)
    return result


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments, run the benchmark, print the report."""
    args = _parser().parse_args(argv)
    if (
        args.recipients < 1
        or not 0 <= args.groups <= args.recipients
        or not 0 <= args.blocked <= args.recipients - args.groups
        or args.latency < 0
        or args.grace < 0
    ):
        print("error: bad --recipients/--groups/--blocked/--latency/--grace", file=sys.stderr)
        return 2
    # One message in flight: each takes at least the pacer's slot and the latency. Allow
    # half as long again, plus start-up, the admin flow and stopping.
    per_message = max(1.0 / PACED_RATE, args.latency + 0.005)
    total = args.timeout or (
        STARTUP_TIMEOUT
        + 2 * STEP_TIMEOUT
        + 1.5 * args.recipients * per_message
        + 60.0
        + args.grace
        + STOP_TIMEOUT
    )
    with contextlib.suppress(KeyboardInterrupt):
        result = asyncio.run(run(args, total))
        if result is not None:
            print(report(result))
        return 0 if result is not None and result.ok else 1
    return 1


if __name__ == "__main__":
    sys.exit(main())
