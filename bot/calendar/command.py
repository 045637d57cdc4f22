"""/ics: the user's calendar links (or, without a public URL, a calendar file).

``/ics`` (the "add to calendar" button under a new reminder and under /reminders, and
"日历" on WeChat) gives a subscription link and a one-time download link with short
instructions; ``/ics reset`` (or its button, after a confirmation) revokes every earlier
link. Links are personal, so in groups the user is asked to write in private. Without
``BOT_PUBLIC_URL`` the answer says so and gives the calendar file as before.
"""

from __future__ import annotations

from bot.calendar.links import FILE_TTL, CalendarLinks, Links
from bot.content import ContentStore
from bot.content.ui_models import CalendarTexts
from bot.core.keyboards import menu_button, menu_rows
from bot.core.reply import Button, Message, Reply
from bot.core.router import Request, Router, Who
from bot.core.text import Text, fill, markup
from bot.reminders.flow import PREFIX
from bot.reminders.service import ReminderService

SHOW = f"{PREFIX}ics"
RESET_ASK = f"{PREFIX}icsreset"
RESET_DO = f"{PREFIX}icsreset!"
RESET_WORDS = ("reset", "重置", "换新")


class CalendarCommand:
    """The /ics command and its buttons."""

    def __init__(
        self, service: ReminderService, store: ContentStore, links: CalendarLinks | None
    ) -> None:
        self.service = service
        self.store = store
        self.links = links

    @property
    def t(self) -> CalendarTexts:
        """The calendar texts of the live content."""
        return self.store.current.ui.calendar

    def register(self, router: Router) -> None:
        """/ics and the buttons that show or reset the links."""
        router.command("ics", self._ics)
        router.action(SHOW, self._show)
        router.action(RESET_ASK, self._reset_ask)
        router.action(RESET_DO, self._reset_do)

    async def _ics(self, request: Request) -> Reply:
        """``/ics`` or ``/ics reset``."""
        args = request.args.strip().lower()
        if not args:
            return await self.show(request.who)
        if args in RESET_WORDS:
            return await self.show(request.who, reset=True)
        return Reply.single(markup(self.t.usage), menu_rows(self.store.current))

    async def _show(self, who: Who, action: str) -> Reply:
        return await self.show(who)

    async def _reset_ask(self, who: Who, action: str) -> Reply:
        rows = ((Button(self.t.reset_confirm, RESET_DO),), menu_button(self.store.current))
        return Reply.single(markup(self.t.reset_ask), rows)

    async def _reset_do(self, who: Who, action: str) -> Reply:
        return await self.show(who, reset=True)

    async def show(self, who: Who, *, reset: bool = False) -> Reply:
        """The user's links (new ones; with ``reset`` after revoking the old), or the file."""
        if self.links is None:
            return await self.file(who)
        if who.chat_type != "private":
            return Reply.single(markup(self.t.private_only), menu_rows(self.store.current))
        if reset:
            links = await self.links.reset(who.channel, who.user_id)
        else:
            links = await self.links.issue(who.channel, who.user_id)
        parts: list[Text] = []
        if reset:
            parts.append(markup(self.t.reset_done).strip())
        if not await self.service.list(who.channel, who.user_id):
            parts.append(markup(self.t.empty_note).strip())
        parts += [self._links_text(links), markup(self.t.howto).strip()]
        rows = ((Button(self.t.reset_button, RESET_ASK),), menu_button(self.store.current))
        return Reply.single(Text.join("\n\n", parts), rows)

    def _links_text(self, links: Links) -> Text:
        hours = str(int(FILE_TTL.total_seconds() // 3600))
        return fill(
            self.t.links, feed=links.feed, webcal=links.webcal, download=links.download, hours=hours
        ).strip()

    async def file(self, who: Who) -> Reply:
        """Without a public URL: the reminders as a calendar file (text where files cannot
        go), saying what would give a subscription link."""
        reminders = await self.service.list(who.channel, who.user_id)
        texts = self.store.current.ui.reminders
        if not reminders:
            return Reply.single(markup(texts.ics_empty), menu_rows(self.store.current))
        caption = Text.join("\n", [markup(texts.ics_caption).strip(), markup(self.t.no_link)])
        return Reply((Message(caption, (), self.service.ics(reminders)),))
