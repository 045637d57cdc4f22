"""Free-text questions: match them to a topic and answer; keep the ones without an answer.

Registers itself as the router's answer to typed words. A question without an answer is
recorded (for /unanswered, see ``teach.py``); its "did you mean" buttons carry the recorded
row, so a user's pick counts as a vote for that topic (``v:<row id>:<topic>``) and then
shows the topic like any topic button. ``answer`` is pure (no storage), so the ``ask``
command line uses it alone.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from bot.content import Content, ContentStore, Topic
from bot.core.keyboards import menu_button, with_menu
from bot.core.numbers import parse_int
from bot.core.reply import Button, Reply, topic_action
from bot.core.router import Router, TopicAnswer, Who
from bot.core.text import markup
from bot.faq import Match
from bot.guide import Guide
from bot.storage import UnansweredRepo, VoteRepo

VOTE_PREFIX = "v:"
ROW_ID_DIGITS = 19  # SQLite's largest rowid has 19 digits


def vote_action(row_id: int, topic_id: str) -> str:
    """A "did you mean" button for the question recorded as ``row_id`` (at most 54 bytes)."""
    return f"{VOTE_PREFIX}{row_id}:{topic_id}"


class Questions:
    """Answers typed questions with the best topic, a greeting, or an honest "not covered"."""

    def __init__(
        self,
        store: ContentStore,
        guide: Guide,
        topic_answers: dict[str, TopicAnswer],
        *,
        unanswered: UnansweredRepo | None = None,
        votes: VoteRepo | None = None,
        on_answered: Callable[[], Awaitable[None]] | None = None,
        clock: Callable[[], datetime],
    ) -> None:
        self.store = store
        self.guide = guide
        self.topic_answers = topic_answers
        self.unanswered_repo = unanswered
        self.votes = votes
        self.on_answered = on_answered
        self.clock = clock

    def register(self, router: Router) -> None:
        """Typed questions and the votes of their "did you mean" buttons."""
        router.free_text(self.question)
        router.action(VOTE_PREFIX, self._vote)

    def answer(self, text: str, who: Who | None = None) -> tuple[Match, Reply]:
        """Match free text and build the reply, without recording anything."""
        content, matcher = self.store.current, self.store.matcher
        match = matcher.match(text)
        return match, self._reply(content, match, who)

    def _reply(
        self, content: Content, match: Match, who: Who | None, asked: int | None = None
    ) -> Reply:
        """The answer to ``match``; "did you mean" buttons vote for row ``asked`` if given."""
        if match.kind == "topic" and match.topic is not None:
            topic = content.topics.get(match.topic)
            if topic is not None:
                reply = self.guide.topic(topic.id, self._others(content, topic, match))
                assert reply is not None
                return reply
            feature = self.topic_answers.get(match.topic)
            if feature is not None and who is not None:
                return feature(who)
        if match.kind == "greeting":
            texts = content.ui.texts
            greeting = texts.greeting_thanks if match.greeting == "thanks" else texts.greeting_hello
            return with_menu(content, greeting)
        guesses = self._guesses(content, match)
        if match.kind == "none" and guesses:
            choices = tuple(
                (Button(content.topics[t].button, self._choice(asked, t)),) for t in guesses
            )
            ask = markup(content.ui.texts.did_you_mean)
            return Reply.single(ask, (*choices, menu_button(content)))
        return with_menu(content, content.ui.texts.no_answer)

    @staticmethod
    def _choice(asked: int | None, topic_id: str) -> str:
        return topic_action(topic_id) if asked is None else vote_action(asked, topic_id)

    async def question(self, who: Who, text: str) -> Reply:
        """Answer typed words; questions without an answer are kept for /unanswered."""
        content, matcher = self.store.current, self.store.matcher
        match = matcher.match(text)
        if match.kind == "topic" and self.on_answered is not None:
            await self.on_answered()
        asked: int | None = None
        unanswered = match.kind in ("none", "out_of_scope")
        if unanswered and self.unanswered_repo is not None and match.normalized:
            asked = await self.unanswered_repo.record(match.normalized, text.strip(), self.clock())
        return self._reply(content, match, who, asked)

    async def _vote(self, who: Who, action: str) -> Reply:
        """A "did you mean" pick: count it for the question, then show the topic."""
        asked, _, topic_id = action.removeprefix(VOTE_PREFIX).partition(":")
        reply = self.guide.topic(topic_id)
        if reply is None:  # a topic a reload removed, or data no button carried
            return with_menu(self.store.current, self.store.current.ui.texts.stale_button)
        row_id = parse_int(asked, max_digits=ROW_ID_DIGITS)
        if row_id is not None and self.unanswered_repo is not None and self.votes is not None:
            row = await self.unanswered_repo.get(row_id)
            if row is not None:
                await self.votes.vote(row.normalized, topic_id, self.clock())
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
