"""Run the bot (or any bot script) as a real process against a stand-in Bot API.

Shared by the end-to-end tests and the benchmarks: start with the stand-in's URL and a fake
token, wait until the process long-polls, stop it with SIGTERM (SIGKILL after a timeout),
keep its output in a log file for failure messages.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType

from tests.standin import FakeBotAPI

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "123456:TEST-TOKEN"
BOT_ARGV = (sys.executable, "-m", "bot", "run")
PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy")


def bot_env(base_url: str, workdir: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Environment for a bot process: stand-in URL, fake token, scratch DB, no proxies."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k.lower() not in PROXY_VARIABLES and not k.startswith("BOT_")
    }
    env.update(
        BOT_TOKEN=TOKEN,
        BOT_API_BASE_URL=base_url,
        BOT_DB=str(workdir / "bot.db"),
        NO_PROXY="127.0.0.1,localhost",
        no_proxy="127.0.0.1,localhost",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra or {})
    return env


class BotProcess:
    """``async with BotProcess(api, base_url, workdir) as bot:`` a started, polling bot."""

    def __init__(
        self,
        api: FakeBotAPI,
        base_url: str,
        workdir: Path,
        *,
        argv: Sequence[str] = BOT_ARGV,
        env: Mapping[str, str] | None = None,
        startup_timeout: float = 60.0,
        stop_timeout: float = 10.0,
        name: str = "bot",
        ready: Callable[[], Awaitable[object]] | None = None,
    ) -> None:
        self.api = api
        self.ready = ready  # what shows the bot started (default: its first getUpdates)
        self.argv = tuple(argv)
        self.env = bot_env(base_url, workdir, env)
        self.log_path = workdir / f"{name}.log"
        self.startup_timeout = startup_timeout
        self.stop_timeout = stop_timeout
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        """Start the process and wait until it is ready (its first getUpdates by default)."""
        with self.log_path.open("wb") as log:
            self.proc = await asyncio.create_subprocess_exec(
                *self.argv,
                cwd=ROOT,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        ready = (
            self.api.wait_calls("getUpdates", 1, self.startup_timeout)
            if self.ready is None
            else asyncio.wait_for(self.ready(), self.startup_timeout)
        )
        error = await self.race(ready)
        if error is not None:
            await self.stop()
            raise RuntimeError(f"bot did not start: {error}\n{self.log_tail()}")

    async def race(self, awaitable: Awaitable[object]) -> str | None:
        """Await ``awaitable`` unless the process exits first; return an error text or None."""
        assert self.proc is not None
        task = asyncio.ensure_future(awaitable)
        exited = asyncio.ensure_future(self.proc.wait())
        try:
            await asyncio.wait({task, exited}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for pending in (task, exited):
                pending.cancel()
            await asyncio.gather(task, exited, return_exceptions=True)
        if task.done() and not task.cancelled():
            exc = task.exception()
            return None if exc is None else str(exc)
        return f"bot process exited with code {self.proc.returncode}"

    async def stop(self, sig: int = signal.SIGTERM) -> int:
        """Send ``sig`` (SIGKILL after the stop timeout) and return the exit code."""
        assert self.proc is not None
        if self.proc.returncode is None:
            self.proc.send_signal(sig)
            try:
                async with asyncio.timeout(self.stop_timeout):
                    await self.proc.wait()
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        assert self.proc.returncode is not None
        return self.proc.returncode

    def log(self) -> str:
        """Everything the process printed so far."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def log_tail(self, lines: int = 20) -> str:
        """The last lines of the process output, indented, for error messages."""
        text = self.log().strip().splitlines()
        return "\n".join("    | " + line for line in text[-lines:]) or "    | (no output)"

    async def __aenter__(self) -> BotProcess:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()


async def healthy(url: str, interval: float = 0.1) -> None:
    """Wait until ``GET url`` answers 200 (a replica's webhook server is up)."""
    import aiohttp

    async with aiohttp.ClientSession() as http:
        while True:
            try:
                async with http.get(url) as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(interval)
