"""Admin commands for broadcasts: compose, preview, choose the audience, confirm, stop, list.

Nothing is sent before the explicit confirm button; non-admins get a polite refusal and
nothing happens. The confirmation message becomes the progress report the runner edits.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bot.content import ContentStore
from bot.content.models import BroadcastTexts
from bot.reminders.parse import NotUnderstood, parse_when
from bot.replies import Button, Reply
from bot.storage import AUDIENCES, Broadcast, BroadcastRepo, Counts
from bot.textfmt import check_html, escape

PREFIX = "b:"
MAX_TEXT = 3500  # room for the preview frame within Telegram's 4096


@dataclass
class BroadcastFlow:
    """The admin side of broadcasts."""

    repo: BroadcastRepo
    store: ContentStore
    clock: Callable[[], datetime]
    fmt: Callable[[datetime], str]
    wake: Callable[[], None]
    timezone_now: Callable[[], datetime]

    @property
    def t(self) -> BroadcastTexts:
        """The broadcast texts of the live content."""
        return self.store.current.ui.broadcast

    def _audience_name(self, audience: str) -> str:
        return getattr(self.t, f"aud_{audience}")

    async def compose(
        self,
        admin_id: int,
        args: str,
        replied: tuple[int, int] | None,
        *,
        scheduled: bool,
    ) -> Reply:
        """``/broadcast text``, ``/broadcast`` as a reply, ``/broadcast_at WHEN text``."""
        run_at: datetime | None = None
        text = args.strip()
        if scheduled:
            when = parse_when(text, self.timezone_now())
            if isinstance(when, NotUnderstood):
                return Reply.single(self.t.bad_time.replace("{reason}", when.reason))
            run_at, text = when.at, when.rest
        if not text and replied is None:
            return Reply.single(self.t.usage)
        if len(text) > MAX_TEXT:
            return Reply.single(self.t.usage)
        if text and check_html(text):
            text = escape(text)  # not valid Telegram HTML: send it as plain text
        kind = "text" if text else "copy"
        broadcast_id = await self.repo.create(
            admin_id=admin_id,
            kind=kind,
            text=text,
            from_chat_id=replied[0] if replied and kind == "copy" else None,
            from_message=replied[1] if replied and kind == "copy" else None,
            run_at=run_at,
            now=self.clock(),
        )
        template = self.t.preview if kind == "text" else self.t.preview_copy
        body = template.replace("{id}", str(broadcast_id)).replace("{text}", text)
        if run_at is not None:
            body = body.rstrip() + "\n" + self.t.scheduled_note.replace("{at}", self.fmt(run_at))
        rows = tuple(
            (Button(self._audience_name(a), f"{PREFIX}a:{broadcast_id}:{a}"),) for a in AUDIENCES
        )
        return Reply.single(body, (*rows, (Button(self.t.cancel, f"{PREFIX}x:{broadcast_id}"),)))

    async def on_action(
        self, admin_id: int, chat_id: int, message_id: int | None, action: str
    ) -> Reply:
        """Audience choice, confirm, cancel and stop buttons."""
        verb, _, rest = action.removeprefix(PREFIX).partition(":")
        number, _, audience = rest.partition(":")
        broadcast = await self.repo.get(int(number)) if number.isdigit() else None
        if broadcast is None or (broadcast.admin_id != admin_id and verb != "s"):
            return Reply.single(self.t.not_found)
        if verb == "a" and broadcast.status == "draft" and audience in AUDIENCES:
            size = await self.repo.audience_size(audience)
            text = (
                self.t.confirm_ask.replace("{id}", str(broadcast.id))
                .replace("{audience}", self._audience_name(audience))
                .replace("{n}", str(size))
            )
            rows = (
                (Button(self.t.confirm, f"{PREFIX}c:{broadcast.id}:{audience}"),),
                (Button(self.t.cancel, f"{PREFIX}x:{broadcast.id}"),),
            )
            return Reply.single(text, rows)
        if verb == "c" and broadcast.status == "draft" and audience in AUDIENCES:
            progress = (chat_id, message_id) if message_id is not None else None
            if not await self.repo.confirm(broadcast.id, audience, progress, self.clock()):
                return Reply.single(self.t.not_found)
            self.wake()
            confirmed = await self.repo.get(broadcast.id) or broadcast
            if confirmed.status == "scheduled" and confirmed.run_at is not None:
                text = (
                    self.t.scheduled.replace("{id}", str(broadcast.id))
                    .replace("{at}", self.fmt(confirmed.run_at))
                    .replace("{audience}", self._audience_name(audience))
                )
                return Reply.single(text, ((Button(self.t.stop, f"{PREFIX}s:{broadcast.id}"),),))
            return self.progress(confirmed, await self.repo.counts(broadcast.id), 0.0, False)
        if verb == "x" and broadcast.status == "draft":
            await self.repo.finish(broadcast.id, "cancelled", self.clock())
            return Reply.single(self.t.dropped.replace("{id}", str(broadcast.id)))
        if verb == "s" and broadcast.status in ("queued", "scheduled", "running"):
            await self.repo.finish(broadcast.id, "cancelled", self.clock())
            self.wake()
            stopped = await self.repo.get(broadcast.id) or broadcast
            return self.progress(stopped, await self.repo.counts(broadcast.id), 0.0, True)
        return Reply.single(self.t.not_found)

    def progress(self, broadcast: Broadcast, counts: Counts, rate: float, final: bool) -> Reply:
        """The progress report (edited as the broadcast runs) or its final state."""
        if broadcast.status == "cancelled":
            template = self.t.cancelled
        elif final or broadcast.status == "done":
            template = self.t.done
        else:
            template = self.t.progress
        eta = "-"
        if rate > 0 and counts.left:
            minutes, seconds = divmod(int(counts.left / rate), 60)
            eta = f"{minutes}分{seconds:02d}秒"
        text = (
            template.replace("{id}", str(broadcast.id))
            .replace("{audience}", self._audience_name(broadcast.audience))
            .replace("{sent}", str(counts.sent))
            .replace("{failed}", str(counts.failed))
            .replace("{blocked}", str(counts.blocked))
            .replace("{left}", str(counts.left))
            .replace("{rate}", f"{rate:.1f}")
            .replace("{eta}", eta)
        )
        running = broadcast.status in ("queued", "running") and not final
        rows = ((Button(self.t.stop, f"{PREFIX}s:{broadcast.id}"),),) if running else ()
        return Reply.single(text, rows)

    async def recent(self) -> Reply:
        """``/broadcasts``: the latest ones with their final counts."""
        items = await self.repo.recent()
        if not items:
            return Reply.single(self.t.list_empty)
        lines = [self.t.list_header.rstrip()]
        for broadcast, counts in items:
            status = getattr(self.t, f"status_{broadcast.status}", broadcast.status)
            lines.append(
                self.t.list_item.rstrip()
                .replace("{id}", str(broadcast.id))
                .replace("{status}", status)
                .replace("{audience}", self._audience_name(broadcast.audience))
                .replace("{sent}", str(counts.sent))
                .replace("{failed}", str(counts.failed))
                .replace("{blocked}", str(counts.blocked))
                .replace("{left}", str(counts.left))
            )
        return Reply.single("\n".join(lines))
