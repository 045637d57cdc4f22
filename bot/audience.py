"""Who the bot can reach: private users, groups, channels, and their subscriptions.

Channel-neutral. Channels report what they learn (a user wrote, the bot was added to or
removed from a chat, a group migrated, a WeChat user followed); commands turn announcements
on or off. Private users are asked once and never subscribed silently; groups and channels
the bot is added to get announcements until one of their admins turns them off.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from bot.content import ContentStore
from bot.content.ui_models import AudienceTexts
from bot.core.channel import Capabilities
from bot.core.keyboards import menu_button
from bot.core.reply import Button, Message, Reply
from bot.core.router import Request, Router, Who
from bot.core.text import fill, markup
from bot.storage import ChatRepo

PREFIX = "s:"
GROUP_TYPES = ("group", "supergroup", "channel")


class Audience:
    """Subscriptions and statistics."""

    def __init__(
        self,
        repo: ChatRepo,
        store: ContentStore,
        clock: Callable[[], datetime],
        channels: Mapping[str, Capabilities],
    ) -> None:
        self.repo = repo
        self.store = store
        self.clock = clock
        self.channels = channels

    @property
    def t(self) -> AudienceTexts:
        """The audience texts of the live content."""
        return self.store.current.ui.audience

    def register(self, router: Router) -> None:
        """/subscribe, /unsubscribe, /stats, the offer's buttons, the state line on /start."""
        router.command("subscribe", self._subscribe)
        router.command("unsubscribe", self._unsubscribe)
        router.command("stats", self._stats, admin=True)
        router.action(PREFIX, self.on_action)
        router.extend("start", self._on_start)
        router.topic_answer("subscribe", lambda who: self.offer(who, True))
        router.topic_answer("unsubscribe", lambda who: self.offer(who, False))

    # -- what channels report ------------------------------------------------------------

    async def private_seen(self, channel: str, user_id: int, name: str) -> None:
        """A user wrote to the bot in private: the bot can reach them."""
        await self.repo.seen(channel, user_id, "private", name, self.clock())

    async def joined(self, channel: str, chat_id: int, chat_type: str, title: str) -> None:
        """The bot can post in a chat now (added, promoted, unblocked)."""
        await self.repo.seen(
            channel, chat_id, chat_type, title, self.clock(), subscribe=chat_type != "private"
        )

    async def followed(self, channel: str, user_id: int) -> None:
        """A user followed an account (WeChat): following is asking for its messages."""
        row, new = await self.repo.seen(
            channel, user_id, "private", "", self.clock(), subscribe=True
        )
        if not new and not row.subscribed:
            await self.repo.set_subscribed(channel, user_id, True, self.clock())
        await self.repo.mark_asked(channel, user_id)

    async def gone(self, channel: str, chat_id: int) -> None:
        """The bot was removed or blocked: nothing is sent there any more."""
        await self.repo.left(channel, chat_id, self.clock())

    async def migrated(self, channel: str, old_id: int, new_id: int) -> None:
        """A group became a supergroup with a new id; its subscription moves with it."""
        await self.repo.migrate(channel, old_id, new_id, self.clock())

    async def answered(self) -> None:
        """Count one question answered with a topic (for /stats)."""
        await self.repo.count("questions_answered")

    # -- commands and buttons -------------------------------------------------------------

    async def _on_start(self, request: Request, reply: Reply) -> Reply:
        """In private: the subscription state under the welcome, and the offer once."""
        who = request.who
        capabilities = self.channels.get(who.channel)
        if capabilities is None or not capabilities.announcements:
            return reply
        if who.chat_type != "private" or not reply.messages:
            return reply
        row, _ = await self.repo.seen(
            who.channel, who.chat_id, "private", who.chat_title, self.clock()
        )
        welcome = reply.messages[0]
        state = markup(self.t.state_on if row.subscribed else self.t.state_off)
        first = Message(welcome.text.strip() + markup("\n") + state, welcome.buttons)
        messages = [first, *reply.messages[1:]]
        if not row.asked:
            await self.repo.mark_asked(who.channel, who.chat_id)
            buttons = (
                (Button(self.t.btn_yes, f"{PREFIX}on"), Button(self.t.btn_no, f"{PREFIX}no")),
            )
            messages.append(Message(markup(self.t.offer), buttons))
        return Reply(tuple(messages))

    async def _subscribe(self, request: Request) -> Reply:
        return await self.set(request.who, True)

    async def _unsubscribe(self, request: Request) -> Reply:
        return await self.set(request.who, False)

    async def set(self, who: Who, on: bool) -> Reply:
        """/subscribe or /unsubscribe; in groups only the group's admins may."""
        now = self.clock()
        if who.chat_type in GROUP_TYPES:
            if not await who.is_chat_admin():
                return Reply.single(markup(self.t.group_admin_only))
            await self.repo.seen(who.channel, who.chat_id, who.chat_type, who.chat_title, now)
            await self.repo.set_subscribed(who.channel, who.chat_id, on, now)
            text = self.t.group_subscribed if on else self.t.group_unsubscribed
            return Reply.single(markup(text))
        await self.repo.seen(who.channel, who.chat_id, "private", who.chat_title, now)
        await self.repo.set_subscribed(who.channel, who.chat_id, on, now)
        return Reply.single(markup(self.t.subscribed if on else self.t.unsubscribed))

    def offer(self, who: Who, on: bool) -> Reply:
        """A typed question about subscribing (``on``) or unsubscribing: a button to confirm.

        Nothing changes until the user taps; in a group the group's admins decide.
        """
        if who.chat_type in GROUP_TYPES:
            return Reply.single(markup(self.t.ask_group))
        if on:
            button = Button(self.t.btn_yes, f"{PREFIX}on")
        else:
            button = Button(self.t.btn_unsubscribe, f"{PREFIX}off")
        text = self.t.ask_subscribe if on else self.t.ask_unsubscribe
        return Reply.single(markup(text), ((button,), menu_button(self.store.current)))

    async def on_action(self, who: Who, action: str) -> Reply:
        """The buttons of the one-time offer and of a typed question's offer."""
        if who.chat_type in GROUP_TYPES:  # subscriptions are per chat: a group's admins decide
            return Reply.single(markup(self.t.ask_group))
        on = action == f"{PREFIX}on"
        now = self.clock()
        await self.repo.seen(who.channel, who.user_id, "private", who.chat_title, now)
        await self.repo.set_subscribed(who.channel, who.user_id, on, now)
        if action == f"{PREFIX}off":
            return Reply.single(markup(self.t.unsubscribed))
        return Reply.single(markup(self.t.subscribed if on else self.t.declined))

    async def _stats(self, request: Request) -> Reply:
        """Counts for admins."""
        s = await self.repo.stats()
        text = fill(
            self.t.stats,
            users=str(s.users),
            subscribers=str(s.subscribers),
            groups=str(s.groups),
            channels=str(s.channels),
            questions=str(s.questions_answered),
        )
        return Reply.single(text)
