"""Telegram webhook mode: several replicas behind a load balancer share the updates.

Each replica serves ``POST <path of BOT_WEBHOOK_URL>`` with aiohttp and registers the URL
with ``setWebhook`` at start (the same URL, secret and options on every replica, so starting
one more changes nothing). Every request must carry the secret in
``X-Telegram-Bot-Api-Secret-Token`` (compared in constant time); anything else gets 403 and
is never parsed.

An update is acknowledged (HTTP 200) once its first message went out (the user has their
answer), or once its handling ended if it sends nothing; the rest of the handling goes on
after the acknowledgement. A replica killed before that never acknowledged the update, so
Telegram delivers it again, through the load balancer, to a replica that lives: every user
gets an answer, and at most the updates in flight on the dead replica are answered twice. A
replica killed between an update's first message and a later one loses the later one (the
welcome's subscription offer, say). Waiting for the whole handling instead held each of
Telegram's connections (at most ``max_connections``, 100) through every message of an
update, and halved the rate at which a burst of users got their first answer
(bench/replicas.py, README "Replicas"). Handling goes through the same bounded, chat-fair
update processor as long polling (``updates.py``).

``GET /healthz`` answers 200 for the load balancer's checks.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
from urllib.parse import urlsplit

from aiohttp import web
from telegram import Update
from telegram.ext import Application

from bot.channels.telegram.limiter import ANSWERED

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_BODY = 1 << 20  # an update is a few KiB; anything near this is not from Telegram
HEALTH_PATH = "/healthz"
DRAIN_TIMEOUT = 20.0  # seconds acknowledged updates may take to finish at shutdown


def derived_secret(token: str) -> str:
    """The webhook secret when none is configured: the same on every replica with this token,
    useless to anyone without it (Telegram allows ``A-Za-z0-9_-``, up to 256 characters)."""
    return hmac.new(token.encode(), b"telegram-webhook-secret", hashlib.sha256).hexdigest()


def webhook_path(url: str) -> str:
    """The path this server answers on: the path of the public URL (``/`` when it has none)."""
    return urlsplit(url).path or "/"


class WebhookServer:
    """The HTTP endpoint Telegram (through the load balancer) posts updates to."""

    def __init__(
        self, application: Application, *, path: str, secret: str, host: str, port: int
    ) -> None:
        self.application = application
        self.path = path
        self._secret = secret.encode()
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None
        self.handled = 0
        self.refused = 0
        self._handling: set[asyncio.Task[None]] = set()  # acknowledged, still being handled

    def web_app(self) -> web.Application:
        """The aiohttp application (tests may serve it themselves)."""
        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_post(self.path, self._update)
        app.router.add_get(HEALTH_PATH, self._health)
        return app

    async def start(self) -> None:
        """Listen on ``host:port``."""
        self._runner = web.AppRunner(self.web_app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        log.info("serving Telegram webhooks on %s:%d%s", self.host, self.port, self.path)

    async def stop(self) -> None:
        """Stop accepting requests; requests being handled finish first (aiohttp's grace)."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def _health(self, request: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def _update(self, request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, self._secret):
            self.refused += 1
            log.warning("webhook request without the right secret from %s", request.remote)
            return web.Response(status=403)
        try:
            data = json.loads(await request.read())
            if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
                raise ValueError("not an update")
            update = Update.de_json(data, self.application.bot)
        except (ValueError, TypeError, KeyError) as exc:
            log.warning("webhook request with an unreadable update: %s", type(exc).__name__)
            return web.Response(status=400)
        processor = self.application.update_processor
        answered = asyncio.Event()
        token = ANSWERED.set(answered)  # the handling task copies this context
        try:
            handling = asyncio.create_task(
                processor.process_update(update, self.application.process_update(update))
            )
        finally:
            ANSWERED.reset(token)
        self._handling.add(handling)
        handling.add_done_callback(self._handling.discard)
        told = asyncio.create_task(answered.wait())
        try:
            await asyncio.wait({handling, told}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            told.cancel()
        self.handled += 1
        return web.Response(status=200)

    async def drain(self) -> None:
        """Let updates already acknowledged finish their handling (at shutdown), for at most
        :data:`DRAIN_TIMEOUT` seconds."""
        if self._handling:
            await asyncio.wait(set(self._handling), timeout=DRAIN_TIMEOUT)


async def serve_webhook(
    application: Application,
    *,
    url: str,
    secret: str,
    host: str,
    port: int,
    max_connections: int,
) -> None:
    """Run ``application`` on webhooks until cancelled, in PTB's own start/stop order.

    ``setWebhook`` is called with the secret at every start; the webhook is left in place at
    stop, since the other replicas still serve it.
    """
    server = WebhookServer(application, path=webhook_path(url), secret=secret, host=host, port=port)
    await application.initialize()
    try:
        if application.post_init:
            await application.post_init(application)
        await application.start()
        try:
            await server.start()  # listening before Telegram is told where to post
            await application.bot.set_webhook(
                url=url,
                secret_token=secret,
                allowed_updates=Update.ALL_TYPES,
                max_connections=max_connections,
            )
            await asyncio.Event().wait()  # until cancelled (SIGTERM / SIGINT)
        finally:
            with contextlib.suppress(Exception):
                await server.stop()
            await server.drain()
            await application.stop()
            if application.post_stop:
                await application.post_stop(application)
    finally:
        await application.shutdown()
        if application.post_shutdown:
            await application.post_shutdown(application)
