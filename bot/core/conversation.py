"""The channel-neutral conversation: turn commands, button taps and typed words into replies.

Every channel calls this with plain values (who, text) and renders the :class:`Reply` it
gets back. Features answer through the :class:`~bot.core.router.Router` they registered
with; this module only dispatches, checks admin rights, keeps one user's flood from
reaching the features (:mod:`bot.core.flood`), keeps group members' taps off each other's
buttons (:mod:`bot.core.owners`) and answers what nobody handles. It imports nothing from
any chat library.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from bot.content import Content, ContentStore
from bot.core import owners
from bot.core.channel import Capabilities
from bot.core.flood import FloodGuard, Verdict
from bot.core.keyboards import with_menu
from bot.core.reply import Reply
from bot.core.router import Request, Route, Router, Who
from bot.core.text import markup

log = logging.getLogger(__name__)

MAX_ARGS = 4096  # a Telegram message at most; features refuse what is too long for them
START = "start"  # ``/start <payload>``: what a deep link or a WeChat QR code's scene opens


class Conversation:
    """Answers for every input a user can give."""

    def __init__(
        self,
        store: ContentStore,
        router: Router,
        channels: Mapping[str, Capabilities],
        flood: FloodGuard | None = None,
    ) -> None:
        self.store = store
        self.router = router
        self.channels = channels
        self.flood = flood if flood is not None else FloodGuard()

    @property
    def content(self) -> Content:
        """The content live right now (read once per answer, so a reload never tears one)."""
        return self.store.current

    async def command(
        self, name: str, who: Who, args: str = "", replied: tuple[int, int] | None = None
    ) -> Reply | None:
        """Answer ``/name args``; None when there is no such command.

        ``replied`` is ``(chat_id, message_id)`` of the message the command answers, if any.
        An empty reply (no messages) means: say nothing (the user is flooding).
        """
        flooded = self._flooded(who)
        if flooded is not None:
            return flooded
        reply = await self._command(name, who, args, replied)
        return reply if reply is None else self._mark(reply, who)

    async def _command(
        self, name: str, who: Who, args: str, replied: tuple[int, int] | None = None
    ) -> Reply | None:
        name = name.lower()
        route = self.router.find_command(name)
        if route is None:
            return None
        request = Request(who, args.strip()[:MAX_ARGS], replied)
        if not self._allowed(route, who):
            return self.not_admin()
        if name == START and request.args:  # a deep link; an unknown payload: the welcome
            opened = self.router.find_start_link(request.args)
            if opened is not None:
                return await opened(Request(who, "", replied))
            request = Request(who, "", replied)
        reply: Reply = await route.handler(request)
        for extension in self.router.extensions.get(name, ()):
            reply = await extension(request, reply)
        return reply

    async def action(self, action: str, who: Who) -> Reply:
        """Answer a button; outdated or unknown buttons get the current menu.

        A tap on another member's button, or on an admin button by someone who is none,
        gets an alert for the tapper (:meth:`Reply.tap_alert`) and changes nothing.
        """
        flooded = self._flooded(who, tap=True)
        if flooded is not None:
            return flooded
        action, owner = owners.split(action)
        if owner is not None and owner != who.user_id:
            return Reply.tap_alert(markup(self.content.ui.texts.not_yours))
        route = self.router.find_action(action)
        if route is None:
            return self._mark(with_menu(self.content, self.content.ui.texts.stale_button), who)
        if not self._allowed(route, who):
            return Reply.tap_alert(markup(self.content.ui.texts.not_admin))
        reply: Reply = await route.handler(who, action)
        return self._mark(reply, who)

    def unoffered_tap(self, who: Who) -> Reply:
        """A tap whose data the channel found on no button of the tapped message (forged, or
        a keyboard replaced meanwhile): counted like any input, answered with nothing."""
        flooded = self._flooded(who, tap=True)
        return flooded if flooded is not None else Reply(alert=True)

    async def text(self, text: str, who: Who) -> Reply:
        """Typed words: a command, an answer a feature waits for, or a question.

        A command always wins, so a user can leave a half-finished flow by typing one.
        """
        flooded = self._flooded(who)
        if flooded is not None:
            return flooded
        return self._mark(await self._text(text, who), who)

    async def _text(self, text: str, who: Who) -> Reply:
        stripped = text.strip()
        capabilities = self.channels.get(who.channel)
        bare = capabilities is not None and capabilities.bare_commands
        if stripped.startswith("/") or bare:
            name, _, args = stripped.removeprefix("/").partition(" ")
            name = name.partition("@")[0].lower()
            if stripped.startswith("/") or name in self.router.commands:
                reply = await self._command(name, who, args)
                return reply if reply is not None else self.unknown_command()
        waiting = await self.router.waiting_for(who)
        if waiting is not None:
            return await waiting(who, text)
        if self.router.questions is None:
            return self.free_text()
        return await self.router.questions(who, text)

    def _allowed(self, route: Route, who: Who) -> bool:
        return who.is_admin or not route.admin

    def ignoring(self, who: Who) -> bool:
        """True while the flood guard ignores this user (channels may skip other work)."""
        return not who.is_admin and self.flood.paused((who.channel, who.user_id))

    def _flooded(self, who: Who, *, tap: bool = False) -> Reply | None:
        """None to answer; else the one notice, or an empty reply (say nothing)."""
        if who.is_admin:
            return None
        verdict = self.flood.check((who.channel, who.user_id))
        if verdict is Verdict.ANSWER:
            return None
        if verdict is Verdict.IGNORE:
            return Reply()
        notice = markup(self.content.ui.texts.flood)
        return Reply.tap_alert(notice) if tap else Reply.single(notice)

    def _mark(self, reply: Reply, who: Who) -> Reply:
        """In a group, the reply's buttons belong to the user it answers."""
        if not owners.shared_chat(who.chat_type):
            return reply
        capabilities = self.channels.get(who.channel)
        limit = capabilities.action_limit if capabilities is not None else None
        return owners.mark(reply, who.user_id, limit)

    def not_admin(self) -> Reply:
        """Polite refusal of an admin command or button."""
        return Reply.single(markup(self.content.ui.texts.not_admin))

    def unknown_command(self, who: Who | None = None) -> Reply:
        """Polite answer to a command the bot does not have, with the menu (``who``'s)."""
        reply = with_menu(self.content, self.content.ui.texts.unknown_command)
        return reply if who is None else self._mark(reply, who)

    def free_text(self, who: Who | None = None) -> Reply:
        """Answer to something that is not text (a sticker, a photo).

        With ``who`` it counts against their flood guard like any message (an empty reply:
        say nothing).
        """
        if who is not None:
            flooded = self._flooded(who)
            if flooded is not None:
                return flooded
        return with_menu(self.content, self.content.ui.texts.free_text)

    def error(self) -> Reply:
        """Apology after an internal error, with the menu so the user is never stuck."""
        return with_menu(self.content, self.content.ui.texts.error)
