"""Fuzz bench (issue 11): 10,000 hostile inputs through Telegram, WeChat and the console.

    .venv/bin/python bench/fuzz.py                        # 10,000 cases, a random seed
    .venv/bin/python bench/fuzz.py --cases 3000 --seed 7
    .venv/bin/python bench/fuzz.py --seed 7 --only wechat:123     # rerun one case
    .venv/bin/python bench/fuzz.py --channels console,wechat

The same generator and drivers as ``tests/test_fuzz.py`` (``tests/fuzzing.py``), with more
cases: Telegram (``--telegram-share``, 15 % by default; a ``python -m bot run`` process
against the local stand-in, paced by the bot's own flood budget of about 28 messages a
second) and WeChat and the console (the rest, half each, in-process); plus forged cases
(``--forged-share`` of each channel, at least 10) aimed at a victim's reminder,
subscription and an admin's broadcast drafts.

Prints the seed, the cases and inputs run per channel, the failures grouped by kind and
where they were raised (each with its case and the command that reruns it alone), and the
elapsed time. Exit status 1 when anything failed, 0 otherwise. Only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import machine_info  # noqa: E402
from tests.fuzzing import CHANNEL_NAMES, Plan, parse_only, run_all, scratch, summarize  # noqa: E402


def plan_for(
    cases: int, seed: int, channels: list[str], telegram_share: float, forged_share: float
) -> Plan:
    """Split ``cases`` over ``channels``; forged cases come on top."""
    counts: dict[str, int] = {}
    rest = [c for c in channels if c != "telegram"]
    telegram = round(cases * telegram_share) if "telegram" in channels else 0
    if not rest:
        telegram = cases
    if "telegram" in channels:
        counts["telegram"] = telegram
    for n, channel in enumerate(rest):
        share, extra = divmod(cases - telegram, len(rest))
        counts[channel] = share + (1 if n < extra else 0)
    forged = {c: max(10, round(n * forged_share)) for c, n in counts.items()}
    return Plan(seed, counts, forged)


def main(argv: list[str] | None = None) -> int:
    """Run the plan, print the summary; 1 on any failure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10_000, help="generic cases in all")
    parser.add_argument("--seed", type=int, default=None, help="default: a random one")
    parser.add_argument("--channels", default=",".join(CHANNEL_NAMES))
    parser.add_argument("--telegram-share", type=float, default=0.15)
    parser.add_argument("--forged-share", type=float, default=0.05)
    parser.add_argument(
        "--only", default=None, help="run one case: CHANNEL:INDEX or CHANNEL:fINDEX (forged)"
    )
    parser.add_argument(
        "--replays", type=int, default=20, help="Telegram failures replayed in-process"
    )
    parser.add_argument("--per-kind", type=int, default=3, help="cases shown per failure group")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (logs, DBs)")
    args = parser.parse_args(argv)

    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(10**9)
    channels = [c.strip() for c in args.channels.split(",") if c.strip()]
    unknown = set(channels) - set(CHANNEL_NAMES)
    if unknown:
        parser.error(f"unknown channels: {sorted(unknown)}")
    plan = plan_for(args.cases, seed, channels, args.telegram_share, args.forged_share)
    if args.only:
        try:
            only = parse_only(args.only)
        except ValueError as exc:
            parser.error(str(exc))
        plan = Plan(seed, {}, {}, only)
        channels = [only[0]]
    os.environ.setdefault("PTB_TIMEDELTA", "1")

    print(machine_info())
    print(f"seed {seed}; plan: {plan.only or {'cases': plan.counts, 'forged': plan.forged}}")
    started = time.monotonic()
    with scratch(ROOT / "data" / "fuzz", keep=args.keep) as work:
        if args.keep:
            print(f"work folder: {work}")
        reports = asyncio.run(run_all(plan, work, channels, replays=args.replays))
    elapsed = time.monotonic() - started
    print()
    print(summarize(reports, per_kind=args.per_kind))
    total = sum(r.cases + r.forged for r in reports)
    failures = sum(len(r.failures) for r in reports)
    print()
    print(f"{total} cases, {failures} failure(s), {elapsed:.1f} s elapsed (seed {seed})")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
