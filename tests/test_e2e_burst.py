"""End to end: 300 users send /subscribe within one second to the bot process, against a
stand-in that enforces Telegram's flood limits (30 messages/s overall, 1/s per chat, 429 with
retry_after beyond them). Every user gets exactly one reply, and 5 of them who write a
question a few seconds in get exactly one answer to it, right after their first reply (not
behind the whole queue again); no 429 is drawn and the bot logs no traceback.

The scenario and its bookkeeping are shared with the benchmark (bench/burst.py). The
timeouts are only a safety net: the wait ends as soon as everyone is answered, or when the
bot made no request for 10 s while replies are still missing (it dropped them).
"""

from __future__ import annotations

from pathlib import Path

from bench.burst import COMMAND, QUESTION, run_burst, spread_pick
from tests.botproc import BotProcess
from tests.standin import StandinServer

USERS = list(range(810_000, 810_300))
AGAIN = spread_pick(USERS, 5)  # every 60th user, spread through the burst
AGAIN_AFTER = 3.0  # seconds after the burst started
LATENCY = 0.05


async def test_burst_of_300_users_each_get_exactly_one_reply(tmp_path: Path) -> None:
    async with StandinServer(flood_limits=True, latency=LATENCY) as server:
        api = server.api
        async with BotProcess(api, server.base_url, tmp_path) as bot:
            outcome = await run_burst(
                api, bot, USERS, AGAIN, again_after=AGAIN_AFTER, timeout=120.0, idle=10.0
            )
        log = bot.log()
    tally = outcome.tally
    why = "\n  ".join(["", *outcome.problems(), f"bot log:\n{bot.log_tail(15)}"])

    # Every user got the /subscribe confirmation exactly once, and nothing else.
    unanswered, again_unanswered = tally.unanswered, tally.again_unanswered
    assert not unanswered, f"users without a reply to {COMMAND}:{why}"
    duplicated = {u: n for u, n in tally.first_count.items() if n > 1}
    assert not duplicated, f"duplicate replies:{why}"
    # The users who wrote again got exactly one answer to the question.
    assert not again_unanswered, f"second messages {QUESTION!r} not answered:{why}"
    duplicated = {u: n for u, n in tally.second_count.items() if n > 1}
    assert not duplicated, f"duplicate answers:{why}"
    unexpected = dict(tally.other_texts)
    assert not unexpected, f"unexpected messages:{why}"
    assert outcome.exact and outcome.ended == "complete", why
    assert tally.too_many == 0, f"the bot drew 429s:{why}"
    # Those still waiting for their first reply when they wrote again kept their place:
    # the second answer follows their own first one (one chat gap), not the whole queue.
    gaps = outcome.follow_gaps()
    assert gaps, "no user was still waiting when the second messages came in"
    assert max(gaps) < 3.0, f"second answers came {gaps} s after the first ones:{why}"
    assert "Traceback" not in log, bot.log_tail(40)
