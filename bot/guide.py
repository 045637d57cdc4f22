"""The guide feature: welcome, menu, help and one command per guide topic.

Registers /start, /menu, /help, a command for every topic id in content (looked up on each
call, so /reload can add topics) and the menu and topic buttons.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.commands import ADMIN_COMMANDS, PUBLIC_BUILTINS
from bot.content import Content, ContentStore
from bot.core.keyboards import menu_rows, topic_rows, with_menu
from bot.core.reply import MENU_ACTION, TOPIC_ACTION_PREFIX, Reply, Rows
from bot.core.router import CommandHandler, Request, Router, Who
from bot.core.text import Text, markup


class Guide:
    """Answers from the guide's topics and the fixed texts around them."""

    def __init__(
        self, store: ContentStore, extra_rows: Callable[[Who, str], Rows] | None = None
    ) -> None:
        self.store = store
        # Rows added under a topic for whoever asked (an admin's "share link" button).
        self.extra_rows = extra_rows

    @property
    def content(self) -> Content:
        """The live content."""
        return self.store.current

    def register(self, router: Router) -> None:
        """Commands and buttons of the guide."""
        router.command("start", self._start)
        router.command("menu", self._menu)
        router.command("help", self._help)
        router.commands_from(self._topic_command)
        router.action(MENU_ACTION, self._menu_action)
        router.action(TOPIC_ACTION_PREFIX, self._topic_action)

    def start(self) -> Reply:
        """Welcome plus the main menu."""
        return with_menu(self.content, self.content.ui.texts.welcome)

    def menu(self) -> Reply:
        """The main menu on its own."""
        return with_menu(self.content, self.content.ui.texts.menu_title)

    def help(self, *, is_admin: bool = False) -> Reply:
        """Every command with its description; admin commands only for admins."""
        content = self.content
        lines = [markup(content.ui.texts.help_header).strip(), Text()]
        described = {name: getattr(content.ui.commands, name) for name in PUBLIC_BUILTINS}
        described |= {t.id: t.description for t in content.topics.values()}
        lines += [Text.plain(f"/{name} — {text}") for name, text in described.items()]
        if is_admin:
            lines += [Text(), markup(content.ui.texts.help_admin_header).strip()]
            lines += [
                Text.plain(f"/{name} — {getattr(content.ui.admin_commands, name)}")
                for name in ADMIN_COMMANDS
            ]
        return Reply.single(Text.join("\n", lines), menu_rows(content))

    def topic(
        self, topic_id: str, others: list[str] | None = None, who: Who | None = None
    ) -> Reply | None:
        """A topic with buttons to ``others`` (default: its related topics) and the menu;
        with ``who``, the rows added for them (an admin's "share link")."""
        content = self.content
        topic = content.topics.get(topic_id)
        if topic is None:
            return None
        buttons = topic_rows(content, topic.related if others is None else others)
        if who is not None and self.extra_rows is not None:
            buttons = (*buttons, *self.extra_rows(who, topic_id))
        return Reply.of(topic.messages, buttons)

    async def _start(self, request: Request) -> Reply:
        return self.start()

    async def _menu(self, request: Request) -> Reply:
        return self.menu()

    async def _help(self, request: Request) -> Reply:
        return self.help(is_admin=request.who.is_admin)

    def _topic_command(self, name: str) -> CommandHandler | None:
        if name not in self.content.topics:
            return None

        async def answer(request: Request) -> Reply:
            return self.topic(name, who=request.who) or self.menu()

        return answer

    async def _menu_action(self, who: Who, action: str) -> Reply:
        return self.menu()

    async def _topic_action(self, who: Who, action: str) -> Reply:
        reply = self.topic(action.removeprefix(TOPIC_ACTION_PREFIX), who=who)
        if reply is None:  # a button of a topic that a reload removed
            return with_menu(self.content, self.content.ui.texts.stale_button)
        return reply
