"""The channel-neutral conversation: turn commands, button actions and text into replies.

Every channel (Telegram, console, later WeChat) calls this and renders the :class:`Reply`.
It imports nothing from any chat library.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot.audience import PREFIX as AUDIENCE_PREFIX
from bot.audience import Audience
from bot.broadcast.flow import PREFIX as BROADCAST_PREFIX
from bot.broadcast.flow import BroadcastFlow
from bot.commands import ADMIN_COMMANDS, PUBLIC_BUILTINS
from bot.content import Content, ContentError, ContentStore, Topic
from bot.content.models import UiTexts
from bot.delivery import Sender
from bot.faq import Match
from bot.reminders.flow import PREFIX as REMIND_PREFIX
from bot.reminders.flow import RemindFlow
from bot.replies import MENU_ACTION, TOPIC_ACTION_PREFIX, Button, Message, Reply, topic_action
from bot.storage import Database, UnansweredRepo
from bot.storage.reminders import ALL_CHATS
from bot.textfmt import TELEGRAM_TEXT_LIMIT, escape, split_text, utf16_len

if TYPE_CHECKING:
    from bot.background import Background

log = logging.getLogger(__name__)

BUTTONS_PER_ROW = 2
UNANSWERED_SHOWN = 20


def utc_now() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class Who:
    """Who is talking and where: what every answer may depend on."""

    user_id: int
    chat_id: int
    is_admin: bool = False  # a bot admin (BOT_ADMIN_IDS)
    chat_type: str = "private"
    chat_title: str = ""  # group title, or the user's name in private chats
    chat_admin: bool = False  # an admin of this group or channel (checked by the channel)
    message_id: int | None = None  # the bot message whose button was tapped


class Conversation:
    """Answers for every input a user can give, as :class:`Reply` objects."""

    def __init__(
        self,
        store: ContentStore,
        *,
        unanswered: UnansweredRepo | None = None,
        timezone: ZoneInfo | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.store = store
        self.unanswered_repo = unanswered
        self.timezone = timezone or ZoneInfo("Asia/Shanghai")
        self.clock = clock
        self.reminders: RemindFlow | None = None
        self.audience: Audience | None = None
        self.broadcasts: BroadcastFlow | None = None

    def attach_storage(
        self,
        db: Database,
        sender: Sender,
        chats: tuple[int, int] = ALL_CHATS,
        *,
        broadcasts: bool = True,
    ) -> Background:
        """Keep questions, reminders, the audience and broadcasts in ``db``; send via ``sender``.

        Returns the background work that the caller runs as one task for the bot's lifetime.
        """
        from bot.background import attach

        return attach(self, db, sender, chats, broadcasts=broadcasts)

    @property
    def content(self) -> Content:
        """The content live right now (read once per answer, so a reload never tears one)."""
        return self.store.current

    # -- keyboards -----------------------------------------------------------------------

    def _menu_button(self, content: Content) -> tuple[Button, ...]:
        return (Button(content.ui.buttons.menu, MENU_ACTION),)

    def _menu_rows(self, content: Content) -> tuple[tuple[Button, ...], ...]:
        return tuple(
            tuple(Button(content.topics[t].button, topic_action(t)) for t in row)
            for row in content.menu
        )

    def _topic_rows(
        self, content: Content, topic: Topic, others: list[str] | None = None
    ) -> tuple[tuple[Button, ...], ...]:
        ids = topic.related if others is None else others
        related = [Button(content.topics[t].button, topic_action(t)) for t in ids]
        rows = [
            tuple(related[i : i + BUTTONS_PER_ROW]) for i in range(0, len(related), BUTTONS_PER_ROW)
        ]
        return (*rows, self._menu_button(content))

    def menu_rows(self) -> tuple[tuple[Button, ...], ...]:
        """The main menu's buttons for the live content."""
        return self._menu_rows(self.content)

    def _with_menu(self, text_of: Callable[[UiTexts], str]) -> Reply:
        content = self.content
        return Reply.single(text_of(content.ui.texts), self._menu_rows(content))

    # -- answers -------------------------------------------------------------------------

    def start(self) -> Reply:
        """Welcome plus the main menu."""
        return self._with_menu(lambda texts: texts.welcome)

    def menu(self) -> Reply:
        """The main menu on its own."""
        return self._with_menu(lambda texts: texts.menu_title)

    def help(self, *, is_admin: bool = False) -> Reply:
        """Every command with its description; admin commands only for admins."""
        content = self.content
        lines = [content.ui.texts.help_header.rstrip(), ""]
        described = {name: getattr(content.ui.commands, name) for name in PUBLIC_BUILTINS}
        described |= {t.id: t.description for t in content.topics.values()}
        lines += [f"/{name} — {escape(text)}" for name, text in described.items()]
        if is_admin:
            lines += ["", content.ui.texts.help_admin_header.rstrip()]
            lines += [
                f"/{name} — {escape(getattr(content.ui.admin_commands, name))}"
                for name in ADMIN_COMMANDS
            ]
        return Reply.of(split_text("\n".join(lines)), self._menu_rows(content))

    def topic(self, topic_id: str) -> Reply | None:
        """A guide topic with related buttons and a way back; None when it does not exist."""
        content = self.content
        topic = content.topics.get(topic_id)
        if topic is None:
            return None
        return Reply.of(topic.messages, self._topic_rows(content, topic))

    def answer(self, text: str) -> tuple[Match, Reply]:
        """Match free text and build the reply, without recording anything."""
        content, matcher = self.content, self.store.matcher
        match = matcher.match(text)
        if match.kind == "topic" and match.topic is not None and match.topic in content.topics:
            topic = content.topics[match.topic]
            others = self._others(content, topic, match)
            return match, Reply.of(topic.messages, self._topic_rows(content, topic, others))
        if match.kind == "topic" and match.topic == "remind":
            texts = content.ui.reminders
            rows = (
                (Button(texts.start, f"{REMIND_PREFIX}go"),),
                (Button(texts.my_reminders, f"{REMIND_PREFIX}list"),),
                self._menu_button(content),
            )
            return match, Reply.single(texts.offer, rows)
        if match.kind == "greeting":
            if match.greeting == "thanks":
                return match, self._with_menu(lambda texts: texts.greeting_thanks)
            return match, self._with_menu(lambda texts: texts.greeting_hello)
        limit = content.faq.alternatives
        guesses = [
            t
            for t in match.others(limit + 1, floor=content.faq.min_score / 3)
            if t in content.topics
        ][:limit]
        if match.kind == "none" and guesses:
            choices = tuple((Button(content.topics[t].button, topic_action(t)),) for t in guesses)
            reply = Reply.single(
                content.ui.texts.did_you_mean, (*choices, self._menu_button(content))
            )
            return match, reply
        return match, self._with_menu(lambda texts: texts.no_answer)

    async def question(self, text: str, *, who: Who | None = None) -> Reply:
        """Answer free text: the best topic, a greeting, or an honest "not covered" + menu.

        While a /remind waits for a typed date or text, the text goes there instead.
        Questions without an answer are recorded for content authors (/unanswered).
        """
        flow = self.reminders
        if who is not None and flow is not None and flow.waiting_for_text(who.user_id):
            return await flow.on_text(who.user_id, who.chat_id, text)
        match, reply = self.answer(text)
        if match.kind == "topic" and self.audience is not None:
            await self.audience.answered()
        unanswered = match.kind in ("none", "out_of_scope")
        if unanswered and self.unanswered_repo is not None and match.normalized:
            await self.unanswered_repo.record(match.normalized, text.strip(), self.clock())
        return reply

    @staticmethod
    def _others(content: Content, topic: Topic, match: Match) -> list[str]:
        """Other likely topics for the buttons, topped up with the answer's related topics."""
        limit = content.faq.alternatives
        others = [
            t
            for t in match.others(limit + 1, floor=content.faq.min_score / 3)
            if t in content.topics
        ][:limit]
        for ref in topic.related:
            if len(others) >= limit:
                break
            if ref not in others:
                others.append(ref)
        return others

    async def unanswered(self, *, is_admin: bool) -> Reply:
        """Admin only: the most asked questions that got no answer."""
        content = self.content
        if not is_admin:
            return Reply.single(content.ui.texts.not_admin)
        rows = await self.unanswered_repo.top(UNANSWERED_SHOWN) if self.unanswered_repo else []
        if not rows:
            return Reply.single(content.ui.texts.unanswered_empty)
        lines = [content.ui.texts.unanswered_header.rstrip()]
        for row in rows:
            seen = row.last_seen.astimezone(self.timezone).strftime("%m-%d %H:%M")
            lines.append(f"{row.count}× {escape(row.example)} <i>({seen})</i>")
        return Reply.of(split_text("\n".join(lines)))

    def unknown_command(self) -> Reply:
        """Polite answer to a command the bot does not have, with the menu."""
        return self._with_menu(lambda texts: texts.unknown_command)

    def free_text(self) -> Reply:
        """Answer to plain text in a private chat."""
        return self._with_menu(lambda texts: texts.free_text)

    def error(self) -> Reply:
        """Apology after an internal error, with the menu so the user is never stuck."""
        return self._with_menu(lambda texts: texts.error)

    async def action(self, action: str, *, who: Who) -> Reply:
        """Answer a button tap; outdated buttons get the current menu."""
        if action == MENU_ACTION:
            return self.menu()
        if action.startswith(TOPIC_ACTION_PREFIX):
            reply = self.topic(action.removeprefix(TOPIC_ACTION_PREFIX))
            if reply is not None:
                return reply
        if action.startswith(BROADCAST_PREFIX) and self.broadcasts is not None:
            if not who.is_admin:
                return Reply.single(self.content.ui.texts.not_admin)
            return await self.broadcasts.on_action(who.user_id, who.chat_id, who.message_id, action)
        if action.startswith(AUDIENCE_PREFIX) and self.audience is not None:
            return await self.audience.on_action(who.user_id, action)
        if action.startswith(REMIND_PREFIX) and self.reminders is not None:
            return await self.reminders.on_action(who.user_id, who.chat_id, action)
        return self._with_menu(lambda texts: texts.stale_button)

    async def command(
        self,
        name: str,
        *,
        who: Who,
        args: str = "",
        replied: tuple[int, int] | None = None,
    ) -> Reply | None:
        """Answer ``/name args``; None when there is no such command.

        ``replied`` is ``(chat_id, message_id)`` of the message the command answers, if any
        (an admin's /broadcast as a reply copies that message).
        """
        name = name.lower()
        if name == "start":
            return await self._start(who)
        if name == "help":
            return self.help(is_admin=who.is_admin)
        if name == "menu":
            return self.menu()
        if name == "reload":
            return await self.reload(is_admin=who.is_admin)
        if name == "unanswered":
            return await self.unanswered(is_admin=who.is_admin)
        if name in ("broadcast", "broadcast_at", "broadcasts"):
            return await self._broadcast_command(name, who, args, replied)
        if name in ("subscribe", "unsubscribe", "stats"):
            return await self._audience_command(name, who)
        if name in ("remind", "reminders", "release", "ics"):
            return await self._reminder_command(name, who, args)
        return self.topic(name)

    async def _start(self, who: Who) -> Reply:
        """Welcome and menu; in private also the subscription state and the one-time offer."""
        reply = self.start()
        if self.audience is None or who.chat_type != "private":
            return reply
        state, offer = await self.audience.on_start(who.user_id, who.chat_title)
        welcome = reply.messages[0]
        first = Message(f"{welcome.text.rstrip()}\n{state}", welcome.buttons)
        return Reply((first, offer) if offer is not None else (first,))

    async def _broadcast_command(
        self, name: str, who: Who, args: str, replied: tuple[int, int] | None
    ) -> Reply:
        if not who.is_admin:
            return Reply.single(self.content.ui.texts.not_admin)
        if self.broadcasts is None:
            return self.error()
        if name == "broadcasts":
            return await self.broadcasts.recent()
        return await self.broadcasts.compose(
            who.user_id, args, replied, scheduled=name == "broadcast_at"
        )

    async def _audience_command(self, name: str, who: Who) -> Reply:
        if self.audience is None:
            return self.error()
        if name == "stats":
            if not who.is_admin:
                return Reply.single(self.content.ui.texts.not_admin)
            return await self.audience.stats()
        return await self.audience.set(
            who.chat_id,
            who.chat_type,
            who.chat_title,
            name == "subscribe",
            chat_admin=who.chat_admin,
        )

    async def _reminder_command(self, name: str, who: Who, args: str) -> Reply:
        flow = self.reminders
        if flow is None:  # no storage attached (e.g. `ask`): nothing can be kept
            return self.error()
        if name == "remind":
            return await flow.start(who.user_id, who.chat_id, args)
        if name == "reminders":
            return await flow.list(who.user_id)
        if name == "release":
            return await flow.release(args)
        return await flow.ics(who.user_id)

    async def reload(self, *, is_admin: bool) -> Reply:
        """Admin only: re-read content; a bad file is reported and the old content stays."""
        if not is_admin:
            return Reply.single(self.content.ui.texts.not_admin)
        old = self.content
        try:
            new = await self.store.reload()
        except ContentError as exc:
            log.warning("reload rejected: %d problem(s)", len(exc.problems))
            return Reply.single(_reload_failed_text(old, [str(p) for p in exc.problems]))
        log.info("content reloaded: %d topics", len(new.topics))
        return Reply.single(new.ui.texts.reload_ok.replace("{topics}", str(len(new.topics))))


def _reload_failed_text(content: Content, problems: list[str]) -> str:
    """The reload_failed text with as many problem lines as fit in one message."""
    template = content.ui.texts.reload_failed
    shown: list[str] = []
    for index, line in enumerate(problems):
        rest = len(problems) - index - 1
        candidate = [*shown, line] + ([f"… (+{rest})"] if rest else [])
        text = template.replace("{errors}", f"<code>{escape(chr(10).join(candidate))}</code>")
        if utf16_len(text) > TELEGRAM_TEXT_LIMIT:
            break
        shown.append(line)
    hidden = len(problems) - len(shown)
    block = "\n".join(shown + ([f"… (+{hidden})"] if hidden else []))
    return template.replace("{errors}", f"<code>{escape(block)}</code>")
