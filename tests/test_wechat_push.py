"""WeChat push hardening: broadcasts never spend a user's subscription grant, and every
process shares one access token through the database. A local stand-in for WeChat's API on
127.0.0.1 counts token fetches and sends; nothing reaches the network."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from bot.app import assemble
from bot.broadcast.runner import BroadcastRunner
from bot.channels import CHANNELS
from bot.channels.wechat.capabilities import WECHAT
from bot.channels.wechat.config import WeChatSettings
from bot.channels.wechat.push import CustomerServiceSender
from bot.config import Settings
from bot.content import ContentStore
from bot.core.reply import Reply
from bot.core.text import markup
from bot.delivery import Outcome, Priority
from bot.reminders.dispatcher import Dispatcher
from bot.storage import AccessTokenRepo, BroadcastRepo, Database, ReminderRepo, WeChatUserRepo
from tests.test_wechat import APP_ID, OPENID, serving
from tests.test_wechat_security import Clock

SECRET = "app-secret-do-not-log"
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


class FakeWeChat:
    """api.weixin.qq.com's token and message endpoints, counting what they are asked."""

    def __init__(self) -> None:
        self.fetches = 0
        self.delay = 0.0
        self.expires_in = 7200
        self.revoked: set[str] = set()
        self.revoke_all = False
        self.calls: list[tuple[str, str, dict[str, Any]]] = []  # (path, token, body)

    async def token(self, request: web.Request) -> web.Response:
        if request.query.get("appid") != APP_ID or request.query.get("secret") != SECRET:
            return web.json_response({"errcode": 40125, "errmsg": "invalid appsecret"})
        self.fetches += 1
        await asyncio.sleep(self.delay)
        token = f"TOKEN-{self.fetches}"
        return web.json_response({"access_token": token, "expires_in": self.expires_in})

    async def send(self, request: web.Request) -> web.Response:
        token = request.query["access_token"]
        self.calls.append((request.path.rsplit("/", 1)[-1], token, await request.json()))
        if self.revoke_all or token in self.revoked:
            return web.json_response({"errcode": 40001, "errmsg": "invalid credential"})
        return web.json_response({"errcode": 0, "errmsg": "ok"})


@contextlib.asynccontextmanager
async def fake_wechat() -> AsyncIterator[tuple[FakeWeChat, WeChatSettings]]:
    api = FakeWeChat()
    app = web.Application()
    app.router.add_get("/cgi-bin/token", api.token)
    app.router.add_post("/cgi-bin/message/custom/send", api.send)
    app.router.add_post("/cgi-bin/message/template/subscribe", api.send)
    async with serving(app) as port:
        yield (
            api,
            WeChatSettings(
                token="callback-token",
                app_id=APP_ID,
                app_secret=SECRET,
                push="customer_service",
                api_base_url=f"http://127.0.0.1:{port}/cgi-bin/",
                subscribe_template_id="TPL-1",
                subscribe_redirect_url="https://bot.example/wechat/subscribed",
            ),
        )


def sender_for(
    settings: WeChatSettings, db: Database, store: ContentStore, clock: Clock
) -> CustomerServiceSender:
    return CustomerServiceSender(
        settings,
        WeChatUserRepo(db),
        lambda: store.current.ui.wechat,
        clock.utc,
        AccessTokenRepo(db),
    )


def ours(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("bot."))


async def test_broadcasts_never_spend_the_grant_a_reminder_needs(
    content_copy: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    clock = Clock()
    store = ContentStore.open(content_copy, CHANNELS)
    settings = Settings(content_dir=content_copy, db=content_copy.parent / "bot.db")
    async with fake_wechat() as (api, wechat):
        db = await Database.open(settings.db)
        sender = sender_for(wechat, db, store, clock)
        app = await assemble(settings, store, {WECHAT.name: sender}, clock=clock.utc, db=db)
        try:
            users = WeChatUserRepo(db)
            quiet = await users.user_id(OPENID, T0 - timedelta(days=3))  # outside 48 h
            recent = await users.user_id("oUser-recent", T0 - timedelta(hours=1))
            for user in (quiet, recent):
                await app.audience.followed(WECHAT.name, user)
            await users.grant(OPENID)  # confirmed on WeChat's page, for a reminder
            repo = BroadcastRepo(db)
            broadcast = await repo.create(
                admin_id=1,
                kind="text",
                text="复核通知已发布",
                from_chat_id=None,
                from_message=None,
                run_at=None,
                now=T0,
            )
            await repo.confirm(broadcast, "all", None, T0)
            (runner,) = [w for w in app.workers if isinstance(w, BroadcastRunner)]
            assert await runner.step()
            counts = await repo.counts(broadcast)
            attempts = await db.connection.execute_fetchall(
                "SELECT chat_id, status, attempts FROM deliveries ORDER BY chat_id"
            )
            after_broadcast = [c[0] for c in api.calls]
            grants = await db.connection.execute_fetchall(
                "SELECT grants FROM wechat_users WHERE openid = ?", (OPENID,)
            )
            # The user's reminder comes due: the grant is still there for it.
            await ReminderRepo(db).add(
                channel=WECHAT.name,
                user_id=quiet,
                chat_id=quiet,
                kind="custom",
                text="交学历证明",
                due_at=T0 + timedelta(hours=1),
                alerts=[(T0, 60)],
                now=T0 - timedelta(days=1),
            )
            (dispatcher,) = [w for w in app.workers if isinstance(w, Dispatcher)]
            assert await dispatcher.step()
            left = await db.connection.execute_fetchall("SELECT grants FROM wechat_users")
        finally:
            await sender.close()
            await app.close()
    assert (counts.sent, counts.failed) == (1, 1)  # the quiet user: failed, not retried
    assert sorted(attempts) == [(quiet, "failed", 1), (recent, "sent", 1)]
    assert after_broadcast == ["send"]  # one customer-service message, no subscription one
    assert [tuple(g) for g in grants] == [(1,)]
    path, _, body = api.calls[-1]
    assert path == "subscribe" and body["touser"] == OPENID and "交学历证明" in body["title"]
    assert sorted(tuple(g) for g in left) == [(0,), (0,)]  # used by the reminder only
    assert SECRET not in ours(caplog) and "TOKEN-" not in ours(caplog)


async def test_outside_the_window_only_reminders_use_a_grant(content_copy: Path) -> None:
    clock = Clock()
    store = ContentStore.open(content_copy, CHANNELS)
    async with fake_wechat() as (api, wechat):
        db = await Database.open(content_copy.parent / "bot.db")
        sender = sender_for(wechat, db, store, clock)
        try:
            users = WeChatUserRepo(db)
            user = await users.user_id(OPENID, T0 - timedelta(days=3))
            await users.grant(OPENID)
            reply = Reply.single(markup("通知"))
            results = [
                await sender.send(user, reply, p) for p in (Priority.BROADCAST, Priority.REPLY)
            ]
            kept = await users.use_grant(OPENID)
        finally:
            await sender.close()
            await db.close()
    assert [r.outcome for r in results] == [Outcome.FAILED, Outcome.FAILED]
    assert all("48-hour" in r.reason for r in results)
    assert kept and api.calls == [] and api.fetches == 0


async def test_processes_share_one_access_token(
    tmp_path: Path, content_copy: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    clock = Clock()
    store = ContentStore.open(content_copy, CHANNELS)
    async with fake_wechat() as (api, wechat):
        api.delay = 0.3  # both notice the missing token while the first fetch is under way
        dbs = [await Database.open(tmp_path / "shared.db") for _ in range(2)]
        senders = [sender_for(wechat, db, store, clock) for db in dbs]
        try:
            first = await asyncio.gather(*(s.token.get() for s in senders for _ in range(4)))
            fetched_once = api.fetches
            clock.advance(7200 - 299)  # under 5 minutes left: renewed, once for both
            second = await asyncio.gather(*(s.token.get() for s in senders for _ in range(4)))
            fetched_twice = api.fetches
            clock.advance(60)  # still valid for long enough: read, not fetched
            third = {await s.token.get() for s in senders}
        finally:
            for sender in senders:
                await sender.close()
            for db in dbs:
                await db.close()
    assert set(first) == {"TOKEN-1"} and fetched_once == 1
    assert set(second) == {"TOKEN-2"} and fetched_twice == 2
    assert third == {"TOKEN-2"} and api.fetches == 2
    assert [s.token.fetches for s in senders] in ([1, 1], [2, 0], [0, 2])
    assert SECRET not in ours(caplog) and "TOKEN-" not in ours(caplog)


async def test_an_invalid_token_is_fetched_again_once_and_the_call_retried_once(
    tmp_path: Path, content_copy: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    clock = Clock()
    store = ContentStore.open(content_copy, CHANNELS)
    reply = Reply.single(markup("资格审核明天截止"))
    async with fake_wechat() as (api, wechat):
        dbs = [await Database.open(tmp_path / "shared.db") for _ in range(2)]
        a, b = (sender_for(wechat, db, store, clock) for db in dbs)
        try:
            user = await WeChatUserRepo(dbs[0]).user_id(OPENID, T0)
            sent = [await a.send(user, reply, Priority.REMINDER)]
            api.revoked.add("TOKEN-1")  # e.g. someone fetched a token with the same secret
            sent.append(await a.send(user, reply, Priority.REMINDER))
            tokens_used = [token for _, token, _ in api.calls]
            sent.append(await b.send(user, reply, Priority.REMINDER))  # the other process
            fetches_before_b_renews = api.fetches
            renewed_elsewhere = await b.token.renew("TOKEN-1")  # A already replaced it
            api.revoke_all = True  # WeChat keeps refusing: one renewal, one retry, then stop
            calls_before = len(api.calls)
            refused = await a.send(user, reply, Priority.REMINDER)
            calls_after = len(api.calls)
        finally:
            await a.close()
            await b.close()
            for db in dbs:
                await db.close()
    assert [r.outcome for r in sent] == [Outcome.SENT] * 3
    assert tokens_used == ["TOKEN-1", "TOKEN-1", "TOKEN-2"]
    assert api.calls[3][1] == "TOKEN-2" and fetches_before_b_renews == 2
    assert renewed_elsewhere == "TOKEN-2" and b.token.fetches == 0
    assert calls_after - calls_before == 2 and api.fetches == 3
    assert refused.outcome is Outcome.FAILED and refused.reason == "errcode 40001"
    assert SECRET not in ours(caplog) and "TOKEN-" not in ours(caplog)


async def test_no_token_from_wechat_is_retried_later_and_nothing_stored(
    tmp_path: Path, content_copy: Path
) -> None:
    clock = Clock()
    store = ContentStore.open(content_copy, CHANNELS)
    async with fake_wechat() as (_, wechat):
        broken = wechat.model_copy(update={"app_secret": None})
        db = await Database.open(tmp_path / "bot.db")
        sender = sender_for(broken, db, store, clock)
        try:
            user = await WeChatUserRepo(db).user_id(OPENID, T0)
            result = await sender.send(user, Reply.single(markup("提醒")), Priority.REMINDER)
            stored = await AccessTokenRepo(db).read(APP_ID)
        finally:
            await sender.close()
            await db.close()
    assert result.outcome is Outcome.RETRY and result.reason == "TokenError"
    assert stored is None
