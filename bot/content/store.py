"""The live content and the question matcher built from it, swapped together on /reload.

The matcher also learns from the examples admins taught (one-tap teaching in /unanswered,
kept in the database): the composition root names where to read them, and the matcher is
rebuilt with them after each teaching and on /reload, off the event loop, without a restart.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from pathlib import Path

from bot.content.loader import FEATURE_IDS, OUT_OF_SCOPE_KEY, Content, load_content
from bot.core.channel import Capabilities
from bot.faq.decide import Judge, Weights, examples_from
from bot.faq.examples import with_learned
from bot.faq.matcher import Matcher
from bot.faq.normalize import Synonyms

# A taught example: (question as typed, topic or feature id, or "out_of_scope").
Learned = tuple[str, str]
LearnedSource = Callable[[], Awaitable[Sequence[Learned]]]


def build_matcher(content: Content, learned: Iterable[Learned] = ()) -> Judge:
    """The free-text matcher for ``content``: keywords, faq.yaml settings, example bank.

    ``learned`` examples join the bank and replace content examples with the same
    normalised text; those of topics the content no longer has are left out.
    """
    faq = content.faq
    known = set(content.topics) | set(FEATURE_IDS) | {OUT_OF_SCOPE_KEY}
    keywords = keyword_matcher(content)
    taught = (pair for pair in learned if pair[1] in known)
    bank = with_learned(content.examples, taught, keywords.prepare)
    outside = bank.pop(OUT_OF_SCOPE_KEY, [])
    weights = Weights(**faq.learned.model_dump())
    return Judge(keywords, examples_from(bank, outside), weights)


def keyword_matcher(content: Content) -> Matcher:
    """The keyword part alone (topic keywords plus faq.yaml settings)."""
    faq = content.faq
    topics: dict[str, Mapping[str, float]] = {t.id: t.keywords for t in content.topics.values()}
    topics.update({feature: keywords for feature, keywords in faq.features.items()})
    return Matcher(
        topics,
        min_score=faq.min_score,
        pinyin_factor=faq.pinyin_factor,
        fuzzy_factor=faq.fuzzy_factor,
        out_of_scope=faq.out_of_scope,
        in_scope=faq.in_scope,
        greetings={kind: words for kind, words in faq.greetings.items()},
        documents={
            topic.id: " ".join((topic.description, *(m.plain_text for m in topic.messages)))
            for topic in content.topics.values()
        },
        text_weight=faq.text_weight,
        synonyms=Synonyms(faq.synonyms),
    )


class ContentStore:
    """Holds the live content; /reload swaps it only when the new files validate."""

    def __init__(
        self,
        directory: Path,
        content: Content,
        channels: Sequence[Capabilities],
        learned: Sequence[Learned] = (),
    ) -> None:
        self.directory = directory
        self.channels = tuple(channels)
        self.current = content
        self.learned: tuple[Learned, ...] = tuple(learned)
        self.matcher: Judge = build_matcher(content, self.learned)
        self._source: LearnedSource | None = None
        self._rebuilding = asyncio.Lock()  # one rebuild at a time: none swaps in a stale one

    @classmethod
    def open(cls, directory: Path, channels: Sequence[Capabilities]) -> ContentStore:
        """Load ``directory`` or raise :class:`~bot.content.ContentError`."""
        return cls(directory, load_content(directory, channels), channels)

    async def learn_from(self, source: LearnedSource) -> None:
        """Read learned examples from ``source`` now, after teaching and on every /reload."""
        self._source = source
        await self.relearn()

    async def relearn(self) -> None:
        """Rebuild the matcher with the learned examples as stored now (after teaching)."""
        async with self._rebuilding:
            learned = await self._read_learned()
            if learned == self.learned:
                return
            matcher = await asyncio.to_thread(build_matcher, self.current, learned)
            self.learned, self.matcher = learned, matcher

    async def reload(self) -> Content:
        """Re-read the files off the event loop; keep the old content if they are invalid."""
        async with self._rebuilding:
            learned = await self._read_learned()
            content, matcher = await asyncio.to_thread(self._load, learned)
            # The attributes change with no await in between: no reader sees a mixed pair.
            self.current, self.matcher, self.learned = content, matcher, learned
        return content

    async def _read_learned(self) -> tuple[Learned, ...]:
        return self.learned if self._source is None else tuple(await self._source())

    def _load(self, learned: Sequence[Learned]) -> tuple[Content, Judge]:
        content = load_content(self.directory, self.channels)
        return content, build_matcher(content, learned)
