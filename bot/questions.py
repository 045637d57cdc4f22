"""Free-text questions: match them to a topic and answer; keep the ones without an answer.

Registers itself as the router's answer to typed words, and /unanswered for admins.
``answer`` is pure (no storage), so the ``ask`` command line uses it alone.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.content import Content, ContentStore, Topic
from bot.core.keyboards import menu_button, with_menu
from bot.core.reply import Button, Reply, topic_action
from bot.core.router import Request, Router, TopicAnswer, Who
from bot.core.text import Text, fill, markup
from bot.faq import Match
from bot.guide import Guide
from bot.storage import UnansweredRepo

UNANSWERED_SHOWN = 20


class Questions:
    """Answers typed questions with the best topic, a greeting, or an honest "not covered"."""

    def __init__(
        self,
        store: ContentStore,
        guide: Guide,
        topic_answers: dict[str, TopicAnswer],
        *,
        unanswered: UnansweredRepo | None = None,
        on_answered: Callable[[], Awaitable[None]] | None = None,
        clock: Callable[[], datetime],
        timezone: ZoneInfo,
    ) -> None:
        self.store = store
        self.guide = guide
        self.topic_answers = topic_answers
        self.unanswered_repo = unanswered
        self.on_answered = on_answered
        self.clock = clock
        self.timezone = timezone

    def register(self, router: Router) -> None:
        """Typed questions and /unanswered."""
        router.free_text(self.question)
        router.command("unanswered", self._unanswered, admin=True)

    def answer(self, text: str, who: Who | None = None) -> tuple[Match, Reply]:
        """Match free text and build the reply, without recording anything."""
        content, matcher = self.store.current, self.store.matcher
        match = matcher.match(text)
        if match.kind == "topic" and match.topic is not None:
            topic = content.topics.get(match.topic)
            if topic is not None:
                reply = self.guide.topic(topic.id, self._others(content, topic, match))
                assert reply is not None
                return match, reply
            feature = self.topic_answers.get(match.topic)
            if feature is not None and who is not None:
                return match, feature(who)
        if match.kind == "greeting":
            texts = content.ui.texts
            greeting = texts.greeting_thanks if match.greeting == "thanks" else texts.greeting_hello
            return match, with_menu(content, greeting)
        guesses = self._guesses(content, match)
        if match.kind == "none" and guesses:
            choices = tuple((Button(content.topics[t].button, topic_action(t)),) for t in guesses)
            ask = markup(content.ui.texts.did_you_mean)
            return match, Reply.single(ask, (*choices, menu_button(content)))
        return match, with_menu(content, content.ui.texts.no_answer)

    async def question(self, who: Who, text: str) -> Reply:
        """Answer typed words; questions without an answer are kept for /unanswered."""
        match, reply = self.answer(text, who)
        if match.kind == "topic" and self.on_answered is not None:
            await self.on_answered()
        unanswered = match.kind in ("none", "out_of_scope")
        if unanswered and self.unanswered_repo is not None and match.normalized:
            await self.unanswered_repo.record(match.normalized, text.strip(), self.clock())
        return reply

    @staticmethod
    def _guesses(content: Content, match: Match) -> list[str]:
        limit = content.faq.alternatives
        # The matcher lists only candidates worth offering (faq.yaml learned.suggest).
        return [t for t in match.others(limit + 1) if t in content.topics][:limit]

    def _others(self, content: Content, topic: Topic, match: Match) -> list[str]:
        """Other likely topics for the buttons, topped up with the answer's related topics."""
        limit = content.faq.alternatives
        others = self._guesses(content, match)
        for ref in topic.related:
            if len(others) >= limit:
                break
            if ref not in others:
                others.append(ref)
        return others

    async def _unanswered(self, request: Request) -> Reply:
        """Admin only: the most asked questions that got no answer."""
        texts = self.store.current.ui.texts
        rows = await self.unanswered_repo.top(UNANSWERED_SHOWN) if self.unanswered_repo else []
        if not rows:
            return Reply.single(markup(texts.unanswered_empty))
        lines = [markup(texts.unanswered_header).strip()]
        for row in rows:
            seen = row.last_seen.astimezone(self.timezone).strftime("%m-%d %H:%M")
            lines.append(
                fill(texts.unanswered_item, count=str(row.count), text=row.example, seen=seen)
            )
        return Reply.single(Text.join("\n", lines))
