"""The pacer: rate, urgent first, group spacing, pause."""

from __future__ import annotations

import asyncio
import time

from bot.delivery import Pacer


async def test_rate_is_kept() -> None:
    pacer = Pacer(rate=100)
    start = time.monotonic()
    await asyncio.gather(*(pacer.wait() for _ in range(21)))
    assert time.monotonic() - start >= 0.19  # 20 intervals of 10 ms after the first slot


async def test_urgent_waiters_go_first() -> None:
    pacer = Pacer(rate=50)
    order: list[str] = []

    async def one(name: str, urgent: bool) -> None:
        await pacer.wait(urgent=urgent)
        order.append(name)

    normal = [asyncio.create_task(one(f"n{i}", False)) for i in range(5)]
    await asyncio.sleep(0)  # the broadcast is queued first ...
    urgent = asyncio.create_task(one("reminder", True))  # ... then a reminder arrives
    await asyncio.gather(*normal, urgent)
    assert order.index("reminder") <= 1


async def test_group_spacing_and_pause() -> None:
    clock = [0.0]
    pacer = Pacer(rate=1000, clock=lambda: clock[0])
    await pacer.wait(chat_id=-100)
    assert pacer._group_next[-100] >= 3.1
    pacer.pause(5)
    assert pacer._next >= 5


async def test_close_cancels_the_pump_and_waiters() -> None:
    pacer = Pacer(rate=1)
    await pacer.wait()
    waiter = asyncio.create_task(pacer.wait())
    await asyncio.sleep(0.01)
    await pacer.close()
    await asyncio.sleep(0)
    assert waiter.cancelled() or waiter.done()
    assert pacer._pump is None or pacer._pump.done()
