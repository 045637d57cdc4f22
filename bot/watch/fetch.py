"""Polite fetching of official notice pages: one aiohttp session, conditional requests.

Government sites are slow, often overloaded on release days and sometimes guarded by a WAF, so
the watcher identifies itself (:data:`USER_AGENT`, with a contact), sends ``If-None-Match`` /
``If-Modified-Since`` so an unchanged page costs the site a 304, reads at most ``max_bytes`` of
a body and never retries on its own: :meth:`Fetcher.fetch` returns a :class:`Fetched` whatever
happens (a network error is status 0), and the scheduler waits :func:`backoff` seconds before
the next try.

Bodies are decoded by :func:`bot.watch.charset.decode`.
"""

from __future__ import annotations

import asyncio
import email.utils
import errno
import logging
import math
import re
import socket
import time
from dataclasses import dataclass
from types import TracebackType
from typing import Self

import aiohttp

from bot.watch.charset import decode

log = logging.getLogger(__name__)

# No public project page exists yet: operators set `contact` in content/watch.yaml.
DEFAULT_CONTACT = ""
MIN_INTERVAL_MINUTES = 10  # the shortest polling interval content may set (watch_models)
TIMEOUT = 20.0  # seconds for a whole request, body included
MAX_BYTES = 2 * 1024 * 1024  # a notice list is a few hundred KiB at most
MAX_REDIRECTS = 5
MAX_BACKOFF = 6 * 3600.0  # seconds: the exponential back-off stops growing here
MAX_RETRY_AFTER = 24 * 3600.0  # seconds: a longer Retry-After is treated as this
_CHUNK = 64 * 1024


def user_agent(contact: str = DEFAULT_CONTACT) -> str:
    """The User-Agent naming the bot, saying it watches notices, and how to reach its operator.

    ``contact`` is a URL or an e-mail address (empty: none is shown). Characters that do not
    belong in a header comment (controls, spaces, parentheses, non-ASCII) are dropped, so
    content cannot break or inject headers.
    """
    cleaned = re.sub(r"[^\x21-\x7e]|[()\\;]", "", contact or "")
    reach = f"+{cleaned}; " if cleaned else ""
    return (
        f"exam-score-bot-notice-watcher/1.0 ({reach}notice watcher; "
        f"polls every >={MIN_INTERVAL_MINUTES} min)"
    )


USER_AGENT = user_agent()


@dataclass(frozen=True)
class Fetched:
    """What one request gave: the decoded page, the validators to send next time, or an error.

    ``status`` is the HTTP status, 0 when no response arrived (network error, timeout). ``text``
    is set only for a successful (2xx) response within the size limit. On a 304 ``etag`` and
    ``last_modified`` are those the server sent or, when it left them out, those the request
    sent, so the caller can always store what it gets. ``retry_after`` (seconds) comes with a
    429 or 503 that said when to come back. ``error`` is a short reason, None on success and
    on 304: "timeout", "connection refused", "HTTP 503", "too large" (the status stays the
    server's, e.g. 200), "too many redirects"... ``final_url`` is the URL after redirects:
    resolve relative links against it.
    """

    status: int
    text: str | None
    etag: str | None
    last_modified: str | None
    retry_after: float | None
    error: str | None
    final_url: str

    @property
    def not_modified(self) -> bool:
        """The page is unchanged since the validators sent (304)."""
        return self.status == 304

    @property
    def ok(self) -> bool:
        """A page arrived and was decoded (``text`` is set)."""
        return self.error is None and self.text is not None


def _failed(url: str, error: str, status: int = 0, retry_after: float | None = None) -> Fetched:
    return Fetched(status, None, None, None, retry_after, error, url)


class Fetcher:
    """One HTTP session for every watched page; use as ``async with Fetcher() as fetcher``.

    ``contact`` goes into the User-Agent (see :func:`user_agent`). ``timeout`` bounds a whole
    request in seconds, ``max_bytes`` the (decompressed) body, ``max_redirects`` the redirects
    followed. ``trust_env`` lets aiohttp use HTTP(S)_PROXY from the environment. At most two
    connections go to one host at a time.
    """

    def __init__(
        self,
        *,
        contact: str = DEFAULT_CONTACT,
        timeout: float = TIMEOUT,
        max_bytes: int = MAX_BYTES,
        max_redirects: int = MAX_REDIRECTS,
        trust_env: bool = False,
    ) -> None:
        self.user_agent = user_agent(contact)
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.max_redirects = max_redirects
        self._trust_env = trust_env
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Self:
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=8, limit_per_host=2),
            timeout=aiohttp.ClientTimeout(total=self.timeout),
            headers={
                "User-Agent": self.user_agent,
                "Accept-Language": "zh-CN",
                "Accept": (
                    "text/html,application/xhtml+xml,application/rss+xml,"
                    "application/atom+xml,application/xml;q=0.9,*/*;q=0.8"
                ),
            },
            trust_env=self._trust_env,
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def fetch(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None
    ) -> Fetched:
        """GET ``url`` once, conditionally when validators are given; never raises for
        network or HTTP problems (see :class:`Fetched`)."""
        if self._session is None:
            raise RuntimeError("Fetcher used outside 'async with'")
        headers: dict[str, str] = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        try:
            async with self._session.get(
                url, headers=headers, max_redirects=self.max_redirects
            ) as response:
                final_url = str(response.url)
                status = response.status
                new_etag = response.headers.get("ETag")
                new_modified = response.headers.get("Last-Modified")
                if status == 304:
                    return Fetched(
                        status=304,
                        text=None,
                        etag=new_etag or etag,
                        last_modified=new_modified or last_modified,
                        retry_after=None,
                        error=None,
                        final_url=final_url,
                    )
                if not 200 <= status < 300:
                    retry_after = None
                    if status in (429, 503):
                        retry_after = parse_retry_after(response.headers.get("Retry-After"))
                    return _failed(final_url, f"HTTP {status}", status, retry_after)
                if (response.content_length or 0) > self.max_bytes:
                    return _failed(final_url, "too large", status)
                body = bytearray()
                async for chunk in response.content.iter_chunked(_CHUNK):
                    body.extend(chunk)
                    if len(body) > self.max_bytes:
                        return _failed(final_url, "too large", status)
                content_type = response.headers.get("Content-Type")
        except (aiohttp.ClientError, TimeoutError, OSError, ValueError) as exc:
            reason = _reason(exc)
            log.debug("fetching %s failed: %s (%r)", url, reason, exc)
            return _failed(url, reason)
        # Detection may take a while on a large page: keep it off the event loop.
        text = await asyncio.to_thread(decode, bytes(body), content_type)
        return Fetched(status, text, new_etag, new_modified, None, None, final_url)


def _reason(exc: BaseException) -> str:
    """A short reason for a failed request, for logs and the admins."""
    if isinstance(exc, TimeoutError):  # ServerTimeoutError and ConnectionTimeoutError too
        return "timeout"
    if isinstance(exc, aiohttp.TooManyRedirects):
        return "too many redirects"
    if isinstance(exc, aiohttp.RedirectClientError):
        return "bad redirect"
    if isinstance(exc, aiohttp.NonHttpUrlClientError):
        return "not an http(s) URL"
    if isinstance(exc, aiohttp.InvalidURL):
        return "invalid URL"
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return "TLS certificate error"
    if isinstance(exc, aiohttp.ClientSSLError):
        return "TLS error"
    if isinstance(exc, aiohttp.ClientConnectorDNSError) or (
        isinstance(exc, aiohttp.ClientConnectorError) and isinstance(exc.os_error, socket.gaierror)
    ):
        return "DNS lookup failed"
    if isinstance(exc, aiohttp.ClientConnectorError):
        if isinstance(exc.os_error, ConnectionRefusedError):
            return "connection refused"
        return "cannot connect"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "server disconnected"
    if isinstance(exc, aiohttp.ClientPayloadError):
        return "broken response body"
    if isinstance(exc, aiohttp.ClientResponseError):
        return "bad HTTP response"
    if isinstance(exc, ConnectionResetError) or getattr(exc, "errno", None) == errno.ECONNRESET:
        return "connection reset"
    if isinstance(exc, OSError) and exc.strerror:
        return f"network error: {exc.strerror}"
    if isinstance(exc, ValueError):
        return "invalid URL"
    return f"network error: {type(exc).__name__}"


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP-date.

    None when absent or unreadable; a date in the past gives 0. ``now`` (a Unix time) is for
    tests.
    """
    if not value:
        return None
    value = value.strip()
    if re.fullmatch(r"\d+(\.\d+)?", value):
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


def backoff(failures: int, retry_after: float | None, interval: float) -> float:
    """Seconds to wait before the next request to a page.

    ``failures`` counts the consecutive failed fetches so far (0 after a success), ``interval``
    is the page's normal interval in seconds. The wait is never shorter than the interval,
    doubles with each consecutive failure up to :data:`MAX_BACKOFF` (6 h; an interval longer
    than that is kept), and is at least a Retry-After the site sent (honoured up to
    :data:`MAX_RETRY_AFTER`). No jitter: the caller may add some.
    """
    interval = max(0.0, interval)
    exponent = min(max(failures, 0), 32)  # 2**32 intervals is far past the cap anyway
    wait = max(interval, min(interval * 2.0**exponent, MAX_BACKOFF))
    if retry_after is not None and math.isfinite(retry_after) and retry_after > 0:
        wait = max(wait, min(retry_after, MAX_RETRY_AFTER))
    return wait
