"""Replicas follow each other's content changes: a /reload or a taught answer on one replica
reaches every replica within seconds.

Each change bumps a named counter in the shared database (``content_reloads`` after a good
/reload, ``lessons`` after teaching); every replica's :class:`ContentFollower` looks at the
counters every few seconds and, when one moved, reloads its content from its own content
folder or rebuilds its matcher from the stored examples. One process on SQLite needs none of
this and runs no follower.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from bot.content import ContentError, ContentStore
from bot.delivery.worker import Worker
from bot.storage import ChatRepo

log = logging.getLogger(__name__)

RELOADS = "content_reloads"
LESSONS = "lessons"
Announce = Callable[[str], Awaitable[None]]  # bump a named counter: "this changed here"


class ContentFollower(Worker):
    """Reloads content or relearns when another replica did."""

    def __init__(
        self, store: ContentStore, counters: ChatRepo, clock: Callable[[], datetime]
    ) -> None:
        super().__init__(clock)
        self.store = store
        self.counters = counters
        self._seen: dict[str, int] | None = None

    async def step(self) -> bool:
        """Compare the counters with the last look; act on the ones that moved."""
        now = {name: await self.counters.counter(name) for name in (RELOADS, LESSONS)}
        seen, self._seen = self._seen, now
        if seen is None:  # the first look: this process loaded everything at start
            return False
        if now[RELOADS] != seen[RELOADS]:
            try:
                content = await self.store.reload()
                log.info(
                    "content reloaded after a /reload elsewhere: %d topics", len(content.topics)
                )
            except ContentError as exc:
                log.warning("reload elsewhere, but this replica's content has %d problem(s)",
                            len(exc.problems))  # fmt: skip
        elif now[LESSONS] != seen[LESSONS]:
            await self.store.relearn()
            log.info("matcher rebuilt after teaching elsewhere")
        return False
