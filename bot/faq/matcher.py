"""Match a normalised question to a topic by weighted keywords, with typo tolerance.

Every keyword is indexed three ways, so a question is matched by dictionary look-ups over
its windows, never by scanning all keywords (fast with 1,000 topics):

* exact: the normalised keyword as a substring of the question;
* pinyin: the same toneless syllables (same-sound typos: 准考正号, 复合);
* fuzzy: one syllable missing, extra, replaced or two swapped (keywords of 4+ syllables
  only, where one slip still leaves the word unmistakable).

A topic's score is the sum of its matched keywords' weights (pinyin and fuzzy hits count a
fraction). The best topic is answered only if it reaches ``min_score``, so one generic word
cannot trigger an answer. Out-of-scope markers (other exams, weather) veto an answer.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from bot.faq.normalize import normalize, syllables

How = Literal["exact", "pinyin", "fuzzy"]
Kind = Literal["topic", "greeting", "out_of_scope", "none"]
FUZZY_MIN_SYLLABLES = 4
MAX_QUESTION_CHARS = 300  # longer input is cut before matching (bounded work per message)
COMMAND_SCORE = 100.0  # a topic id typed without the slash: certain, and JSON-friendly
_RANK = {"exact": 0, "pinyin": 1, "fuzzy": 2}


@dataclass(frozen=True)
class Keyword:
    """A normalised keyword of one topic (or a marker when ``topic`` starts with ``@``)."""

    topic: str
    text: str
    weight: float
    syl: tuple[str, ...]


@dataclass(frozen=True)
class Hit:
    """One keyword found in the question, and how."""

    topic: str
    keyword: str
    how: How
    weight: float


@dataclass(frozen=True)
class Match:
    """The outcome for one question, with everything needed to explain it."""

    question: str
    normalized: str
    kind: Kind
    topic: str | None
    score: float
    candidates: tuple[tuple[str, float], ...] = ()
    hits: tuple[Hit, ...] = ()
    greeting: str | None = None

    def others(self, limit: int = 3, floor: float = 0.0) -> list[str]:
        """Other likely topics after the answered one, best first."""
        return [t for t, s in self.candidates if t != self.topic and s >= floor][:limit]


_OUT = "@out_of_scope"
_GREETING = "@greeting:"


def _deletes(seq: tuple[str, ...]) -> Iterable[tuple[str, ...]]:
    return (seq[:i] + seq[i + 1 :] for i in range(len(seq)))


@dataclass
class _Index:
    exact: dict[str, list[Keyword]] = field(default_factory=lambda: defaultdict(list))
    pinyin: dict[tuple[str, ...], list[Keyword]] = field(default_factory=lambda: defaultdict(list))
    deleted: dict[tuple[str, ...], list[Keyword]] = field(default_factory=lambda: defaultdict(list))
    char_lengths: set[int] = field(default_factory=set)
    syl_lengths: set[int] = field(default_factory=set)
    fuzzy_lengths: set[int] = field(default_factory=set)

    def add(self, keyword: Keyword, *, fuzzy: bool) -> None:
        self.exact[keyword.text].append(keyword)
        self.pinyin[keyword.syl].append(keyword)
        self.char_lengths.add(len(keyword.text))
        self.syl_lengths.add(len(keyword.syl))
        if fuzzy and len(keyword.syl) >= FUZZY_MIN_SYLLABLES:
            self.fuzzy_lengths.add(len(keyword.syl))
            for variant in set(_deletes(keyword.syl)):
                self.deleted[variant].append(keyword)


class Matcher:
    """Keyword index over all topics; :meth:`match` answers one question."""

    def __init__(
        self,
        topics: Mapping[str, Mapping[str, float]],
        *,
        min_score: float = 1.0,
        pinyin_factor: float = 0.9,
        fuzzy_factor: float = 0.7,
        out_of_scope: Iterable[str] = (),
        in_scope: Iterable[str] = (),
        greetings: Mapping[str, Iterable[str]] | None = None,
    ) -> None:
        self.min_score = min_score
        self.factors: dict[How, float] = {
            "exact": 1.0,
            "pinyin": pinyin_factor,
            "fuzzy": fuzzy_factor,
        }
        self.topic_ids = frozenset(topics)
        self._index = _Index()
        for topic, keywords in topics.items():
            for text, weight in keywords.items():
                self._add(topic, text, weight, fuzzy=True)
        for text in out_of_scope:
            self._add(_OUT, text, 0.0, fuzzy=False)
        self._in_scope = [n for n in (normalize(t) for t in in_scope) if n]
        for kind, words in (greetings or {}).items():
            for text in words:
                self._add(_GREETING + kind, text, 0.0, fuzzy=False)

    def _add(self, topic: str, text: str, weight: float, *, fuzzy: bool) -> None:
        norm = normalize(text)
        if norm:
            self._index.add(Keyword(topic, norm, weight, syllables(norm)), fuzzy=fuzzy)

    def _hits(self, norm: str) -> dict[Keyword, How]:
        """Every keyword found in ``norm``, with the best way it was found."""
        index = self._index
        found: dict[Keyword, How] = {}

        def note(keywords: list[Keyword] | None, how: How) -> None:
            for kw in keywords or ():
                if kw not in found or _RANK[how] < _RANK[found[kw]]:
                    found[kw] = how

        n = len(norm)
        for length in index.char_lengths:
            for i in range(n - length + 1):
                note(index.exact.get(norm[i : i + length]), "exact")
        syl = syllables(norm)
        for length in index.syl_lengths:
            for i in range(n - length + 1):
                note(index.pinyin.get(syl[i : i + length]), "pinyin")
        for length in index.fuzzy_lengths:
            for i in range(n - length + 2):
                short = syl[i : i + length - 1]  # one syllable missing in the question
                if len(short) == length - 1:
                    note(index.deleted.get(short), "fuzzy")
                same = syl[i : i + length]  # one replaced, or two swapped
                if len(same) == length:
                    for variant in _deletes(same):
                        note(index.deleted.get(variant), "fuzzy")
                longer = syl[i : i + length + 1]  # one extra syllable in the question
                if len(longer) == length + 1:
                    for variant in _deletes(longer):
                        note(index.pinyin.get(variant), "fuzzy")
        return found

    def match(self, question: str) -> Match:
        """Match one question; see :class:`Match` for the outcome."""
        norm = normalize(question[:MAX_QUESTION_CHARS])
        if not norm:
            return Match(question, norm, "none", None, 0.0)
        if norm in self.topic_ids:  # a command name typed without the slash
            return Match(question, norm, "topic", norm, COMMAND_SCORE, ((norm, COMMAND_SCORE),))
        scores: dict[str, float] = defaultdict(float)
        hits: list[Hit] = []
        out_of_scope = False
        greeting: str | None = None
        for kw, how in self._hits(norm).items():
            if kw.topic == _OUT:
                out_of_scope = True
            elif kw.topic.startswith(_GREETING):
                greeting = greeting or kw.topic.removeprefix(_GREETING)
            else:
                weight = kw.weight * self.factors[how]
                scores[kw.topic] += weight
                hits.append(Hit(kw.topic, kw.text, how, round(weight, 3)))
        hits.sort(key=lambda h: (-h.weight, h.keyword))
        ranked = tuple(sorted(((t, round(s, 3)) for t, s in scores.items()), key=lambda x: -x[1]))
        best, score = ranked[0] if ranked else (None, 0.0)
        if out_of_scope and not any(marker in norm for marker in self._in_scope):
            return Match(question, norm, "out_of_scope", None, score, ranked, tuple(hits))
        if best is not None and score >= self.min_score:
            return Match(question, norm, "topic", best, score, ranked, tuple(hits))
        if greeting is not None:
            return Match(question, norm, "greeting", None, score, ranked, tuple(hits), greeting)
        return Match(question, norm, "none", None, score, ranked, tuple(hits))
