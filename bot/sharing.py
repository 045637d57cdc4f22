"""Sharing one answer: deep links that open it, the admins' /link and "share link" button,
and the topics an inline search (``@bot 复核`` in any chat) offers.

A deep link's payload (``t.me/<bot>?start=steps``, or a WeChat QR code's scene) is a topic
id or one of the features' payloads (:data:`bot.commands.START_LINKS`); anything else gets
the welcome (see :meth:`bot.core.conversation.Conversation.command`). Making a link is the
channel's business: a channel that has links passes a :data:`LinkMaker` (Telegram:
``https://t.me/<bot>?start=<payload>``, with the username from getMe).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from bot.commands import START_LINKS
from bot.content import Content, ContentStore
from bot.core.keyboards import menu_button
from bot.core.reply import Button, Reply, Rows, topic_action
from bot.core.router import CommandHandler, Request, Router, Who
from bot.core.text import fill, markup
from bot.reminders.flow import RemindFlow

LinkMaker = Callable[[str], str]  # payload -> a link that opens the bot on it
SHARE_PREFIX = "ln:"
REMIND_PREFIX = "remind_"
MAX_SHOWN_ID = 64  # characters of an unknown payload repeated back


class Sharing:
    """Deep links into topics and features, and the admins' way to get them."""

    def __init__(
        self, store: ContentStore, remind: RemindFlow, links: Mapping[str, LinkMaker]
    ) -> None:
        self.store = store
        self.remind = remind
        self.links = links  # channel name -> how that channel makes a link

    def register(self, router: Router) -> None:
        """What deep links open; /link and the "share link" button, for bot admins."""

        def opens(payload: str) -> CommandHandler | None:
            return self._opens(router, payload.lower())

        router.start_link(opens)
        router.command("link", self._link, admin=True)
        router.action(SHARE_PREFIX, self._share, admin=True)

    @staticmethod
    def payloads(content: Content) -> list[str]:
        """Every payload a deep link may carry: topic ids, then the features'."""
        return [*content.topics, *START_LINKS]

    def _opens(self, router: Router, payload: str) -> CommandHandler | None:
        if payload in self.store.current.topics or payload == "remind":
            route = router.find_command(payload)  # the topic's command, or /remind
            return route.handler if route is not None else None
        kind = payload.removeprefix(REMIND_PREFIX)
        if payload.startswith(REMIND_PREFIX) and payload in START_LINKS:

            async def remind(request: Request) -> Reply:
                return await self.remind.open(request.who, kind)

            return remind
        answer = router.topic_answers.get(payload) if payload in START_LINKS else None
        if answer is None:
            return None
        found = answer  # "subscribe": the offer with a button to confirm, never silently

        async def feature(request: Request) -> Reply:
            return found(request.who)

        return feature

    def row(self, who: Who, topic_id: str) -> Rows:
        """The admin's "share link" button under a topic (private chats with links only)."""
        if not who.is_admin or who.chat_type != "private" or who.channel not in self.links:
            return ()
        return ((Button(self.store.current.ui.share.link_button, SHARE_PREFIX + topic_id),),)

    def link(self, who: Who, payload: str) -> Reply:
        """The link that opens ``payload``, as ``who``'s channel makes it, ready to post."""
        content = self.store.current
        texts = content.ui.share
        if payload not in self.payloads(content):
            return Reply.single(fill(texts.link_unknown, id=payload[:MAX_SHOWN_ID]))
        maker = self.links.get(who.channel)
        if maker is None:
            return Reply.single(fill(texts.link_unavailable, id=payload))
        topic = content.topics.get(payload)
        name = topic.button if topic is not None else payload
        text = fill(texts.link, topic=name, url=maker(payload), id=payload)
        back = ((Button(topic.button, topic_action(payload)),),) if topic is not None else ()
        return Reply.single(text, (*back, menu_button(content)))

    async def _link(self, request: Request) -> Reply:
        payload = request.args.split()[0].lower() if request.args.split() else ""
        if not payload:
            return Reply.single(markup(self.store.current.ui.share.link_usage))
        return self.link(request.who, payload)

    async def _share(self, who: Who, action: str) -> Reply:
        return self.link(who, action.removeprefix(SHARE_PREFIX))

    def matching(self, query: str, limit: int) -> list[str]:
        """Topic ids an inline search for ``query`` offers, best first (the free-text
        matcher's answer, then its other candidates); the main menu for an empty query."""
        content, matcher = self.store.current, self.store.matcher
        text = query.strip()
        if not text:
            return [topic for row in content.menu for topic in row][:limit]
        match = matcher.match(text)
        if match.kind == "out_of_scope":
            return []
        best = match.topic if match.kind == "topic" else None
        found = [best] if best is not None and best in content.topics else []
        found += [t for t, _ in match.candidates if t in content.topics and t not in found]
        return found[:limit]
