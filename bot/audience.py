"""Who the bot can reach: private users, groups, channels, and their subscriptions.

Channel-neutral. Channels report what they learn (a user wrote, the bot was added to or
removed from a chat, a group migrated); commands turn announcements on or off. Private
users are asked once and never subscribed silently; groups and channels the bot is added to
get announcements until one of their admins turns them off.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from bot.content import ContentStore
from bot.content.models import AudienceTexts
from bot.replies import Button, Message, Reply
from bot.storage import ChatRepo

PREFIX = "s:"
GROUP_TYPES = ("group", "supergroup")


class Audience:
    """Subscriptions and statistics."""

    def __init__(self, repo: ChatRepo, store: ContentStore, clock: Callable[[], datetime]) -> None:
        self.repo = repo
        self.store = store
        self.clock = clock

    @property
    def t(self) -> AudienceTexts:
        """The audience texts of the live content."""
        return self.store.current.ui.audience

    async def private_seen(self, user_id: int, name: str) -> None:
        """A user wrote to the bot in private: the bot can reach them."""
        await self.repo.seen(user_id, "private", name, self.clock())

    async def joined(self, chat_id: int, chat_type: str, title: str) -> None:
        """The bot can post in a chat now (added, promoted, unblocked)."""
        await self.repo.seen(
            chat_id, chat_type, title, self.clock(), subscribe=chat_type != "private"
        )

    async def followed(self, user_id: int) -> None:
        """A WeChat user followed the account: following is asking for its messages."""
        row, new = await self.repo.seen(user_id, "wechat", "", self.clock(), subscribe=True)
        if not new and not row.subscribed:
            await self.repo.set_subscribed(user_id, True, self.clock())

    async def gone(self, chat_id: int) -> None:
        """The bot was removed or blocked: nothing is sent there any more."""
        await self.repo.left(chat_id, self.clock())

    async def migrated(self, old_id: int, new_id: int) -> None:
        """A group became a supergroup with a new id; its subscription moves with it."""
        await self.repo.migrate(old_id, new_id, self.clock())

    async def answered(self) -> None:
        """Count one question answered with a topic (for /stats)."""
        await self.repo.count("questions_answered")

    async def on_start(self, user_id: int, name: str) -> tuple[str, Message | None]:
        """The subscription state line for /start, and the one-time offer if not asked yet."""
        row, _ = await self.repo.seen(user_id, "private", name, self.clock())
        state = self.t.state_on if row.subscribed else self.t.state_off
        if row.asked:
            return state, None
        await self.repo.mark_asked(user_id)
        buttons = ((Button(self.t.btn_yes, f"{PREFIX}on"), Button(self.t.btn_no, f"{PREFIX}no")),)
        return state, Message(self.t.offer, buttons)

    async def set(
        self, chat_id: int, chat_type: str, title: str, on: bool, *, chat_admin: bool
    ) -> Reply:
        """/subscribe or /unsubscribe; in groups only the group's admins may."""
        if chat_type in GROUP_TYPES or chat_type == "channel":
            if not chat_admin:
                return Reply.single(self.t.group_admin_only)
            await self.repo.seen(chat_id, chat_type, title, self.clock())
            await self.repo.set_subscribed(chat_id, on, self.clock())
            return Reply.single(self.t.group_subscribed if on else self.t.group_unsubscribed)
        await self.repo.seen(chat_id, "private", title, self.clock())
        await self.repo.set_subscribed(chat_id, on, self.clock())
        return Reply.single(self.t.subscribed if on else self.t.unsubscribed)

    async def on_action(self, user_id: int, action: str) -> Reply:
        """The buttons of the one-time offer."""
        if action == f"{PREFIX}on":
            await self.repo.set_subscribed(user_id, True, self.clock())
            return Reply.single(self.t.subscribed)
        await self.repo.set_subscribed(user_id, False, self.clock())
        return Reply.single(self.t.declined)

    async def stats(self) -> Reply:
        """Counts for admins."""
        s = await self.repo.stats()
        text = (
            self.t.stats.replace("{users}", str(s.users))
            .replace("{subscribers}", str(s.subscribers))
            .replace("{groups}", str(s.groups))
            .replace("{channels}", str(s.channels))
            .replace("{questions}", str(s.questions_answered))
        )
        return Reply.single(text)
