"""WeChat messages and events as core calls, and core replies as passive text replies.

Numbered choices and the rest of a long answer are remembered per user for a while (a
session); everything else is the conversation's business. Retries of one message (same
MsgId, or for events the same sender and CreateTime) share the first answer.
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
from bot.channels.wechat.render import render
from bot.core.reply import Button, Reply
from bot.core.router import Who
from bot.storage import WeChatUserRepo

log = logging.getLogger(__name__)

SEEN_TTL = 60.0  # WeChat retries within about 15 s
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
        """Answer a message once; retries share the first answer."""
        key: tuple[Any, ...] = (
            ("msg", message.id)
            if getattr(message, "id", None)
            else ("event", message.source, message.create_time)
        )
        while self.seen and len(self.seen) > SEEN_MAX:
            self.seen.popitem(last=False)
        future = self.seen.get(key)
        if future is None:
            future = asyncio.get_running_loop().create_future()
            self.seen[key] = future
            try:
                text = await self._answer(message)
                future.set_result(TextReply(content=text, message=message).render())
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
        openid = str(message.source)
        session = self._session(openid)
        user_id = await self.users.user_id(openid, self.app.clock())
        who = Who(WECHAT.name, user_id, user_id)
        texts = self.conversation.content.ui.wechat
        reply = await self._reply(message, session, who)
        if reply is None:  # "继续": the next part of a long answer
            return session.rest.pop(0) if session.rest else texts.no_more.strip()
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
        if message.type != "text":
            return conversation.free_text()
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
    """A typed choice: ASCII digits only (``①`` and ``²`` are digits to str.isdigit)."""
    if text.isascii() and text.isdigit() and len(text) <= 3:
        return int(text)
    return None
