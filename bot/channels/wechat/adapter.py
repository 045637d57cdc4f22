"""WeChat messages and events as core calls, and core replies as passive text replies.

Numbered choices and the rest of a long answer are remembered per user for a while (a
session); everything else is the conversation's business. Retries of one message (same
sender and MsgId, or for events the same sender and CreateTime) share the first answer.

Fields are read as WeChat sent them (:func:`raw_field`): wechatpy converts ``MsgId`` and
``CreateTime`` with ``int()`` on access, which raises on a value like ``abc``, ``①`` or
``9…9``; the bot needs them only to recognise retries, so they stay strings.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from wechatpy.replies import TextReply

from bot.app import App
from bot.channels.wechat.capabilities import WECHAT
from bot.channels.wechat.render import render, xml_safe
from bot.channels.wechat.subscribe import CURRENT_OPENID
from bot.core.numbers import parse_int
from bot.core.reply import Button, Reply
from bot.core.router import Who
from bot.storage import WeChatUserRepo

log = logging.getLogger(__name__)

# WeChat retries within about 15 s; an identical replay is accepted while its timestamp is
# within the replay window (see replay.py), so answers are kept at least twice that long.
SEEN_TTL = 600.0
SEEN_MAX = 10_000
SESSION_TTL = 1800.0


@dataclass
class Session:
    """What a user can answer next: numbered choices and the rest of a long reply."""

    choices: list[Button] = field(default_factory=list)
    rest: list[str] = field(default_factory=list)
    at: float = field(default_factory=time.monotonic)


class WeChatAdapter:
    """Answers one parsed WeChat message (wechatpy object) with the passive reply's XML."""

    def __init__(self, app: App, users: WeChatUserRepo) -> None:
        self.app = app
        self.conversation = app.conversation
        self.users = users
        self.sessions: OrderedDict[str, Session] = OrderedDict()
        self.seen: OrderedDict[tuple[Any, ...], asyncio.Future[str]] = OrderedDict()

    async def once(self, message: Any) -> str:
        """Answer a message once (reply XML, or "" for nothing to say); retries share it.

        ``message`` must have a sender (see :func:`sender`): the HTTP layer answers
        messages without one with "success" and never calls this.
        """
        key = retry_key(message)
        while self.seen and len(self.seen) > SEEN_MAX:
            self.seen.popitem(last=False)
        future = self.seen.get(key)
        if future is None:
            future = asyncio.get_running_loop().create_future()
            self.seen[key] = future
            try:
                text = await self._answer(message)
                future.set_result(passive_reply(message, text) if text else "")
            except Exception as exc:
                log.exception("WeChat answer failed")
                future.set_exception(exc)
                del self.seen[key]
                raise
            asyncio.get_running_loop().call_later(SEEN_TTL, self.seen.pop, key, None)
        return await asyncio.shield(future)

    def _session(self, openid: str) -> Session:
        session = self.sessions.pop(openid, None)
        if session is None or time.monotonic() - session.at > SESSION_TTL:
            session = Session()
        session.at = time.monotonic()
        self.sessions[openid] = session
        while len(self.sessions) > SEEN_MAX:
            self.sessions.popitem(last=False)
        return session

    async def _answer(self, message: Any) -> str:
        """The text to send back for one message or event."""
        openid = sender(message)
        session = self._session(openid)
        user_id = await self.users.user_id(openid, self.app.clock())
        who = Who(WECHAT.name, user_id, user_id)
        texts = self.conversation.content.ui.wechat
        current = CURRENT_OPENID.set(openid)  # links made while answering are this user's
        try:
            reply = await self._reply(message, session, who)
        finally:
            CURRENT_OPENID.reset(current)
        if reply is None:  # "继续": the next part of a long answer
            return session.rest.pop(0) if session.rest else texts.no_more.strip()
        if not reply.messages:  # nothing to say (unfollowed, or ignored by the flood guard)
            return ""
        parts, choices = render(reply, texts)
        if choices:
            session.choices = choices
        session.rest = parts[1:]
        return parts[0]

    async def _reply(self, message: Any, session: Session, who: Who) -> Reply | None:
        conversation = self.conversation
        texts = conversation.content.ui.wechat
        if message.type == "event":
            return await self._event(message, who)
        if message.type != "text":  # images, voice, stickers: counted by the flood guard too
            return conversation.free_text(who)
        text = str(message.content).strip()
        if text == texts.continue_word.strip():
            return None
        if text.lower() in texts.menu_words.split():
            return await conversation.command("menu", who) or conversation.unknown_command()
        number = _choice_number(text)
        if number is not None and 1 <= number <= len(session.choices):
            return await conversation.action(session.choices[number - 1].action, who)
        return await conversation.text(text, who)

    async def _event(self, message: Any, who: Who) -> Reply:
        conversation = self.conversation
        if message.event == "subscribe":
            await self.app.audience.followed(WECHAT.name, who.user_id)
            reply = await conversation.command("start", who)
            return reply or conversation.unknown_command()
        if message.event == "unsubscribe":
            await self.app.audience.gone(WECHAT.name, who.user_id)
            return Reply()
        if message.event == "click":
            reply = await conversation.command(str(message.key), who)
            if reply is not None:
                return reply
        return await conversation.command("menu", who) or conversation.unknown_command()


def _choice_number(text: str) -> int | None:
    """A typed choice: ASCII or full-width digits (``①`` and ``²`` are text), short."""
    return parse_int(text, max_digits=3)


def raw_field(message: Any, name: str) -> str:
    """A field of the XML as sent (``MsgId``, ``CreateTime``, ...), never converted.

    "" when it is missing, empty or not plain text (an element with attributes or children,
    or one given twice).
    """
    data = getattr(message, "_data", None)
    value = data.get(name) if isinstance(data, dict) else None
    return value if isinstance(value, str) else ""


def sender(message: Any) -> str:
    """The follower's openid (``FromUserName``); "" when there is none to answer."""
    return raw_field(message, "FromUserName")


def retry_key(message: Any) -> tuple[str, ...]:
    """What a retry of ``message`` repeats exactly: its sender and ``MsgId``, or for events
    (and anything else without a MsgId) its sender and ``CreateTime``, as WeChat advises.

    The sender is always part of the key: MsgIds are not unique across followers (and are
    whatever the body says), so another follower's message never gets this one's answer.
    """
    msg_id = raw_field(message, "MsgId").strip()
    if msg_id:
        return ("msg", sender(message), msg_id)
    return (
        "event",
        sender(message),
        raw_field(message, "CreateTime").strip(),
        raw_field(message, "MsgType"),
        raw_field(message, "Event"),
        raw_field(message, "EventKey"),
    )


def passive_reply(message: Any, text: str) -> str:
    """The passive text reply's XML, addressed back to the sender of ``message``.

    wechatpy writes every field into a CDATA section as it is, so each value goes through
    :func:`~bot.channels.wechat.render.xml_safe` first (a ``]]>`` a follower typed, echoed in
    a reminder's name, would otherwise end the section and break the XML).
    """
    return TextReply(
        content=xml_safe(text),
        source=xml_safe(raw_field(message, "ToUserName")),
        target=xml_safe(sender(message)),
    ).render()
