"""The flood budget: rate, per-chat gaps, priorities, a chat keeps its place, pauses."""

from __future__ import annotations

import asyncio
import time

from bot.delivery.pacer import Pacer, Priority


async def test_rate_is_kept() -> None:
    pacer = Pacer(rate=100)
    start = time.monotonic()
    await asyncio.gather(*(pacer.wait(chat_id=n) for n in range(21)))
    assert time.monotonic() - start >= 0.19  # 20 intervals of 10 ms after the first slot
    await pacer.close()


async def test_replies_go_before_reminders_before_broadcasts() -> None:
    pacer = Pacer(rate=50)
    order: list[str] = []

    async def one(name: str, chat: int, priority: Priority) -> None:
        await pacer.wait(chat_id=chat, priority=priority)
        order.append(name)

    tasks = [asyncio.create_task(one(f"b{i}", 100 + i, Priority.BROADCAST)) for i in range(5)]
    await asyncio.sleep(0)
    tasks.append(asyncio.create_task(one("reminder", 1, Priority.REMINDER)))
    tasks.append(asyncio.create_task(one("reply", 2, Priority.REPLY)))
    await asyncio.gather(*tasks)
    assert order.index("reply") < order.index("reminder") <= 2
    await pacer.close()


async def test_one_chat_is_spaced_and_others_go_meanwhile() -> None:
    pacer = Pacer(rate=1000, gap=lambda chat: 0.2)
    done: list[tuple[int, float]] = []
    start = time.monotonic()

    async def one(chat: int) -> None:
        await pacer.wait(chat_id=chat)
        done.append((chat, time.monotonic() - start))

    await asyncio.gather(one(1), one(1), one(2), one(3))
    times = {chat: [t for c, t in done if c == chat] for chat in (1, 2, 3)}
    assert times[1][1] - times[1][0] >= 0.19  # the same chat waits its gap
    assert times[2][0] < 0.1 and times[3][0] < 0.1  # other chats are not held up by it
    await pacer.close()


async def test_a_chat_that_writes_again_keeps_its_place() -> None:
    pacer = Pacer(rate=100, gap=lambda chat: 0.05)
    order: list[int] = []

    async def one(chat: int) -> None:
        await pacer.wait(chat_id=chat)
        order.append(chat)

    first = [asyncio.create_task(one(chat)) for chat in range(1, 41)]
    await asyncio.sleep(0)
    again = asyncio.create_task(one(3))  # chat 3 writes again while 40 chats wait
    await asyncio.gather(*first, again)
    second = [i for i, chat in enumerate(order) if chat == 3][1]
    assert second < 15  # right after its gap, not behind the other 37 chats


async def test_pause_holds_a_chat_or_everyone() -> None:
    clock = [0.0]
    pacer = Pacer(rate=1000, clock=lambda: clock[0])
    await pacer.wait(chat_id=-100)
    assert pacer._chat_next[-100] >= 3.1  # a group: 20 per minute
    pacer.pause(5)
    assert pacer._next >= 5
    pacer.pause(9, chat_id=7)
    assert pacer._chat_next[7] >= 9
    await pacer.close()


async def test_close_cancels_the_pump_and_waiters() -> None:
    pacer = Pacer(rate=1)
    await pacer.wait()
    waiter = asyncio.create_task(pacer.wait())
    await asyncio.sleep(0.01)
    await pacer.close()
    await asyncio.sleep(0)
    assert waiter.cancelled() or waiter.done()
    assert pacer._pump is None or pacer._pump.done()


async def test_cancelled_waiter_gives_its_slot_away() -> None:
    pacer = Pacer(rate=20)
    await pacer.wait(chat_id=1)
    gone = asyncio.create_task(pacer.wait(chat_id=2))
    await asyncio.sleep(0)
    gone.cancel()
    start = time.monotonic()
    await pacer.wait(chat_id=3)
    assert time.monotonic() - start < 0.2
    assert pacer.waiting == 0
    await pacer.close()


async def test_edits_keep_the_chat_gap_but_not_the_rate() -> None:
    pacer = Pacer(rate=2, gap=lambda chat: 0.2)  # one message every 0.5 s overall
    await pacer.wait(chat_id=1)
    start = time.monotonic()
    await pacer.wait(chat_id=2, counts=False)  # an edit elsewhere: no wait for the rate
    assert time.monotonic() - start < 0.1
    await pacer.wait(chat_id=2, counts=False)  # a second edit of chat 2: its gap applies
    assert 0.15 <= time.monotonic() - start < 0.45
    await pacer.close()


async def test_slots_keep_their_grid_when_a_timer_fires_a_little_late() -> None:
    """Late timers (up to a millisecond each) must not slow the rate; a stall is not made up."""
    pacer = Pacer(rate=10)  # one slot every 100 ms
    pacer._next = 5.0
    assert abs(pacer._following(5.0007) - 5.1) < 1e-9  # a timer 0.7 ms late: the grid holds
    assert abs(pacer._following(5.0) - 5.1) < 1e-9
    pacer._next = 5.0
    assert abs(pacer._following(5.3) - 5.4) < 1e-9  # a stall: restart from now
    pacer._next = 0.0
    assert abs(pacer._following(100.0) - 100.1) < 1e-9  # the first slot after idling


async def test_the_pump_sleeps_between_slots_while_waiters_keep_arriving() -> None:
    """Between two slots the pump sleeps; a new waiter does not make it spin until the slot."""
    reads = 0

    def clock() -> float:
        nonlocal reads
        reads += 1
        return time.monotonic()

    pacer = Pacer(rate=20, clock=clock)  # a slot every 50 ms
    waiting = [asyncio.create_task(pacer.wait(chat_id=n)) for n in range(5)]
    for n in range(100):  # a new waiter every 2 ms for 0.2 s
        waiting.append(asyncio.create_task(pacer.wait(chat_id=1000 + n)))
        await asyncio.sleep(0.002)
    await pacer.close()
    for task in waiting:
        task.cancel()
    await asyncio.gather(*waiting, return_exceptions=True)
    assert reads < 60  # about 5 slots, each a few reads; spinning read the clock thousands of times


async def test_only_the_first_message_of_an_answer_goes_as_a_reply() -> None:
    """In a burst every user's first answer goes before anyone's second message."""
    from typing import Any

    from bot.channels.telegram.render import send_reply
    from bot.core.reply import Message, Reply
    from bot.core.text import markup

    sent: list[tuple[int, object]] = []

    class Bot:
        async def send_message(self, chat_id: int, *args: Any, **kwargs: Any) -> None:
            sent.append((chat_id, kwargs["rate_limit_args"]))

    reply = Reply((Message(markup("欢迎")), Message(markup("要订阅通知吗？"))))
    await send_reply(Bot(), 7, reply)  # type: ignore[arg-type]
    await send_reply(Bot(), 8, reply, priority=Priority.REMINDER)  # type: ignore[arg-type]
    assert sent == [
        (7, Priority.REPLY),
        (7, Priority.FOLLOW_UP),
        (8, Priority.REMINDER),
        (8, Priority.REMINDER),
    ]
