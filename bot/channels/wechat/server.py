"""The Official Account's server callback (aiohttp): verify, decrypt, answer, deduplicate.

Every request's signature is checked (403 and nothing processed when it is wrong). In safe
mode (encrypt_type=aes) bodies are decrypted and replies encrypted with wechatpy. WeChat
retries a request it got no answer to within 5 s; a retry (same MsgId, or for events the
same sender and CreateTime) waits for and returns the first answer, never a second one.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidSignatureException, WeChatException
from wechatpy.replies import TextReply
from wechatpy.utils import check_signature

from bot.channels.wechat.config import WeChatSettings
from bot.channels.wechat.render import render
from bot.conversation import Conversation, Who
from bot.delivery import Outcome, Result
from bot.replies import Button, Message, Reply
from bot.storage.wechat import WeChatUserRepo
from bot.textfmt import escape

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024  # WeChat messages are small; anything bigger is refused (413)
SEEN_TTL = 60.0  # WeChat retries within about 15 s
SEEN_MAX = 10_000
SESSION_TTL = 1800.0
REMINDER_COMMANDS = ("remind", "reminders", "ics")


@dataclass
class Session:
    """What a user can answer next: numbered choices and the rest of a long reply."""

    choices: list[Button] = field(default_factory=list)
    rest: list[str] = field(default_factory=list)
    at: float = field(default_factory=time.monotonic)


class WeChatBot:
    """Turns WeChat messages into core calls and core replies into passive text replies."""

    def __init__(
        self, settings: WeChatSettings, conversation: Conversation, users: WeChatUserRepo
    ) -> None:
        if settings.token is None:
            raise ValueError("WECHAT_TOKEN is required")
        self.settings = settings
        self.token = settings.token.get_secret_value()
        self.crypto = (
            WeChatCrypto(self.token, settings.aes_key.get_secret_value(), settings.app_id)
            if settings.aes_key is not None
            else None
        )
        self.conversation = conversation
        self.users = users
        self.push = settings.push != "none"
        self.sessions: OrderedDict[str, Session] = OrderedDict()
        self.seen: OrderedDict[tuple[Any, ...], asyncio.Future[str]] = OrderedDict()

    def app(self) -> web.Application:
        """The aiohttp application serving the callback path."""
        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_get(self.settings.path, self.verify)
        app.router.add_post(self.settings.path, self.receive)
        app.router.add_get(self.settings.path + "/subscribed", self.subscribed)
        return app

    def subscribe_link(self) -> str | None:
        """WeChat's page where a user confirms one subscription message (or None)."""
        s = self.settings
        if not (s.subscribe_template_id and s.subscribe_redirect_url and s.app_id):
            return None
        query = urlencode(
            {
                "action": "get_confirm",
                "appid": s.app_id,
                "scene": s.subscribe_scene,
                "template_id": s.subscribe_template_id,
                "redirect_url": s.subscribe_redirect_url,
                "reserved": "reminder",
            }
        )
        return f"https://mp.weixin.qq.com/mp/subscribemsg?{query}#wechat_redirect"

    async def subscribed(self, request: web.Request) -> web.Response:
        """WeChat's redirect after the user confirmed (or cancelled) a subscription message."""
        q = request.query
        texts = self.conversation.content.ui.wechat
        confirmed = (
            q.get("action") == "confirm"
            and q.get("template_id") == self.settings.subscribe_template_id
            and bool(q.get("openid"))
        )
        if confirmed:
            await self.users.grant(q["openid"])
        page = texts.subscribe_done if confirmed else texts.subscribe_cancelled
        html = f"<!doctype html><meta charset=utf-8><p>{escape(page.strip())}</p>"
        return web.Response(text=html, content_type="text/html")

    def _signed(self, request: web.Request) -> bool:
        q = request.query
        try:
            check_signature(
                self.token, q.get("signature", ""), q.get("timestamp", ""), q.get("nonce", "")
            )
        except InvalidSignatureException:
            return False
        return True

    async def verify(self, request: web.Request) -> web.Response:
        """URL verification: echo ``echostr`` when the signature is right."""
        if not self._signed(request):
            return web.Response(status=403, text="invalid signature")
        return web.Response(text=request.query.get("echostr", ""))

    async def receive(self, request: web.Request) -> web.Response:
        """One message or event; the answer is the passive reply."""
        if not self._signed(request):
            return web.Response(status=403, text="invalid signature")
        q = request.query
        body = await request.read()
        aes = q.get("encrypt_type") == "aes"
        try:
            if aes:
                if self.crypto is None:
                    return web.Response(status=400, text="safe mode is not configured")
                xml = self.crypto.decrypt_message(
                    body, q.get("msg_signature", ""), q.get("timestamp", ""), q.get("nonce", "")
                )
            else:
                xml = body.decode("utf-8")
            message = parse_message(xml)
        except InvalidSignatureException:
            return web.Response(status=403, text="invalid signature")
        except (WeChatException, ValueError, UnicodeDecodeError, Exception) as exc:
            log.info("malformed WeChat request: %s", type(exc).__name__)
            return web.Response(status=400, text="malformed message")
        reply_xml = await self._once(message)
        if aes and self.crypto is not None:
            reply_xml = self.crypto.encrypt_message(
                reply_xml, q.get("nonce", ""), q.get("timestamp", "")
            )
        return web.Response(text=reply_xml, content_type="application/xml")

    async def _once(self, message: Any) -> str:
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
        user_id = await self.users.user_id(openid, self.conversation.clock())
        who = Who(user_id, user_id)
        reply = await self._reply(message, session, who)
        if reply is None:  # "继续": the next part of a long answer
            texts = self.conversation.content.ui.wechat
            return session.rest.pop(0) if session.rest else texts.no_more.strip()
        parts, choices = render(reply, self.conversation.content.ui.wechat, reminders=True)
        if choices:
            session.choices = choices
        session.rest = parts[1:]
        return parts[0]

    async def _reply(self, message: Any, session: Session, who: Who) -> Reply | None:
        conversation = self.conversation
        texts = conversation.content.ui.wechat
        if message.type == "event":
            if message.event == "subscribe":
                if conversation.audience is not None:
                    await conversation.audience.followed(who.user_id)
                return conversation.start()
            if message.event == "unsubscribe":
                if conversation.audience is not None:
                    await conversation.audience.gone(who.user_id)
                return Reply.single(" ")
            if message.event == "click":
                return conversation.topic(str(message.key)) or conversation.menu()
            return conversation.menu()
        if message.type != "text":
            return conversation.free_text()
        text = str(message.content).strip()
        if text == texts.continue_word.strip():
            return None
        if text.lower() in texts.menu_words.split():
            return conversation.menu()
        if text.isdigit() and 1 <= int(text) <= len(session.choices):
            return await conversation.action(session.choices[int(text) - 1].action, who=who)
        name, _, args = text.lstrip("/").partition(" ")
        asks_reminder = name.lower() in REMINDER_COMMANDS
        if asks_reminder or conversation.store.matcher.match(text).topic == "remind":
            if name.lower() == "remind" or not asks_reminder:
                # Say how reminders reach a WeChat user before the first step of /remind.
                started = await conversation.command("remind", who=who, args=args)
                assert started is not None
                note_text = texts.push_note if self.push else texts.reminders_unavailable
                link = self.subscribe_link()
                if link is not None and self.push:
                    note_text = (
                        note_text.rstrip() + "\n" + texts.subscribe_note.replace("{link}", link)
                    )
                note = Message(note_text)
                return Reply((note, *started.messages))
            return await conversation.command(name.lower(), who=who, args=args)
        if text.startswith("/") or name.lower() == "release":
            reply = await conversation.command(name.lower(), who=who, args=args)
            return reply if reply is not None else conversation.unknown_command()
        return await conversation.question(text, who=who)


class NoPush:
    """The Sender for a WeChat account without push rights: nothing can be delivered.

    Customer-service messages (48 h after the user's last message) and subscription
    notifications need a verified service account and app credentials; until that is
    built, reminders are declined on WeChat with an honest explanation.
    """

    async def send(self, chat_id: int, reply: Reply) -> Result:
        """Not deliverable on this account."""
        return Result(Outcome.FAILED, reason="WeChat push is not available")

    async def copy(self, chat_id: int, from_chat_id: int, message_id: int) -> Result:
        """Not deliverable on this account."""
        return Result(Outcome.FAILED, reason="WeChat push is not available")

    async def edit(self, chat_id: int, message_id: int, reply: Reply) -> Result:
        """Not deliverable on this account."""
        return Result(Outcome.FAILED, reason="WeChat push is not available")


def menu_json(conversation: Conversation) -> dict[str, Any]:
    """The account's custom menu: CLICK buttons keyed by topic id, from the main menu.

    WeChat allows three top-level buttons with up to five entries each; the main menu's
    topics are split in order into as many groups as ui.yaml's wechat.menu_names names.
    """
    content = conversation.content
    names = content.ui.wechat.menu_names.split()[:3]
    topics = [topic for row in content.menu for topic in row]
    size = max(1, -(-len(topics) // max(1, len(names))))
    buttons: list[dict[str, Any]] = []
    for index, name in enumerate(names):
        group = topics[index * size : (index + 1) * size][:5]
        entries = [
            {"type": "click", "name": _plain(content.topics[t].button), "key": t} for t in group
        ]
        if len(entries) == 1:
            buttons.append(entries[0])
        elif entries:
            buttons.append({"name": name, "sub_button": entries})
    return {"button": buttons}


def _plain(label: str) -> str:
    """A button label without its leading emoji (menus show text only)."""
    return label.split(" ", 1)[-1] if " " in label else label


async def serve(
    settings: WeChatSettings, conversation: Conversation, users: WeChatUserRepo
) -> None:
    """Serve the callback until cancelled (SIGINT/SIGTERM stop the event loop's task)."""
    runner = web.AppRunner(WeChatBot(settings, conversation, users).app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, settings.host, settings.port)
    await site.start()
    log.info("WeChat callback on http://%s:%d%s", settings.host, settings.port, settings.path)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
