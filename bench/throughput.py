"""Throughput benchmark: updates per second a bot process handles against the Bot API stand-in.

For each bot variant the script starts a fresh :class:`tests.standin.StandinServer` (only
127.0.0.1 is ever contacted) that answers every request after ``--latency`` seconds (default
50 ms, a typical real Bot API round trip), starts the bot as a subprocess pointed at it with
a fake ``BOT_TOKEN`` and ``BOT_API_BASE_URL``, waits until it long-polls, then pushes N
``/steps`` commands, each from a different private user, all at once. The time is measured
from the first push until every one of the N chats got at least one successful sendMessage.
The bot is then stopped with SIGTERM.

Variants: the real bot (``python -m bot run``) and ``bench/echo_bot.py`` in two modes as
baselines (PTB defaults, and ``concurrent_updates(32)``).

    .venv/bin/python bench/throughput.py                      # N=2000, latency 0.05 s
    .venv/bin/python bench/throughput.py --updates 300 --bots echo-concurrent

Exit status: 0 when every variant finished, 1 otherwise. ``--timeout`` bounds the whole run
(plus at most 10 s to stop the bot process that is running when it expires).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


from bench.common import fmt, machine_info  # noqa: E402
from tests.botproc import BotProcess  # noqa: E402
from tests.standin import Call, FakeBotAPI, StandinServer  # noqa: E402

FIRST_USER_ID = 10_000_000
STARTUP_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0


@dataclass(frozen=True)
class Variant:
    """A bot process to benchmark."""

    key: str
    label: str
    argv: tuple[str, ...]


VARIANTS: dict[str, Variant] = {
    v.key: v
    for v in (
        Variant("bot", "python -m bot run", (sys.executable, "-m", "bot", "run")),
        Variant(
            "echo-sequential",
            "echo bot, PTB defaults (sequential)",
            (sys.executable, str(ROOT / "bench" / "echo_bot.py"), "--sequential"),
        ),
        Variant(
            "echo-concurrent",
            "echo bot, concurrent_updates(32)",
            (sys.executable, str(ROOT / "bench" / "echo_bot.py"), "--concurrent", "32"),
        ),
    )
}


@dataclass
class Result:
    """Outcome of one variant."""

    variant: Variant
    updates: int
    seconds: float | None = None
    answered: int = 0
    peak_in_flight: int = 0
    standin_cpu: float | None = None
    error: str | None = None

    @property
    def rate(self) -> float | None:
        """Updates per second, when the run finished."""
        return self.updates / self.seconds if self.seconds else None


class AnsweredChats:
    """Predicate for ``FakeBotAPI.wait_for``: every chat got a successful sendMessage.

    Scans only the calls recorded since the previous evaluation, so it stays O(new calls).
    """

    def __init__(self, chat_ids: set[int]) -> None:
        self.missing: set[int | str | None] = set(chat_ids)
        self.total = len(chat_ids)
        self._scanned = 0

    @property
    def answered(self) -> int:
        """Chats answered so far."""
        return self.total - len(self.missing)

    def __call__(self, calls: list[Call]) -> bool:
        for call in calls[self._scanned :]:
            if call.method == "sendMessage" and call.ok:
                self.missing.discard(call.chat_id)
        self._scanned = len(calls)
        return not self.missing


async def run_variant(
    variant: Variant, updates: int, latency: float, budget: float, workdir: Path
) -> Result:
    """Benchmark one bot process; never raises for bot failures (see ``Result.error``)."""
    result = Result(variant, updates)
    async with StandinServer(latency=latency) as server:
        api: FakeBotAPI = server.api
        bot = BotProcess(
            api,
            server.base_url,
            workdir,
            argv=variant.argv,
            name=variant.key,
            startup_timeout=STARTUP_TIMEOUT,
            stop_timeout=STOP_TIMEOUT,
        )
        try:
            await bot.start()
        except RuntimeError as exc:
            result.error = f"not ready: {exc}"
            return result
        try:
            chat_ids = range(FIRST_USER_ID, FIRST_USER_ID + updates)
            answered = AnsweredChats(set(chat_ids))
            started, cpu_started = time.perf_counter(), time.process_time()
            for user_id in chat_ids:
                api.push_command("/steps", user_id)
            error = await bot.race(api.wait_for(answered, budget))
            elapsed = time.perf_counter() - started
            result.standin_cpu = (time.process_time() - cpu_started) / elapsed
            result.answered = answered.answered
            result.peak_in_flight = api.max_in_flight
            if error is None:
                result.seconds = elapsed
            else:
                result.error = f"{answered.answered}/{updates} chats answered; {error}"
            return result
        finally:
            await bot.stop()
            if result.error is not None:
                result.error += f"\n  last lines of {bot.log_path}:\n{bot.log_tail(15)}"


def report(results: list[Result], updates: int, latency: float) -> str:
    """The plain table, the markdown rows for the README and the machine line."""
    width = max([len(r.variant.label) for r in results] + [3])
    header = ("updates", "seconds", "updates/s", "peak in-flight", "stand-in CPU")
    lines = [
        f"{'bot':<{width}}  {header[0]:>7}  {header[1]:>8}  {header[2]:>9}  {header[3]:>14}  "
        f"{header[4]:>12}"
    ]
    for r in results:
        cpu = None if r.standin_cpu is None else r.standin_cpu * 100
        lines.append(
            f"{r.variant.label:<{width}}  {r.updates:>7}  {fmt(r.seconds, '8.2f'):>8}  "
            f"{fmt(r.rate, '9.1f'):>9}  {r.peak_in_flight:>14}  {fmt(cpu, '11.0f'):>11}%"
        )
    lines += [
        "peak in-flight: most API requests the bot had open at once; stand-in CPU: share of one "
        "core the benchmark process (stand-in server) used while measuring.",
        "",
        f"Markdown ({updates} `/steps` from distinct private users, stand-in latency "
        f"{latency * 1000:.0f} ms per request):",
        "",
        "| bot | updates | seconds | updates/s |",
        "|---|--:|--:|--:|",
    ]
    for r in results:
        lines.append(
            f"| {r.variant.label} | {r.updates} | {fmt(r.seconds, '.2f')} | {fmt(r.rate, '.1f')} |"
        )
    lines += ["", f"Machine: {machine_info()}"]
    return "\n".join(lines)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bench/throughput.py", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--updates", type=int, default=2000, metavar="N", help="default 2000")
    parser.add_argument(
        "--latency", type=float, default=0.05, metavar="S", help="seconds per API request"
    )
    parser.add_argument(
        "--bots",
        default=",".join(VARIANTS),
        help=f"comma-separated variants to run, from: {', '.join(VARIANTS)} (default: all)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        metavar="S",
        help="bound for the whole run (default: derived from N and the latency)",
    )
    return parser


async def run(args: argparse.Namespace, variants: list[Variant]) -> list[Result]:
    """Run the variants one after the other within the global timeout."""
    # A sequential bot needs about N x latency; allow twice that plus start-up per variant.
    budget = 60.0 + 2.0 * args.updates * args.latency
    total = args.timeout or len(variants) * (budget + STARTUP_TIMEOUT + STOP_TIMEOUT)
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        try:
            async with asyncio.timeout(total):
                for variant in variants:
                    print(f"running {variant.label} ...", file=sys.stderr, flush=True)
                    result = await run_variant(
                        variant, args.updates, args.latency, budget, Path(tmp)
                    )
                    status = fmt(result.rate, ".1f") + " updates/s" if result.seconds else "FAILED"
                    print(f"  {status}", file=sys.stderr, flush=True)
                    if result.error:
                        print(f"  {result.error}", file=sys.stderr, flush=True)
                    results.append(result)
        except TimeoutError:
            print(f"global timeout of {total:.0f}s reached; stopping", file=sys.stderr)
    return results


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments, run the benchmark, print the report."""
    args = _parser().parse_args(argv)
    keys = [k.strip() for k in args.bots.split(",") if k.strip()]
    unknown = [k for k in keys if k not in VARIANTS]
    if unknown or args.updates < 1 or args.latency < 0:
        problem = f"unknown variant(s) {unknown}" if unknown else "bad --updates/--latency"
        print(f"error: {problem}", file=sys.stderr)
        return 2
    variants = [VARIANTS[k] for k in keys]
    with contextlib.suppress(KeyboardInterrupt):
        results = asyncio.run(run(args, variants))
        if results:
            print(report(results, args.updates, args.latency))
        return 0 if len(results) == len(variants) and all(r.seconds for r in results) else 1
    return 1


if __name__ == "__main__":
    sys.exit(main())
