"""A tiny round-robin HTTP load balancer for tests and benchmarks of several bot replicas.

It stands where nginx would in front of the replicas' webhook servers: an aiohttp server on
``127.0.0.1`` (a free port) that forwards each request (method, path with query string,
headers such as ``X-Telegram-Bot-Api-Secret-Token``, body) to the next backend in turn and
answers with the backend's status, content type and body.

When a backend refuses the connection or the connection breaks before an answer arrived, the
request goes to the next backend, like nginx's ``proxy_next_upstream error`` (with
``non_idempotent``: nginx by default would not resend a POST it already sent; set
``retry_sent=False`` for that), and the failed backend is skipped for ``down_for`` seconds
(nginx: ``max_fails=1 fail_timeout=...``). If every backend is down they are all tried anyway,
so delivery resumes as soon as one comes back. A backend that answers, whatever the status, is
not retried elsewhere; no backend answering at all gives 502, a backend timeout 504.

Connections to the backends are not kept alive (nginx's default), so a stopped replica shows
up as a refused connection rather than as a stale pooled one.

Usage::

    async with Balancer(["http://127.0.0.1:8081", "http://127.0.0.1:8082"]) as lb:
        webhook_url = lb.url + "/telegram"
        ...
    lb.requests  # Counter: requests answered per backend

or ``await lb.start()`` / ``await lb.stop()``; from a shell:
``python -m tests.balancer --port 8080 http://127.0.0.1:8081 http://127.0.0.1:8082``.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import time
from collections.abc import Callable, Sequence
from typing import Self

import aiohttp
from aiohttp import web

__all__ = ["Balancer", "main"]

# Headers that belong to one connection and must not be forwarded (RFC 9110, section 7.6.1),
# plus the ones the client sets itself for the new request.
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
    }
)


class Balancer:
    """Round-robin reverse proxy over ``backends`` (base URLs such as ``http://127.0.0.1:8081``).

    Args:
        backends: base URLs; a request for ``/path?q`` goes to ``backend + "/path?q"``.
        host: interface to bind (keep the default: only loopback).
        port: 0 picks a free port.
        down_for: seconds a backend that failed is skipped.
        timeout: seconds a backend may take to answer before the client gets 504.
        retry_sent: also try the next backend when the connection broke after the request
            was sent (the backend may have processed it: at-least-once, like Telegram).
        clock: monotonic clock for the down periods (injectable for tests).

    Attributes:
        requests: requests answered by each backend (any status), by backend URL.
        failures: connection failures per backend (each marked it down).
        down_until: per backend, the clock time until which it is skipped.
        unanswered: requests no backend answered (answered 502 or 504).
    """

    def __init__(
        self,
        backends: Sequence[str],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        down_for: float = 3.0,
        timeout: float = 60.0,
        retry_sent: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not backends:
            raise ValueError("at least one backend is needed")
        self.backends = [b.rstrip("/") for b in backends]
        self.host = host
        self.port = port
        self.down_for = down_for
        self.timeout = timeout
        self.retry_sent = retry_sent
        self.clock = clock
        self.requests: collections.Counter[str] = collections.Counter()
        self.failures: collections.Counter[str] = collections.Counter()
        self.down_until: dict[str, float] = {}
        self.unanswered = 0
        self._next = 0
        self._runner: web.AppRunner | None = None
        self._http: aiohttp.ClientSession | None = None

    @property
    def url(self) -> str:
        """Base URL of the balancer, e.g. ``http://127.0.0.1:41234`` (append a path)."""
        return f"http://{self.host}:{self.port}"

    @property
    def total(self) -> int:
        """Requests answered by any backend."""
        return sum(self.requests.values())

    def is_down(self, backend: str) -> bool:
        """Whether ``backend`` is currently skipped after a failure."""
        return self.down_until.get(backend.rstrip("/"), float("-inf")) > self.clock()

    def order(self) -> list[str]:
        """Backends in the order the next request tries them (advances the round robin).

        The rotation runs over the backends that are up; those marked down go last, so they
        are tried only when every other one failed.
        """
        live = [b for b in self.backends if not self.is_down(b)]
        down = [b for b in self.backends if self.is_down(b)]
        turn = self._next
        self._next += 1
        live = live[turn % len(live) :] + live[: turn % len(live)] if live else []
        return live + down

    async def start(self) -> None:
        """Bind and start serving."""
        self._http = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0, force_close=True),
            auto_decompress=False,
        )
        app = web.Application(client_max_size=50 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._forward)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        """Stop serving and close the connections to the backends."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._http is not None:
            await self._http.close()
            self._http = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        assert self._http is not None
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP}
        timeout = aiohttp.ClientTimeout(total=self.timeout)
        for backend in self.order():
            answered = False
            try:
                async with self._http.request(
                    request.method,
                    backend + request.raw_path,
                    data=body,
                    headers=headers,
                    timeout=timeout,
                    allow_redirects=False,
                ) as response:
                    answered = True
                    answer = await response.read()
                    status, content_type = response.status, response.headers.get("Content-Type")
            except TimeoutError:
                self.unanswered += 1
                return web.Response(status=504, text="backend timed out")
            except aiohttp.ClientConnectorError:
                self._mark_down(backend)
                continue
            except (aiohttp.ClientError, OSError):
                # Broken after connecting: the request may have reached the backend.
                self._mark_down(backend)
                if answered or not self.retry_sent:
                    self.unanswered += 1
                    return web.Response(status=502, text="backend connection broke")
                continue
            self.requests[backend] += 1
            out = web.Response(status=status, body=answer)
            if content_type is not None:
                out.headers["Content-Type"] = content_type
            return out
        self.unanswered += 1
        return web.Response(status=502, text="no backend answered")

    def _mark_down(self, backend: str) -> None:
        self.failures[backend] += 1
        self.down_until[backend] = self.clock() + self.down_for


async def _serve(args: argparse.Namespace) -> None:
    async with Balancer(
        args.backends, host=args.host, port=args.port, down_for=args.down_for
    ) as balancer:
        print(f"balancing {balancer.url} over {', '.join(balancer.backends)}", flush=True)
        try:
            await asyncio.Event().wait()
        finally:
            print(f"requests per backend: {dict(balancer.requests)}", flush=True)


def main(argv: Sequence[str] | None = None) -> None:
    """Run a balancer until interrupted (Ctrl-C)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("backends", nargs="+", help="backend base URLs")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0: a free port")
    parser.add_argument("--down-for", type=float, default=3.0)
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args))


if __name__ == "__main__":
    main()
