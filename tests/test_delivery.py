"""Delivery states tell the truth: unsure sends, final failures, kept wake-ups, clean stops."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from bot.app import App, assemble
from bot.broadcast.runner import BroadcastRunner
from bot.channels import CHANNELS
from bot.channels.telegram.sender import TelegramSender
from bot.config import Settings
from bot.content import ContentStore
from bot.core.reply import Reply
from bot.delivery import Outcome, Priority, Result
from bot.delivery.worker import Worker
from bot.reminders.dispatcher import Dispatcher
from bot.storage import ReminderRepo

NOW = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)


def timed_out(cause: Exception) -> TimedOut:
    try:
        raise TimedOut() from cause
    except TimedOut as exc:
        return exc


ERRORS: dict[str, tuple[Callable[[], Exception], Outcome]] = {
    "read timeout": (lambda: timed_out(httpx.ReadTimeout("read")), Outcome.UNSURE),
    "write timeout": (lambda: timed_out(httpx.WriteTimeout("write")), Outcome.UNSURE),
    "connect timeout": (lambda: timed_out(httpx.ConnectTimeout("connect")), Outcome.RETRY),
    "pool timeout": (lambda: timed_out(httpx.PoolTimeout("pool")), Outcome.RETRY),
    "refused": (lambda: NetworkError("connection refused"), Outcome.RETRY),
    "429": (lambda: RetryAfter(timedelta(seconds=3)), Outcome.RETRY),
    "blocked": (lambda: Forbidden("Forbidden: bot was blocked by the user"), Outcome.BLOCKED),
    "gone": (lambda: BadRequest("Bad Request: chat not found"), Outcome.BLOCKED),
    "bad": (lambda: BadRequest("Bad Request: message text is empty"), Outcome.FAILED),
}


@pytest.mark.parametrize("case", ERRORS)
async def test_telegram_errors_map_to_truthful_outcomes(case: str) -> None:
    make, outcome = ERRORS[case]

    async def fails() -> None:
        raise make()

    result = await TelegramSender._attempt(fails())
    assert result.outcome is outcome


@dataclass
class Scripted:
    """A sender that answers from a script and records what it was asked to send."""

    script: list[Outcome] = field(default_factory=list)
    sends: list[tuple[int, Priority]] = field(default_factory=list)

    async def send(self, chat_id: int, reply: Reply, priority: Priority = Priority.REPLY) -> Result:
        self.sends.append((chat_id, priority))
        outcome = self.script.pop(0) if self.script else Outcome.SENT
        return Result(outcome, reason=outcome.value)


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def built(content_copy: Path) -> AsyncIterator[tuple[App, Scripted, Clock]]:
    sender, clock = Scripted(), Clock()
    settings = Settings(content_dir=content_copy, db=content_copy.parent / "bot.db")
    store = ContentStore.open(content_copy, CHANNELS)
    app = await assemble(settings, store, {"telegram": sender}, clock=clock)
    try:
        yield app, sender, clock
    finally:
        await app.close()


async def test_an_unsure_reminder_is_sent_once_more_then_left_alone(
    built: tuple[App, Scripted, Clock],
) -> None:
    app, sender, clock = built
    repo = ReminderRepo(app.db)
    await repo.add(
        channel="telegram",
        user_id=5,
        chat_id=5,
        kind="custom",
        text="交材料",
        due_at=NOW + timedelta(minutes=5),
        alerts=[(NOW + timedelta(minutes=1), 4)],
        now=NOW,
    )
    clock.now = NOW + timedelta(minutes=2)
    sender.script = [Outcome.UNSURE, Outcome.UNSURE]
    dispatcher = app.workers[0]
    assert isinstance(dispatcher, Dispatcher)
    assert await dispatcher.step()  # first try: unsure -> pending again
    assert await dispatcher.step()  # second try: unsure again -> left alone
    assert not await dispatcher.step()
    assert sender.sends == [(5, Priority.REMINDER), (5, Priority.REMINDER)]
    async with app.db.connection.execute("SELECT status, unsure FROM alerts") as cursor:
        assert await cursor.fetchall() == [("unsure", 1)]


async def test_broadcast_unsure_is_not_resent_and_failures_are_final(
    built: tuple[App, Scripted, Clock],
) -> None:
    app, sender, _ = built
    chats = app.audience.repo
    for chat in (1, 2, 3):
        await chats.seen("telegram", chat, "private", "考生", NOW)
        await chats.set_subscribed("telegram", chat, True, NOW)
    runner = app.workers[1]
    assert isinstance(runner, BroadcastRunner)
    broadcast_id = await runner.repo.create(
        admin_id=9,
        kind="text",
        text="通知",
        from_chat_id=None,
        from_message=None,
        run_at=None,
        now=NOW,
    )
    assert await runner.repo.confirm(broadcast_id, "users", None, NOW)
    sender.script = [Outcome.UNSURE, Outcome.FAILED, Outcome.SENT]
    assert await runner.step()
    counts = await runner.repo.counts(broadcast_id)
    assert (counts.sent, counts.failed, counts.unsure, counts.left) == (1, 1, 1, 0)
    assert len(sender.sends) == 3  # nothing sent twice, the failure not retried
    assert {priority for _, priority in sender.sends} == {Priority.BROADCAST}


class Counting(Worker):
    """Steps count; ``upcoming`` wakes the worker while it is being asked (the race)."""

    def __init__(self) -> None:
        super().__init__(lambda: NOW)
        self.steps = 0
        self.raced = False
        self.reached: dict[int, asyncio.Event] = {n: asyncio.Event() for n in (2, 4)}

    async def step(self) -> bool:
        self.steps += 1
        if self.steps in self.reached:
            self.reached[self.steps].set()
        if self.steps == 3:
            raise RuntimeError("a bug in one step")
        return False

    async def upcoming(self) -> datetime | None:
        if not self.raced:
            self.raced = True
            await asyncio.sleep(0)
            self.wake()  # e.g. a broadcast confirmed while the next due time is read
        return None


async def test_a_wake_up_during_the_lookup_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("bot.delivery.worker.ERROR_PAUSE", 0.05)
    worker = Counting()
    task = asyncio.create_task(worker.run())
    # Without the fix the worker would sleep MAX_SLEEP (30 s) before its second step.
    await asyncio.wait_for(worker.reached[2].wait(), 1)
    worker.wake()
    await asyncio.sleep(0.01)
    worker.wake()  # step 3 raises; the worker logs it and goes on to step 4
    await asyncio.wait_for(worker.reached[4].wait(), 2)
    worker.stop()
    await asyncio.wait_for(task, 2)


async def test_stop_lets_the_send_in_flight_finish(built: tuple[App, Scripted, Clock]) -> None:
    app, _, _ = built
    finished = asyncio.Event()

    class Slow(Worker):
        async def step(self) -> bool:
            await asyncio.sleep(0.3)  # a send in flight
            finished.set()
            return False

    app.workers = [Slow(lambda: NOW)]
    task = asyncio.create_task(app.run_workers())
    await asyncio.sleep(0.05)
    await app.stop_workers(task, grace=5)
    assert finished.is_set() and task.done() and not task.cancelled()
