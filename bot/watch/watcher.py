"""The notice watcher: check each page of watch.yaml when it is due, store what is new, tell.

Each check is claimed in the database (one replica per check), fetched politely (conditional
GET, back-off after failures and on 429/503, see fetch.py), parsed off the event loop, and
every notice not seen before is stored, judged (relevance.py) and, when relevant, handed to
the :class:`~bot.watch.desk.NoticeDesk`. A page's first good check is its baseline: what is
already on it is remembered, not announced. A page that fails :data:`FAILURES_TO_ALERT` times
in a row, or suddenly lists nothing where it listed several (a new layout), is reported to
the admins once until it works again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import date, datetime, timedelta

from bot.content import ContentStore
from bot.content.watch_models import WatchedPage, WatchFile
from bot.delivery.worker import Worker
from bot.storage.notices import NewNotice, NoticeRepo
from bot.watch.desk import NoticeDesk
from bot.watch.fetch import Fetcher, backoff
from bot.watch.pages import page_notices
from bot.watch.relevance import judge, stated_deadline

log = logging.getLogger(__name__)

FAILURES_TO_ALERT = 3  # consecutive failed checks before the admins hear of it
LAYOUT_MIN = 3  # a page that listed at least this many and now lists none has changed


class NoticeWatcher(Worker):
    """Checks the watched pages as they come due."""

    def __init__(
        self,
        store: ContentStore,
        repo: NoticeRepo,
        desk: NoticeDesk,
        *,
        clock: Callable[[], datetime],
        today: Callable[[], date],
        fetcher: Callable[[WatchFile], Fetcher] | None = None,
    ) -> None:
        super().__init__(clock)
        self.store = store
        self.repo = repo
        self.desk = desk
        self.today = today
        self.fetcher = fetcher or (lambda watch: Fetcher(contact=watch.contact))

    async def step(self) -> bool:
        """Check every page that is due (each claimed, so one replica checks it)."""
        watch = self.store.current.watch
        if watch is None or not watch.pages:
            return False
        due: list[WatchedPage] = []
        now = self.clock()
        for page in watch.pages:
            interval = timedelta(minutes=page.interval_minutes)
            if await self.repo.claim_check(page.id, now, now + interval):
                due.append(page)
        if due:
            async with self.fetcher(watch) as fetcher:
                for page in due:
                    try:
                        await self.check(page, watch, fetcher)
                    except Exception:
                        log.exception("checking %s failed", page.id)
        return False

    async def upcoming(self) -> datetime | None:
        """When the next page is due."""
        return await self.repo.next_check() if self.store.current.watch else None

    async def check(self, page: WatchedPage, watch: WatchFile, fetcher: Fetcher) -> int:
        """One check of one page; how many new relevant notices were handed on."""
        now = self.clock()
        interval = page.interval_minutes * 60.0
        state = await self.repo.state(page.id)
        fetched = await fetcher.fetch(page.url, etag=state.etag, last_modified=state.last_modified)
        if fetched.not_modified:
            await self.repo.checked(page.id, now, etag=fetched.etag,
                                    last_modified=fetched.last_modified, count=None,
                                    next_at=now + timedelta(seconds=interval))  # fmt: skip
            return 0
        if not fetched.ok or fetched.text is None:
            wait = backoff(state.failures + 1, fetched.retry_after, interval)
            await self._failed(page, fetched.error or f"HTTP {fetched.status}", now, wait)
            return 0
        found = await asyncio.to_thread(
            page_notices, fetched.text, fetched.final_url, kind=page.kind,
            selector=page.selector, link_pattern=page.link_pattern,
        )  # fmt: skip
        if not found and state.last_count >= LAYOUT_MIN:
            error = f"no notices found (listed {state.last_count} before: layout changed?)"
            await self._failed(page, error, now, interval, at_once=True)
            return 0
        judged = []
        for notice in found:
            verdict = judge(notice.title, watch)
            deadline = stated_deadline(notice.title, notice.published, self.today())
            judged.append(
                NewNotice(
                    notice.url,
                    notice.title,
                    notice.published,
                    verdict.relevant,
                    verdict.matched,
                    verdict.category,
                    deadline,
                )
            )
        added = await self.repo.add(page.id, judged, now, baseline=not state.checked)
        await self.repo.checked(page.id, now, etag=fetched.etag,
                                last_modified=fetched.last_modified, count=len(found),
                                next_at=now + timedelta(seconds=interval))  # fmt: skip
        told = 0
        for stored in added:
            if stored.status == "new":
                log.info("new notice on %s: %s", page.id, stored.url)
                await self.desk.tell(stored, page)
                told += 1
        return told

    async def _failed(
        self, page: WatchedPage, error: str, now: datetime, wait: float, *, at_once: bool = False
    ) -> None:
        failures = await self.repo.failed(page.id, error, now + timedelta(seconds=wait))
        log.warning("checking %s failed (%d in a row): %s", page.id, failures, error)
        if (at_once or failures >= FAILURES_TO_ALERT) and await self.repo.mark_alerted(page.id):
            await self.desk.broken(page, error, failures)
