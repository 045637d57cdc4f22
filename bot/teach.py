"""Feature: /unanswered for admins, with one-tap teaching; the YAML of what was taught.

/unanswered lists the open unanswered questions, most asked first, a page at a time, each as
its own message with buttons: the topics users picked among its "did you mean" suggestions
(votes, shown with their counts), then the matcher's candidates (at most three in all),
"other topics" (every topic and feature) and "out of scope". An admin's tap files the
question under that topic (``storage/learned.py``), marks it handled, rebuilds the matcher
at once (``ContentStore.relearn``) and edits the message to confirm.

Actions name the unanswered row by id (the question itself may not fit Telegram's 64
bytes): ``u:t:<row>:<topic>`` teach, ``u:o:<row>`` out of scope, ``u:m:<row>`` every
topic, ``u:p:<offset>`` next page. At most 4 + 19 + 1 + 32 = 56 bytes.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.content import Content, ContentStore
from bot.content.loader import FEATURE_IDS
from bot.core.channel import Capabilities
from bot.core.numbers import parse_int
from bot.core.reply import Button, Message, Reply, Rows
from bot.core.router import Request, Router, Who
from bot.core.text import Text, fill, markup
from bot.faq.normalize import normalize
from bot.follow import LESSONS
from bot.storage import (
    LearnedExample,
    LearnedRepo,
    UnansweredQuestion,
    UnansweredRepo,
    Vote,
    VoteRepo,
)
from bot.storage.learned import OUT_OF_SCOPE

PREFIX = "u:"
PAGE = 10  # questions per page where each message has its own buttons
CHOICES = 3  # topic buttons offered per question
PER_ROW = 2
ROW_ID_DIGITS = 19


class Teaching:
    """/unanswered and the admin's taps that teach the matcher."""

    def __init__(
        self,
        store: ContentStore,
        unanswered: UnansweredRepo,
        learned: LearnedRepo,
        votes: VoteRepo,
        *,
        clock: Callable[[], datetime],
        timezone: ZoneInfo,
        channels: Mapping[str, Capabilities],
        announce: Callable[[str], Awaitable[None]] | None = None,
    ) -> None:
        self.store = store
        self.announce = announce  # tells other replicas to relearn (bot/follow.py)
        self.unanswered = unanswered
        self.learned = learned
        self.votes = votes
        self.clock = clock
        self.timezone = timezone
        self.channels = channels

    def register(self, router: Router) -> None:
        """/unanswered and its buttons, for bot admins only."""
        router.command("unanswered", self._unanswered, admin=True)
        router.action(PREFIX, self.on_action, admin=True)

    async def _unanswered(self, request: Request) -> Reply:
        return await self.page(request.who, 0)

    async def page(self, who: Who, offset: int) -> Reply:
        """Open questions from ``offset`` on, one message each, most asked first."""
        content = self.store.current
        texts, teach = content.ui.texts, content.ui.teach
        numbered = self._numbered(who)
        rows = await self.unanswered.top(1 if numbered else PAGE, offset)
        if not rows:
            return Reply.single(markup(texts.unanswered_empty))
        total = await self.unanswered.open_count()
        votes = await self.votes.for_questions([row.normalized for row in rows])
        first, last = offset + 1, offset + len(rows)
        header = Text.join(
            "\n",
            (
                markup(texts.unanswered_header).strip(),
                fill(teach.page, total=str(total), first=str(first), last=str(last)).strip(),
            ),
        )
        messages = [Message(header)]
        for row in rows:
            voted = votes.get(row.normalized, [])
            messages.append(Message(self._item(content, row, voted), self._buttons(row, voted)))
        left = total - last
        if left > 0:
            more = (Button(teach.next_page, f"{PREFIX}p:{last}"),)
            if numbered:  # only the last message's choices can be picked: keep them together
                messages[-1] = Message(messages[-1].text, (*messages[-1].buttons, more))
            else:
                messages.append(Message(fill(teach.more, left=str(left)), (more,)))
        return Reply(tuple(messages))

    async def on_action(self, who: Who, action: str) -> Reply:
        """A tap on a /unanswered button (admins only; the router refuses others first)."""
        content = self.store.current
        if not who.is_admin:  # forged data from someone else changes nothing
            return Reply.tap_alert(markup(content.ui.texts.not_admin))
        verb, _, rest = action.removeprefix(PREFIX).partition(":")
        number, _, topic = rest.partition(":")
        row_id = parse_int(number, max_digits=ROW_ID_DIGITS)
        if row_id is None:
            return self._gone(content)
        if verb == "p":
            return await self.page(who, row_id)
        row = await self.unanswered.get(row_id)
        if row is None or row.handled:
            return self._gone(content)
        if verb == "m":
            return Reply.single(fill(content.ui.teach.pick, text=row.example), self._all(row))
        if verb == "o":
            return await self._teach(who, row, OUT_OF_SCOPE)
        if verb == "t" and topic:
            return await self._teach(who, row, topic)
        return self._gone(content)

    async def _teach(self, who: Who, row: UnansweredQuestion, topic: str) -> Reply:
        content = self.store.current
        teach = content.ui.teach
        label = teach.out_of_scope if topic == OUT_OF_SCOPE else topic_label(content, topic)
        if label is None:
            return Reply.single(markup(teach.no_topic))
        stored = await self.learned.teach(
            row.example,
            normalize(row.example) or row.normalized,
            topic,
            channel=who.channel,
            user_id=who.user_id,
            now=self.clock(),
            unanswered_id=row.id,
        )
        if not stored:  # another admin was quicker
            return self._gone(content)
        await self.store.relearn()
        if self.announce is not None:
            await self.announce(LESSONS)
        if topic == OUT_OF_SCOPE:
            return Reply.single(fill(teach.learned_out, text=row.example))
        return Reply.single(fill(teach.learned, text=row.example, topic=label))

    def _item(self, content: Content, row: UnansweredQuestion, votes: Sequence[Vote]) -> Text:
        seen = row.last_seen.astimezone(self.timezone).strftime("%m-%d %H:%M")
        teach = content.ui.teach
        text = fill(
            content.ui.texts.unanswered_item, count=str(row.count), text=row.example, seen=seen
        )
        picked = [
            fill(teach.vote_item, topic=label, n=str(vote.count)).strip()
            for vote in votes
            if (label := topic_label(content, vote.topic)) is not None
        ]
        if not picked:
            return text
        return Text.join("\n", (text.strip(), fill(teach.votes, votes=Text.join("、", picked))))

    def _buttons(self, row: UnansweredQuestion, votes: Sequence[Vote]) -> Rows:
        """Voted topics first, then the matcher's candidates, then the topic classifier's best
        guesses (a question that reads as out of scope has no candidates); other topics; out of
        scope."""
        content = self.store.current
        match = self.store.matcher.match(row.example)
        likely: list[str] = []
        guesses = (t for t, _ in (*match.candidates, *match.learned))
        for topic in (*(v.topic for v in votes), *guesses):
            if topic not in likely and topic_label(content, topic) is not None:
                likely.append(topic)
        teach = content.ui.teach
        tail = (
            Button(teach.other_topics, f"{PREFIX}m:{row.id}"),
            Button(teach.out_of_scope, f"{PREFIX}o:{row.id}"),
        )
        return (*self._topic_rows(content, row, likely[:CHOICES]), tail)

    def _all(self, row: UnansweredQuestion) -> Rows:
        """Every topic and feature, then out of scope."""
        content = self.store.current
        everything = [*content.topics, *FEATURE_IDS]
        out = (Button(content.ui.teach.out_of_scope, f"{PREFIX}o:{row.id}"),)
        return (*self._topic_rows(content, row, everything), out)

    @staticmethod
    def _topic_rows(content: Content, row: UnansweredQuestion, topics: Sequence[str]) -> Rows:
        buttons = [
            Button(label, f"{PREFIX}t:{row.id}:{topic}")
            for topic in topics
            if (label := topic_label(content, topic)) is not None
        ]
        return tuple(tuple(buttons[i : i + PER_ROW]) for i in range(0, len(buttons), PER_ROW))

    def _numbered(self, who: Who) -> bool:
        capabilities = self.channels.get(who.channel)
        return capabilities is not None and capabilities.choices == "numbers"

    @staticmethod
    def _gone(content: Content) -> Reply:
        return Reply.single(markup(content.ui.teach.gone))


def topic_label(content: Content, topic: str) -> str | None:
    """The button label of a topic or feature (None: the content has no such thing)."""
    found = content.topics.get(topic)
    if found is not None:
        return found.button
    if topic in FEATURE_IDS:
        label: str = getattr(content.ui.teach, f"feature_{topic}")
        return label
    return None


def learned_yaml(examples: Sequence[LearnedExample]) -> str:
    """The learned examples in the shape of content/examples.yaml, to review and paste.

    Topics in the order they were first taught, out of scope last; each question a quoted
    string (JSON's quoting is valid YAML) with who taught it and when as a comment.
    """
    lines = ["# 管理员在 /unanswered 里教会的问题，审核后粘贴到 content/examples.yaml"]
    by_topic: dict[str, list[LearnedExample]] = {}
    for example in examples:
        by_topic.setdefault(example.topic, []).append(example)
    order = [t for t in by_topic if t != OUT_OF_SCOPE] + [t for t in by_topic if t == OUT_OF_SCOPE]
    for topic in order:
        lines.append(f"{topic}:")
        for example in by_topic[topic]:
            quoted = json.dumps(example.question, ensure_ascii=False)
            taught = example.taught_at.date().isoformat()
            lines.append(f"  - {quoted}  # {example.channel}:{example.user_id} {taught}")
    if not by_topic:
        lines.append("# （还没有教会的问题）")
    return "\n".join(lines) + "\n"
