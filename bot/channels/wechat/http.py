"""The Official Account's server callback over HTTP (aiohttp): signatures, safe mode, routes.

Every request's signature is checked (403 and nothing processed when it is wrong). In safe
mode (encrypt_type=aes) bodies are decrypted and replies encrypted with wechatpy. Bodies over
64 KiB get 413, malformed XML 400. What a message means is the adapter's business.
"""

from __future__ import annotations

import asyncio
import html
import logging

from aiohttp import web
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidSignatureException
from wechatpy.utils import check_signature

from bot.channels.wechat.adapter import WeChatAdapter
from bot.channels.wechat.config import WeChatSettings
from bot.content import ContentStore
from bot.storage import WeChatUserRepo

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024  # WeChat messages are small; anything bigger is refused (413)


class CallbackServer:
    """The aiohttp routes of the callback URL."""

    def __init__(
        self,
        settings: WeChatSettings,
        adapter: WeChatAdapter,
        users: WeChatUserRepo,
        store: ContentStore,
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

    def app(self) -> web.Application:
        """The aiohttp application serving the callback path."""
        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_get(self.settings.path, self.verify)
        app.router.add_post(self.settings.path, self.receive)
        app.router.add_get(self.settings.path + "/subscribed", self.subscribed)
        return app

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
        except Exception as exc:  # malformed XML, bad padding, undecodable bytes
            log.info("malformed WeChat request: %s", type(exc).__name__)
            return web.Response(status=400, text="malformed message")
        reply_xml = await self.adapter.once(message)
        if aes and self.crypto is not None:
            reply_xml = self.crypto.encrypt_message(
                reply_xml, q.get("nonce", ""), q.get("timestamp", "")
            )
        return web.Response(text=reply_xml, content_type="application/xml")

    async def subscribed(self, request: web.Request) -> web.Response:
        """WeChat's redirect after the user confirmed (or cancelled) a subscription message."""
        q = request.query
        texts = self.store.current.ui.wechat
        confirmed = (
            q.get("action") == "confirm"
            and q.get("template_id") == self.settings.subscribe_template_id
            and bool(q.get("openid"))
        )
        if confirmed:
            await self.users.grant(q["openid"])
        page = texts.subscribe_done if confirmed else texts.subscribe_cancelled
        body = f"<!doctype html><meta charset=utf-8><p>{html.escape(page.strip())}</p>"
        return web.Response(text=body, content_type="text/html")

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
