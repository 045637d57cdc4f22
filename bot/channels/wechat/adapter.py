"""WeChat messages and events as core calls, and core replies as passive text replies.

Several identical replicas may serve the callback behind a load balancer, sharing one
database; a user's next message, or WeChat's retry of the same message, may reach any of
them. So nothing a later request depends on lives in this process: it is kept in the
database's ``shared_state`` table (:class:`~bot.storage.state.SharedState`), the same code
on SQLite and PostgreSQL:

- ``wechat_session`` (key: the openid): what a user can answer next, numbered choices and
  the rest ("继续" pages) of a long answer, kept :data:`SESSION_TTL` after its last use and
  saved after every change;
- ``wechat_msg`` (key: :func:`retry_key`): a message being answered, then its reply.
  Retries of one message (same sender and MsgId, or for events the same sender and
  CreateTime) share the first answer: the first process to claim the key answers (the claim
  lasts :data:`ANSWERING_TTL`, so a replica killed mid-answer holds the message only that
  long) and stores the reply for :data:`SEEN_TTL`; a retry reaching another replica
  meanwhile polls for that reply and, when it does not come within WeChat's patience,
  raises :class:`Unanswered` so the HTTP layer makes WeChat retry rather than losing the
  message. A failed answer gives the claim up, so the next retry is answered afresh.
  Retries reaching the process that is answering wait for its in-process future instead.

Everything else is the conversation's business.

Fields are read as WeChat sent them (:func:`raw_field`): wechatpy converts ``MsgId`` and
``CreateTime`` with ``int()`` on access, which raises on a value like ``abc``, ``①`` or
``9…9``; the bot needs them only to recognise retries, so they stay strings.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
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
from bot.storage.state import SharedState

log = logging.getLogger(__name__)

SESSIONS = "wechat_session"  # shared_state scope of sessions, keyed by openid
MESSAGES = "wechat_msg"  # shared_state scope of messages being answered or answered
# WeChat retries within about 15 s; an identical replay is accepted while its timestamp is
# within the replay window (see replay.py), so answers are kept at least twice that long.
SEEN_TTL = 600.0
SESSION_TTL = 1800.0
# A claim on a message while it is being answered: answers take milliseconds, and a replica
# killed mid-answer keeps WeChat's retries of the message waiting at most this long.
ANSWERING_TTL = 10.0
# How a replica that lost the claim waits for the other's reply: WeChat gives up on a
# passive reply after 5 s (and retries), so the wait ends before that.
PATIENCE = 4.5
POLL_EVERY = 0.1
MAX_KEY = 200  # longer keys (a follower's body decides them) are stored as their sha256
_ANSWERING = json.dumps({"answering": True})


class Unanswered(Exception):
    """Another replica is answering this message and its reply did not come in time; the
    HTTP layer answers so that WeChat retries (never "success", which would lose it)."""


@dataclass
class Session:
    """What a user can answer next: numbered choices and the rest of a long reply."""

    choices: list[Button] = field(default_factory=list)
    rest: list[str] = field(default_factory=list)

    def dump(self) -> dict[str, Any]:
        """The stored form: choices as ``[label, action]`` pairs, the rest as strings."""
        return {"choices": [[b.label, b.action] for b in self.choices], "rest": self.rest}

    @classmethod
    def load(cls, value: Any) -> Session:
        """From :meth:`dump`'s form (anything else, or None, is an empty session)."""
        if not isinstance(value, dict):
            return cls()
        choices = [Button(str(label), str(action)) for label, action in value.get("choices", [])]
        return cls(choices, [str(part) for part in value.get("rest", [])])


class WeChatAdapter:
    """Answers one parsed WeChat message (wechatpy object) with the passive reply's XML.

    Sessions and answered messages are in ``state`` (by default on the app's database and
    clock), shared with every replica; only the futures of answers this process is working
    on are in memory.
    """

    def __init__(self, app: App, users: WeChatUserRepo, state: SharedState | None = None) -> None:
        self.app = app
        self.conversation = app.conversation
        self.users = users
        self.state = state or SharedState(app.db, app.clock)
        self.sessions = self.state.scope(SESSIONS, SESSION_TTL)
        self.answering: dict[str, asyncio.Future[str]] = {}
        self.patience = PATIENCE  # seconds to wait for another replica's reply
        self.poll_every = POLL_EVERY

    async def once(self, message: Any) -> str:
        """Answer a message once (reply XML, or "" for nothing to say); retries share it.

        ``message`` must have a sender (see :func:`sender`): the HTTP layer answers
        messages without one with "success" and never calls this. Raises
        :class:`Unanswered` when another replica answers it and its reply did not come.
        """
        key = shared_key(retry_key(message))
        future = self.answering.get(key)
        if future is not None:  # a retry reaching this process while it answers
            return await asyncio.shield(future)
        future = asyncio.get_running_loop().create_future()
        self.answering[key] = future
        try:
            reply = await self._once(message, key)
        except BaseException as exc:
            if isinstance(exc, asyncio.CancelledError):
                future.cancel()
            else:
                future.set_exception(exc)
                future.exception()  # retrieved: waiters (if any) get it, no "never retrieved"
            raise
        else:
            future.set_result(reply)
        finally:
            del self.answering[key]
        return reply

    async def _once(self, message: Any, key: str) -> str:
        """The reply, answered here (after winning the claim) or by another replica."""
        deadline = time.monotonic() + self.patience
        while True:
            if await self.state.claim(MESSAGES, key, _ANSWERING, ANSWERING_TTL):
                try:
                    text = await self._answer(message)
                except Exception:
                    log.exception("WeChat answer failed")
                    await self.state.delete(MESSAGES, key)  # the next retry answers it
                    raise
                reply = passive_reply(message, text) if text else ""
                await self.state.put(MESSAGES, key, json.dumps({"reply": reply}), SEEN_TTL)
                return reply
            # Claimed by another process: wait for its reply while the claim holds.
            while True:
                stored = await self.state.get(MESSAGES, key)
                if stored is None:  # its answer failed, or it died: claim again
                    break
                value = json.loads(stored)
                if "reply" in value:
                    return str(value["reply"])
                if time.monotonic() >= deadline:
                    raise Unanswered(key)
                await asyncio.sleep(self.poll_every)

    async def _answer(self, message: Any) -> str:
        """The text to send back for one message or event."""
        openid = sender(message)
        session_key = bounded(openid)
        session = Session.load(await self.sessions.get(session_key))
        before = session.dump()
        user_id = await self.users.user_id(openid, self.app.clock())
        who = Who(WECHAT.name, user_id, user_id)
        texts = self.conversation.content.ui.wechat
        current = CURRENT_OPENID.set(openid)  # links made while answering are this user's
        try:
            reply = await self._reply(message, session, who)
        finally:
            CURRENT_OPENID.reset(current)
        if reply is None:  # "继续": the next part of a long answer
            text = session.rest.pop(0) if session.rest else texts.no_more.strip()
        elif not reply.messages:  # nothing to say (unfollowed, or ignored by the flood guard)
            text = ""
        else:
            parts, choices = render(reply, texts)
            if choices:
                session.choices = choices
            session.rest = parts[1:]
            text = parts[0]
        # Saved after every change, and on every use of a live session (its lifetime runs
        # from the last message); an empty session that stays empty is not written.
        if session.choices or session.rest or before != session.dump():
            await self.sessions.put(session_key, session.dump())
        return text

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
        if text in texts.calendar_words.split():  # "日历": the phone's calendar (/ics)
            return await conversation.command("ics", who) or conversation.unknown_command()
        number = _choice_number(text)
        if number is not None and 1 <= number <= len(session.choices):
            return await conversation.action(session.choices[number - 1].action, who)
        return await conversation.text(text, who)

    async def _event(self, message: Any, who: Who) -> Reply:
        conversation = self.conversation
        event = message.event  # wechatpy: "subscribe_scan" / "scan" for a QR code with a scene
        if event in ("subscribe", "subscribe_scan"):
            await self.app.audience.followed(WECHAT.name, who.user_id)
        if event in ("subscribe", "subscribe_scan", "scan"):
            # A QR code's scene (EventKey, "qrscene_" already cut) opens what it names, as a
            # Telegram deep link does; a plain follow or an unknown scene: the welcome.
            scene = raw_field(message, "EventKey").strip() if event != "subscribe" else ""
            reply = await conversation.command("start", who, scene)
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


def shared_key(key: tuple[str, ...]) -> str:
    """A :func:`retry_key` as the key of its ``wechat_msg`` row (JSON, unambiguous)."""
    return bounded(json.dumps(list(key), ensure_ascii=False, separators=(",", ":")))


def bounded(key: str) -> str:
    """``key`` itself, or when longer than :data:`MAX_KEY` its sha256 (indexes have limits,
    and a signed body may carry any length)."""
    if len(key) <= MAX_KEY:
        return key
    return "sha256:" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


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
