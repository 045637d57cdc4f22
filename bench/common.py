"""Helpers shared by the benchmark scripts: number formatting, machine line, empty DB, a
stand-in whose requests arrive even when the client dies."""

from __future__ import annotations

import contextlib
import os
import platform
from pathlib import Path

import telegram
from aiohttp import web

from bot.storage.db import Database
from tests.standin import StandinServer


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    return platform.processor() or "unknown CPU"


def machine_info() -> str:
    """One line describing the interpreter and the CPUs."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    cores = f"{os.cpu_count()} CPU cores" + (f" ({usable} usable)" if usable else "")
    return (
        f"Python {platform.python_version()} ({platform.python_implementation()}), "
        f"python-telegram-bot {telegram.__version__}, {platform.system()} "
        f"{platform.machine()}, {cores}, {_cpu_model()}"
    )


def fmt(value: float | None, spec: str) -> str:
    return "—" if value is None else format(value, spec)


async def create_schema(path: Path) -> None:
    """An empty database migrated by the bot's own code."""
    db = await Database.open(path)
    await db.close()


class DeliveringStandinServer(StandinServer):
    """A :class:`~tests.standin.StandinServer` that answers a request whose client went away.

    The stand-in cancels a request when its connection drops, so a message a killed bot had
    in flight (waiting out the simulated latency) is never delivered. At Telegram a request
    that left the machine arrives anyway; here it does too: the worst case for messages sent
    twice after a kill -9.
    """

    async def start(self) -> None:
        """Bind and start serving, without cancelling requests on disconnect."""
        app = web.Application(client_max_size=50 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(
            app, access_log=None, handler_cancellation=False, shutdown_timeout=1.0
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]
