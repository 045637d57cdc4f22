"""Regressions for what the fuzz harness (``tests/fuzzing.py``) found: WeChat bodies with
odd MsgId/CreateTime or no message, retries keyed without the sender, ``]]>`` echoed into a
passive reply, ``&lt;`` refused by the markup parser, and a release date near ``date.max``.
In process (aiohttp test client, fixed clock); nothing reaches the network."""

from __future__ import annotations

import io
import logging
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from wechatpy import parse_message

from bot.app import App, assemble
from bot.channels import CHANNELS
from bot.channels.console.session import ConsoleSender
from bot.channels.wechat.adapter import passive_reply, retry_key
from bot.channels.wechat.render import xml_safe
from bot.config import Settings
from bot.content import ContentStore
from bot.core.router import Who
from bot.core.text import MarkupError, Text, check_markup, markup, to_html
from bot.dates import MAX_YEARS_AHEAD, Reject, WorkCalendar, explain
from bot.reminders.service import ReminderService
from bot.storage import ReminderRepo
from tests.test_wechat import OPENID
from tests.test_wechat_security import OTHER, T0, Served, served

SHANGHAI = ZoneInfo("Asia/Shanghai")


def raw_text(
    content: str,
    *,
    msg_id: str | None = "1001",
    created: str = str(int(T0.timestamp())),
    openid: str | None = OPENID,
) -> str:
    """A text message with every field as given (None leaves the element out); the content
    is written as WeChat writes it, with a ``]]>`` split across two CDATA sections."""
    sender = "" if openid is None else f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
    msg = "" if msg_id is None else f"<MsgId>{msg_id}</MsgId>"
    return (
        f"<xml><ToUserName><![CDATA[gh_test]]></ToUserName>{sender}"
        f"<CreateTime>{created}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{xml_safe(content)}]]></Content>{msg}</xml>"
    )


def raw_event(event: str, *, created: str, openid: str = OPENID) -> str:
    return (
        f"<xml><ToUserName><![CDATA[gh_test]]></ToUserName><FromUserName><![CDATA[{openid}]]>"
        f"</FromUserName><CreateTime>{created}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
        f"<Event><![CDATA[{event}]]></Event></xml>"
    )


def reply_fields(body: str) -> tuple[str, str]:
    """``(ToUserName, Content)`` of a passive reply, read by a strict XML parser."""
    root = ET.fromstring(body)
    return root.findtext("ToUserName") or "", root.findtext("Content") or ""


@pytest.fixture
async def wx(content_copy: Path) -> AsyncIterator[Served]:
    async with served(content_copy) as s:
        yield s


# -- 1, 2: MsgId and CreateTime as sent; bodies without a message ------------------------


@pytest.mark.parametrize("msg_id", ["abc", "1.5", "①", "１２３", "-7", "9" * 60, ""])
async def test_a_msgid_that_is_no_integer_is_answered(wx: Served, msg_id: str) -> None:
    status, body = await wx.post(raw_text("菜单", msg_id=msg_id))
    assert status == 200, body
    to, content = reply_fields(body)
    assert to == OPENID and content.strip()


@pytest.mark.parametrize("created", ["abc", "9" * 40, "-1", "1.5", ""])
@pytest.mark.parametrize("kind", ["text", "event"])
async def test_a_create_time_that_is_no_timestamp_is_answered(
    wx: Served, created: str, kind: str
) -> None:
    xml = (
        raw_text("菜单", created=created) if kind == "text" else raw_event("CLICK", created=created)
    )
    status, body = await wx.post(xml)
    assert status == 200, body
    assert reply_fields(body)[0] == OPENID


@pytest.mark.parametrize(
    "xml",
    [
        "",  # parses to no message at all
        raw_text("菜单", openid=None),  # nobody to answer
        raw_text("菜单", openid=""),
    ],
)
async def test_a_signed_body_with_nothing_to_answer_gets_success(
    wx: Served, xml: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="bot.channels.wechat.http"):
        status, body = await wx.post(xml)
    assert (status, body) == (200, "success")  # anything else makes WeChat send it again
    assert "unusable WeChat message" in caplog.text
    assert wx.sql("SELECT count(*) FROM wechat_users") == [(0,)]


@pytest.mark.parametrize(
    "xml",
    [
        "<xml><FromUserName>x</FromUserName></xml>",  # no MsgType
        "<xml><MsgType/></xml>",
        "<xml/>",
        "not xml",
    ],
)
async def test_malformed_bodies_get_400(wx: Served, xml: str) -> None:
    assert (await wx.post(xml))[0] == 400


# -- 3: retries are recognised per sender ------------------------------------------------


async def test_same_msgid_from_two_followers_gets_two_answers(wx: Served) -> None:
    status, first = await wx.post(raw_text("菜单", msg_id="42", openid=OPENID))
    assert status == 200
    status, second = await wx.post(raw_text("/help", msg_id="42", openid=OTHER))
    assert status == 200
    (to_first, menu), (to_second, help_text) = reply_fields(first), reply_fields(second)
    assert (to_first, to_second) == (OPENID, OTHER)
    assert menu != help_text
    # The first follower's retry still gets the first answer.
    status, again = await wx.post(raw_text("菜单", msg_id="42", openid=OPENID))
    assert reply_fields(again) == (OPENID, menu)


async def test_same_event_time_from_two_followers_gets_two_answers(wx: Served) -> None:
    created = str(int(T0.timestamp()))
    _, first = await wx.post(raw_event("subscribe", created=created, openid=OPENID))
    _, second = await wx.post(raw_event("subscribe", created=created, openid=OTHER))
    assert (reply_fields(first)[0], reply_fields(second)[0]) == (OPENID, OTHER)
    assert wx.sql("SELECT count(*) FROM wechat_users") == [(2,)]


def test_retry_keys_hold_the_sender_and_never_convert() -> None:
    text = parse_message(raw_text("x", msg_id="①", created="9" * 40))
    assert retry_key(text) == ("msg", OPENID, "①")
    event = parse_message(raw_event("CLICK", created="abc"))
    other = parse_message(raw_event("CLICK", created="abc", openid=OTHER))
    assert retry_key(event)[:3] == ("event", OPENID, "abc")
    assert retry_key(event) != retry_key(other)


# -- 4: ]]> in a passive reply ------------------------------------------------------------


def test_xml_safe_text_reads_back_exactly() -> None:
    for text in ["a]]>b", "]]>", "]]]]>>", "x]]", "no marker", "控\x03制\x0b字\ufffe符"]:
        root = ET.fromstring(f"<x><![CDATA[{xml_safe(text)}]]></x>")
        expected = "".join(c for c in text if c not in "\x03\x0b\ufffe")
        assert root.text == expected


def test_passive_reply_with_a_cdata_end_in_every_field_is_readable() -> None:
    sender = "oUser]]>evil"
    message = parse_message(raw_text("hi", openid=xml_safe(sender)))
    body = passive_reply(message, "已设置提醒：交材料]]><b>尽快")
    root = ET.fromstring(body)
    assert root.findtext("ToUserName") == sender
    assert root.findtext("Content") == "已设置提醒：交材料]]><b>尽快"


async def test_a_reminder_named_with_a_cdata_end_is_echoed_readably(wx: Served) -> None:
    name = "交材料]]><Content>x</Content>尽快"
    status, body = await wx.post(raw_text(f"/remind 2027-03-01 {name}", msg_id="7001"))
    assert status == 200
    to, content = reply_fields(body)  # ET.fromstring raised ParseError before
    assert to == OPENID and name in content
    status, body = await wx.post(raw_text("/reminders", msg_id="7002"))
    assert name in reply_fields(body)[1]


# -- 5: &lt; and &gt; are the way to write < and > ---------------------------------------


@pytest.mark.parametrize(
    ("source", "plain"),
    [
        ("&lt;", "<"),
        ("&gt;", ">"),
        ("a &lt;b&gt; &amp; &quot;c&quot;", 'a <b> & "c"'),
        ("<b>1 &lt; 2</b>", "1 < 2"),
        ("&#60;&#x3E;", "<>"),
    ],
)
def test_escaped_brackets_are_literal_characters(source: str, plain: str) -> None:
    assert check_markup(source) == []
    text = markup(source)
    assert text.plain_text == plain
    assert Text.parse(to_html(text)) == text  # Telegram's HTML reads back the same


@pytest.mark.parametrize("source", ["a < b", "a > b", "&lt; and <", "<b>x > y</b>"])
def test_a_bare_bracket_is_still_refused(source: str) -> None:
    with pytest.raises(MarkupError, match="a bare '<' or '>'"):
        Text.parse(source)


@pytest.fixture
async def admin_app(content_copy: Path) -> AsyncIterator[App]:
    settings = Settings(
        content_dir=content_copy, db=content_copy.parent / "bot.db", admin_ids=frozenset({900})
    )
    store = ContentStore.open(content_copy, CHANNELS)
    app = await assemble(
        settings, store, {"console": ConsoleSender(io.StringIO())}, broadcasts=False
    )
    try:
        yield app
    finally:
        await app.close()


@pytest.mark.parametrize(
    "typed",
    [
        "复核 < 5 天 & 成绩 > 60 分",
        "DN^T<@\x0b\n<b>未闭合 &amp; ]]> &nbsp; &#60;",
        "<i>x</i>壹1 3<4",
        "<b>有效</b> &lt;标记&gt;",  # valid markup is kept as markup
    ],
)
async def test_admin_broadcast_text_with_brackets_gets_a_preview(
    admin_app: App, typed: str
) -> None:
    admin = Who("console", 900, 900, is_admin=True)
    for command, args in [("broadcast", typed), ("broadcast_at", f"3天后 {typed}")]:
        reply = await admin_app.conversation.command(command, admin, args=args)
        assert reply is not None and reply.messages
        shown = reply.messages[0].text.plain_text
        expected = markup(typed).plain_text if not check_markup(typed) else typed
        assert expected.strip() in shown


# -- 6: release dates near date.max --------------------------------------------------------


@pytest.fixture
async def service(admin_app: App, content_copy: Path) -> ReminderService:
    store = ContentStore.open(content_copy, CHANNELS)
    now = datetime(2026, 12, 1, 9, 0, tzinfo=SHANGHAI)
    return ReminderService(ReminderRepo(admin_app.db), store, timezone=SHANGHAI, clock=lambda: now)


@pytest.mark.parametrize(
    "release", [date(9999, 12, 31), date(9999, 12, 25), date(2101, 1, 1), date(2030, 1, 1)]
)
def test_a_release_date_too_far_ahead_is_refused(service: ReminderService, release: date) -> None:
    with pytest.raises(Reject) as refused:
        service.review_deadline(release)
    assert refused.value.answer.code == "too_far"
    sentence = explain(refused.value.answer, service.content.ui.dates.model_dump())
    assert release.isoformat() in sentence and f"{MAX_YEARS_AHEAD}年" in sentence
    assert "{" not in sentence


def test_release_dates_within_reach_still_count(service: ReminderService) -> None:
    last = date(2026 + MAX_YEARS_AHEAD, 12, 1)
    workdays, deadline = service.review_deadline(last)
    assert deadline.day > last and workdays >= 1
    assert service.review_deadline(date(1, 1, 1))[1].day.year == 1  # the past is fine
    with pytest.raises(Reject):
        service.review_deadline(last + timedelta(days=1))


def test_counting_workdays_from_near_date_max_is_refused() -> None:
    calendar = WorkCalendar()
    with pytest.raises(Reject) as refused:
        calendar.add_workdays(date(9999, 12, 31), 5)  # OverflowError before
    assert refused.value.answer.code == "too_far"
    assert calendar.add_workdays(date(2100, 12, 31), 5).day.year == 2101


async def test_forged_release_button_near_date_max_gets_a_refusal(admin_app: App) -> None:
    who = Who("console", 5, 5)
    reply = await admin_app.conversation.action("r:rel:9999-12-31", who)
    assert "9999-12-31" in reply.messages[0].text.plain_text
