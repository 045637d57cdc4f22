"""Fit core replies to WeChat: plain text, choices as numbers, long text in parts."""

from __future__ import annotations

import re

from bot.channels.wechat.capabilities import WECHAT
from bot.content.ui_models import WeChatTexts
from bot.core.reply import Button, Reply

MAX_REPLY_BYTES = WECHAT.text_limit  # a passive text reply takes about 2048 bytes
# Characters XML 1.0 does not allow anywhere, not even in CDATA (controls, lone surrogates,
# U+FFFE/U+FFFF): a reply holding one is unreadable to WeChat.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def render(
    reply: Reply, texts: WeChatTexts, *, choices: bool = True
) -> tuple[list[str], list[Button]]:
    """Parts of at most MAX_REPLY_BYTES each, and the numbered choices at the end.

    ``choices`` False (messages pushed later, outside a conversation turn) leaves the
    buttons out: a number typed in answer would no longer mean them.
    """
    blocks = []
    for message in reply.messages:
        blocks.append(message.text.plain_text.strip())
        if message.document is not None and message.document.mime_type.startswith("text/"):
            # No files in passive replies: a calendar file is given as a text block.
            blocks.append(message.document.data.decode("utf-8").strip())
    body = "\n\n".join(block for block in blocks if block)
    buttons = [b for row in reply.last_buttons for b in row] if choices else []
    if buttons:
        lines = "\n".join(f"{n}. {b.label}" for n, b in enumerate(buttons, 1))
        body += f"\n\n{texts.choose}\n{lines}"
    return split(body, texts.more), buttons


def split(text: str, more: str) -> list[str]:
    """Cut at paragraph or line ends so each part plus the "more" hint fits one reply."""
    budget = MAX_REPLY_BYTES - len(more.encode()) - 2
    parts: list[str] = []
    while len(text.encode()) > MAX_REPLY_BYTES:
        cut = _cut(text, budget)
        parts.append(text[:cut].rstrip() + "\n" + more)
        text = text[cut:].lstrip("\n")
    parts.append(text)
    return parts


def _cut(text: str, budget: int) -> int:
    size, last_break, end = 0, 0, 0
    for index, char in enumerate(text):
        size += len(char.encode())
        if size > budget:
            break
        end = index + 1
        if char == "\n":
            last_break = index + 1
    return last_break or end


def xml_safe(text: str) -> str:
    """``text`` for a CDATA section of a passive reply, read back exactly as written.

    wechatpy puts reply fields into ``<![CDATA[...]]>`` unescaped, so a ``]]>`` in the text
    (a follower's words echoed back, such as a reminder's name) would end the section early:
    it is split across two sections (``]]]]><![CDATA[>``), which a reader joins back into
    ``]]>``. Characters XML cannot carry at all are dropped (and, as anywhere in XML, a
    reader sees a carriage return as a line feed).
    """
    return _NOT_XML.sub("", text).replace("]]>", "]]]]><![CDATA[>")
