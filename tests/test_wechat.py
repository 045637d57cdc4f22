"""WeChat Official Account callback, end to end: the real process on 127.0.0.1, signed
(and in safe mode encrypted) XML as WeChat sends it, replies parsed and asserted."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import re
import secrets
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto

from tests.botproc import ROOT, bot_env

TOKEN = "wechat-test-token"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
APP_ID = "wx0123456789abcdef"
OPENID = "oUser-0001"


def sign(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def xml_text(content: str, msg_id: int, openid: str = OPENID) -> str:
    return (
        f"<xml><ToUserName><![CDATA[gh_test]]></ToUserName><FromUserName><![CDATA[{openid}]]>"
        f"</FromUserName><CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]>"
        f"</MsgType><Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId></xml>"
    )


def xml_event(event: str, key: str = "", created: int = 1_760_000_000) -> str:
    return (
        f"<xml><ToUserName><![CDATA[gh_test]]></ToUserName><FromUserName><![CDATA[{OPENID}]]>"
        f"</FromUserName><CreateTime>{created}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
        f"<Event><![CDATA[{event}]]></Event><EventKey><![CDATA[{key}]]></EventKey></xml>"
    )


class Callback:
    """Talks to the running callback like WeChat's servers do."""

    def __init__(self, session: aiohttp.ClientSession, url: str) -> None:
        self.session, self.url = session, url
        self.crypto = WeChatCrypto(TOKEN, AES_KEY, APP_ID)

    def query(self, *, bad: bool = False) -> dict[str, str]:
        # A new nonce per request, as WeChat sends: a repeated one is refused as a replay.
        timestamp, nonce = str(int(time.time())), str(secrets.randbelow(10**10))
        signature = "0" * 40 if bad else sign(TOKEN, timestamp, nonce)
        return {"signature": signature, "timestamp": timestamp, "nonce": nonce}

    async def post(self, body: str | bytes, *, bad: bool = False) -> tuple[int, str]:
        async with self.session.post(self.url, params=self.query(bad=bad), data=body) as response:
            return response.status, await response.text()

    async def say(self, xml: str) -> str:
        status, body = await self.post(xml)
        assert status == 200, body
        return str(parse_message(body).content)

    async def say_encrypted(self, xml: str) -> str:
        query = self.query()
        encrypted = self.crypto.encrypt_message(xml, query["nonce"], query["timestamp"])
        msg_signature = re.search(r"<MsgSignature><!\[CDATA\[(.*?)\]\]>", encrypted)
        assert msg_signature is not None
        params = {**query, "encrypt_type": "aes", "msg_signature": msg_signature.group(1)}
        async with self.session.post(self.url, params=params, data=encrypted) as response:
            assert response.status == 200, await response.text()
            body = await response.text()
        signature = re.search(r"<MsgSignature><!\[CDATA\[(.*?)\]\]>", body)
        timestamp = re.search(r"<TimeStamp>(\d+)</TimeStamp>", body)
        nonce = re.search(r"<Nonce><!\[CDATA\[(.*?)\]\]>", body)
        assert signature and timestamp and nonce, body
        plain = self.crypto.decrypt_message(
            body, signature.group(1), timestamp.group(1), nonce.group(1)
        )
        return str(parse_message(plain).content)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def callback(tmp_path: Path) -> AsyncIterator[Callback]:
    async with running_callback(tmp_path, {}) as cb:
        yield cb


@contextlib.asynccontextmanager
async def running_callback(tmp_path: Path, extra: dict[str, str]) -> AsyncIterator[Callback]:
    port = int(extra["WECHAT_PORT"]) if "WECHAT_PORT" in extra else free_port()
    env = bot_env(
        "http://127.0.0.1:9/bot",
        tmp_path,
        {
            "WECHAT_TOKEN": TOKEN,
            "WECHAT_AES_KEY": AES_KEY,
            "WECHAT_APP_ID": APP_ID,
            "WECHAT_HOST": "127.0.0.1",
            "WECHAT_PORT": str(port),
        },
    )
    env.pop("BOT_TOKEN")
    env.update(extra)
    log = (tmp_path / "wechat.log").open("wb")
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "wechat",
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/wechat"
    async with aiohttp.ClientSession() as session:
        for _ in range(200):
            try:
                async with session.get(url) as response:
                    if response.status == 403:
                        break
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.1)
        else:
            proc.kill()
            await proc.wait()
            log.close()
            raise AssertionError((tmp_path / "wechat.log").read_text())
        try:
            yield Callback(session, url)
        finally:
            proc.send_signal(signal.SIGTERM)
            code = await asyncio.wait_for(proc.wait(), 10)
            log.close()
            output = (tmp_path / "wechat.log").read_text()
            assert code == 0, output
            assert TOKEN not in output and AES_KEY not in output


async def test_url_verification(callback: Callback) -> None:
    params = {**callback.query(), "echostr": "hello-wechat"}
    async with callback.session.get(callback.url, params=params) as response:
        assert (response.status, await response.text()) == (200, "hello-wechat")
    params = {**callback.query(bad=True), "echostr": "hello-wechat"}
    async with callback.session.get(callback.url, params=params) as response:
        assert response.status == 403


async def test_follow_question_click_and_numbers(callback: Callback) -> None:
    welcome = await callback.say(xml_event("subscribe"))
    assert "不是官方渠道" in welcome
    assert "回复数字选择：" in welcome and "3. 🔍 查询四步走" in welcome
    steps = await callback.say(xml_text("3", 1001))
    assert "成绩查询四步走" in steps
    answer = await callback.say(xml_text("準考證號忘記了怎麼辦😭", 1002))
    assert "忘记准考证号怎么办" in answer
    assert "<b>" not in answer
    clicked = await callback.say(xml_event("CLICK", "audit", created=1_760_000_100))
    assert "考后资格审核" in clicked
    reminder = await callback.say(xml_text("/remind", 1003))
    assert "不能在你没有发消息的时候主动提醒" in reminder  # said before anything is set
    assert "日历文件" in reminder and "1. 🔁 复核申请截止" in reminder
    assert "ics" not in reminder.lower() and "telegram" not in reminder.lower()
    await callback.say(xml_text("1", 1005))  # review deadline
    await callback.say(xml_text("12月10日下午5点", 1006))
    saved = await callback.say(xml_text("1", 1007))  # one day before
    assert "已设置提醒：复核申请截止" in saved
    calendar = await callback.say(xml_text("ics", 1008))
    assert "BEGIN:VCALENDAR" in calendar and "SUMMARY:复核申请截止" in calendar
    release = await callback.say(xml_text("release 2026-12-01", 1004))
    assert "最早：2026年12月8日" in release and "最晚：2026年12月22日" in release


async def test_follow_and_unfollow_update_the_audience(callback: Callback, tmp_path: Path) -> None:
    await callback.say(xml_event("subscribe"))
    with sqlite3.connect(tmp_path / "bot.db") as conn:
        row = conn.execute("SELECT channel, type, member, subscribed FROM chats").fetchone()
    assert row == ("wechat", "private", 1, 1)  # following the account is asking for its messages
    await callback.post(xml_event("unsubscribe", created=1_760_000_500))
    with sqlite3.connect(tmp_path / "bot.db") as conn:
        assert conn.execute("SELECT member FROM chats").fetchone() == (0,)


async def test_safe_mode_round_trip(callback: Callback) -> None:
    answer = await callback.say_encrypted(xml_text("多少分及格", 2001))
    assert "合格标准" in answer


async def test_retry_gets_the_same_answer_and_is_recorded_once(
    callback: Callback, tmp_path: Path
) -> None:
    xml = xml_text("今天天气怎么样", 3001)
    first, second = await asyncio.gather(callback.say(xml), callback.say(xml))
    third = await callback.say(xml)
    assert first == second == third
    assert "回答不了" in first
    with sqlite3.connect(tmp_path / "bot.db") as conn:
        (count,) = conn.execute("SELECT count FROM unanswered").fetchone()
    assert count == 1  # the retries did not count again


async def test_bad_requests_change_nothing(callback: Callback, tmp_path: Path) -> None:
    status, _ = await callback.post(xml_text("准考证号忘了", 4001), bad=True)
    assert status == 403
    status, _ = await callback.post("<xml><not-closed>")
    assert status == 400
    status, _ = await callback.post(xml_text("长" * 40_000, 4002))
    assert status == 413
    with sqlite3.connect(tmp_path / "bot.db") as conn:
        assert conn.execute("SELECT COUNT(*) FROM wechat_users").fetchone() == (0,)


async def test_continue_without_more_says_so(callback: Callback) -> None:
    assert "没有更多内容了" in await callback.say(xml_text("继续", 5001))


def test_long_replies_are_split_within_wechat_limits() -> None:
    from bot.channels.wechat.render import MAX_REPLY_BYTES, render
    from bot.core.reply import Button, Reply
    from bot.core.text import markup
    from tests.conftest import shipped_content

    texts = shipped_content().ui.wechat
    long = "\n".join(f"第{n}段：" + "准考证号和身份证号要核对清楚。" * 8 for n in range(30))
    text = markup(f"<b>标题</b>\n{long}")
    reply = Reply.single(text, ((Button("🔍 查询四步走", "t:steps"),),))
    parts, choices = render(reply, texts)
    assert len(parts) > 2
    assert all(len(part.encode()) <= MAX_REPLY_BYTES for part in parts)
    assert all(texts.more in part for part in parts[:-1])
    assert "<b>" not in parts[0] and parts[-1].endswith("1. 🔍 查询四步走")
    joined = "".join(part.replace(texts.more, "") for part in parts)
    assert joined.count("第29段") == 1 and [b.action for b in choices] == ["t:steps"]


class WeChatApi:
    """A local stand-in for api.weixin.qq.com: access tokens and customer-service sends."""

    def __init__(self) -> None:
        self.sent: list[dict[str, object]] = []
        self.got_message = asyncio.Event()

    async def token(self, request: web.Request) -> web.Response:
        assert request.query["appid"] == APP_ID and request.query["secret"] == "app-secret"
        return web.json_response({"access_token": "ACCESS", "expires_in": 7200})

    async def send(self, request: web.Request) -> web.Response:
        assert request.query["access_token"] == "ACCESS"
        self.sent.append({"path": request.path, **await request.json()})
        self.got_message.set()
        return web.json_response({"errcode": 0, "errmsg": "ok"})


@contextlib.asynccontextmanager
async def serving(app: web.Application) -> AsyncIterator[int]:
    """Serve a stand-in web app on 127.0.0.1 and yield its port."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield runner.addresses[0][1]
    finally:
        await runner.cleanup()


@contextlib.asynccontextmanager
async def wechat_api() -> AsyncIterator[tuple[WeChatApi, int]]:
    api = WeChatApi()
    app = web.Application()
    app.router.add_get("/cgi-bin/token", api.token)
    app.router.add_post("/cgi-bin/message/custom/send", api.send)
    app.router.add_post("/cgi-bin/message/template/subscribe", api.send)
    async with serving(app) as port:
        yield api, port


async def test_reminder_reaches_a_wechat_user_within_48_hours(tmp_path: Path) -> None:
    async with wechat_api() as (api, port):
        extra = {
            "WECHAT_PUSH": "customer_service",
            "WECHAT_APP_SECRET": "app-secret",
            "WECHAT_API_BASE_URL": f"http://127.0.0.1:{port}/cgi-bin/",
        }
        async with running_callback(tmp_path, extra) as cb:
            guided = await cb.say(xml_text("/remind", 6001))
            assert "客服消息" in guided and "48 小时" in guided  # told how it will arrive
            assert "subscribemsg" not in guided  # no subscription template configured
            assert "1. 🔁 复核申请截止" in guided  # the guided flow works with numbers
            saved = await cb.say(xml_text("/remind 5秒后 交资格审核材料", 6002))
            assert "已设置提醒：交资格审核材料" in saved
            calendar = await cb.say(xml_text("ics", 6003))
            assert "BEGIN:VCALENDAR" in calendar and "交资格审核材料" in calendar
            await asyncio.wait_for(api.got_message.wait(), 20)
    (message,) = api.sent
    assert message["touser"] == OPENID and message["msgtype"] == "text"
    assert message["path"] == "/cgi-bin/message/custom/send"
    assert "交资格审核材料" in str(message["text"])


async def test_reminder_after_48_hours_uses_a_confirmed_subscription_message(
    tmp_path: Path,
) -> None:
    async with wechat_api() as (api, port):
        extra = {
            "WECHAT_PUSH": "customer_service",
            "WECHAT_APP_SECRET": "app-secret",
            "WECHAT_API_BASE_URL": f"http://127.0.0.1:{port}/cgi-bin/",
            "WECHAT_SUBSCRIBE_TEMPLATE_ID": "TPL-1",
            "WECHAT_SUBSCRIBE_REDIRECT_URL": "https://bot.example/wechat/subscribed",
        }
        async with running_callback(tmp_path, extra) as cb:
            note = await cb.say(xml_text("/remind", 7001))
            assert "mp.weixin.qq.com/mp/subscribemsg?action=get_confirm" in note
            assert "template_id=TPL-1" in note
            reserved = re.search(r"reserved=([0-9a-f]{64})", note)  # made for this user
            assert reserved is not None, note
            saved = await cb.say(xml_text("/remind 6秒后 交学历证明", 7002))
            assert "已设置提醒：交学历证明" in saved
            confirm = {
                "openid": OPENID,
                "template_id": "TPL-1",
                "action": "confirm",
                "scene": "1000",
                "reserved": reserved.group(1),
            }
            async with cb.session.get(cb.url + "/subscribed", params=confirm) as response:
                assert "已允许发送一次提醒" in await response.text()
            # The user's last message is now three days old: no customer-service message.
            with sqlite3.connect(tmp_path / "bot.db") as conn:
                conn.execute("UPDATE wechat_users SET last_message = '2026-01-01T00:00:00+00:00'")
            await asyncio.wait_for(api.got_message.wait(), 20)
            await asyncio.sleep(0.5)
    (message,) = api.sent
    assert message["path"] == "/cgi-bin/message/template/subscribe"
    assert message["touser"] == OPENID and message["template_id"] == "TPL-1"
    assert "交学历证明" in str(message["title"])
    assert "时间：" in str(message["data"]) and "回复数字" not in str(message["data"])
    with sqlite3.connect(tmp_path / "bot.db") as conn:
        assert conn.execute("SELECT grants FROM wechat_users").fetchone() == (0,)  # used up
