"""Calendar links end to end: the WeChat callback and the Telegram bot as real processes,
each serving its users' feeds over HTTP (BOT_PUBLIC_URL), read back by two parsers."""

from __future__ import annotations

import re
from pathlib import Path

import aiohttp
import icalendar
import vobject

from tests.botproc import BotProcess
from tests.standin import StandinServer
from tests.test_wechat import free_port, running_callback, xml_text

TELEGRAM_USER = 4242
FEED = re.compile(r"http://127\.0\.0\.1:\d+/calendar/[\w-]{32}\.ics")


async def fetch(http: aiohttp.ClientSession, url: str) -> tuple[int, bytes]:
    async with http.get(url) as response:
        return response.status, await response.read()


async def events(http: aiohttp.ClientSession, url: str) -> dict[str, icalendar.Event]:
    """The feed's events by summary; vobject must read the same feed (a second parser)."""
    status, body = await fetch(http, url)
    assert status == 200, body
    independent = vobject.readOne(body.decode("utf-8"))
    found = {str(e["SUMMARY"]): e for e in icalendar.Calendar.from_ical(body).walk("VEVENT")}
    assert sorted(e.summary.value for e in getattr(independent, "vevent_list", [])) == sorted(found)
    assert b"oUser" not in body and b"wechat" not in body and b"telegram" not in body
    return found


def alarms(event: icalendar.Event) -> list[str]:
    return sorted(a["TRIGGER"].to_ical().decode() for a in event.walk("VALARM"))


async def test_each_user_subscribes_to_exactly_their_own_reminders(tmp_path: Path) -> None:
    wechat_port, calendar_port = free_port(), free_port()
    (tmp_path / "wechat").mkdir()
    (tmp_path / "telegram").mkdir()
    wechat_env = {
        "WECHAT_PORT": str(wechat_port),
        "BOT_PUBLIC_URL": f"http://127.0.0.1:{wechat_port}/",
    }
    telegram_env = {
        "BOT_PUBLIC_URL": f"http://127.0.0.1:{calendar_port}",
        "BOT_CALENDAR_LISTEN": "127.0.0.1",
        "BOT_CALENDAR_PORT": str(calendar_port),
    }
    async with (
        running_callback(tmp_path / "wechat", wechat_env) as cb,
        StandinServer() as server,
        BotProcess(server.api, server.base_url, tmp_path / "telegram", env=telegram_env),
        aiohttp.ClientSession() as http,
    ):
        # A WeChat user sets two reminders through the callback and asks for the calendar.
        saved = await cb.say(xml_text("/remind audit 2027-03-10 17:00", 1))
        assert "已设置提醒：资格审核截止" in saved and "加到手机日历" in saved
        await cb.say(xml_text("/remind 2027-03-20 09:00 交证书材料", 2))
        reply = await cb.say(xml_text("日历", 3))
        assert "在浏览器打开" in reply
        (wechat_feed,) = FEED.findall(reply)
        # A Telegram user sets one through the Bot API stand-in.
        api = server.api
        api.push_command("/remind 2027-03-15 10:00 打印准考证", TELEGRAM_USER)
        await api.wait_calls("sendMessage", 1)
        api.push_command("/ics", TELEGRAM_USER)
        await api.wait_calls("sendMessage", 2)
        (telegram_feed,) = FEED.findall(api.sent_texts(TELEGRAM_USER)[-1])
        assert f":{calendar_port}/" in telegram_feed

        theirs = await events(http, wechat_feed)
        assert set(theirs) == {"资格审核截止", "交证书材料"}
        assert alarms(theirs["资格审核截止"]) == ["-P1D", "-PT2H", "P0D"]
        assert "/audit" in str(theirs["资格审核截止"]["DESCRIPTION"])
        mine = await events(http, telegram_feed)
        assert set(mine) == {"打印准考证"} and alarms(mine["打印准考证"]) == [
            "-P1D",
            "-PT2H",
            "P0D",
        ]

        # The WeChat user deletes the first (soonest) reminder: gone, the other keeps its UID.
        listing = await cb.say(xml_text("reminders", 4))
        assert "1. 🗑 删除 1" in listing
        assert "已删除提醒：资格审核截止" in await cb.say(xml_text("1", 5))
        after = await events(http, wechat_feed)
        assert set(after) == {"交证书材料"}
        assert after["交证书材料"]["UID"] == theirs["交证书材料"]["UID"]

        # /ics reset: the old link is gone for good, the new one works.
        reset = await cb.say(xml_text("ics reset", 6))
        (new_feed,) = FEED.findall(reset)
        assert await fetch(http, wechat_feed) == (404, b"")
        assert set(await events(http, new_feed)) == {"交证书材料"}
        assert (await fetch(http, telegram_feed))[0] == 200  # someone else's reset
