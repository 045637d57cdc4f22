"""Two WeChat callback replicas on one database, as behind a load balancer: a user's next
message, or WeChat's retry of the same message, may reach either.

Each replica is what ``python -m bot wechat`` assembles (its own Database object, app,
adapter and CallbackServer), served in process with the aiohttp test client; every test
runs on SQLite (two connections to one file) and on a real PostgreSQL server (tests/pg.py).
One settable clock serves both replicas, as synchronised clocks would.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from itertools import count
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp.test_utils import TestClient, TestServer
from wechatpy import parse_message

from bot.app import App, assemble
from bot.channels import CHANNELS
from bot.channels.wechat.adapter import ANSWERING_TTL, MESSAGES, WeChatAdapter, retry_key
from bot.channels.wechat.adapter import shared_key as message_key
from bot.channels.wechat.capabilities import WECHAT
from bot.channels.wechat.config import WeChatSettings
from bot.channels.wechat.http import CallbackServer
from bot.channels.wechat.runtime import NoPush, reminder_note
from bot.config import Settings
from bot.content import ContentStore
from bot.core.reply import Reply
from bot.core.router import Who
from bot.storage import Database, WeChatUserRepo
from tests.test_wechat import APP_ID, OPENID, TOKEN, sign, xml_event, xml_text
from tests.test_wechat_security import Clock

_nonces = count(2_000_000_000)


@dataclass
class Replica:
    """One replica: its own database connection(s), app and callback server."""

    client: TestClient
    app: App
    db: Database
    adapter: WeChatAdapter
    clock: Clock

    def query(self, nonce: str | None = None) -> dict[str, str]:
        """A correctly signed query: now, with a new nonce unless one is given."""
        timestamp = str(int(self.clock.time()))
        nonce = str(next(_nonces)) if nonce is None else nonce
        return {"signature": sign(TOKEN, timestamp, nonce), "timestamp": timestamp, "nonce": nonce}

    async def post(self, xml: str, query: dict[str, str] | None = None) -> tuple[int, str]:
        response = await self.client.post("/wechat", params=query or self.query(), data=xml)
        return response.status, await response.text()

    async def say(self, xml: str, query: dict[str, str] | None = None) -> str:
        status, body = await self.post(xml, query)
        assert status == 200, body
        return str(parse_message(body).content)

    async def sql(self, query: str) -> list[tuple[Any, ...]]:
        return list(await self.db.fetchall(query))


@contextlib.asynccontextmanager
async def replica(content: Path, target: Path | str, clock: Clock) -> AsyncIterator[Replica]:
    """One replica as ``python -m bot wechat`` assembles it, served in process."""
    wechat = WeChatSettings(token=TOKEN, app_id=APP_ID, push="none")
    store = ContentStore.open(content, CHANNELS)
    db = await Database.open(target)
    users = WeChatUserRepo(db)
    app = await assemble(
        Settings(content_dir=content, db=target),
        store,
        {WECHAT.name: NoPush()},
        broadcasts=False,
        reminder_notes={WECHAT.name: reminder_note(wechat, store)},
        clock=clock.utc,
        db=db,
    )
    adapter = WeChatAdapter(app, users)
    server = CallbackServer(wechat, adapter, users, store, clock=clock.time)
    try:
        async with TestClient(TestServer(server.app())) as client:
            yield Replica(client, app, db, adapter, clock)
    finally:
        await app.close()


@pytest.fixture
async def pair(content_copy: Path, db_target: Path | str) -> AsyncIterator[tuple[Replica, Replica]]:
    """Replicas A and B on one database (SQLite file or PostgreSQL), one clock."""
    clock = Clock()
    async with (
        replica(content_copy, db_target, clock) as a,
        replica(content_copy, db_target, clock) as b,
    ):
        yield a, b


class Gate:
    """Holds a replica's free-text answers until released; counts them."""

    def __init__(self, app: App, *, fail: bool = False) -> None:
        self.conversation = app.conversation
        self.text = self.conversation.text
        self.calls = 0
        self.fail = fail
        self.entered = asyncio.Event()
        self.release = asyncio.Event()
        self.conversation.text = self._text  # type: ignore[method-assign]

    async def _text(self, text: str, who: Who) -> Reply:
        self.calls += 1
        self.entered.set()
        await self.release.wait()
        if self.fail:
            self.fail = False
            raise RuntimeError("the answer broke")
        return await self.text(text, who)


def count_answers(app: App) -> list[int]:
    """Counts free-text answers of ``app`` (without holding them)."""
    calls = [0]
    conversation = app.conversation
    text = conversation.text

    async def counted(words: str, who: Who) -> Reply:
        calls[0] += 1
        return await text(words, who)

    conversation.text = counted  # type: ignore[method-assign]
    return calls


# -- sessions ------------------------------------------------------------------------------


async def test_the_rest_of_a_long_answer_continues_on_the_other_replica(
    content_copy: Path, db_target: Path | str
) -> None:
    guide = content_copy / "guide.yaml"
    data = yaml.safe_load(guide.read_text(encoding="utf-8"))
    steps = data["topics"]["steps"]
    steps["messages"] = (steps["messages"] * 3)[:5]  # too long for one WeChat reply
    guide.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    clock = Clock()
    async with (
        replica(content_copy, db_target, clock) as a,
        replica(content_copy, db_target, clock) as b,
    ):
        texts = a.app.store.current.ui.wechat
        first = await a.say(xml_event("CLICK", "steps"))
        assert first.startswith("🔍 成绩查询四步走") and texts.more.strip() in first
        second = await b.say(xml_text("继续", 1))
        assert second != first and texts.more.strip() in second
        third = await a.say(xml_text("继续", 2))
        assert "1. 🛠 遇到问题" in third and texts.more.strip() not in third
        assert (await b.say(xml_text("继续", 3))) == texts.no_more.strip()
        # The choices of the last part are still there, on either replica.
        assert "遇到问题" in (await b.say(xml_text("1", 4))).splitlines()[0]


async def test_a_numbered_choice_on_b_picks_from_the_menu_a_showed(
    pair: tuple[Replica, Replica],
) -> None:
    a, b = pair
    menu = await a.say(xml_text("菜单", 1))
    assert "3. 🔍 查询四步走" in menu
    ((value,),) = await b.sql(
        f"SELECT value FROM shared_state WHERE scope = 'wechat_session' AND key = '{OPENID}'"
    )
    session = json.loads(value)  # in the shared database, choices as [label, action]
    assert session["choices"][2] == ["🔍 查询四步走", "t:steps"] and session["rest"] == []
    assert "成绩查询四步走" in await b.say(xml_text("3", 2))
    # Another follower's "3" is not a choice from this menu.
    other = await b.say(xml_text("3", 3, openid="oUser-0002"))
    assert "成绩查询四步走" not in other


# -- WeChat's retries ------------------------------------------------------------------------


async def test_a_retry_reaching_b_while_a_answers_gets_a_s_answer_once(
    pair: tuple[Replica, Replica],
) -> None:
    a, b = pair
    gate, on_b = Gate(a.app), count_answers(b.app)
    xml = xml_text("今天天气怎么样", 3001)
    first = asyncio.create_task(a.post(xml))
    await asyncio.wait_for(gate.entered.wait(), 10)
    a.clock.advance(5)  # WeChat waited 5 s, then sent the same message again (signed again)
    retry = asyncio.create_task(b.post(xml))
    await asyncio.sleep(0.5)
    assert not retry.done()  # B waits for A's reply rather than answering again
    gate.release.set()
    (status_a, body_a), (status_b, body_b) = await first, await retry
    assert status_a == status_b == 200 and body_a == body_b
    assert "回答不了" in str(parse_message(body_a).content)
    assert (await b.say(xml)) == str(parse_message(body_a).content)  # a later retry too
    assert (gate.calls, on_b[0]) == (1, 0)  # the conversation ran once, on A
    assert await a.sql("SELECT count FROM unanswered") == [(1,)]


async def test_a_retry_whose_answer_does_not_come_makes_wechat_retry(
    pair: tuple[Replica, Replica],
) -> None:
    a, b = pair
    gate = Gate(a.app)
    b.adapter.patience = 0.3  # (WeChat's patience is 5 s; the test does not wait that long)
    xml = xml_text("今天天气怎么样", 3002)
    first = asyncio.create_task(a.post(xml))
    await asyncio.wait_for(gate.entered.wait(), 10)
    # Not "success" (WeChat would take the message as answered): an error, no body.
    assert await b.post(xml) == (503, "")
    gate.release.set()
    status, body = await first
    assert status == 200
    assert (await b.say(xml)) == str(parse_message(body).content)  # WeChat's next retry
    assert gate.calls == 1
    assert await a.sql("SELECT count FROM unanswered") == [(1,)]


async def test_a_failed_answer_leaves_the_retry_to_be_answered(
    pair: tuple[Replica, Replica],
) -> None:
    a, b = pair
    gate = Gate(a.app, fail=True)
    gate.release.set()
    xml = xml_text("今天天气怎么样", 3003)
    assert (await a.post(xml))[0] == 500
    assert "回答不了" in await b.say(xml)  # the claim was given up: B answers the retry


async def test_a_replica_that_died_mid_answer_holds_the_message_only_briefly(
    pair: tuple[Replica, Replica],
) -> None:
    a, b = pair
    xml = xml_text("今天天气怎么样", 3004)
    # A claimed the message, then was killed before answering.
    key = message_key(retry_key(parse_message(xml)))
    assert await a.adapter.state.claim(MESSAGES, key, '{"answering": true}', ANSWERING_TTL)
    b.adapter.patience = 0.3
    assert (await b.post(xml))[0] == 503
    b.clock.advance(ANSWERING_TTL + 1)
    assert "回答不了" in await b.say(xml)


# -- signed requests ---------------------------------------------------------------------


async def test_a_replayed_signature_with_another_body_is_refused_by_the_other_replica(
    pair: tuple[Replica, Replica],
) -> None:
    a, b = pair
    query = a.query()
    await a.say(xml_event("subscribe"), query)
    # The same signed URL, seen in a log, sent to the other replica with another body.
    assert await b.post(xml_event("unsubscribe", created=1_760_000_500), query) == (403, "")
    assert await b.sql("SELECT member, subscribed FROM chats") == [(1, 1)]
    # WeChat's identical retries are served by either, at most three times in all.
    repeats = [await b.post(xml_event("subscribe"), query) for _ in range(2)]
    repeats.append(await a.post(xml_event("subscribe"), query))
    assert [status for status, _ in repeats] == [200, 200, 200]
    assert (await b.post(xml_event("subscribe"), query))[0] == 403
    # URL verification: an echostr's nonce is good once too, on any replica.
    params = {**a.query(), "echostr": "first"}
    assert (await a.client.get("/wechat", params=params)).status == 200
    again = await b.client.get("/wechat", params={**params, "echostr": "second"})
    assert (again.status, await again.text()) == (403, "")
