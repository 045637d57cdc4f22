"""The channel-neutral conversation: turn commands, button taps and typed words into replies.

Every channel calls this with plain values (who, text) and renders the :class:`Reply` it
gets back. Features answer through the :class:`~bot.core.router.Router` they registered
with; this module only dispatches, checks admin rights and answers what nobody handles.
It imports nothing from any chat library.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from bot.content import Content, ContentStore
from bot.core.channel import Capabilities
from bot.core.keyboards import with_menu
from bot.core.reply import Reply
from bot.core.router import Request, Route, Router, Who
from bot.core.text import markup

log = logging.getLogger(__name__)

MAX_ARGS = 4096  # a Telegram message at most; features refuse what is too long for them


class Conversation:
    """Answers for every input a user can give."""

    def __init__(
        self,
        store: ContentStore,
        router: Router,
        channels: Mapping[str, Capabilities],
    ) -> None:
        self.store = store
        self.router = router
        self.channels = channels

    @property
    def content(self) -> Content:
        """The content live right now (read once per answer, so a reload never tears one)."""
        return self.store.current

    async def command(
        self, name: str, who: Who, args: str = "", replied: tuple[int, int] | None = None
    ) -> Reply | None:
        """Answer ``/name args``; None when there is no such command.

        ``replied`` is ``(chat_id, message_id)`` of the message the command answers, if any.
        """
        name = name.lower()
        route = self.router.find_command(name)
        if route is None:
            return None
        request = Request(who, args.strip()[:MAX_ARGS], replied)
        if not self._allowed(route, who):
            return self.not_admin()
        reply: Reply = await route.handler(request)
        for extension in self.router.extensions.get(name, ()):
            reply = await extension(request, reply)
        return reply

    async def action(self, action: str, who: Who) -> Reply:
        """Answer a button; outdated or unknown buttons get the current menu."""
        route = self.router.find_action(action)
        if route is None:
            return with_menu(self.content, self.content.ui.texts.stale_button)
        if not self._allowed(route, who):
            return self.not_admin()
        reply: Reply = await route.handler(who, action)
        return reply

    async def text(self, text: str, who: Who) -> Reply:
        """Typed words: a command, an answer a feature waits for, or a question.

        A command always wins, so a user can leave a half-finished flow by typing one.
        """
        stripped = text.strip()
        capabilities = self.channels.get(who.channel)
        bare = capabilities is not None and capabilities.bare_commands
        if stripped.startswith("/") or bare:
            name, _, args = stripped.removeprefix("/").partition(" ")
            name = name.partition("@")[0].lower()
            if stripped.startswith("/") or name in self.router.commands:
                reply = await self.command(name, who, args)
                return reply if reply is not None else self.unknown_command()
        waiting = self.router.waiting_for(who)
        if waiting is not None:
            return await waiting(who, text)
        if self.router.questions is None:
            return self.free_text()
        return await self.router.questions(who, text)

    def _allowed(self, route: Route, who: Who) -> bool:
        return who.is_admin or not route.admin

    def not_admin(self) -> Reply:
        """Polite refusal of an admin command or button."""
        return Reply.single(markup(self.content.ui.texts.not_admin))

    def unknown_command(self) -> Reply:
        """Polite answer to a command the bot does not have, with the menu."""
        return with_menu(self.content, self.content.ui.texts.unknown_command)

    def free_text(self) -> Reply:
        """Answer to something that is not text (a sticker, a photo)."""
        return with_menu(self.content, self.content.ui.texts.free_text)

    def error(self) -> Reply:
        """Apology after an internal error, with the menu so the user is never stuck."""
        return with_menu(self.content, self.content.ui.texts.error)
