"""Helpers shared by the benchmark scripts: number formatting, machine line, empty DB, a
stand-in whose requests arrive even when the client dies."""

from __future__ import annotations

import contextlib
import os
import platform
from pathlib import Path

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
