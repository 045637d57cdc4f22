"""The channel-neutral core: text with markup, splitting to a channel's limit, the router."""

from __future__ import annotations

import pytest

from bot.channels import CHANNELS, CONSOLE, TELEGRAM, WECHAT
from bot.core.channel import split_to_fit, utf8_bytes, utf16_units
from bot.core.conversation import Conversation
from bot.core.reply import Reply
from bot.core.router import Request, Router, Who
from bot.core.text import MarkupError, Text, check_markup, fill, markup, to_html


def test_parse_and_render_keeps_nesting() -> None:
    text = Text.parse(
        "<blockquote>要点：<b>带身份证</b>和准考证</blockquote>\n<i>注意</i> &amp; 核对"
    )
    assert text.plain_text == "要点：带身份证和准考证\n注意 & 核对"
    assert to_html(text) == (
        "<blockquote>要点：<b>带身份证</b>和准考证</blockquote>\n<i>注意</i> &amp; 核对"
    )


def test_links_render_with_escaped_href() -> None:
    text = Text.parse('<a href="https://example.cn/?a=1&amp;b=2">官网</a>')
    assert text.plain_text == "官网"
    assert to_html(text) == '<a href="https://example.cn/?a=1&amp;b=2">官网</a>'


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("<b>没有关", "<b> is never closed"),
        ("<font>x</font>", "tag <font> is not allowed"),
        ("a < b", "a bare '<'"),
        ("A & B", "a bare '&'"),
        ("&nbsp;", "entity &nbsp; is not supported"),
        ("<a>x</a>", "<a> needs an href"),
        ("<b>x</i>", "closing </i> does not match"),
    ],
)
def test_invalid_markup_is_refused_with_a_reason(source: str, reason: str) -> None:
    assert any(reason in r for r in check_markup(source))
    with pytest.raises(MarkupError):
        Text.parse(source)


def test_user_text_stays_plain_wherever_it_goes() -> None:
    typed = "交 <b>学历证明</b> & <script>"
    filled = fill("✅ 已设置提醒：<b>{what}</b>", what=typed)
    assert filled.plain_text == f"✅ 已设置提醒：{typed}"
    html = to_html(filled)
    assert "&lt;b&gt;学历证明&lt;/b&gt; &amp; &lt;script&gt;" in html
    assert html.startswith("✅ 已设置提醒：<b>") and html.endswith("</b>")


def test_fill_with_text_keeps_its_styles_and_leaves_unknown_names() -> None:
    inner = markup("<i>明天</i>")
    filled = fill("截止：<b>{due}</b> {unknown}", due=inner)
    assert to_html(filled) == "截止：<b><i>明天</i></b> {unknown}"


def test_split_to_fit_cuts_at_lines_and_keeps_styles() -> None:
    text = Text.parse("<b>标题</b>\n" + "\n".join(f"第{n}行：准考证号" for n in range(40)))
    parts = split_to_fit(text, 100, utf8_bytes)
    assert len(parts) > 3
    assert all(utf8_bytes(p.plain_text) <= 100 for p in parts)
    assert "\n".join(p.plain_text for p in parts) == text.plain_text
    assert to_html(parts[0]).startswith("<b>标题</b>")


def test_split_to_fit_cuts_a_single_overlong_line() -> None:
    line = Text.parse("<b>" + "长" * 50 + "</b>")
    parts = split_to_fit(line, 20, utf16_units)
    assert [len(p.plain_text) for p in parts] == [20, 20, 10]
    assert all(to_html(p).startswith("<b>") for p in parts)


def test_channels_declare_different_limits() -> None:
    chinese = Text.plain("长" * 800)  # 800 UTF-16 units, 2,400 UTF-8 bytes
    assert TELEGRAM.fits(chinese) and CONSOLE.fits(chinese)
    assert not WECHAT.fits(chinese)
    assert {c.name for c in CHANNELS} == {"telegram", "wechat", "console"}


async def _answer(request: Request) -> Reply:
    return Reply.single(Text.plain(f"{request.who.channel}:{request.args}"))


async def test_router_admin_routes_and_prefixes(conversation: Conversation) -> None:
    router = Router()
    router.command("x", _answer)
    router.command("secret", _answer, admin=True)
    with pytest.raises(ValueError):
        router.command("x", _answer)
    conv = Conversation(conversation.store, router, {c.name: c for c in CHANNELS})
    user = Who("wechat", 7, 7)
    reply = await conv.command("X", user, "  hi  ")
    assert reply is not None and reply.messages[0].text.plain_text == "wechat:hi"
    refused = await conv.command("secret", user)
    assert refused is not None and "仅限管理员" in refused.messages[0].text.plain_text
    assert await conv.command("nosuch", user) is None
    # WeChat users type commands without a slash; the registered name is enough.
    bare = await conv.text("x 123", user)
    assert bare.messages[0].text.plain_text == "wechat:123"
    # On Telegram a bare word is no command (it goes to questions; none registered here).
    plain = await conv.text("x 123", Who("telegram", 7, 7))
    assert plain == conv.free_text()


async def test_every_builtin_command_is_registered(conversation: Conversation) -> None:
    from bot.commands import BUILTIN_COMMANDS

    assert set(conversation.router.commands) == set(BUILTIN_COMMANDS)
