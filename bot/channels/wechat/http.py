"""The Official Account's server callback over HTTP (aiohttp): signatures, safe mode, routes.

Every request's signature, timestamp and nonce are checked (see :mod:`.replay`): a wrong
signature, a timestamp more than 5 minutes from now or a replayed nonce get 403, a signed
but malformed timestamp 400, with an empty body and nothing processed. In safe mode
(encrypt_type=aes) bodies are decrypted and replies encrypted with wechatpy. Bodies over
64 KiB get 413, malformed XML 400. A signed body that is XML but holds no message one can
answer (empty, or without a sender) gets WeChat's "success" (no reply, and no retries,
which any other status would cause) and a log line. What a message means is the adapter's
business.

Nothing a later request needs is kept in this process: nonces seen, sessions and answered
messages are in the database every replica shares, so identical replicas may serve the
callback behind a load balancer. A retry of a message another replica is still answering,
whose reply does not come within WeChat's 5 s, gets 503 with an empty body, so that WeChat
sends it once more instead of taking it as answered (see :mod:`.adapter`).

The subscription redirect is checked by :mod:`.subscribe`. The calendar links of /ics
(``BOT_PUBLIC_URL``) are served by the same application (:mod:`bot.calendar.server`).
"""

from __future__ import annotations

import asyncio
import html
import logging
import time
from collections.abc import Callable

from aiohttp import web
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidSignatureException

from bot.calendar.server import CalendarRoutes
from bot.channels.wechat.adapter import Unanswered, WeChatAdapter, sender
from bot.channels.wechat.config import WeChatSettings
from bot.channels.wechat.replay import ReplayGuard, Verdict, utc_clock
from bot.channels.wechat.subscribe import read_redirect
from bot.content import ContentStore
from bot.storage import WeChatUserRepo
from bot.storage.state import SharedState

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024  # WeChat messages are small; anything bigger is refused (413)


class CallbackServer:
    """The aiohttp routes of the callback URL.

    ``clock`` (Unix time) dates signatures; the nonces seen are kept in ``users``' database
    (shared by every replica), expiring by the same clock.
    """

    def __init__(
        self,
        settings: WeChatSettings,
        adapter: WeChatAdapter,
        users: WeChatUserRepo,
        store: ContentStore,
        clock: Callable[[], float] = time.time,
        calendar: CalendarRoutes | None = None,
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
        self.adapter = adapter
        self.users = users
        self.store = store
        self.guard = ReplayGuard(self.token, SharedState(users.db, utc_clock(clock)), clock)
        self.calendar = calendar  # the calendar links (/ics) served beside the callback

    def app(self) -> web.Application:
        """The aiohttp application serving the callback path."""
        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_get(self.settings.path, self.verify)
        app.router.add_post(self.settings.path, self.receive)
        app.router.add_get(self.settings.path + "/subscribed", self.subscribed)
        if self.calendar is not None:
            self.calendar.add_to(app)
        return app

    def _signed(self, request: web.Request) -> Verdict:
        q = request.query
        return self.guard.signed(q.get("signature", ""), q.get("timestamp", ""), q.get("nonce", ""))

    async def _first_use(self, request: web.Request, body: bytes) -> Verdict:
        q = request.query
        return await self.guard.first_use(q["timestamp"], q.get("nonce", ""), body)

    @staticmethod
    def _refuse(request: web.Request, verdict: Verdict) -> web.Response:
        """Refused: the status only; the log says why (never the token or the query)."""
        log.warning("WeChat %s refused (%s) from %s", request.method, verdict.value, request.remote)
        return web.Response(status=verdict.status)

    async def verify(self, request: web.Request) -> web.Response:
        """URL verification: echo ``echostr`` when signature, timestamp and nonce are right."""
        echostr = request.query.get("echostr", "")
        verdict = self._signed(request)
        if verdict is Verdict.OK:
            verdict = await self._first_use(request, echostr.encode())
        if verdict is not Verdict.OK:
            return self._refuse(request, verdict)
        return web.Response(text=echostr)

    async def receive(self, request: web.Request) -> web.Response:
        """One message or event; the answer is the passive reply."""
        verdict = self._signed(request)
        if verdict is not Verdict.OK:
            return self._refuse(request, verdict)
        q = request.query
        body = await request.read()
        verdict = await self._first_use(request, body)
        if verdict is not Verdict.OK:
            return self._refuse(request, verdict)
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
        except InvalidSignatureException:  # safe mode: msg_signature does not match the body
            return self._refuse(request, Verdict.FORGED)
        except Exception as exc:  # malformed XML, bad padding, undecodable bytes
            log.info("malformed WeChat request: %s", type(exc).__name__)
            return web.Response(status=400)
        if message is None or not sender(message):
            # Signed, so from WeChat (or whoever holds the token): nobody to answer, and
            # anything but 200 would only bring the same body back three times.
            log.warning("unusable WeChat message (%s): answered success", _what(message))
            return web.Response(text="success")
        try:
            reply_xml = await self.adapter.once(message)
        except Unanswered:
            # Another replica is answering this message: not "success" (the message would
            # be lost) but an error without a body, so WeChat sends it once more.
            log.warning("WeChat retry still being answered elsewhere: answered 503")
            return web.Response(status=503)
        if not reply_xml:  # nothing to say: WeChat takes "success" as "no reply"
            return web.Response(text="success")
        if aes and self.crypto is not None:
            reply_xml = self.crypto.encrypt_message(
                reply_xml, q.get("nonce", ""), q.get("timestamp", "")
            )
        return web.Response(text=reply_xml, content_type="application/xml")

    async def subscribed(self, request: web.Request) -> web.Response:
        """WeChat's redirect after the user confirmed (or cancelled) a subscription message.

        A confirmation counts only with the ``reserved`` made for that openid; everything
        else gets a polite refusal (403) and changes nothing.
        """
        texts = self.store.current.ui.wechat
        redirect = read_redirect(request.query, self.settings)
        status = 200
        if redirect.outcome == "confirmed":
            await self.users.grant(redirect.openid)
            page = texts.subscribe_done
        elif redirect.outcome == "cancelled":
            page = texts.subscribe_cancelled
        else:
            log.warning("WeChat subscription redirect refused (%s)", redirect.why)
            page, status = texts.subscribe_refused, 403
        body = f"<!doctype html><meta charset=utf-8><p>{html.escape(page.strip())}</p>"
        return web.Response(text=body, content_type="text/html", status=status)

    async def serve(self) -> None:
        """Serve until cancelled (SIGINT/SIGTERM cancel the task)."""
        runner = web.AppRunner(self.app(), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self.settings.host, self.settings.port)
        await site.start()
        s = self.settings
        log.info("WeChat callback on http://%s:%d%s", s.host, s.port, s.path)
        try:
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()


def _what(message: object) -> str:
    """Why a parsed body cannot be answered, for the log (never its content)."""
    return "empty body" if message is None else f"{type(message).__name__} without a sender"
