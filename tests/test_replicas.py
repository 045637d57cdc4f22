"""Replicas sharing one PostgreSQL: one send budget for all of them, webhook requests checked.

The two-process scenario (webhooks, kill -9) is in tests/test_e2e_replicas.py; here the parts
run in one process against a real PostgreSQL server (tests/pg.py).
"""

from __future__ import annotations

import asyncio
import io
import json
import time
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.channels.telegram.webhook import SECRET_HEADER, WebhookServer, derived_secret
from bot.delivery.pacer import Pacer, Priority
from bot.storage import Database
from bot.storage.budget import SharedBudget

RATE = 100.0  # slots per second in these tests (Telegram's is 28.5; faster keeps tests short)


async def _grants(
    pacer: Pacer, chats: range, priority: Priority = Priority.BROADCAST
) -> list[float]:
    times: list[float] = []

    async def one(chat: int) -> None:
        await pacer.wait(chat, priority)
        times.append(time.monotonic())

    await asyncio.gather(*(one(chat) for chat in chats))
    return times


async def test_two_replicas_share_one_rate_and_either_may_use_all_of_it(pg_url: str) -> None:
    first, second = await Database.open(pg_url), await Database.open(pg_url)
    pacers = [Pacer(rate=RATE), Pacer(rate=RATE)]
    try:
        for pacer, db in zip(pacers, (first, second), strict=True):
            pacer.share(SharedBudget(db, "telegram"), RATE)
        started = time.monotonic()
        a, b = await asyncio.gather(
            _grants(pacers[0], range(1, 41)), _grants(pacers[1], range(101, 141))
        )
        both = sorted(a + b)
        # 80 slots on one grid: never faster than the rate together ...
        assert both[-1] - started >= 79 / RATE * 0.97
        # ... and interleaved: neither replica waited for the other to finish.
        assert min(b) < max(a) and min(a) < max(b)
        # One replica alone gets the whole rate (no fixed share per replica).
        started = time.monotonic()
        alone = await _grants(pacers[0], range(201, 241))
        assert max(alone) - started < 40 / RATE * 2.5
    finally:
        for pacer in pacers:
            await pacer.close()
        await first.close()
        await second.close()


async def test_a_flood_pause_on_one_replica_holds_the_other(pg_url: str) -> None:
    first, second = await Database.open(pg_url), await Database.open(pg_url)
    try:
        budget_a, budget_b = SharedBudget(first, "telegram"), SharedBudget(second, "telegram")
        await budget_a.take(1 / RATE)
        await budget_a.pause(0.6)
        assert await budget_b.take(1 / RATE) >= 0.5
        assert await SharedBudget(second, "wechat").take(1 / RATE) < 0.1  # per channel
    finally:
        await first.close()
        await second.close()


async def test_the_shared_budget_needs_a_shared_database(tmp_path: Any) -> None:
    db = await Database.open(tmp_path / "bot.db")
    try:
        with pytest.raises(ValueError, match="shared"):
            SharedBudget(db, "telegram")
    finally:
        await db.close()


async def test_a_lost_database_paces_locally_at_half_the_rate(pg_url: str) -> None:
    db = await Database.open(pg_url)
    pacer = Pacer(rate=RATE)
    pacer.share(SharedBudget(db, "telegram"), RATE)
    await db.close()  # every take() now fails
    try:
        started = time.monotonic()
        times = await _grants(pacer, range(1, 11), Priority.REPLY)
        assert len(times) == 10  # still sending
        assert max(times) - started >= 9 * 2 / RATE * 0.95  # at most half the rate
    finally:
        await pacer.close()


class _FakeApplication:
    """What WebhookServer uses of a python-telegram-bot Application."""

    def __init__(self) -> None:
        self.bot = None
        self.processed: list[int] = []
        self.update_processor = self

    async def process_update(self, update: Any, coroutine: Any = None) -> None:
        if coroutine is not None:  # the update processor's call: run the handling coroutine
            await coroutine
            return
        self.processed.append(update.update_id)


def _update(update_id: int) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": 1,
            "date": 0,
            "chat": {"id": 7, "type": "private"},
            "from": {"id": 7, "is_bot": False, "first_name": "考生"},
            "text": "/start",
        },
    }


async def _client(application: _FakeApplication, secret: str) -> TestClient[Any, Any]:
    server = WebhookServer(
        application,  # type: ignore[arg-type]
        path="/telegram",
        secret=secret,
        host="127.0.0.1",
        port=0,
    )
    client: TestClient[Any, Any] = TestClient(TestServer(server.web_app()))
    await client.start_server()
    return client


async def test_webhook_requests_need_the_secret_and_a_real_update() -> None:
    application = _FakeApplication()
    secret = derived_secret("123:ABC")
    client = await _client(application, secret)
    try:
        body = json.dumps(_update(1))
        for headers in ({}, {SECRET_HEADER: "wrong"}, {SECRET_HEADER: secret[:-1]}):
            response = await client.post("/telegram", data=body, headers=headers)
            assert response.status == 403
        for bad in ("not json", "[]", json.dumps({"update_id": "x"}), "{}"):
            response = await client.post("/telegram", data=bad, headers={SECRET_HEADER: secret})
            assert response.status == 400
        assert application.processed == []  # nothing refused reached the bot
        response = await client.post("/telegram", data=body, headers={SECRET_HEADER: secret})
        assert response.status == 200
        assert application.processed == [1]
        assert (await client.get("/healthz")).status == 200
        too_big = io.BytesIO(b"x" * (2 << 20))
        response = await client.post("/telegram", data=too_big, headers={SECRET_HEADER: secret})
        assert response.status == 413
    finally:
        await client.close()


def test_the_derived_secret_is_stable_valid_and_says_nothing_of_the_token() -> None:
    secret = derived_secret("123:ABC")
    assert secret == derived_secret("123:ABC") != derived_secret("123:ABD")
    assert len(secret) == 64 and secret.isalnum()
    assert "123" not in secret and "ABC" not in secret


def test_a_bad_webhook_setting_is_refused_clearly(monkeypatch: pytest.MonkeyPatch) -> None:
    from pydantic import ValidationError

    from bot.config import Settings

    monkeypatch.setenv("BOT_WEBHOOK_SECRET", "has spaces!")
    with pytest.raises(ValidationError, match="BOT_WEBHOOK_SECRET"):
        Settings()
    monkeypatch.setenv("BOT_WEBHOOK_SECRET", "Zq9_sEcReT-1")
    monkeypatch.setenv("BOT_WEBHOOK_URL", "ftp://bot.example.com/telegram")
    with pytest.raises(ValidationError, match="BOT_WEBHOOK_URL"):
        Settings()
    monkeypatch.setenv("BOT_WEBHOOK_URL", "https://bot.example.com/telegram")
    settings = Settings()
    assert settings.webhook_secret is not None
    assert "sEcReT" not in repr(settings)  # a secret never reaches a log


class _FakeStore:
    """Counts what a ContentFollower asks of the content store."""

    def __init__(self) -> None:
        self.reloads = 0
        self.relearns = 0

    async def reload(self) -> Any:
        self.reloads += 1
        return type("Content", (), {"topics": ()})()

    async def relearn(self) -> None:
        self.relearns += 1


async def test_a_reload_or_a_lesson_on_one_replica_reaches_the_others(pg_url: str) -> None:
    from datetime import UTC, datetime

    from bot.follow import LESSONS, RELOADS, ContentFollower
    from bot.storage import ChatRepo

    here, there = await Database.open(pg_url), await Database.open(pg_url)
    try:
        store = _FakeStore()
        follower = ContentFollower(store, ChatRepo(there), lambda: datetime.now(UTC))  # type: ignore[arg-type]
        await follower.step()  # the first look only remembers
        await follower.step()
        assert (store.reloads, store.relearns) == (0, 0)
        await ChatRepo(here).count(RELOADS)  # what /reload does on the other replica
        await follower.step()
        assert (store.reloads, store.relearns) == (1, 0)
        await ChatRepo(here).count(LESSONS)  # what teaching does
        await follower.step()
        await follower.step()
        assert (store.reloads, store.relearns) == (1, 1)
    finally:
        await here.close()
        await there.close()


async def test_a_change_on_one_replica_wakes_the_others_at_once(pg_url: str) -> None:
    here, there = await Database.open(pg_url), await Database.open(pg_url)
    woken = asyncio.Event()
    try:
        await there.listen("bot_broadcasts", woken.set)
        here.notify("bot_broadcasts")
        await asyncio.wait_for(woken.wait(), 5)  # not the 5 s poll: a notification
    finally:
        await here.close()
        await there.close()


class _SlowApplication(_FakeApplication):
    """Sends its first message at once, then is busy until ``gate`` opens."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()

    async def process_update(self, update: Any, coroutine: Any = None) -> None:
        if coroutine is not None:
            await coroutine
            return
        from bot.channels.telegram.limiter import ANSWERED

        answered = ANSWERED.get()
        assert answered is not None  # the webhook server set it for this update
        answered.set()  # what the limiter does once the first message went out
        await self.gate.wait()
        self.processed.append(update.update_id)


async def test_an_update_is_acknowledged_once_its_first_message_went_out() -> None:
    application = _SlowApplication()
    client = await _client(application, "s3cret")
    try:
        response = await client.post(
            "/telegram", data=json.dumps(_update(7)), headers={SECRET_HEADER: "s3cret"}
        )
        assert response.status == 200  # acknowledged while the handling goes on
        assert application.processed == []
        application.gate.set()
        for _ in range(100):
            if application.processed:
                break
            await asyncio.sleep(0.01)
        assert application.processed == [7]  # and the handling finished after it
    finally:
        await client.close()
