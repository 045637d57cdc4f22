"""The live content and the question matcher built from it, swapped together on /reload."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from pathlib import Path

from bot.content.loader import OUT_OF_SCOPE_KEY, Content, load_content
from bot.core.channel import Capabilities
from bot.faq.decide import Judge, Weights, examples_from
from bot.faq.matcher import Matcher


def build_matcher(content: Content) -> Judge:
    """The free-text matcher for ``content``: keywords, faq.yaml settings, example bank."""
    faq = content.faq
    bank = {t: q for t, q in content.examples.items() if t != OUT_OF_SCOPE_KEY}
    weights = Weights(**faq.learned.model_dump())
    return Judge(
        keyword_matcher(content),
        examples_from(bank, content.examples.get(OUT_OF_SCOPE_KEY, ())),
        weights,
    )


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
    )


class ContentStore:
    """Holds the live content; /reload swaps it only when the new files validate."""

    def __init__(self, directory: Path, content: Content, channels: Sequence[Capabilities]) -> None:
        self.directory = directory
        self.channels = tuple(channels)
        self.current = content
        self.matcher: Judge = build_matcher(content)

    @classmethod
    def open(cls, directory: Path, channels: Sequence[Capabilities]) -> ContentStore:
        """Load ``directory`` or raise :class:`~bot.content.ContentError`."""
        return cls(directory, load_content(directory, channels), channels)

    async def reload(self) -> Content:
        """Re-read the files off the event loop; keep the old content if they are invalid."""
        content, matcher = await asyncio.to_thread(self._load)
        # Both attributes change with no await in between: no reader sees a mixed pair.
        self.current, self.matcher = content, matcher
        return content

    def _load(self) -> tuple[Content, Judge]:
        content = load_content(self.directory, self.channels)
        return content, build_matcher(content)
