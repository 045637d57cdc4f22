"""End to end: the bot's profile, deep links, inline mode and WeChat QR codes, each through
the real process and the stand-in of the platform's API (Telegram's, WeChat's)."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

from aiohttp import web

from bot.channels.telegram.profile import profile_texts
from tests.botproc import ROOT, BotProcess, bot_env
from tests.conftest import shipped_content
from tests.standin import StandinServer
from tests.test_wechat import APP_ID, running_callback, serving, xml_event

USER = 5151
TICKET = "gQH47joAAAAAAAAAASxodHRwOi8vd2VpeGluLnFxLmNvbS9xL2taZ2Z3TVRtNzJXV1Brb3ZhYmJJAAIE=="


async def test_profile_deep_link_and_inline_query(tmp_path: Path) -> None:
    description, short = profile_texts(shipped_content())
    assert "不是官方渠道" in description and len(description) <= 512 and len(short) <= 120
    async with StandinServer() as server:
        api = server.api
        api.bot_info["supports_inline_queries"] = True  # BotFather's /setinline
        async with BotProcess(api, server.base_url, tmp_path):
            (set_long,) = await api.wait_calls("setMyDescription", 1)
            (set_short,) = await api.wait_calls("setMyShortDescription", 1)
            assert set_long.ok and set_long.params["description"] == description
            assert set_short.ok and set_short.params["short_description"] == short

            api.push_command("/start lost_ticket", USER)  # t.me/<bot>?start=lost_ticket
            (topic,) = await api.wait_calls("sendMessage", 1)
            assert "忘记准考证号怎么办" in topic.params["text"]

            query = api.push_inline_query("复核", USER + 1)["inline_query"]
            (answered,) = await api.wait_calls("answerInlineQuery", 1)
            assert answered.ok and answered.params["inline_query_id"] == query["id"]
            first = answered.params["results"][0]
            assert first["id"] == "review" and first["title"] == "🔁 成绩复核"
            text = first["input_message_content"]["message_text"]
            assert "成绩复核" in text and len(text.encode("utf-16-le")) // 2 <= 4096
            (button,) = first["reply_markup"]["inline_keyboard"][0]
            assert button["url"] == "https://t.me/exam_test_bot?start=review"
            await asyncio.sleep(0.3)  # nothing else went out: no message for an inline query
            assert len(api.calls_of("sendMessage")) == 1
            assert [c for c in api.calls if c.status not in (0, 200)] == []


async def test_wechat_scan_events_answer_the_scenes_topic(tmp_path: Path) -> None:
    async with running_callback(tmp_path, {}) as callback:
        steps = await callback.say(xml_event("SCAN", "steps"))
        assert "成绩查询四步走" in steps and "不是官方渠道" not in steps
        followed = await callback.say(xml_event("subscribe", "qrscene_lost_ticket", 1_760_000_200))
        assert "忘记准考证号怎么办" in followed
        unknown = await callback.say(xml_event("SCAN", "no_such_scene", 1_760_000_300))
        assert "不是官方渠道" in unknown  # the welcome
    with sqlite3.connect(tmp_path / "bot.db") as conn:  # the scan that followed counts as one
        row = conn.execute("SELECT channel, member, subscribed FROM chats").fetchone()
    assert row == ("wechat", 1, 1)


class WeChatQrApi:
    """api.weixin.qq.com's token and qrcode/create, refusing the first token once."""

    def __init__(self) -> None:
        self.tokens = 0
        self.created: list[dict[str, Any]] = []

    async def token(self, request: web.Request) -> web.Response:
        assert request.query["appid"] == APP_ID and request.query["secret"] == "app-secret"
        self.tokens += 1
        return web.json_response({"access_token": f"ACCESS{self.tokens}", "expires_in": 7200})

    async def create(self, request: web.Request) -> web.Response:
        if request.query["access_token"] == "ACCESS1":  # expired meanwhile: 40001
            return web.json_response({"errcode": 40001, "errmsg": "invalid credential"})
        self.created.append(await request.json())
        return web.json_response({"ticket": TICKET, "expire_seconds": None, "url": "http://q"})


@contextlib.asynccontextmanager
async def wechat_qr_api() -> AsyncIterator[tuple[WeChatQrApi, int]]:
    api = WeChatQrApi()
    app = web.Application()
    app.router.add_get("/cgi-bin/token", api.token)
    app.router.add_post("/cgi-bin/qrcode/create", api.create)
    async with serving(app) as port:
        yield api, port


async def _wechat_qr(tmp_path: Path, port: int, topic: str) -> tuple[int, str, str]:
    env = bot_env("http://127.0.0.1:9/bot", tmp_path)
    env.pop("BOT_TOKEN")
    env.update(
        WECHAT_APP_ID=APP_ID,
        WECHAT_APP_SECRET="app-secret",
        WECHAT_API_BASE_URL=f"http://127.0.0.1:{port}/cgi-bin/",
    )
    proc = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "bot", "wechat-qr", topic),
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_wechat_qr_prints_a_permanent_codes_image_url(tmp_path: Path) -> None:
    async with wechat_qr_api() as (api, port):
        code, out, err = await _wechat_qr(tmp_path, port, "steps")
        assert code == 0, err
        assert (
            out == f"https://mp.weixin.qq.com/cgi-bin/showqrcode?ticket={quote(TICKET, safe='')}\n"
        )
        assert api.created == [
            {"action_name": "QR_LIMIT_STR_SCENE", "action_info": {"scene": {"scene_str": "steps"}}}
        ]
        assert api.tokens == 2  # the refused token was renewed once
        code, out, err = await _wechat_qr(tmp_path, port, "weather")
        assert (code, out) == (2, "") and "unknown topic 'weather'" in err
        assert len(api.created) == 1 and "app-secret" not in err
