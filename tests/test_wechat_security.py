"""WeChat callback hardening: old or replayed signatures, the subscription redirect's state,
and chats that keep their channel and type. In process (aiohttp test client), clock injected;
nothing reaches the network."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import re
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import count
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from aiohttp.test_utils import TestClient, TestServer
from wechatpy import parse_message

from bot.app import App, assemble
from bot.channels import CHANNELS
from bot.channels.wechat.adapter import WeChatAdapter
from bot.channels.wechat.capabilities import WECHAT
from bot.channels.wechat.config import WeChatSettings
from bot.channels.wechat.http import CallbackServer
from bot.channels.wechat.replay import ReplayGuard, Verdict, utc_clock
from bot.channels.wechat.runtime import NoPush, reminder_note
from bot.config import Settings
from bot.content import ContentStore
from bot.storage import ChatRepo, Database, WeChatUserRepo
from bot.storage.state import SharedState
from tests.test_wechat import APP_ID, OPENID, TOKEN, sign, xml_event, xml_text

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
TEMPLATE = "TPL-1"
OTHER = "oUser-0002"
_nonces = count(1_000_000_000)


class Clock:
    """One settable time for the app (datetime) and the signature check (Unix seconds)."""

    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def utc(self) -> datetime:
        return self.now

    def time(self) -> float:
        return self.now.timestamp()

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class Served:
    client: TestClient
    app: App
    clock: Clock
    db_path: Path

    def query(self, timestamp: str | None = None, nonce: str | None = None) -> dict[str, str]:
        """A correctly signed query (by default now, with a new nonce)."""
        ts = str(int(self.clock.time())) if timestamp is None else timestamp
        nonce = str(next(_nonces)) if nonce is None else nonce
        return {"signature": sign(TOKEN, ts, nonce), "timestamp": ts, "nonce": nonce}

    async def post(self, xml: str, query: dict[str, str] | None = None) -> tuple[int, str]:
        response = await self.client.post("/wechat", params=query or self.query(), data=xml)
        return response.status, await response.text()

    async def say(self, xml: str, query: dict[str, str] | None = None) -> str:
        status, body = await self.post(xml, query)
        assert status == 200, body
        return str(parse_message(body).content)

    def sql(self, query: str) -> list[tuple[Any, ...]]:
        with sqlite3.connect(self.db_path) as conn:
            return conn.execute(query).fetchall()


@contextlib.asynccontextmanager
async def served(content_copy: Path, *, push: bool = False) -> AsyncIterator[Served]:
    """The WeChat callback of a fresh bot, in process, with a settable clock."""
    clock = Clock()
    wechat = WeChatSettings(
        token=TOKEN,
        app_id=APP_ID,
        app_secret="app-secret",
        push="customer_service" if push else "none",
        subscribe_template_id=TEMPLATE,
        subscribe_redirect_url="https://bot.example/wechat/subscribed",
    )
    store = ContentStore.open(content_copy, CHANNELS)
    db_path = content_copy.parent / "bot.db"
    settings = Settings(content_dir=content_copy, db=db_path)
    db = await Database.open(db_path)
    users = WeChatUserRepo(db)
    app = await assemble(
        settings,
        store,
        {WECHAT.name: NoPush()},
        broadcasts=False,
        reminder_notes={WECHAT.name: reminder_note(wechat, store)},
        clock=clock.utc,
        db=db,
    )
    server = CallbackServer(wechat, WeChatAdapter(app, users), users, store, clock=clock.time)
    try:
        async with TestClient(TestServer(server.app())) as client:
            yield Served(client, app, clock, db_path)
    finally:
        await app.close()


@pytest.fixture
async def wx(content_copy: Path) -> AsyncIterator[Served]:
    async with served(content_copy) as s:
        yield s


# -- timestamps and nonces --------------------------------------------------------------


async def test_signatures_older_or_newer_than_five_minutes_are_refused(
    wx: Served, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    now = int(wx.clock.time())
    for offset, status in ((-301, 403), (301, 403), (-86400 * 30, 403), (-299, 200), (299, 200)):
        params = {**wx.query(str(now + offset)), "echostr": "hello"}
        response = await wx.client.get("/wechat", params=params)
        body = await response.text()
        assert (offset, response.status) == (offset, status)
        assert body == ("hello" if status == 200 else "")  # a refusal says nothing
    # The attack: a correctly signed unsubscribe from a month ago changes nothing.
    await wx.say(xml_event("subscribe"))
    old = wx.query(str(now - 86400 * 30))
    assert (await wx.post(xml_event("unsubscribe", created=1), old))[0] == 403
    assert wx.sql("SELECT channel, member, subscribed FROM chats") == [("wechat", 1, 1)]
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("bot."))
    refusals = [line for line in ours.splitlines() if "refused" in line]
    assert len(refusals) == 4 and all("timestamp" in line for line in refusals)
    assert TOKEN not in ours and old["signature"] not in ours and old["nonce"] not in ours


async def test_a_signed_timestamp_that_is_not_a_number_is_malformed(wx: Served) -> None:
    for timestamp in ("abc", "①②③", "１７６", "-5", "1e9", "", "9" * 13):
        status, body = await wx.post(xml_text("准考证", 1), wx.query(timestamp))
        assert (timestamp, status, body) == (timestamp, 400, "")
    status, _ = await wx.post(xml_text("准考证", 2), wx.query(nonce="7" * 65))
    assert status == 400  # a nonce far longer than WeChat's
    response = await wx.client.get("/wechat")  # no signature at all: forged, not malformed
    assert response.status == 403
    assert wx.sql("SELECT COUNT(*) FROM wechat_users") == [(0,)]


async def test_a_nonce_is_refused_with_another_body(wx: Served) -> None:
    query = wx.query()
    await wx.say(xml_event("subscribe"), query)
    # The same signed URL, seen in a log, with a body of the attacker's choosing.
    assert (await wx.post(xml_event("unsubscribe", created=1_760_000_500), query))[0] == 403
    assert wx.sql("SELECT member, subscribed FROM chats") == [(1, 1)]
    params = {**wx.query(), "echostr": "first"}
    assert (await wx.client.get("/wechat", params=params)).status == 200
    again = await wx.client.get("/wechat", params={**params, "echostr": "second"})
    assert (again.status, await again.text()) == (403, "")


async def test_wechat_retries_get_the_first_answer_and_count_once(wx: Served) -> None:
    xml = xml_text("今天天气怎么样", 3001)
    first = await wx.say(xml)
    wx.clock.advance(5)
    second = await wx.say(xml)  # WeChat's retry, signed again (new timestamp and nonce)
    query = wx.query()
    third = await wx.say(xml, query)
    # A retry that kept its timestamp and nonce: same body, at most WeChat's three retries.
    repeats = [await wx.say(xml, query) for _ in range(3)]
    assert first == second == third and set(repeats) == {first}
    assert (await wx.post(xml, query))[0] == 403  # a fourth repeat is not a retry
    assert wx.sql("SELECT count FROM unanswered") == [(1,)]


async def test_nonces_are_forgotten_when_their_window_ends_and_storage_is_bounded(
    tmp_path: Path,
) -> None:
    clock = Clock()
    db = await Database.open(tmp_path / "bot.db")
    nonces = "SELECT key, value FROM shared_state WHERE scope = 'wechat_nonce' ORDER BY key"
    try:
        guard = ReplayGuard(TOKEN, SharedState(db, utc_clock(clock.time)), clock.time)
        now = int(clock.time())
        assert await guard.first_use(str(now), "1", b"a") is Verdict.OK
        assert await guard.first_use(str(now), "1", b"b") is Verdict.REPLAYED
        # Remembered in the shared database (every replica sees it), not in this process.
        ((key, value),) = await db.fetchall(nonces)
        assert key == f"{now}:1"
        assert json.loads(value) == {"digest": hashlib.sha256(b"a").hexdigest(), "repeats": 0}
        clock.advance(301)
        assert await guard.first_use(str(now + 301), "2", b"a") is Verdict.OK
        # The first one left the window: gone from the table (it is refused as stale).
        assert [k for k, _ in await db.fetchall(nonces)] == [f"{now + 301}:2"]
        assert guard.signed(sign(TOKEN, str(now), "1"), str(now), "1") is Verdict.STALE
        for nonce in range(10):
            assert await guard.first_use(str(now + 301), f"n{nonce}", b"x") is Verdict.OK
        # The table holds at most a window's worth: once their timestamp is out, all go.
        clock.advance(301)
        assert await guard.first_use(str(now + 602), "3", b"a") is Verdict.OK
        assert [k for k, _ in await db.fetchall(nonces)] == [f"{now + 602}:3"]
    finally:
        await db.close()
    assert guard.signed("0" * 40, str(now + 301), "n1") is Verdict.FORGED
    assert guard.signed("ä" * 40, str(now + 301), "n1") is Verdict.FORGED  # no crash
    assert [v.status for v in Verdict] == [200, 400, 403, 403, 403]


# -- the subscription redirect -----------------------------------------------------------


def _reserved(note: str) -> dict[str, str]:
    found = re.search(r"https://mp\.weixin\.qq\.com/mp/subscribemsg\?\S+", note)
    assert found is not None, note
    query = parse_qs(urlsplit(found.group(0)).query)
    return {key: values[0] for key, values in query.items()}


async def _redirect(wx: Served, **params: str) -> tuple[int, str]:
    response = await wx.client.get("/wechat/subscribed", params=params)
    return response.status, await response.text()


async def test_the_redirect_grants_only_the_user_the_link_was_made_for(
    content_copy: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with served(content_copy, push=True) as wx:
        mine = _reserved(await wx.say(xml_text("/remind", 1, openid=OPENID)))
        theirs = _reserved(await wx.say(xml_text("/remind", 2, openid=OTHER)))
        reserved = mine["reserved"]
        assert re.fullmatch(r"[A-Za-z0-9]{1,128}", reserved)  # WeChat's limit for reserved
        assert reserved != theirs["reserved"]
        base = {"action": "confirm", "template_id": TEMPLATE, "scene": mine["scene"]}
        # The attack: any openid, no proof WeChat sent the user there.
        assert (await _redirect(wx, **base, openid="oAttacker"))[0] == 403
        # Someone else's link: WeChat adds the openid of whoever confirmed.
        assert (await _redirect(wx, **base, openid=OTHER, reserved=reserved))[0] == 403
        status, page = await _redirect(wx, **base, openid=OPENID, reserved=reserved.upper())
        assert status == 403 and "重新发送 /remind" in page and "<!doctype html>" in page
        users = "SELECT openid, grants FROM wechat_users ORDER BY openid"
        assert wx.sql(users) == [(OPENID, 0), (OTHER, 0)]
        status, page = await _redirect(wx, **base, openid=OPENID, reserved=reserved)
        assert (status, "已允许发送一次提醒" in page) == (200, True)
        await _redirect(wx, **base, openid=OPENID, reserved=reserved)  # confirmed again
        assert wx.sql(users) == [(OPENID, 1), (OTHER, 0)]  # WeChat does not add them up
        status, page = await _redirect(wx, action="cancel", template_id=TEMPLATE, scene="1000")
        assert (status, "没有允许发送提醒" in page) == (200, True)
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("bot."))
    assert "redirect refused" in ours and "app-secret" not in ours and reserved not in ours


async def test_redirect_fields_are_capped_before_storage(content_copy: Path) -> None:
    async with served(content_copy, push=True) as wx:
        good = _reserved(await wx.say(xml_text("/remind", 1)))["reserved"]
        base = {"action": "confirm", "template_id": TEMPLATE, "scene": "1000"}
        bad = [
            {"openid": "o" * 65},
            {"openid": "o<script>alert(1)</script>"},
            {"openid": "o用户"},
            {"openid": ""},
            {"template_id": "T" * 129},
            {"template_id": "TPL-2"},
            {"scene": "①"},
            {"scene": "１０００"},
            {"scene": "10001"},
            {"scene": "999"},
            {"scene": "-1"},
            {"reserved": "é" * 64},
            {"reserved": good * 3},
            {"reserved": ""},
            {"action": "grant"},
        ]
        for change in bad:
            params = {**base, "openid": OPENID, "reserved": good, **change}
            status, page = await _redirect(wx, **params)
            assert (change, status) == (change, 403)
            assert "无法确认提醒" in page
        assert wx.sql("SELECT openid, grants FROM wechat_users") == [(OPENID, 0)]


async def test_the_link_is_shown_only_with_a_known_user_and_push(wx: Served) -> None:
    note = await wx.say(xml_text("/remind", 1))
    assert "subscribemsg" not in note  # this account has no push (WECHAT_PUSH=none)


# -- a chat's channel and type -------------------------------------------------------------


async def test_wechat_start_and_subscribe_keep_the_chat_on_wechat(wx: Served) -> None:
    chats = ChatRepo(wx.app.db)
    await wx.say(xml_event("subscribe"))
    (user_id,) = wx.sql("SELECT id FROM wechat_users")[0]
    # A Telegram user with the same number is another chat; nothing of it may change.
    await chats.seen("telegram", user_id, "private", "Telegram 用户", T0)
    for n, text in enumerate(("/start", "start", "/subscribe", "/unsubscribe", "/subscribe")):
        await wx.say(xml_text(text, 100 + n))
    rows = wx.sql("SELECT channel, chat_id, type, title, subscribed FROM chats ORDER BY channel")
    assert rows == [
        ("telegram", user_id, "private", "Telegram 用户", 0),
        ("wechat", user_id, "private", "", 1),
    ]


async def test_a_known_chat_keeps_its_type(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "bot.db")
    repo = ChatRepo(db)
    try:
        await repo.seen("wechat", 5, "private", "", T0, subscribe=True)
        row, new = await repo.seen("wechat", 5, "group", "假装是群", T0)
        await repo.seen("telegram", -100, "group", "G", T0, subscribe=True)
        upgraded, _ = await repo.seen("telegram", -100, "supergroup", "G", T0)
        await repo.seen("telegram", -200, "channel", "C", T0, subscribe=True)
        kept, _ = await repo.seen("telegram", -200, "private", "C", T0)
        stored = [await repo.get("wechat", 5), await repo.get("telegram", -100)]
    finally:
        await db.close()
    assert (row.type, new, row.subscribed) == ("private", False, True)
    assert upgraded.type == "supergroup" and kept.type == "channel"
    assert [r.type for r in stored if r] == ["private", "supergroup"]
