"""Fuzz test (issue 11): hostile input through Telegram, WeChat and the console.

A few thousand seeded cases (generator and drivers in ``tests/fuzzing.py``): random Unicode
with every digit class, every command with random arguments, random and forged button data,
random WeChat XML and events, requests posing as another follower. Telegram runs as a
``python -m bot run`` process against the stand-in, WeChat through its callback in-process,
the console through its session in-process; the three run at once (Telegram mostly waits for
its flood budget). Asserted per channel: no unhandled exception, every reply within the
channel's limits, nothing a victim owns changed by someone else's action, and the bot still
answers a fresh /start (WeChat: 菜单) afterwards.

The seed is fixed (``FUZZ_SEED`` changes it) so CI is repeatable; every failure names its
case and the command that reruns it alone (``bench/fuzz.py --seed S --only CHANNEL:INDEX``).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from tests.fuzzing import (
    CHANNEL_NAMES,
    DIGITS,
    CaseGenerator,
    ChannelReport,
    Plan,
    run_all,
    scratch,
    summarize,
    vocabulary,
)

SEED = int(os.environ.get("FUZZ_SEED", "11"))
PLAN = Plan(
    SEED,
    counts={"telegram": 150, "wechat": 1000, "console": 1500},
    forged={"telegram": 24, "wechat": 40, "console": 20},
)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def reports(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[dict[str, ChannelReport]]:
    """One run of every channel, shared by the per-channel tests below."""
    with pytest.MonkeyPatch.context() as env, scratch(tmp_path_factory.mktemp("fuzz")) as work:
        env.setenv("PTB_TIMEDELTA", "1")  # as conftest does for every test
        found = await run_all(PLAN, work)
        yield {report.channel: report for report in found}


@pytest.mark.parametrize("channel", CHANNEL_NAMES)
def test_hostile_input_is_handled(reports: dict[str, ChannelReport], channel: str) -> None:
    report = reports[channel]
    assert report.cases == PLAN.counts[channel]
    assert report.forged == PLAN.forged[channel]
    if report.failures:
        pytest.fail(f"fuzz seed {SEED}\n{summarize([report])}", pytrace=False)


def test_cases_are_reproducible_and_cover_the_inputs(tmp_path: Path) -> None:
    vocab = vocabulary()
    first = CaseGenerator(SEED, vocab).cases("telegram", 300)
    again = CaseGenerator(SEED, vocab).cases("telegram", 300)
    assert first == again
    assert CaseGenerator(SEED + 1, vocab).cases("telegram", 300) != first
    console = CaseGenerator(SEED, vocab).cases("console", 3000)
    typed = " ".join(step.data for case in [*first, *console] for step in case.steps)
    missing = [name for name in vocab.commands if f"/{name}" not in typed]
    assert not missing, f"commands never fuzzed: {missing}"
    classes = [name for name, digits in DIGITS.items() if not any(d in typed for d in digits[1:])]
    assert not classes, f"digit classes never used: {classes}"
    for mark in ("\u200f", "\u202e", "\u200b", "\ufeff"):
        assert mark in typed
    assert max(len(step.data) for case in console for step in case.steps) >= 4000
    wechat = CaseGenerator(SEED, vocab).cases("wechat", 1000)
    bodies = " ".join(step.data for case in wechat for step in case.steps)
    for event in ("subscribe", "unsubscribe", "CLICK", "SCAN"):
        assert f"<![CDATA[{event}]]>" in bodies
