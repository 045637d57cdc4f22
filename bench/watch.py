"""Notice watcher benchmark: what one cycle over 50 watched pages costs the bot.

The question this answers: "if an operator watches 50 official pages, how much CPU time and
memory does one round of checks take?"

Steps: a copy of the shipped content gets a watch.yaml with ``--pages`` pages (default 50),
each a GBK notice list of the local stand-in site (tests/notice_site.py, served by a separate
process so its work is not counted); the bot is assembled as ``python -m bot run`` assembles
it (SQLite in a temporary folder) and its notice watcher's :meth:`step` runs the cycles:

1. first look: every page fetched in full, parsed, its notices stored as the baseline;
2. unchanged: every page answers 304 to the conditional GET (the common case);
3. full again: the stored validators are dropped first, as for a site without ETag or
   Last-Modified, so every page is fetched and parsed again and every notice looked up.

For each cycle: wall time, this process's CPU time (user + system), CPU per page, and the
resident memory after it (with the peak of Python allocations during it, from tracemalloc).

    .venv/bin/python bench/watch.py
    .venv/bin/python bench/watch.py --pages 200 --cycles 3
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import shutil
import socket
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Sequence
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import machine_info  # noqa: E402
from bot.app import assemble  # noqa: E402
from bot.channels import CHANNELS  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.content import ContentStore  # noqa: E402
from bot.core.reply import Reply  # noqa: E402
from bot.delivery import Outcome, Priority, Result  # noqa: E402
from bot.watch.watcher import NoticeWatcher  # noqa: E402
from tests.notice_site import NoticeSite  # noqa: E402


class Quiet:
    """A sender that delivers nothing (no admin alerts are expected: nothing is new)."""

    async def send(self, chat_id: int, reply: Reply, priority: Priority = Priority.REPLY) -> Result:
        return Result(Outcome.SENT)


def _serve(port: int) -> None:
    async def run() -> None:
        async with NoticeSite(port=port):
            await asyncio.Event().wait()

    asyncio.run(run())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _rss_mib() -> float:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * 4096 / 2**20


async def _cycle(watcher: NoticeWatcher, label: str, pages: int) -> str:
    async with watcher.repo.db.transaction() as tx:
        await tx.execute("UPDATE watched_pages SET next_at = '2000-01-01T00:00:00+00:00'")
    tracemalloc.start()
    cpu, wall = time.process_time(), time.perf_counter()
    await watcher.step()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return (
        f"{label:<28} {wall:7.2f} s {cpu * 1000:9.0f} ms {cpu * 1000 / pages:9.1f} ms"
        f" {_rss_mib():9.1f} MiB {peak / 2**20:9.1f} MiB"
    )


async def run(args: argparse.Namespace, port: int, workdir: Path) -> list[str]:
    content = workdir / "content"
    shutil.copytree(ROOT / "content", content)
    watch = yaml.safe_load((content / "watch.yaml").read_text(encoding="utf-8"))
    base = f"http://127.0.0.1:{port}{NoticeSite.LIST}"
    watch["pages"] = [
        {"id": f"p{i}", "name": f"页面{i}", "url": f"{base}?site={i}", "selector": "ul.list li"}
        for i in range(args.pages)
    ]
    (content / "watch.yaml").write_text(yaml.safe_dump(watch, allow_unicode=True), "utf-8")
    settings = Settings(content_dir=content, db=workdir / "bot.db", admin_ids=frozenset({1}))
    store = ContentStore.open(content, CHANNELS)
    app = await assemble(settings, store, {"telegram": Quiet()})
    watcher = next(w for w in app.workers if isinstance(w, NoticeWatcher))
    lines = [f"RSS after assembling the bot: {_rss_mib():.1f} MiB"]
    try:
        lines.append(await _cycle(watcher, "1. first look (baseline)", args.pages))
        for n in range(args.cycles):
            lines.append(await _cycle(watcher, f"2. unchanged (304) #{n + 1}", args.pages))
        for n in range(args.cycles):
            async with app.db.transaction() as tx:
                await tx.execute("UPDATE watched_pages SET etag = NULL, last_modified = NULL")
            lines.append(await _cycle(watcher, f"3. full fetch + parse #{n + 1}", args.pages))
        row = await app.db.fetchone("SELECT COUNT(*) FROM notices")
        lines.append(f"notices stored: {row[0] if row else 0}")
    finally:
        await app.close()
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=50)
    parser.add_argument("--cycles", type=int, default=2, help="repeats of cycles 2 and 3")
    args = parser.parse_args(argv)
    port = _free_port()
    site = multiprocessing.Process(target=_serve, args=(port,), daemon=True)
    site.start()
    time.sleep(1.0)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            lines = asyncio.run(run(args, port, Path(tmp)))
    finally:
        site.terminate()
        site.join(5)
    print(f"Watching {args.pages} pages (GBK lists of 6 notices each, local site)")
    print(f"{'cycle':<28} {'wall':>9} {'CPU':>12} {'CPU/page':>12} {'RSS':>13} {'py peak':>13}")
    for line in lines:
        print(line)
    print(machine_info())
    return 0


if __name__ == "__main__":
    sys.exit(main())
