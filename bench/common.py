"""Helpers shared by the benchmark scripts: number formatting, machine line, empty DB, and a
watch on this process's own stalls (the stand-in runs here)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import platform
import time
from pathlib import Path
from typing import Any, Self

import telegram

from bot.storage.db import Database


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


class Stalls:
    """When this process's event loop stopped running on time, and its garbage collections.

    The stand-in serves from the benchmark's own event loop and counts flood limits on
    arrival; while that loop stalls, requests the bot sent spaced out queue up and are counted
    as arriving together. This watch tells such moments apart from the bot sending too fast.
    """

    def __init__(self, tick: float = 0.01, threshold: float = 0.03) -> None:
        self.tick = tick
        self.threshold = threshold
        self.stalls: list[tuple[float, float]] = []  # (when it ended, seconds late)
        self.collections: list[tuple[float, int, float]] = []  # (ended, generation, seconds)
        self._task: asyncio.Task[None] | None = None
        self._gc_started = 0.0

    async def __aenter__(self) -> Self:
        gc.callbacks.append(self._on_gc)
        self._task = asyncio.create_task(self._watch())
        return self

    async def __aexit__(self, *exc: object) -> None:
        gc.callbacks.remove(self._on_gc)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def _on_gc(self, phase: str, info: dict[str, Any]) -> None:
        now = time.monotonic()
        if phase == "start":
            self._gc_started = now
        elif now - self._gc_started >= self.threshold / 3:
            self.collections.append((now, int(info.get("generation", -1)), now - self._gc_started))

    async def _watch(self) -> None:
        while True:
            before = time.monotonic()
            await asyncio.sleep(self.tick)
            late = time.monotonic() - before - self.tick
            if late >= self.threshold:
                self.stalls.append((time.monotonic(), late))

    def worst_before(self, at: float, span: float = 1.5) -> float:
        """The longest stall that ended within ``span`` seconds before ``at`` (0 if none)."""
        return max((late for end, late in self.stalls if at - span <= end <= at), default=0.0)

    def summary(self, since: float) -> str:
        """One line: stalls and slow garbage collections after ``since``."""
        stalls = [late for end, late in self.stalls if end >= since]
        slow = [(gen, took) for end, gen, took in self.collections if end >= since]
        worst = max(stalls, default=0.0)
        gcs = max((took for _, took in slow), default=0.0)
        return (
            f"stand-in loop: {len(stalls)} stalls >= {self.threshold * 1000:.0f} ms "
            f"(worst {worst * 1000:.0f} ms); {len(slow)} garbage collections >= "
            f"{self.threshold / 3 * 1000:.0f} ms (worst {gcs * 1000:.0f} ms)"
        )
