"""Admin commands for broadcasts: compose, preview, choose the audience, confirm, stop, list.

Nothing is sent before the explicit confirm button; non-admins get a polite refusal and
nothing happens. The confirmation message becomes the progress report the runner edits.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from datetime import datetime

from bot.content import ContentStore
from bot.content.ui_models import BroadcastTexts
from bot.core.numbers import parse_int
from bot.core.reply import Button, Reply
from bot.core.router import Request, Router, Who
from bot.core.text import Text, check_markup, fill, markup
from bot.dates import NotUnderstood, explain, parse_when
from bot.storage import AUDIENCES, Broadcast, BroadcastRepo, Counts

PREFIX = "b:"
MAX_TEXT = 3500  # room for the preview frame within Telegram's 4096
ID_DIGITS = 18  # a stored id (SQLite integers are 64-bit)


class BroadcastFlow:
    """The admin side of broadcasts."""

    def __init__(
        self,
        repo: BroadcastRepo,
        store: ContentStore,
        *,
        clock: Callable[[], datetime],
        local_now: Callable[[], datetime],
        fmt: Callable[[datetime], str],
        wake: Callable[[], None],
        channels: Sequence[str],
    ) -> None:
        self.repo = repo
        self.store = store
        self.clock = clock
        self.local_now = local_now
        self.fmt = fmt
        self.wake = wake
        self.channels = tuple(channels)  # the channels this process's broadcasts reach

    @property
    def t(self) -> BroadcastTexts:
        """The broadcast texts of the live content."""
        return self.store.current.ui.broadcast

    def register(self, router: Router) -> None:
        """Admin commands and buttons."""
        router.command("broadcast", self._broadcast, admin=True)
        router.command("broadcast_at", self._broadcast_at, admin=True)
        router.command("broadcasts", self._recent, admin=True)
        router.action(PREFIX, self.on_action, admin=True)

    def _audience_name(self, audience: str) -> str:
        return str(getattr(self.t, f"aud_{audience}"))

    async def _broadcast(self, request: Request) -> Reply:
        return await self.compose(request, scheduled=False)

    async def _broadcast_at(self, request: Request) -> Reply:
        return await self.compose(request, scheduled=True)

    async def compose(self, request: Request, *, scheduled: bool) -> Reply:
        """``/broadcast text``, ``/broadcast`` as a reply, ``/broadcast_at WHEN text``."""
        run_at: datetime | None = None
        text, replied = request.args, request.replied
        if scheduled:
            when = parse_when(text, self.local_now())
            if isinstance(when, NotUnderstood):
                reason = explain(when, self.store.current.ui.dates.model_dump())
                return Reply.single(fill(self.t.bad_time, reason=reason))
            run_at, text = when.at, when.rest
        if (not text and replied is None) or len(text) > MAX_TEXT:
            return Reply.single(markup(self.t.usage))
        if text and check_markup(text):
            text = html.escape(text, quote=False)  # not valid markup: send it as typed
        kind = "text" if text else "copy"
        broadcast_id = await self.repo.create(
            admin_id=request.who.user_id,
            kind=kind,
            text=text,
            from_chat_id=replied[0] if replied and kind == "copy" else None,
            from_message=replied[1] if replied and kind == "copy" else None,
            run_at=run_at,
            now=self.clock(),
        )
        return self._preview(broadcast_id, kind, text, run_at)

    async def draft(
        self, admin_id: int, text: str, buttons: Sequence[Sequence[tuple[str, str]]]
    ) -> Reply:
        """A ready text (a notice's announcement) as a draft: the same preview, audience and
        confirm steps as /broadcast; ``buttons`` go under the text in private chats."""
        broadcast_id = await self.repo.create(
            admin_id=admin_id, kind="text", text=text, from_chat_id=None, from_message=None,
            run_at=None, now=self.clock(), buttons=buttons,
        )  # fmt: skip
        return self._preview(broadcast_id, "text", text, None)

    async def announce(
        self, text: str, buttons: Sequence[Sequence[tuple[str, str]]], audience: str
    ) -> int:
        """Send a ready text now, with no admin in the loop (a page set to announce by
        itself); the broadcast's id."""
        broadcast_id = await self.repo.create(
            admin_id=0, kind="text", text=text, from_chat_id=None, from_message=None,
            run_at=None, now=self.clock(), buttons=buttons,
        )  # fmt: skip
        await self.repo.confirm(broadcast_id, audience, None, self.clock())
        self.wake()
        return broadcast_id

    def _preview(self, broadcast_id: int, kind: str, text: str, run_at: datetime | None) -> Reply:
        template = self.t.preview if kind == "text" else self.t.preview_copy
        body = fill(template, id=str(broadcast_id), text=markup(text) if text else Text())
        if run_at is not None:
            note = fill(self.t.scheduled_note, at=self.fmt(run_at))
            body = Text.join("\n", [body.strip(), note])
        rows = tuple(
            (Button(self._audience_name(a), f"{PREFIX}a:{broadcast_id}:{a}"),) for a in AUDIENCES
        )
        cancel = (Button(self.t.cancel, f"{PREFIX}x:{broadcast_id}"),)
        return Reply.single(body, (*rows, cancel))

    async def on_action(self, who: Who, action: str) -> Reply:
        """Audience choice, confirm, cancel and stop buttons."""
        verb, _, rest = action.removeprefix(PREFIX).partition(":")
        number, _, audience = rest.partition(":")
        broadcast_id = parse_int(number, max_digits=ID_DIGITS)
        broadcast = await self.repo.get(broadcast_id) if broadcast_id is not None else None
        not_found = Reply.single(markup(self.t.not_found))
        if broadcast is None or (broadcast.admin_id != who.user_id and verb != "s"):
            return not_found
        if verb == "a" and broadcast.status == "draft" and audience in AUDIENCES:
            size = await self.repo.audience_size(audience, self.channels)
            text = fill(
                self.t.confirm_ask,
                id=str(broadcast.id),
                audience=self._audience_name(audience),
                n=str(size),
            )
            rows = (
                (Button(self.t.confirm, f"{PREFIX}c:{broadcast.id}:{audience}"),),
                (Button(self.t.cancel, f"{PREFIX}x:{broadcast.id}"),),
            )
            return Reply.single(text, rows)
        if verb == "c" and broadcast.status == "draft" and audience in AUDIENCES:
            progress = (who.channel, who.chat_id, who.message_id) if who.message_id else None
            if not await self.repo.confirm(broadcast.id, audience, progress, self.clock()):
                return not_found
            self.wake()
            confirmed = await self.repo.get(broadcast.id) or broadcast
            if confirmed.status == "scheduled" and confirmed.run_at is not None:
                text = fill(
                    self.t.scheduled,
                    id=str(broadcast.id),
                    at=self.fmt(confirmed.run_at),
                    audience=self._audience_name(audience),
                )
                return Reply.single(text, ((Button(self.t.stop, f"{PREFIX}s:{broadcast.id}"),),))
            return self.progress(confirmed, await self.repo.counts(broadcast.id), 0.0, False)
        if verb == "x" and broadcast.status == "draft":
            await self.repo.finish(broadcast.id, "cancelled", self.clock())
            return Reply.single(fill(self.t.dropped, id=str(broadcast.id)))
        if verb == "s" and broadcast.status in ("queued", "scheduled", "running"):
            await self.repo.finish(broadcast.id, "cancelled", self.clock())
            self.wake()
            stopped = await self.repo.get(broadcast.id) or broadcast
            return self.progress(stopped, await self.repo.counts(broadcast.id), 0.0, True)
        return not_found

    def progress(self, broadcast: Broadcast, counts: Counts, rate: float, final: bool) -> Reply:
        """The progress report (edited as the broadcast runs) or its final state."""
        if broadcast.status == "cancelled":
            template = self.t.cancelled
        elif final or broadcast.status == "done":
            template = self.t.done
        else:
            template = self.t.progress
        eta: str | Text = "-"
        if rate > 0 and counts.left:
            minutes, seconds = divmod(int(counts.left / rate), 60)
            eta = fill(self.t.eta, minutes=str(minutes), seconds=f"{seconds:02d}")
        text = fill(template, eta=eta, rate=f"{rate:.1f}", **self._counts(broadcast, counts))
        running = broadcast.status in ("queued", "running") and not final
        rows = ((Button(self.t.stop, f"{PREFIX}s:{broadcast.id}"),),) if running else ()
        return Reply.single(text, rows)

    def failures(self, reasons: list[tuple[str, int]]) -> Text:
        """The most common failure reasons, one per line."""
        items = [fill(self.t.failure_item, reason=r or "?", n=str(n)) for r, n in reasons]
        return Text.join("\n", items)

    def unsure(self, count: int) -> Text:
        """How many sends timed out after going out (maybe delivered, not sent again)."""
        return fill(self.t.unsure_note, n=str(count))

    def _counts(self, broadcast: Broadcast, counts: Counts) -> dict[str, str]:
        return {
            "id": str(broadcast.id),
            "audience": self._audience_name(broadcast.audience),
            "sent": str(counts.sent),
            "failed": str(counts.failed),
            "blocked": str(counts.blocked),
            "left": str(counts.left),
        }

    async def _recent(self, request: Request) -> Reply:
        """``/broadcasts``: the latest ones with their final counts."""
        items = await self.repo.recent()
        if not items:
            return Reply.single(markup(self.t.list_empty))
        lines = [markup(self.t.list_header).strip()]
        for broadcast, counts in items:
            status = str(getattr(self.t, f"status_{broadcast.status}", broadcast.status))
            item = fill(self.t.list_item, status=status, **self._counts(broadcast, counts))
            lines.append(item.strip())
        return Reply.single(Text.join("\n", lines))
