"""Calendar links (/ics): the reply, the feed over HTTP (read back by two parsers), ETag
caching, revoked and wrong tokens, rate limits, hashed storage, the fallback file."""

from __future__ import annotations

import hashlib
import re
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import icalendar
import pytest
import vobject
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from multidict import CIMultiDict

from bot.app import App, assemble
from bot.calendar.limits import Limit
from bot.calendar.server import CalendarRoutes
from bot.channels import CHANNELS
from bot.config import Settings
from bot.content import ContentStore
from bot.core.reply import Reply
from bot.core.router import Who
from bot.storage import Database
from bot.storage.calendars import CalendarLinkRepo
from tests.test_reminders import Clock, FakeSender

START = datetime(2026, 11, 24, 2, 30, tzinfo=UTC)  # 10:30 in Shanghai
BASE = "https://bot.example.com/exam"
ALICE = Who("telegram", 101, 101)
BOB = Who("wechat", 7, 7)
LINK = re.compile(r"(?:https|webcal)://bot\.example\.com/exam/calendar/(?:once/)?[\w-]{32}\.ics")
ALLOWED_EVENT_PROPS = {"UID", "DTSTAMP", "DTSTART", "DTEND", "SUMMARY", "DESCRIPTION", "TRANSP"}


@dataclass
class Env:
    app: App
    clock: Clock
    http: TestClient[web.Request, web.Application]
    db_path: Path

    async def say(self, command: str, who: Who, args: str = "") -> Reply:
        reply = await self.app.conversation.command(command, who, args)
        assert reply is not None
        return reply

    async def links(self, who: Who, args: str = "") -> tuple[str, str, str]:
        feed, webcal, download = LINK.findall(text_of(await self.say("ics", who, args)))
        return feed, webcal, download

    async def get(self, url: str, **headers: str) -> tuple[int, bytes, CIMultiDict[str]]:
        async with self.http.get(urlsplit(url).path, headers=headers) as response:
            return response.status, await response.read(), CIMultiDict(response.headers)


def text_of(reply: Reply) -> str:
    return "\n".join(m.text.plain_text for m in reply.messages)


async def serving(
    content_copy: Path, routes: dict[str, Limit], public_url: str = BASE
) -> AsyncIterator[Env]:
    clock = Clock(START)
    db_path = content_copy.parent / "bot.db"
    settings = Settings(content_dir=content_copy, db=db_path, public_url=public_url)
    store = ContentStore.open(content_copy, CHANNELS)
    app = await assemble(settings, store, {"telegram": FakeSender()}, clock=clock)
    served = web.Application()
    if app.calendar is not None:
        served = CalendarRoutes(app.calendar, **routes).web_app()
    async with TestClient(TestServer(served)) as http:
        try:
            yield Env(app, clock, http, db_path)
        finally:
            await app.close()


@pytest.fixture
async def env(content_copy: Path) -> AsyncIterator[Env]:
    async for value in serving(content_copy, {}):
        yield value


def parse_both(body: bytes) -> tuple[icalendar.Calendar, object]:
    """The feed read by icalendar and, independently, by vobject (both must accept it)."""
    return icalendar.Calendar.from_ical(body), vobject.readOne(body.decode("utf-8"))


def events(calendar: icalendar.Calendar) -> dict[str, icalendar.Event]:
    return {str(e["SUMMARY"]): e for e in calendar.walk("VEVENT")}


async def test_links_and_a_valid_feed_of_exactly_ones_own_reminders(env: Env) -> None:
    await env.say("remind", ALICE, "audit 2026-12-10 17:00")
    await env.say("remind", ALICE, "2026-12-20 09:00 交证书材料")
    await env.say("remind", BOB, "2026-12-12 09:00 别人的提醒")
    reply = await env.say("ics", ALICE)
    text = text_of(reply)
    assert "订阅" in text and "在浏览器打开" in text and "苹果手机" in text and "安卓" in text
    feed, webcal, download = LINK.findall(text)
    assert feed.startswith(f"{BASE}/calendar/") and download.startswith(f"{BASE}/calendar/once/")
    assert webcal == "webcal://" + feed.removeprefix("https://")
    labels = [b.label for row in reply.last_buttons for b in row]
    assert env.app.store.current.ui.calendar.reset_button in labels

    status, body, headers = await env.get(feed)
    assert status == 200 and headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert headers["ETag"].startswith('"') and "no-cache" in headers["Cache-Control"]
    mine, independent = parse_both(body)
    assert mine["REFRESH-INTERVAL"].to_ical() == b"PT1H"
    (zone,) = mine.walk("VTIMEZONE")
    assert zone["TZID"] == "Asia/Shanghai"
    found = events(mine)
    assert set(found) == {"资格审核截止", "交证书材料"}  # nobody else's
    audit = found["资格审核截止"]
    start = audit.decoded("DTSTART")
    assert (str(start.tzinfo), start.hour, start.minute) == ("Asia/Shanghai", 17, 0)
    assert "/audit" in str(audit["DESCRIPTION"])  # the guide topic's command
    triggers = sorted(a.decoded("TRIGGER") for a in audit.walk("VALARM"))
    assert triggers == [timedelta(days=-1), timedelta(hours=-2), timedelta(0)]
    for event in found.values():
        assert {str(k) for k in event} <= ALLOWED_EVENT_PROPS  # no ids, names, organisers
    assert b"telegram" not in body and b"reminder-" not in body
    # vobject (a second, independent parser) reads the same events, times and alarms.
    vevents = {e.summary.value: e for e in independent.vevent_list}  # type: ignore[attr-defined]
    assert set(vevents) == {"资格审核截止", "交证书材料"}
    vstart = vevents["资格审核截止"].dtstart.value
    assert vstart.utcoffset() == timedelta(hours=8) and vstart.hour == 17
    assert len(vevents["资格审核截止"].valarm_list) == 3

    status, body, headers = await env.get(download)
    assert status == 200 and headers["Content-Disposition"].startswith("attachment")
    assert set(events(parse_both(body)[0])) == {"资格审核截止", "交证书材料"}
    bob_feed, _, _ = await env.links(BOB)
    _, bob_body, _ = await env.get(bob_feed)
    assert set(events(parse_both(bob_body)[0])) == {"别人的提醒"}


async def test_etag_revalidates_and_uids_stay_when_another_goes(env: Env) -> None:
    await env.say("remind", ALICE, "audit 2026-12-10 17:00")
    await env.say("remind", ALICE, "2026-12-20 09:00 交证书材料")
    feed, _, _ = await env.links(ALICE)
    _, body, headers = await env.get(feed)
    etag, before = headers["ETag"], events(icalendar.Calendar.from_ical(body))
    status, empty, again = await env.get(feed, **{"If-None-Match": f"W/{etag}"})
    assert (status, empty, again["ETag"]) == (304, b"", etag)
    listing = await env.say("reminders", ALICE)
    delete = next(b.action for row in listing.last_buttons for b in row if "删除 1" in b.label)
    await env.app.conversation.action(delete, ALICE)  # the audit deadline (soonest) goes
    status, body, headers = await env.get(feed, **{"If-None-Match": etag})
    assert status == 200 and headers["ETag"] != etag
    after = events(icalendar.Calendar.from_ical(body))
    assert set(after) == {"交证书材料"}
    assert after["交证书材料"]["UID"] == before["交证书材料"]["UID"]


async def test_wrong_revoked_expired_and_used_up_links_get_a_bare_404(env: Env) -> None:
    await env.say("remind", ALICE, "audit 2026-12-10 17:00")
    feed, _, download = await env.links(ALICE)
    wrong = f"{BASE}/calendar/{'A' * 32}.ics"
    for url in (wrong, f"{BASE}/calendar/short.ics", f"{BASE}/calendar/once/{'B' * 32}.ics"):
        status, body, headers = await env.get(url)
        assert (status, body) == (404, b"") and "ETag" not in headers
    for _ in range(3):  # a download link opens three times (WeChat's browser, then the phone's)
        assert (await env.get(download))[0] == 200
    assert (await env.get(download))[:2] == (404, b"")
    _, _, fresh = await env.links(ALICE)
    env.clock.now = START + timedelta(hours=25)
    assert (await env.get(fresh))[:2] == (404, b"")  # expired
    assert (await env.get(feed))[0] == 200  # subscriptions do not expire
    reset = await env.say("ics", ALICE, "reset")
    assert "旧链接已作废" in text_of(reset)
    new_feed = LINK.findall(text_of(reset))[0]
    assert (await env.get(feed))[:2] == (404, b"")
    assert (await env.get(new_feed))[0] == 200


async def test_tokens_are_stored_hashed(env: Env) -> None:
    feed, _, download = await env.links(ALICE)
    tokens = [url.rsplit("/", 1)[1].removesuffix(".ics") for url in (feed, download)]
    with sqlite3.connect(env.db_path) as conn:
        rows = conn.execute("SELECT * FROM calendar_links").fetchall()
    stored = " ".join(str(value) for row in rows for value in row)
    assert all(token not in stored for token in tokens)
    assert {hashlib.sha256(t.encode()).hexdigest() for t in tokens} <= {r[0] for r in rows}


async def test_earlier_links_keep_working_up_to_five_used_ones_kept(env: Env) -> None:
    first, _, _ = await env.links(ALICE)
    assert (await env.get(first))[0] == 200  # subscribed: used, so it is kept
    for _ in range(5):
        env.clock.now += timedelta(minutes=1)
        if env.clock.now == START + timedelta(minutes=1):
            unused, _, _ = await env.links(ALICE)
        else:
            await env.links(ALICE)
    assert (await env.get(first))[0] == 200
    assert (await env.get(unused))[0] == 404  # the oldest never-used one made room


async def test_reset_button_asks_first_and_groups_get_no_link(env: Env) -> None:
    await env.links(ALICE)
    ask = await env.app.conversation.action("r:icsreset", ALICE)
    assert "确定要换新链接吗" in text_of(ask) and not LINK.search(text_of(ask))
    (confirm,) = [b for row in ask.last_buttons for b in row if b.action == "r:icsreset!"]
    assert "旧链接已作废" in text_of(await env.app.conversation.action(confirm.action, ALICE))
    group = Who("telegram", 101, -100123, chat_type="supergroup")
    reply = await env.say("ics", group)
    assert "私聊" in text_of(reply) and not LINK.search(text_of(reply))
    assert "/ics reset" in text_of(await env.say("ics", ALICE, "什么"))  # usage, nothing changed


async def test_a_new_reminder_offers_the_calendar(env: Env) -> None:
    saved = await env.say("remind", ALICE, "audit 2026-12-10 17:00")
    label = env.app.store.current.ui.reminders.export
    (button,) = [b for row in saved.last_buttons for b in row if b.label == label]
    assert LINK.search(text_of(await env.app.conversation.action(button.action, ALICE)))


async def test_rate_limits_per_token_and_per_address(content_copy: Path) -> None:
    limits = {"per_token": Limit(2, 60.0), "per_address": Limit(4, 60.0)}
    async for env in serving(content_copy, limits):
        feed, _, _ = await env.links(ALICE)
        assert [(await env.get(feed))[0] for _ in range(3)] == [200, 200, 429]
        other, _, _ = await env.links(BOB)
        assert (await env.get(other))[0] == 200  # another token, same address: 4th request
        status, body, headers = await env.get(other)
        assert (status, body) == (429, b"") and int(headers["Retry-After"]) >= 1


async def test_without_a_public_url_the_file_and_what_to_configure(content_copy: Path) -> None:
    async for env in serving(content_copy, {}, public_url=""):
        assert env.app.calendar is None
        await env.say("remind", ALICE, "audit 2026-12-10 17:00")
        reply = await env.say("ics", ALICE)
        (message,) = reply.messages
        assert "BOT_PUBLIC_URL" in message.text.plain_text and not LINK.search(text_of(reply))
        assert message.document is not None and b"BEGIN:VCALENDAR" in message.document.data


async def test_link_storage_on_both_engines(db_target: Path | str) -> None:
    """The repository's SQL (RETURNING, ordering by use, pruning) on SQLite and PostgreSQL."""
    db = await Database.open(db_target)
    try:
        repo = CalendarLinkRepo(db)
        for n in range(7):  # feeds 0..6, a minute apart; feed 0 is subscribed (fetched)
            at = START + timedelta(minutes=n)
            await repo.add_feed(channel="wechat", user_id=7, token_hash=f"f{n}", new_key="k0",
                                now=at)  # fmt: skip
            if n == 0:
                await repo.touch("f0", at)
        kept = [n for n in range(7) if await repo.feed_owner(f"f{n}") is not None]
        assert kept == [0, 3, 4, 5, 6]  # the used one stays, the oldest unused ones went
        owner = await repo.feed_owner("f6")
        assert owner is not None and (owner.channel, owner.user_id, owner.uid_key) == (
            "wechat", 7, "k0")  # fmt: skip
        expires = START + timedelta(hours=1)
        await repo.add_file(channel="wechat", user_id=7, token_hash="d", new_key="other",
                            now=START, expires_at=expires, uses=2)  # fmt: skip
        assert [await repo.take_file("d", START) is not None for _ in range(3)] == [
            True, True, False]  # fmt: skip
        await repo.add_file(channel="wechat", user_id=7, token_hash="e", new_key="other",
                            now=START, expires_at=expires, uses=2)  # fmt: skip
        assert await repo.take_file("e", expires) is None  # expired
        assert await repo.feed_owner("d") is None  # a download opens no subscription
        assert await repo.revoke("wechat", 7) >= 5
        assert await repo.feed_owner("f0") is None
    finally:
        await db.close()
