"""Burst benchmark: N users write to the bot within one second, under Telegram's flood limits.

On the day scores come out hundreds of candidates write within the same minute. This script
starts a :class:`tests.standin.StandinServer` with ``flood_limits=True`` (30 messages/s
overall, 1 message/s per chat, 20/min per group, HTTP 429 with ``retry_after`` beyond them;
only 127.0.0.1 is ever contacted) that answers every request after ``--latency`` seconds,
starts the real bot (``python -m bot run``) against it, waits until it long-polls, then pushes
``/subscribe`` from N distinct private users, spread evenly over one second. Each of them is
owed exactly one reply (the ``audience.subscribed`` confirmation).

``--again K`` of those users (every N/K-th in burst order) write a second time 5 s after the
burst started, a free-text question ("准考证号忘了怎么办") whose answer is one message. They
show whether someone who writes again waits behind the whole queue once more.

The run ends when every user got their replies, when the bot sent nothing for 10 s (it has
given up on the rest), when ``--timeout`` expires, or when the bot process exits. Reported:
answered users and duplicates, the time of each user's first reply after the burst started
(p50, p99, last) against the floor N / 30 s that the overall flood limit allows, the second
message's reply delay, the 429s the stand-in answered (by limit) and the requests in total,
and the bot process's peak RSS (``VmHWM``).

    .venv/bin/python bench/burst.py                            # N=2000, K=50, latency 0.1 s
    .venv/bin/python bench/burst.py --users 600 --latency 0.1

Exit status: 0 when every user was answered exactly once (and every second message too), 1
otherwise, 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import math
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


from bench.common import fmt, machine_info  # noqa: E402
from tests.botproc import BotProcess  # noqa: E402
from tests.standin import FLOOD_MAX_PER_SECOND, Call, FakeBotAPI, StandinServer  # noqa: E402

FIRST_USER_ID = 20_000_000
COMMAND = "/subscribe"
COMMAND_MARK = "已订阅通知"
"""In the reply to /subscribe (content/ui.yaml ``audience.subscribed``)."""
QUESTION = "准考证号忘了怎么办"
ANSWER_MARK = "忘记准考证号怎么办"
"""In the (single-message) answer to QUESTION: the title of the FAQ entry."""
PUSH_SPREAD = 1.0
"""Seconds over which the burst is pushed."""
AGAIN_AFTER = 5.0
"""Seconds after the burst started at which the K users write again."""
IDLE_SECONDS = 10.0
"""The run ends when the bot made no request for this long with replies still missing."""
STARTUP_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0


def spread_pick(users: Sequence[int], count: int) -> list[int]:
    """``count`` users evenly spread through ``users`` (the middle of each 1/count slice)."""
    count = min(max(count, 0), len(users))
    return [users[(2 * i + 1) * len(users) // (2 * count)] for i in range(count)]


def percentile(values: Sequence[float], pct: float) -> float | None:
    """Nearest-rank percentile (None for no values)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def peak_rss_mib(pid: int) -> float | None:
    """``VmHWM`` (peak resident set size) of a live process in MiB, from /proc."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return None


@dataclass
class Tally:
    """What the stand-in saw, scanned incrementally from ``FakeBotAPI.calls``.

    Times are ``Call.at`` (the stand-in's monotonic clock, after the simulated latency).
    """

    users: set[int]
    again: set[int]
    first_at: dict[int, float] = field(default_factory=dict)
    """Per user: when the first successful reply to the first message was answered."""
    first_count: collections.Counter[int] = field(default_factory=collections.Counter)
    second_at: dict[int, float] = field(default_factory=dict)
    second_count: collections.Counter[int] = field(default_factory=collections.Counter)
    other_count: collections.Counter[int | str | None] = field(default_factory=collections.Counter)
    """Successful sendMessage calls that are neither expected reply (by chat)."""
    other_texts: collections.Counter[str] = field(default_factory=collections.Counter)
    """The texts of those (first line, shortened), for the report."""
    requests: int = 0
    """Requests other than getUpdates."""
    send_attempts: int = 0
    too_many: int = 0
    """429 answers (any method)."""
    too_many_by_method: collections.Counter[str] = field(default_factory=collections.Counter)
    last_activity: float = 0.0
    _scanned: int = 0

    def scan(self, calls: list[Call]) -> None:
        """Account for the calls recorded since the previous scan."""
        for call in calls[self._scanned :]:
            if call.method == "getUpdates":
                continue
            self.requests += 1
            self.last_activity = max(self.last_activity, call.at)
            if call.status == 429:
                self.too_many += 1
                self.too_many_by_method[call.method] += 1
            if call.method != "sendMessage":
                continue
            self.send_attempts += 1
            if not call.ok:
                continue
            chat, text = call.chat_id, str(call.params.get("text"))
            if isinstance(chat, int) and chat in self.users and COMMAND_MARK in text:
                self.first_count[chat] += 1
                self.first_at.setdefault(chat, call.at)
            elif isinstance(chat, int) and chat in self.again and ANSWER_MARK in text:
                self.second_count[chat] += 1
                self.second_at.setdefault(chat, call.at)
            else:
                self.other_count[chat] += 1
                self.other_texts[text.strip().split("\n", 1)[0][:40]] += 1
        self._scanned = len(calls)

    @property
    def complete(self) -> bool:
        """Every user has a first reply and every "again" user an answer to the second."""
        return len(self.first_at) == len(self.users) and len(self.second_at) == len(self.again)

    @property
    def reached(self) -> int:
        """Users who got at least one successful sendMessage (whatever its text)."""
        return sum(
            1
            for u in self.users
            if self.first_count[u] or self.second_count[u] or self.other_count[u]
        )

    @property
    def unanswered(self) -> list[int]:
        """Users without any reply to their first message."""
        return sorted(self.users - self.first_at.keys())

    @property
    def again_unanswered(self) -> list[int]:
        """ "Again" users without an answer to their second message."""
        return sorted(self.again - self.second_at.keys())

    @property
    def duplicated(self) -> dict[int | str | None, int]:
        """Extra replies per chat: more than one per message, or unexpected sends."""
        extra: collections.Counter[int | str | None] = collections.Counter()
        for counts in (self.first_count, self.second_count):
            for chat, n in counts.items():
                if n > 1:
                    extra[chat] += n - 1
        extra.update(self.other_count)
        return dict(extra)


@dataclass
class Outcome:
    """One burst run: the tally plus the timing frame and how the wait ended."""

    tally: Tally
    users: list[int]
    again: list[int]
    started: float = 0.0
    """Monotonic time of the first push."""
    again_pushed: float | None = None
    ended: str = ""
    """``complete``, ``idle`` (the bot stopped sending), ``timeout`` or the process's exit."""
    wall: float = 0.0
    flood_hits: dict[str, int] = field(default_factory=dict)
    peak_rss_mib: float | None = None

    @property
    def exact(self) -> bool:
        """Every user answered exactly once (and every second message exactly once)."""
        t = self.tally
        return (
            t.complete
            and all(n == 1 for n in t.first_count.values())
            and all(n == 1 for n in t.second_count.values())
            and not t.other_count
        )

    def first_times(self) -> list[float]:
        """Per answered user: seconds from the burst start to their first reply."""
        return [at - self.started for at in self.tally.first_at.values()]

    def second_delays(self) -> list[float]:
        """Per answered "again" user: seconds from their second message to its answer."""
        if self.again_pushed is None:
            return []
        return [at - self.again_pushed for at in self.tally.second_at.values()]

    def follow_gaps(self) -> list[float]:
        """For "again" users still waiting for their first reply when they wrote again:
        seconds from that first reply to the answer to their second message (about the
        per-chat gap when they keep their place, the whole queue when they do not)."""
        t, pushed = self.tally, self.again_pushed
        if pushed is None:
            return []
        return [
            t.second_at[u] - t.first_at[u]
            for u in self.again
            if u in t.first_at and u in t.second_at and t.first_at[u] > pushed
        ]

    def problems(self) -> list[str]:
        """Why the run is not "everyone answered exactly once" (empty when it is)."""
        t, out = self.tally, []
        if t.unanswered:
            out.append(
                f"{len(t.unanswered)} of {len(self.users)} users got no reply to {COMMAND} "
                f"(e.g. {t.unanswered[:5]})"
            )
        if t.again_unanswered:
            out.append(
                f"{len(t.again_unanswered)} of {len(self.again)} users got no answer to their "
                f"second message {QUESTION!r} (e.g. {t.again_unanswered[:5]})"
            )
        duplicated = t.duplicated
        if duplicated:
            texts = ", ".join(f"{text!r} × {n}" for text, n in t.other_texts.most_common(3))
            out.append(
                f"{len(duplicated)} chats got {sum(duplicated.values())} extra messages "
                f"(e.g. chats {sorted(duplicated, key=str)[:5]}"
                + (f"; unexpected texts: {texts})" if texts else ")")
            )
        if out:
            hits = ", ".join(f"{k} {v}" for k, v in sorted(self.flood_hits.items())) or "none"
            out.append(
                f"the stand-in answered {t.too_many} of {t.requests} requests with 429 "
                f"(flood limits hit: {hits}); the wait ended: {self.ended}"
            )
        return out


async def push_burst(api: FakeBotAPI, users: Sequence[int], spread: float) -> float:
    """Push ``COMMAND`` from each user, evenly over ``spread`` seconds; return the start."""
    started = time.monotonic()
    for index, user in enumerate(users):
        ahead = started + spread * index / len(users) - time.monotonic()
        if ahead > 0.005:  # push in small batches rather than sleeping per user
            await asyncio.sleep(ahead)
        api.push_command(COMMAND, user)
    return started


async def run_burst(
    api: FakeBotAPI,
    bot: BotProcess,
    users: Sequence[int],
    again: Sequence[int],
    *,
    again_after: float = AGAIN_AFTER,
    timeout: float = 300.0,  # noqa: ASYNC109 - a bound on the run, not an API timeout
    idle: float = IDLE_SECONDS,
    spread: float = PUSH_SPREAD,
) -> Outcome:
    """Push the burst into a started bot, push the second messages, wait for the replies.

    Never raises for bot failures: the outcome says how the wait ended. Reads the bot's peak
    RSS before returning (the caller stops the bot).
    """
    tally = Tally(set(users), set(again))
    outcome = Outcome(tally, list(users), list(again))

    async def drive() -> None:
        outcome.started = await push_burst(api, users, spread)
        tally.last_activity = time.monotonic()
        deadline = outcome.started + timeout
        while True:
            await asyncio.sleep(0.05)
            tally.scan(api.calls)
            now = time.monotonic()
            if outcome.again_pushed is None and (not again or now >= outcome.started + again_after):
                for user in again:
                    api.push_text(QUESTION, user)
                outcome.again_pushed = now
                tally.last_activity = max(tally.last_activity, now)
            if outcome.again_pushed is None:
                continue
            if tally.complete:
                # A moment more, so that duplicates sent right after the last reply show.
                await asyncio.sleep(min(idle, 1.0))
                tally.scan(api.calls)
                outcome.ended = "complete"
                return
            if now >= deadline:
                outcome.ended = f"timeout after {timeout:.0f}s"
                return
            if api.in_flight == 0 and now - tally.last_activity >= idle:
                outcome.ended = f"idle: the bot made no request for {idle:.0f}s"
                return

    error = await bot.race(drive())
    tally.scan(api.calls)
    if error is not None:
        outcome.ended = error
    outcome.wall = time.monotonic() - outcome.started
    outcome.flood_hits = dict(api.flood_hits)
    if bot.proc is not None and bot.proc.returncode is None:
        outcome.peak_rss_mib = peak_rss_mib(bot.proc.pid)
    return outcome


def report(outcome: Outcome, latency: float) -> str:
    """Figures, the Markdown table and the machine line."""
    t = outcome.tally
    n, k = len(outcome.users), len(outcome.again)
    firsts = outcome.first_times()
    p50, p99 = percentile(firsts, 50), percentile(firsts, 99)
    last = max(firsts) if firsts else None
    floor = n / FLOOD_MAX_PER_SECOND
    ratio = None if last is None else last / floor
    seconds = outcome.second_delays()
    s50, smax = percentile(seconds, 50), (max(seconds) if seconds else None)
    gaps = outcome.follow_gaps()
    g50, gmax = percentile(gaps, 50), (max(gaps) if gaps else None)
    behind = None
    if last is not None and outcome.again_pushed is not None:
        behind = last - (outcome.again_pushed - outcome.started)
    others = ", ".join(f"{text!r} × {c}" for text, c in t.other_texts.most_common(3))
    dup_users = sum(1 for u in outcome.users if t.first_count[u] > 1 or t.second_count[u] > 1)
    hits = ", ".join(f"{k_} {v}" for k_, v in sorted(outcome.flood_hits.items())) or "none"
    by_method = ", ".join(f"{m} {c}" for m, c in t.too_many_by_method.most_common()) or "none"
    rss = fmt(outcome.peak_rss_mib, ".0f")
    lines = [
        f"burst: {n} × {COMMAND} from distinct private users within {PUSH_SPREAD:.0f} s, "
        f"stand-in latency {latency * 1000:.0f} ms, flood limits on; "
        f"{k} of them write {QUESTION!r} {AGAIN_AFTER:.0f} s after the burst started",
        f"wait ended: {outcome.ended} ({outcome.wall:.1f} s after the burst started)",
        "",
        f"answered users:          {len(t.first_at)} / {n} got the reply to {COMMAND} "
        f"(unanswered: {len(t.unanswered)}); {t.reached} / {n} got any message",
        f"duplicates:              {dup_users} users got the same reply more than once",
        f"unexpected messages:     {sum(t.other_count.values())} in {len(t.other_count)} chats"
        + (f" ({others})" if others else ""),
        f"first reply after burst: p50 {fmt(p50, '.2f')} s, p99 {fmt(p99, '.2f')} s, "
        f"last {fmt(last, '.2f')} s (of answered users)",
        f"floor N/{FLOOD_MAX_PER_SECOND}:             {floor:.2f} s; last / floor = "
        f"{fmt(ratio, '.2f')}",
        f"second message answered: {len(t.second_at)} / {k}; delay p50 {fmt(s50, '.2f')} s, "
        f"max {fmt(smax, '.2f')} s",
        f"queue left when they wrote again: {fmt(behind, '.2f')} s "
        "(last first reply minus the time of the second messages)",
        f"still waiting then:      {len(gaps)} of them; their second answer came "
        f"p50 {fmt(g50, '.2f')} s, max {fmt(gmax, '.2f')} s after their first",
        f"429 answers:             {t.too_many} of {t.requests} requests "
        f"(by method: {by_method}; flood limits hit: {hits})",
        f"sendMessage:             {t.send_attempts} attempts, "
        f"{t.send_attempts - t.too_many_by_method['sendMessage']} not refused with 429",
        f"bot peak RSS (VmHWM):    {rss} MiB",
        f"every user answered exactly once: {'yes' if outcome.exact else 'NO'}",
        "",
        f"Markdown ({n} `{COMMAND}` within {PUSH_SPREAD:.0f} s, {k} write again after "
        f"{AGAIN_AFTER:.0f} s; stand-in latency {latency * 1000:.0f} ms, flood limits on):",
        "",
        "| users | answered | duplicates / other msgs | first reply p50 / p99 / last (s) "
        "| floor N/30 (s) | last / floor | 2nd msg p50 / max (s) "
        "| 2nd after own 1st p50 / max (s) | 429s / requests | peak RSS (MiB) |",
        "|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
        f"| {n} | {len(t.first_at)} | {dup_users} / {sum(t.other_count.values())} | "
        f"{fmt(p50, '.1f')} / {fmt(p99, '.1f')} / {fmt(last, '.1f')} | {floor:.1f} | "
        f"{fmt(ratio, '.2f')} | "
        f"{fmt(s50, '.1f')} / {fmt(smax, '.1f')} ({len(t.second_at)}/{k}) | "
        f"{fmt(g50, '.1f')} / {fmt(gmax, '.1f')} ({len(gaps)}) | "
        f"{t.too_many} / {t.requests} | {rss} |",
        "",
        f"Machine: {machine_info()}",
    ]
    return "\n".join(lines)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bench/burst.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=2000, metavar="N", help="default 2000")
    parser.add_argument(
        "--latency", type=float, default=0.1, metavar="S", help="seconds per API request (0.1)"
    )
    parser.add_argument(
        "--again",
        type=int,
        default=50,
        metavar="K",
        help=f"users who write again {AGAIN_AFTER:.0f} s after the burst started (default 50)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        metavar="S",
        help="bound for waiting on the replies after the burst started "
        "(default: 60 s + 4 × N/30 s)",
    )
    return parser


async def run(args: argparse.Namespace) -> Outcome | None:
    """Start the stand-in and the bot, run the burst, stop the bot."""
    users = list(range(FIRST_USER_ID, FIRST_USER_ID + args.users))
    again = spread_pick(users, args.again)
    timeout = args.timeout or 60.0 + 4.0 * args.users / FLOOD_MAX_PER_SECOND
    with tempfile.TemporaryDirectory(prefix="bench-burst-") as tmp:
        async with StandinServer(latency=args.latency, flood_limits=True) as server:
            bot = BotProcess(
                server.api,
                server.base_url,
                Path(tmp),
                startup_timeout=STARTUP_TIMEOUT,
                stop_timeout=STOP_TIMEOUT,
            )
            print("starting the bot ...", file=sys.stderr, flush=True)
            try:
                await bot.start()
            except RuntimeError as exc:
                print(f"error: {exc}", file=sys.stderr)
                return None
            try:
                print(f"pushing {len(users)} × {COMMAND} ...", file=sys.stderr, flush=True)
                outcome = await run_burst(server.api, bot, users, again, timeout=timeout)
            finally:
                await bot.stop()
            if "Traceback" in bot.log():
                print(f"note: the bot logged tracebacks:\n{bot.log_tail(15)}", file=sys.stderr)
            for problem in outcome.problems():
                print(f"  {problem}", file=sys.stderr)
            return outcome


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments, run the benchmark, print the report."""
    args = _parser().parse_args(argv)
    if args.users < 1 or args.latency < 0 or not 0 <= args.again <= args.users:
        print("error: need --users >= 1, --latency >= 0, 0 <= --again <= --users", file=sys.stderr)
        return 2
    with contextlib.suppress(KeyboardInterrupt):
        outcome = asyncio.run(run(args))
        if outcome is None:
            return 1
        print(report(outcome, args.latency))
        return 0 if outcome.exact else 1
    return 1


if __name__ == "__main__":
    sys.exit(main())
