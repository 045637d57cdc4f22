"""What happens to a new notice: the admins are told with a ready draft and decide with one
tap (announce through the usual broadcast flow, or dismiss); pages set to ``auto`` announce
by themselves. Announcements carry follow-ups that fit the notice (remind me of the review
or audit deadline in one tap, how to check my score, the certificate topic). /news lists the
latest relevant notices for everyone.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Sequence
from datetime import date

from bot.broadcast.flow import BroadcastFlow
from bot.content import ContentStore
from bot.content.ui_models import NoticeTexts
from bot.content.watch_models import WatchedPage
from bot.core.keyboards import menu_button
from bot.core.numbers import parse_int
from bot.core.reply import TOPIC_ACTION_PREFIX, Button, Reply
from bot.core.router import Request, Router, TextHandler, Who
from bot.core.text import Text, fill, markup
from bot.dates import NotUnderstood, explain, parse_when
from bot.delivery import Outcome, Priority, Sender
from bot.storage.notices import NoticeRepo, StoredNotice
from bot.storage.state import Scope

log = logging.getLogger(__name__)

PREFIX = "n:"
NEWS_ACTION = "nw"
NEWS_SHOWN = 5
ID_DIGITS = 18
ButtonRows = tuple[tuple[tuple[str, str], ...], ...]


class NoticeDesk:
    """Admins' decisions on notices, the announcements' follow-ups, and /news."""

    def __init__(
        self,
        repo: NoticeRepo,
        store: ContentStore,
        broadcasts: BroadcastFlow,
        *,
        admins: Sequence[int],
        admin_sender: Sender | None,
        waiting: Scope,
    ) -> None:
        self.repo = repo
        self.store = store
        self.broadcasts = broadcasts
        self.admins = tuple(admins)
        self.admin_sender = admin_sender  # Telegram: admins are Telegram users
        self.waiting = waiting  # admin -> the notice whose deadline they are typing

    @property
    def t(self) -> NoticeTexts:
        """The notice texts of the live content."""
        return self.store.current.ui.notices

    def register(self, router: Router) -> None:
        """/news for everyone; the admins' buttons and typed deadlines."""
        router.command("news", self._news)
        router.action(NEWS_ACTION, self._news_action)
        router.topic_answer("news", self.offer)
        router.action(PREFIX, self._action, admin=True)
        router.text_input(self._typing)

    # -- telling ------------------------------------------------------------------------

    def follow_ups(self, notice: StoredNotice) -> ButtonRows:
        """The buttons an announcement of ``notice`` carries, by what it is about."""
        t, rows = self.t, []
        released = notice.published or date.fromisoformat(notice.found_at[:10])
        if notice.category in ("score_release", "review"):
            rows.append(((t.follow_review, f"r:now:review:{released.isoformat()}"),))
            rows.append(((t.follow_steps, f"{TOPIC_ACTION_PREFIX}steps"),))
        elif notice.category == "audit" and notice.deadline is not None:
            rows.append(((t.follow_audit, f"r:now:audit:{notice.deadline.isoformat()}"),))
        elif notice.category == "certificate":
            rows.append(((t.follow_certificate, f"{TOPIC_ACTION_PREFIX}certificate"),))
        elif notice.category == "continuing":
            rows.append(((t.follow_after, f"{TOPIC_ACTION_PREFIX}after"),))
        return tuple(rows)

    def draft_text(self, notice: StoredNotice) -> str:
        """The announcement's text (markup source, the notice's words escaped)."""
        values = {"title": notice.title, "url": notice.url, "date": self._date(notice)}
        text = self.t.draft
        for name, value in values.items():
            text = text.replace("{" + name + "}", html.escape(value, quote=False))
        return text

    def _date(self, notice: StoredNotice) -> str:
        return notice.published.isoformat() if notice.published else self.t.no_date

    def alert(self, notice: StoredNotice, page: WatchedPage) -> Reply:
        """The admins' message about a new notice: facts, the draft, the buttons."""
        body = fill(
            self.t.alert,
            page=page.name,
            title=notice.title,
            url=notice.url,
            date=self._date(notice),
            matched="、".join(notice.matched) or "-",
        )
        draft = markup(self.draft_text(notice))
        rows: list[tuple[Button, ...]] = [
            (Button(label, action),) for row in self.follow_ups(notice) for label, action in row
        ]
        if notice.category == "audit":
            rows.append((Button(self.t.set_deadline, f"{PREFIX}d:{notice.id}"),))
        rows.append(
            (
                Button(self.t.announce, f"{PREFIX}a:{notice.id}"),
                Button(self.t.dismiss, f"{PREFIX}x:{notice.id}"),
            )
        )
        return Reply.single(Text.join("\n\n", [body.strip(), draft.strip()]), tuple(rows))

    async def tell(self, notice: StoredNotice, page: WatchedPage) -> None:
        """A new relevant notice: announce it (``auto`` pages) or ask the admins."""
        if page.announce == "auto":
            if await self.repo.set_status(notice.id, "announced", was=("new",)):
                await self.broadcasts.announce(
                    self.draft_text(notice), self.follow_ups(notice), "all"
                )
                note = fill(self.t.auto_announced, page=page.name, title=notice.title,
                            url=notice.url)  # fmt: skip
                await self._to_admins(Reply.single(note))
            return
        if await self._to_admins(self.alert(notice, page)):
            await self.repo.set_status(notice.id, "alerted", was=("new",))

    async def broken(self, page: WatchedPage, error: str, failures: int) -> None:
        """A page that keeps failing (told once until it works again)."""
        text = fill(self.t.broken, page=page.name, url=page.url, error=error,
                    failures=str(failures))  # fmt: skip
        await self._to_admins(Reply.single(text))

    async def _to_admins(self, reply: Reply) -> bool:
        if self.admin_sender is None or not self.admins:
            log.warning("notice watcher: no admin to tell (BOT_ADMIN_IDS)")
            return False
        sent = False
        for admin in self.admins:
            result = await self.admin_sender.send(admin, reply, Priority.REMINDER)
            sent = sent or result.outcome is Outcome.SENT
        return sent

    # -- the admins' taps -------------------------------------------------------------------

    async def _action(self, who: Who, action: str) -> Reply:
        verb, _, number = action.removeprefix(PREFIX).partition(":")
        notice_id = parse_int(number, max_digits=ID_DIGITS)
        notice = await self.repo.get(notice_id) if notice_id is not None else None
        if notice is None or verb not in ("a", "x", "d"):
            return Reply.single(markup(self.t.gone))
        if verb == "x":
            if not await self.repo.set_status(notice.id, "dismissed", was=("new", "alerted")):
                return Reply.single(markup(self.t.gone))
            return Reply.single(markup(self.t.dismissed))
        if verb == "d":
            await self.waiting.put(str(who.user_id), notice.id)
            return Reply.single(markup(self.t.ask_deadline))
        if not await self.repo.set_status(notice.id, "announced", was=("new", "alerted")):
            return Reply.single(markup(self.t.gone))
        return await self.broadcasts.draft(
            who.user_id, self.draft_text(notice), self.follow_ups(notice)
        )

    async def _typing(self, who: Who) -> TextHandler | None:
        if not who.is_admin:
            return None
        if await self.waiting.get(str(who.user_id)) is None:
            return None
        return self._deadline

    async def _deadline(self, who: Who, text: str) -> Reply:
        notice_id = await self.waiting.get(str(who.user_id))
        notice = await self.repo.get(int(notice_id)) if isinstance(notice_id, int) else None
        if notice is None:
            await self.waiting.delete(str(who.user_id))
            return Reply.single(markup(self.t.gone))
        when = parse_when(text, self.broadcasts.local_now())
        if isinstance(when, NotUnderstood):
            reason = explain(when, self.store.current.ui.dates.model_dump())
            return Reply.single(fill(self.store.current.ui.broadcast.bad_time, reason=reason))
        await self.waiting.delete(str(who.user_id))
        await self.repo.set_deadline(notice.id, when.at.date())
        updated = await self.repo.get(notice.id) or notice
        saved = fill(self.t.deadline_saved, deadline=when.at.date().isoformat())
        page = self._page(updated.page)
        if page is None or updated.status not in ("new", "alerted"):
            return Reply.single(saved)
        return Reply.single(saved) + self.alert(updated, page)

    def _page(self, page_id: str) -> WatchedPage | None:
        watch = self.store.current.watch
        return next((p for p in watch.pages if p.id == page_id), None) if watch else None

    # -- /news ----------------------------------------------------------------------------

    async def _news(self, request: Request) -> Reply:
        return await self.news()

    async def _news_action(self, who: Who, action: str) -> Reply:
        return await self.news()

    def offer(self, who: Who) -> Reply:
        """A typed question about news ("有新通知吗"): the button that lists them."""
        rows = ((Button(self.t.news_button, NEWS_ACTION),), menu_button(self.store.current))
        return Reply.single(markup(self.t.news_offer), rows)

    async def news(self) -> Reply:
        """The latest relevant notices with their links."""
        notices = await self.repo.recent(NEWS_SHOWN)
        if not notices:
            return Reply.single(markup(self.t.news_empty))
        items = [
            fill(self.t.news_item, date=self._date(n), title=n.title, url=n.url).strip()
            for n in notices
        ]
        return Reply.single(fill(self.t.news, n=str(len(items)), items=Text.join("\n", items)))
