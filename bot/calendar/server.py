"""The calendar links over HTTP (aiohttp): the feed with ETag caching, the one-time file.

The routes join the WeChat callback's application, or run in a small server of their own
beside the Telegram bot (:class:`CalendarServer`). Whatever is wrong with a token (unknown,
revoked, expired, used up, malformed) the answer is the same bare 404. Requests are limited
per address (every request) and per token; past a limit the answer is 429 with
``Retry-After``. No token ever reaches a log (aiohttp's access log stays off).
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import math
from collections import OrderedDict

from aiohttp import web

from bot.calendar.limits import Limit, RateLimiter
from bot.calendar.links import (
    FEED_DIR,
    FILE_DIR,
    CalendarLinks,
    FeedSource,
    token_hash,
    token_of,
)

log = logging.getLogger(__name__)

# A calendar app refreshes every 5 minutes at the most eager; a phone's browser downloads a
# file once or twice. An address may be many users behind one NAT.
PER_TOKEN = Limit(burst=20, every=30.0)
PER_ADDRESS = Limit(burst=120, every=1.0)
HEADERS = {
    "Cache-Control": "private, no-cache",  # keep it, but ask again (If-None-Match) each time
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
CALENDAR_TYPE = "text/calendar"
RENDERED = 256  # feeds kept rendered, by ETag (for apps that never send If-None-Match)


class CalendarRoutes:
    """The two GET routes and their limits."""

    def __init__(
        self,
        links: CalendarLinks,
        *,
        per_token: Limit = PER_TOKEN,
        per_address: Limit = PER_ADDRESS,
        rendered: int = RENDERED,
    ) -> None:
        self.links = links
        self.tokens = RateLimiter(per_token)
        self.addresses = RateLimiter(per_address)
        self.rendered = rendered
        self._bytes: OrderedDict[str, bytes] = OrderedDict()

    def add_to(self, app: web.Application) -> None:
        """Serve the links on ``app`` (under the public URL's path)."""
        base = self.links.base_path
        app.router.add_get(f"{base}{FILE_DIR}{{token}}", self.download, allow_head=False)
        app.router.add_get(f"{base}{FEED_DIR}{{token}}", self.feed)

    def web_app(self) -> web.Application:
        """An application serving only the links."""
        app = web.Application(client_max_size=4096)
        self.add_to(app)
        return app

    async def feed(self, request: web.Request) -> web.StreamResponse:
        """The subscription: 304 when the calendar app already has this version."""
        token, refused = self._admit(request)
        if token is None:
            return refused
        feed = await self.links.feed(token)
        if feed is None:
            return _not_found()
        etag = f'"{feed.etag}"'
        headers = {**HEADERS, "ETag": etag}
        if _matches(request.headers.get("If-None-Match", ""), etag):
            return web.Response(status=304, headers=headers)
        return _calendar(await self._render(feed), headers, "inline")

    async def download(self, request: web.Request) -> web.StreamResponse:
        """The one-time file (each fetch counts)."""
        token, refused = self._admit(request)
        if token is None:
            return refused
        feed = await self.links.download(token)
        if feed is None:
            return _not_found()
        return _calendar(await self._render(feed), dict(HEADERS), "attachment")

    async def _render(self, feed: FeedSource) -> bytes:
        """The feed's bytes: kept from an earlier request with the same ETag, or written out
        in a worker thread (50 events take milliseconds the event loop should not wait)."""
        body = self._bytes.pop(feed.etag, None)
        if body is None:
            body = await asyncio.to_thread(lambda: feed.build().to_ical())
        if self.rendered:
            self._bytes[feed.etag] = body
            while len(self._bytes) > self.rendered:
                self._bytes.popitem(last=False)
        return body

    def _admit(self, request: web.Request) -> tuple[str | None, web.Response]:
        """The token to look up, or None and the answer (429, 404) when there is none."""
        wait = self.addresses.allow(client_address(request))
        token = token_of(request.match_info.get("token", ""))
        if not wait and token is not None:
            wait = self.tokens.allow(token_hash(token))
        if wait:
            retry = str(max(1, math.ceil(wait)))
            return None, web.Response(status=429, headers={**HEADERS, "Retry-After": retry})
        return token, _not_found()


def _not_found() -> web.Response:
    return web.Response(status=404, headers=HEADERS)


def _calendar(body: bytes, headers: dict[str, str], disposition: str) -> web.Response:
    headers["Content-Disposition"] = f'{disposition}; filename="reminders.ics"'
    return web.Response(body=body, content_type=CALENDAR_TYPE, charset="utf-8", headers=headers)


def _matches(if_none_match: str, etag: str) -> bool:
    """RFC 9110's weak comparison of ``If-None-Match`` with our ETag."""
    for tag in if_none_match.split(","):
        tag = tag.strip()
        if tag == "*" or tag.removeprefix("W/") == etag:
            return True
    return False


def client_address(request: web.Request) -> str:
    """The client's address: the peer, or behind a local reverse proxy (a loopback or
    private peer) the last address it added to ``X-Forwarded-For``."""
    peer = request.remote or ""
    forwarded = request.headers.get("X-Forwarded-For", "")
    if forwarded and _local(peer):
        return forwarded.rsplit(",", 1)[-1].strip() or peer
    return peer


def _local(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return ip.is_loopback or ip.is_private


class CalendarServer:
    """The links served on their own port (beside Telegram long polling or webhooks)."""

    def __init__(self, routes: CalendarRoutes, host: str, port: int) -> None:
        self.routes = routes
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        """Listen on ``host:port``."""
        self._runner = web.AppRunner(self.routes.web_app(), access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()
        log.info("serving calendar links on %s:%d", self.host, self.port)

    async def stop(self) -> None:
        """Stop listening (safe to call twice)."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
