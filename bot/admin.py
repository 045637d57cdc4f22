"""Admin upkeep: /reload swaps content atomically; a bad file is reported, old content stays."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from bot.content import ContentError, ContentStore
from bot.core.reply import Reply
from bot.core.router import Request, Router
from bot.core.text import Span, Text, fill
from bot.follow import RELOADS

log = logging.getLogger(__name__)

MAX_PROBLEMS_SHOWN = 30


class Admin:
    """Commands that keep the bot's content up to date."""

    def __init__(
        self, store: ContentStore, announce: Callable[[str], Awaitable[None]] | None = None
    ) -> None:
        self.store = store
        self.announce = announce  # tells other replicas (bot/follow.py)

    def register(self, router: Router) -> None:
        """/reload, for bot admins only."""
        router.command("reload", self.reload, admin=True)

    async def reload(self, request: Request) -> Reply:
        """Re-read content; list the problems when the new files are invalid."""
        old = self.store.current
        try:
            new = await self.store.reload()
        except ContentError as exc:
            log.warning("reload rejected: %d problem(s)", len(exc.problems))
            lines = [str(p) for p in exc.problems[:MAX_PROBLEMS_SHOWN]]
            hidden = len(exc.problems) - len(lines)
            if hidden:
                lines.append(f"… (+{hidden})")
            errors = Text((Span("\n".join(lines), frozenset({"code"})),))
            return Reply.single(fill(old.ui.texts.reload_failed, errors=errors))
        log.info("content reloaded: %d topics", len(new.topics))
        if self.announce is not None:
            await self.announce(RELOADS)
        return Reply.single(fill(new.ui.texts.reload_ok, topics=str(len(new.topics))))
