"""Calendar feed benchmark: feed requests per second for a user with 50 reminders.

The question: what does a calendar app's refresh cost the bot, when it sends the ETag it got
last time (304, nothing rendered) and when it does not (200, the whole feed)?

1. Builds a SQLite database in a temporary directory: one WeChat user sets 50 reminders
   through the real conversation (``/remind 2027-... 交材料N``, three alerts each), and gets a
   calendar link (``CalendarLinks.issue``), as /ics does.
2. Starts a server process (this script with ``--serve``): the bot assembled as ``python -m
   bot wechat`` assembles it, the calendar routes (``bot/calendar/server.py``) on 127.0.0.1,
   rate limits lifted (they would stop a benchmark after 20 requests). With ``--no-cache``
   the server renders the feed on every 200 instead of keeping it by ETag.
3. This process fires ``--requests`` GETs, ``--concurrency`` in flight on keep-alive
   connections, after ``--warmup`` ones, and checks every answer (status, ETag, body size).
   Server CPU is read from /proc before and after.

Cases: ``304`` (``If-None-Match`` matches), ``200 cached`` (no ``If-None-Match``; the
rendered feed kept by ETag), ``200 rendered`` (``--no-cache`` server), and the baseline
``bare aiohttp``: a handler answering the same bytes from memory (HTTP alone).

    .venv/bin/python bench/ics.py                     # 3000 requests per case, 16 in flight
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.app import assemble  # noqa: E402
from bot.calendar.limits import Limit  # noqa: E402
from bot.calendar.server import CalendarRoutes  # noqa: E402
from bot.channels import CHANNELS  # noqa: E402
from bot.channels.wechat.runtime import NoPush  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.content import ContentStore  # noqa: E402
from bot.core.router import Who  # noqa: E402

UNLIMITED = Limit(burst=10**9, every=1e-9)
# is_admin: the flood guard lets the one user type 50 reminders within a second.
WHO = Who("wechat", 1, 1, is_admin=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def settings(db: Path, base: str) -> Settings:
    return Settings(db=db, public_url=base, content_dir=ROOT / "content")


async def prepare(db: Path, base: str, reminders: int) -> str:
    """A user with ``reminders`` reminders and their feed's URL."""
    store = ContentStore.open(ROOT / "content", CHANNELS)
    app = await assemble(settings(db, base), store, {"wechat": NoPush()}, broadcasts=False)
    try:
        for n in range(reminders):
            day = f"2027-{1 + n % 12:02d}-{1 + n // 12:02d} 09:00"
            reply = await app.conversation.command("remind", WHO, f"{day} 交材料{n}")
            text = "".join(m.text.plain_text for m in reply.messages) if reply else ""
            assert "已设置提醒" in text, (n, day, text)
        assert app.calendar is not None
        return (await app.calendar.issue(WHO.channel, WHO.user_id)).feed
    finally:
        await app.close()


async def serve(db: Path, base: str, port: int, cache: bool, bare: bytes | None) -> None:
    """The calendar routes (or, with ``bare``, a handler answering those bytes)."""
    store = ContentStore.open(ROOT / "content", CHANNELS)
    app = await assemble(settings(db, base), store, {"wechat": NoPush()}, broadcasts=False)
    assert app.calendar is not None
    routes = CalendarRoutes(
        app.calendar, per_token=UNLIMITED, per_address=UNLIMITED, rendered=256 if cache else 0
    )
    web_app = routes.web_app()
    if bare is not None:

        async def fixed(request: web.Request) -> web.Response:
            return web.Response(body=bare, content_type="text/calendar", charset="utf-8")

        web_app = web.Application()
        web_app.router.add_get("/calendar/{token}", fixed)
    runner = web.AppRunner(web_app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    print("ready", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
        await app.close()


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def load(
    url: str, headers: dict[str, str], requests: int, concurrency: int, expect: int
) -> tuple[float, list[float], int]:
    """(seconds, latencies, body bytes of the last answer); every answer checked."""
    latencies: list[float] = []
    size = 0
    todo = iter(range(requests))
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as http:

        async def worker() -> None:
            nonlocal size
            for _ in todo:
                started = time.perf_counter()
                async with http.get(url, headers=headers) as response:
                    body = await response.read()
                latencies.append(time.perf_counter() - started)
                if response.status != expect:
                    raise AssertionError(f"{response.status} instead of {expect}")
                size = len(body)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - started, latencies, size


async def run_case(
    name: str,
    db: Path,
    base: str,
    feed: str,
    args: argparse.Namespace,
    *,
    conditional: bool = False,
    flags: tuple[str, ...] = (),
) -> str:
    port = int(urlsplit(base).port or 0)
    argv = [sys.executable, __file__, "--serve", "--db", str(db), "--base", base]
    argv += ["--port", str(port), *flags]
    server = await asyncio.create_subprocess_exec(
        *argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=ROOT
    )
    try:
        assert server.stdout is not None
        line = await asyncio.wait_for(server.stdout.readline(), 60)
        assert line.strip() == b"ready", line
        async with aiohttp.ClientSession() as http, http.get(feed) as first:
            etag = first.headers.get("ETag", "")
            await first.read()
        headers = {"If-None-Match": etag} if conditional else {}
        expect = 304 if conditional else 200
        await load(feed, headers, args.warmup, args.concurrency, expect)
        cpu = cpu_seconds(server.pid)
        seconds, latencies, size = await load(
            feed, headers, args.requests, args.concurrency, expect
        )
        cpu = cpu_seconds(server.pid) - cpu
    finally:
        server.terminate()
        with contextlib.suppress(ProcessLookupError):
            await asyncio.wait_for(server.wait(), 10)
    latencies.sort()
    p99 = latencies[int(len(latencies) * 0.99) - 1]
    return (
        f"| {name} | {args.requests} | {args.concurrency} | {args.requests / seconds:,.0f} |"
        f" {statistics.median(latencies) * 1000:.1f} | {p99 * 1000:.1f} |"
        f" {cpu / args.requests * 1000:.2f} | {size:,} |"
    )


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bot.db"
        base = f"http://127.0.0.1:{free_port()}"
        feed = await prepare(db, base, args.reminders)
        print(f"{args.reminders} reminders, 3 alarms each")
        print("| case | requests | in flight | requests/s | p50 ms | p99 ms | server CPU ms/req |"
              " body bytes |")  # fmt: skip
        print("|---|--:|--:|--:|--:|--:|--:|--:|")
        bare = Path(tmp) / "bare.ics"
        bare.write_bytes(await _feed_bytes(db, base, feed))
        cases: list[tuple[str, bool, tuple[str, ...]]] = [
            ("ETag matches: 304", True, ()),
            ("no If-None-Match: 200, kept by ETag", False, ()),
            ("no If-None-Match: 200, rendered each time", False, ("--no-cache",)),
            ("baseline: bare aiohttp, same bytes", False, ("--bare", str(bare))),
        ]
        for name, conditional, flags in cases:
            row = await run_case(name, db, base, feed, args, conditional=conditional, flags=flags)
            print(row, flush=True)


async def _feed_bytes(db: Path, base: str, feed: str) -> bytes:
    store = ContentStore.open(ROOT / "content", CHANNELS)
    app = await assemble(settings(db, base), store, {"wechat": NoPush()}, broadcasts=False)
    try:
        assert app.calendar is not None
        token = urlsplit(feed).path.rsplit("/", 1)[1].removesuffix(".ics")
        source = await app.calendar.feed(token)
        assert source is not None
        return source.build().to_ical()
    finally:
        await app.close()


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reminders", type=int, default=50)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--base", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--no-cache", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--bare", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


if __name__ == "__main__":
    options = parse()
    if options.serve:
        bare = options.bare.read_bytes() if options.bare else None
        asyncio.run(serve(options.db, options.base, options.port, not options.no_cache, bare))
    else:
        asyncio.run(main(options))
