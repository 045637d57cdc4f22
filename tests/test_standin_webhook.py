"""Webhook mode of the Bot API stand-in (tests/standin.py) and the balancer (tests/balancer.py).

No bot process: a small aiohttp app in the test plays the bot's webhook endpoint.
"""

from __future__ import annotations

import asyncio
import collections
import json
import random
import time
from collections.abc import AsyncIterator, Callable
from typing import Any, Self

import aiohttp
import pytest
from aiohttp import web
from telegram import Bot, Update

from tests.balancer import Balancer
from tests.standin import (
    WEBHOOK_SECRET_HEADER,
    FakeBotAPI,
    FakeRequest,
    StandinServer,
)

TOKEN = "123456:TEST"
SECRET = "s3cr3t_-TOKEN"
FAST = {"webhook_retry_initial": 0.02, "webhook_retry_max": 0.1}
"""Quick retries, so failure tests take milliseconds."""

Behaviour = Callable[[dict[str, Any], int], str]
"""``(update, attempt)`` -> ``"ok"``, ``"500"``, ``"close"`` (drop the connection without an
answer) or ``"hang"`` (answer after 30 s); ``attempt`` counts from 1 per update_id."""


def chat_of(update: dict[str, Any]) -> int:
    """The chat of a pushed message or callback update."""
    payload = update.get("message") or update["callback_query"]["message"]
    return int(payload["chat"]["id"])


class Receiver:
    """A webhook endpoint on 127.0.0.1 that records what it gets and misbehaves on demand."""

    def __init__(
        self,
        behaviour: Behaviour | None = None,
        *,
        delay: Callable[[dict[str, Any]], float] | float = 0.0,
        port: int = 0,
        path: str = "/hook",
    ) -> None:
        self.behaviour = behaviour or (lambda update, attempt: "ok")
        self.delay = delay
        self.port = port
        self.path = path
        self.requests: list[tuple[dict[str, Any], dict[str, str]]] = []
        """Every request: (update, headers), in arrival order."""
        self.acked: list[dict[str, Any]] = []
        """Updates answered 200, in the order the answers went out."""
        self.attempts: collections.Counter[int] = collections.Counter()
        self.in_flight = 0
        self.max_in_flight = 0
        self.chats_in_flight: collections.Counter[int] = collections.Counter()
        self.chat_overlaps = 0
        """Requests that arrived while another one of the same chat was in flight."""
        self.arrived = asyncio.Event()
        """Set when the first request arrives."""
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.path}"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post(self.path, self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def _handle(self, request: web.Request) -> web.Response:
        update = json.loads(await request.read())
        self.requests.append((update, dict(request.headers)))
        self.arrived.set()
        self.attempts[update["update_id"]] += 1
        chat = chat_of(update)
        if self.chats_in_flight[chat]:
            self.chat_overlaps += 1
        self.chats_in_flight[chat] += 1
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            delay = self.delay(update) if callable(self.delay) else self.delay
            if delay:
                await asyncio.sleep(delay)
            action = self.behaviour(update, self.attempts[update["update_id"]])
            if action == "hang":
                await asyncio.sleep(30)
            if action == "close":
                assert request.transport is not None
                request.transport.close()
                return web.Response(text="never arrives")
            if action == "500":
                return web.Response(status=500, text="boom")
            self.acked.append(update)
            return web.Response(text="")
        finally:
            self.in_flight -= 1
            self.chats_in_flight[chat] -= 1


@pytest.fixture
async def api() -> AsyncIterator[FakeBotAPI]:
    api = FakeBotAPI(**FAST)
    yield api
    await api.stop_delivery()


async def set_webhook(api: FakeBotAPI, url: str, **params: Any) -> None:
    status, body = await api.handle("setWebhook", {"url": url, **params})
    assert (status, body) == (200, {"ok": True, "result": True})


async def webhook_info(api: FakeBotAPI) -> dict[str, Any]:
    status, body = await api.handle("getWebhookInfo", {})
    assert status == 200
    return body["result"]


# --------------------------------------------------------------------------- setWebhook & co


@pytest.mark.parametrize(
    ("params", "description"),
    [
        ({"secret_token": "has space"}, "Bad Request: secret token contains unallowed characters"),
        ({"secret_token": "ä"}, "Bad Request: secret token contains unallowed characters"),
        ({"secret_token": "x" * 257}, "Bad Request: secret token contains unallowed characters"),
        ({"max_connections": 0}, "Bad Request: max_connections must be between 1 and 100"),
        ({"max_connections": "101"}, "Bad Request: max_connections must be between 1 and 100"),
        (
            {"url": "ftp://127.0.0.1/hook"},
            "Bad Request: bad webhook: An HTTPS URL must be provided",
        ),
    ],
)
async def test_set_webhook_refuses_bad_params(
    api: FakeBotAPI, params: dict[str, Any], description: str
) -> None:
    status, body = await api.handle("setWebhook", {"url": "http://127.0.0.1:9/hook", **params})
    assert (status, body["description"]) == (400, description)
    assert api.webhook is None


async def test_webhook_info_set_and_delete(api: FakeBotAPI) -> None:
    assert await webhook_info(api) == {
        "url": "",
        "has_custom_certificate": False,
        "pending_update_count": 0,
    }
    await set_webhook(api, "http://127.0.0.1:9/hook", secret_token="a" * 256)
    info = await webhook_info(api)
    assert info["url"] == "http://127.0.0.1:9/hook"
    assert info["max_connections"] == 40  # the default
    assert "allowed_updates" not in info and "last_error_date" not in info
    # Not specifying allowed_updates again keeps the previous list (as Telegram does).
    await set_webhook(
        api, "http://127.0.0.1:9/hook", max_connections=7, allowed_updates='["message"]'
    )
    await set_webhook(api, "http://127.0.0.1:9/hook", max_connections=7)
    info = await webhook_info(api)
    assert (info["max_connections"], info["allowed_updates"]) == (7, ["message"])

    assert await api.handle("deleteWebhook", {}) == (200, {"ok": True, "result": True})
    assert api.webhook is None
    assert (await webhook_info(api))["url"] == ""
    # An empty URL removes the webhook too.
    await set_webhook(api, "http://127.0.0.1:9/hook")
    await set_webhook(api, "")
    assert api.webhook is None


async def test_ptb_set_webhook_and_get_webhook_info(api: FakeBotAPI) -> None:
    async with (
        Receiver() as receiver,
        Bot(TOKEN, request=FakeRequest(api), get_updates_request=FakeRequest(api)) as bot,
    ):
        assert await bot.set_webhook(
            receiver.url,
            secret_token=SECRET,
            max_connections=5,
            allowed_updates=[Update.MESSAGE, Update.CALLBACK_QUERY],
            drop_pending_updates=True,
        )
        info = await bot.get_webhook_info()
        assert info.url == receiver.url
        assert info.max_connections == 5
        assert info.allowed_updates == ("message", "callback_query")
        assert info.pending_update_count == 0
        assert api.webhook is not None and api.webhook.secret_token == SECRET
        assert await bot.delete_webhook()
        assert (await bot.get_webhook_info()).url == ""


async def test_get_updates_conflicts_while_webhook_set(api: FakeBotAPI) -> None:
    # A long poll that is waiting when the webhook is set ends with 409, like at Telegram.
    poll = asyncio.create_task(api.handle("getUpdates", {"timeout": 5}))
    await api.wait_calls("getUpdates", 1)
    # Nothing listens there: the pushed update stays pending.
    await set_webhook(api, "http://127.0.0.1:9/hook")
    status, body = await asyncio.wait_for(poll, 1)
    assert (status, body["description"]) == (409, "Conflict: terminated by setWebhook request")

    update = api.push_text("hello", 7)
    status, body = await api.handle("getUpdates", {"timeout": 0})
    assert (status, body["error_code"], body["description"]) == (
        409,
        409,
        "Conflict: can't use getUpdates method while webhook is active; "
        "use deleteWebhook to delete the webhook first",
    )
    info = await webhook_info(api)
    assert info["pending_update_count"] == 1

    # Back to polling: the undelivered update is still there.
    await api.handle("deleteWebhook", {})
    status, body = await api.handle("getUpdates", {"timeout": 0})
    assert status == 200
    assert [u["update_id"] for u in body["result"]] == [update["update_id"]]
    # A getUpdates offset past it acknowledges it.
    await api.handle("getUpdates", {"offset": update["update_id"] + 1})
    assert update["update_id"] in api.acked_at
    await api.wait_delivered(timeout=1)


async def test_drop_pending_updates(api: FakeBotAPI) -> None:
    api.push_text("old", 7)
    await set_webhook(api, "http://127.0.0.1:9/hook", drop_pending_updates=True)
    assert (await webhook_info(api))["pending_update_count"] == 0
    api.push_text("new", 7)
    await api.handle("deleteWebhook", {"drop_pending_updates": "true"})
    assert api.pending_updates == []


# --------------------------------------------------------------------------- delivery


async def test_updates_are_posted_as_json_with_the_secret_header() -> None:
    async with Receiver() as receiver, StandinServer(**FAST) as server:
        api = server.api
        # Through the HTTP transport, form-encoded like python-telegram-bot sends it.
        async with aiohttp.ClientSession() as http:
            response = await http.post(
                f"{server.base_url}{TOKEN}/setWebhook",
                data={"url": receiver.url, "secret_token": SECRET, "max_connections": "10"},
            )
            assert (await response.json()) == {"ok": True, "result": True}
        pushed = [
            api.push_command("/start", 5),
            api.push_text("你好", 5),
            api.push_callback("t:steps", 5, message_id=1),
        ]
        await api.wait_delivered(timeout=5)
        assert [update for update, _ in receiver.requests] == pushed
        for _, headers in receiver.requests:
            assert headers[WEBHOOK_SECRET_HEADER] == SECRET
            assert headers["Content-Type"] == "application/json"
        assert api.webhook_stats["successes"] == api.webhook_stats["attempts"] == 3
        assert api.webhook_stats["failures"] == 0
        for update in pushed:
            uid = update["update_id"]
            assert api.pushed_at[uid] <= api.acked_at[uid]
        assert set(api.ack_delays()) == {u["update_id"] for u in pushed}
        info = await webhook_info(api)
        assert info["pending_update_count"] == 0 and "last_error_message" not in info

        # Without a secret there is no secret header.
        await set_webhook(api, receiver.url)
        api.push_text("again", 5)
        await api.wait_delivered(timeout=5)
        assert WEBHOOK_SECRET_HEADER not in receiver.requests[-1][1]


async def test_per_chat_order_and_concurrency_across_chats(api: FakeBotAPI) -> None:
    chats, per_chat, max_connections = 6, 8, 4
    rng = random.Random(7)
    # Slow, jittery answers and one failure in four: later updates of a chat would overtake
    # earlier ones if the stand-in did not wait for each acknowledgement.
    failing = set()

    def behaviour(update: dict[str, Any], attempt: int) -> str:
        return "500" if attempt == 1 and update["update_id"] in failing else "ok"

    async with Receiver(behaviour, delay=lambda update: rng.uniform(0.005, 0.03)) as receiver:
        await set_webhook(api, receiver.url, max_connections=max_connections)
        pushed: dict[int, list[int]] = collections.defaultdict(list)
        for index in range(per_chat):
            for chat in range(1, chats + 1):
                update = api.push_text(f"{chat}/{index}", chat)
                pushed[chat].append(update["update_id"])
                if rng.random() < 0.25:
                    failing.add(update["update_id"])
        await api.wait_delivered(timeout=10)

    acked: dict[int, list[int]] = collections.defaultdict(list)
    for update in receiver.acked:
        acked[chat_of(update)].append(update["update_id"])
    assert acked == pushed  # every update once, each chat in push order
    assert receiver.chat_overlaps == 0  # one request at a time per chat
    assert 2 <= receiver.max_in_flight <= max_connections  # chats in parallel, capped
    assert api.webhook_stats["max_in_flight"] <= max_connections
    stats = api.webhook_stats
    assert stats["failures"] == stats["http_errors"] == len(failing)
    assert stats["attempts"] == stats["successes"] + stats["failures"]
    assert stats["successes"] == chats * per_chat


async def test_failed_deliveries_are_retried_until_acknowledged() -> None:
    plan = {1: ["500", "500"], 2: ["close"], 3: ["hang"], 5: ["close", "500"]}

    def behaviour(update: dict[str, Any], attempt: int) -> str:
        actions = plan.get(update["update_id"], [])
        return actions[attempt - 1] if attempt <= len(actions) else "ok"

    async with (
        Receiver(behaviour) as receiver,
        StandinServer(webhook_timeout=0.3, **FAST) as server,
    ):
        api = server.api
        await set_webhook(api, receiver.url)
        # Each update in its own chat, plus a second update in the chat of update 1.
        for chat in range(1, 6):
            api.push_text("q", chat)
        api.push_text("after 1", 1)
        await api.wait_delivered(timeout=5)
        info = await webhook_info(api)

    assert sorted(u["update_id"] for u in receiver.acked) == [1, 2, 3, 4, 5, 6]
    assert [u["update_id"] for u in receiver.acked if chat_of(u) == 1] == [1, 6]
    assert receiver.attempts == {1: 3, 2: 2, 3: 2, 4: 1, 5: 3, 6: 1}
    stats = api.webhook_stats
    assert (stats["http_errors"], stats["connection_errors"], stats["timeouts"]) == (3, 2, 1)
    assert stats["failures"] == 6 and stats["successes"] == 6 and stats["attempts"] == 12
    assert info["pending_update_count"] == 0
    assert info["last_error_message"].startswith(
        ("Wrong response from the webhook: 500", "Connection reset by peer", "Read timeout")
    )
    assert abs(info["last_error_date"] - time.time()) < 60
    # Retries back off: update 1 waited 0.02 s, then 0.04 s.
    first = [a for a in api.webhook_attempts if a.update_id == 1]
    assert [a.ok for a in first] == [False, False, True]
    assert first[1].started - first[0].finished >= 0.019
    assert first[2].started - first[1].finished >= 0.039


async def test_refused_connection_is_retried_until_the_receiver_is_back(api: FakeBotAPI) -> None:
    receiver = Receiver()
    await receiver.start()
    await receiver.stop()  # remember a free port, then listen there later
    await set_webhook(api, receiver.url, secret_token=SECRET)
    update = api.push_text("anyone there?", 9)

    await api.wait_for(lambda calls: api.webhook_stats["connection_errors"] >= 2, timeout=5)
    info = await webhook_info(api)
    assert info["last_error_message"] == "Connection refused"
    assert info["pending_update_count"] == 1
    async with receiver:
        await api.wait_delivered(timeout=5)
    assert [u for u, _ in receiver.requests] == [update]


async def test_allowed_updates_filter_what_is_delivered(api: FakeBotAPI) -> None:
    async with Receiver() as receiver:
        await set_webhook(api, receiver.url, allowed_updates=["callback_query"])
        api.push_text("not wanted", 3)
        callback = api.push_callback("t:steps", 3, message_id=1)
        await api.wait_delivered(timeout=5)
    assert receiver.acked == [callback]
    assert api.webhook_stats["filtered"] == 1


async def test_server_stop_ends_delivery_promptly() -> None:
    async with Receiver(lambda update, attempt: "hang") as receiver:
        server = StandinServer(**FAST)
        await server.start()
        try:
            await set_webhook(server.api, receiver.url)
            server.api.push_text("slow", 1)
            await asyncio.wait_for(receiver.arrived.wait(), 5)
            assert receiver.in_flight == 1
        finally:
            started = time.monotonic()
            await server.stop()
        assert time.monotonic() - started < 2
        assert server.api.webhook_in_flight == 0
        assert server.api.pending_updates  # not acknowledged, so still pending


# --------------------------------------------------------------------------- balancer


class Backend:
    """A balancer backend that answers 201 with its name and records what it got."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.got: list[tuple[str, str, dict[str, str], bytes]] = []
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _handle(self, request: web.Request) -> web.Response:
        self.got.append(
            (request.method, request.path_qs, dict(request.headers), await request.read())
        )
        return web.json_response({"backend": self.name}, status=201)


@pytest.fixture
async def backends() -> AsyncIterator[list[Backend]]:
    started = [Backend(name) for name in "abc"]
    for backend in started:
        await backend.start()
    yield started
    for backend in started:
        await backend.stop()


async def test_balancer_forwards_round_robin(backends: list[Backend]) -> None:
    async with Balancer([b.url for b in backends]) as lb, aiohttp.ClientSession() as http:
        answered = []
        for index in range(6):
            async with http.post(
                f"{lb.url}/hook?n={index}",
                data=json.dumps({"n": index}),
                headers={"Content-Type": "application/json", WEBHOOK_SECRET_HEADER: SECRET},
            ) as response:
                assert response.status == 201
                assert response.content_type == "application/json"
                answered.append((await response.json())["backend"])
    assert answered == ["a", "b", "c", "a", "b", "c"]
    assert lb.requests == {b.url: 2 for b in backends}
    method, path, headers, body = backends[1].got[0]
    assert (method, path, body) == ("POST", "/hook?n=1", b'{"n": 1}')
    assert headers[WEBHOOK_SECRET_HEADER] == SECRET
    assert headers["Content-Type"] == "application/json"


async def test_balancer_fails_over_to_the_next_backend(backends: list[Backend]) -> None:
    a, b, c = backends
    async with Balancer([x.url for x in backends], down_for=60) as lb:
        await b.stop()
        async with aiohttp.ClientSession() as http:
            answered = []
            for _ in range(6):
                async with http.post(f"{lb.url}/hook", data=b"{}") as response:
                    assert response.status == 201
                    answered.append((await response.json())["backend"])
            # b refused once, was marked down and skipped afterwards; a and c share the load.
            assert lb.failures == {b.url: 1}
            assert lb.is_down(b.url)
            assert answered[:2] == ["a", "c"]
            assert collections.Counter(answered) == {"a": 3, "c": 3}
            assert lb.requests[b.url] == 0

            await a.stop()
            await c.stop()
            async with http.post(f"{lb.url}/hook", data=b"{}") as response:
                assert response.status == 502
            assert lb.unanswered == 1


async def test_webhook_through_balancer_spreads_and_survives_a_replica_stopping() -> None:
    async with (
        Receiver() as first,
        Receiver() as second,
        StandinServer(**FAST) as server,
    ):
        api = server.api
        base = [r.url.removesuffix(r.path) for r in (first, second)]
        async with Balancer(base, down_for=60) as lb:
            await set_webhook(api, lb.url + "/hook", secret_token=SECRET)
            pushed = [api.push_text(f"m{i}", 100 + i % 5)["update_id"] for i in range(20)]
            await api.wait_delivered(timeout=5)
            assert first.acked and second.acked  # both replicas took updates
            assert lb.total == 20

            await first.stop()
            pushed += [api.push_text(f"n{i}", 100 + i % 5)["update_id"] for i in range(10)]
            await api.wait_delivered(timeout=5)

    delivered = sorted(u["update_id"] for u in first.acked + second.acked)
    assert delivered == sorted(pushed)  # nothing lost, nothing twice
    assert all(headers[WEBHOOK_SECRET_HEADER] == SECRET for _, headers in second.requests)
    # Each request that was already on its way to the stopped replica failed over once.
    assert lb.failures.keys() == {base[0]}
    assert api.webhook_stats["failures"] == 0  # the balancer hid the stopped replica
