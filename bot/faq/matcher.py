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

from bot.faq.bm25 import Bm25
from bot.faq.normalize import Synonyms, sound_key

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
    sound: str  # sound_key(text): one code per syllable
    tolerant: bool = True  # found by sound and with one slip too (markers: exact only)


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
    learned: tuple[tuple[str, float], ...] = ()  # classifier: (topic, probability), best first
    nearest: tuple[tuple[str, float, str], ...] = ()  # (topic, similarity, closest example)
    in_scope: float | None = None  # scope model: mean log-odds in vs out, plus keyword bonus

    def others(self, limit: int = 3, floor: float = 0.0) -> list[str]:
        """Other likely topics after the answered one, best first."""
        return [t for t, s in self.candidates if t != self.topic and s >= floor][:limit]


_OUT = "@out_of_scope"
_GREETING = "@greeting:"


# Characters too common to show that a same-sound window is a slip of a keyword.
PARTICLES = frozenset("的了吗呢啊吧么是在有和与就都也还个不")


def _shares_meaning(keyword: str, window: str) -> bool:
    """True when ``window`` keeps a non-particle character of ``keyword`` in place."""
    return any(a == b and a not in PARTICLES for a, b in zip(keyword, window, strict=True))


def _deletes(seq: str) -> Iterable[str]:
    return (seq[:i] + seq[i + 1 :] for i in range(len(seq)))


@dataclass(frozen=True)
class _Found:
    """A keyword occurrence: how it was found, where (character span), what it weighs."""

    keyword: Keyword
    how: How
    start: int
    end: int
    weight: float

    def overlaps(self, other: _Found) -> bool:
        return self.start < other.end and other.start < self.end


def _prune(found: list[_Found]) -> list[_Found]:
    """One occurrence per keyword, and no double counting of the same text.

    * each keyword counts once, found the best way (exact, then pinyin, then fuzzy);
    * overlapping keywords of one topic count once, the heaviest (准考证号 and 准考证);
    * a fuzzy hit counts only where no exact or same-sound hit of its topic overlaps it and
      the exact hits of all topics do not explain its text (查成绩 is no slip of 查完成绩).
    """
    best: dict[Keyword, _Found] = {}
    for item in found:
        current = best.get(item.keyword)
        if current is None or _RANK[item.how] < _RANK[current.how]:
            best[item.keyword] = item
    ordered = sorted(best.values(), key=lambda f: (-f.weight, f.start - f.end))
    solid = [f for f in ordered if f.how != "fuzzy"]
    kept: list[_Found] = []
    for item in solid + [f for f in ordered if f.how == "fuzzy"]:
        if any(item.keyword.topic == k.keyword.topic and item.overlaps(k) for k in kept):
            continue
        if item.how == "fuzzy" and _covered(item, solid):
            continue
        kept.append(item)
    return kept


def _covered(item: _Found, others: list[_Found]) -> bool:
    """True when the spans of ``others`` together cover the span of ``item``."""
    covered = [False] * (item.end - item.start)
    for other in others:
        for pos in range(max(other.start, item.start), min(other.end, item.end)):
            covered[pos - item.start] = True
    return all(covered)


@dataclass
class _Index:
    # Keyed by sound: an exact match is a sound match whose characters are equal too.
    by_sound: dict[str, list[Keyword]] = field(default_factory=lambda: defaultdict(list))
    deleted: dict[str, list[Keyword]] = field(default_factory=lambda: defaultdict(list))
    lengths: set[int] = field(default_factory=set)
    fuzzy_lengths: set[int] = field(default_factory=set)
    # One slip in a word of 4+ syllables leaves its first or its last syllable in place, so
    # a window can only be a slip of a keyword of that length if it starts or ends like one.
    fuzzy_starts: dict[int, set[str]] = field(default_factory=lambda: defaultdict(set))
    fuzzy_finals: dict[int, set[str]] = field(default_factory=lambda: defaultdict(set))

    def add(self, keyword: Keyword) -> None:
        self.by_sound[keyword.sound].append(keyword)
        self.lengths.add(len(keyword.text))
        if keyword.tolerant and len(keyword.sound) >= FUZZY_MIN_SYLLABLES:
            self.fuzzy_lengths.add(len(keyword.sound))
            self.fuzzy_starts[len(keyword.sound)].add(keyword.sound[0])
            self.fuzzy_finals[len(keyword.sound)].add(keyword.sound[-1])
            for variant in set(_deletes(keyword.sound)):
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
        documents: Mapping[str, str] | None = None,
        text_weight: float = 0.0,
        synonyms: Synonyms | None = None,
    ) -> None:
        self.prepare = (synonyms or Synonyms()).prepare
        self.min_score = min_score
        self.factors: dict[How, float] = {
            "exact": 1.0,
            "pinyin": pinyin_factor,
            "fuzzy": fuzzy_factor,
        }
        self.topic_ids = frozenset(topics)
        self.text_weight = text_weight
        self._bm25 = Bm25({t: self.prepare(d) for t, d in (documents or {}).items()})
        self._index = _Index()
        for topic, keywords in topics.items():
            for text, weight in keywords.items():
                self._add(topic, text, weight, tolerant=True)
        # Markers and greetings match exactly: 交材 sounds like 教材, 挤进 like 基金.
        self._markers: list[str] = []
        for text in out_of_scope:
            self._add(_OUT, text, 0.0, tolerant=False)
            self._markers.extend(n for n in (self.prepare(text),) if n)
        self._in_scope = [n for n in (self.prepare(t) for t in in_scope) if n]
        for kind, words in (greetings or {}).items():
            for text in words:
                self._add(_GREETING + kind, text, 0.0, tolerant=False)

    def vetoed(self, question: str) -> bool:
        """True when ``question`` names something out of scope (another exam), as :meth:`match`
        finds it: an out-of-scope marker, and no in-scope marker."""
        norm = self.prepare(question[:MAX_QUESTION_CHARS])
        return any(m in norm for m in self._markers) and not self._names_this_exam(norm)

    def _names_this_exam(self, norm: str) -> bool:
        """An in-scope marker (二造, ...) overrides the out-of-scope ones."""
        return any(marker in norm for marker in self._in_scope)

    def _add(self, topic: str, text: str, weight: float, *, tolerant: bool) -> None:
        norm = self.prepare(text)
        if norm:
            self._index.add(Keyword(topic, norm, weight, sound_key(norm), tolerant))

    def _found(self, kw: Keyword, how: How, start: int, end: int) -> _Found:
        return _Found(kw, how, start, end, kw.weight * self.factors[how])

    def _hits(self, norm: str) -> list[_Found]:
        """Every keyword occurrence in ``norm`` (exact, same-sound or one slip away)."""
        index = self._index
        found: list[_Found] = []
        n = len(norm)
        sound = sound_key(norm)
        by_sound, deleted = index.by_sound, index.deleted
        for length in index.lengths:
            for i in range(n - length + 1):
                keywords = by_sound.get(sound[i : i + length])
                if not keywords:
                    continue
                window = norm[i : i + length]
                for kw in keywords:
                    if kw.text == window:
                        found.append(self._found(kw, "exact", i, i + length))
                    # Same sound is not enough: 几个 sounds like 及格, 价的 like 假的. A real
                    # pinyin slip keeps at least one meaningful character as it was.
                    elif kw.tolerant and _shares_meaning(kw.text, window):
                        found.append(self._found(kw, "pinyin", i, i + length))
        for length in index.fuzzy_lengths:
            starts, finals = index.fuzzy_starts[length], index.fuzzy_finals[length]
            for i in range(n - length + 2):
                short = sound[i : i + length - 1]  # one syllable missing in the question
                if len(short) == length - 1:
                    for kw in deleted.get(short, ()):
                        found.append(self._found(kw, "fuzzy", i, i + length - 1))
                first = sound[i] if i < n else ""
                same = sound[i : i + length]  # one replaced, or two swapped
                if len(same) == length and (first in starts or same[-1] in finals):
                    for variant in _deletes(same):
                        for kw in deleted.get(variant, ()):
                            found.append(self._found(kw, "fuzzy", i, i + length))
                longer = sound[i : i + length + 1]  # one extra syllable in the question
                if len(longer) == length + 1 and (first in starts or longer[-1] in finals):
                    for variant in _deletes(longer):
                        for kw in by_sound.get(variant, ()):
                            if kw.tolerant and len(kw.sound) == length:
                                found.append(self._found(kw, "fuzzy", i, i + length + 1))
        return _prune(found)

    def match(self, question: str) -> Match:
        """Match one question; see :class:`Match` for the outcome."""
        norm = self.prepare(question[:MAX_QUESTION_CHARS])
        if not norm:
            return Match(question, norm, "none", None, 0.0)
        if norm in self.topic_ids:  # a command name typed without the slash
            return Match(question, norm, "topic", norm, COMMAND_SCORE, ((norm, COMMAND_SCORE),))
        scores: dict[str, float] = defaultdict(float)
        hits: list[Hit] = []
        out_of_scope = False
        greeting: str | None = None
        for found in self._hits(norm):
            kw = found.keyword
            if kw.topic == _OUT:
                out_of_scope = True
            elif kw.topic.startswith(_GREETING):
                greeting = greeting or kw.topic.removeprefix(_GREETING)
            else:
                scores[kw.topic] += found.weight
                hits.append(Hit(kw.topic, kw.text, found.how, round(found.weight, 3)))
        hits.sort(key=lambda h: (-h.weight, h.keyword))
        keyword_scores = dict(scores)
        if self.text_weight and scores:
            # Text similarity only strengthens topics a keyword already points at: on its
            # own, one shared word (成绩) would otherwise make any short question "match".
            for topic, value in self._bm25.scores(norm).items():
                if topic in scores:
                    scores[topic] += self.text_weight * value
        # Ties go to the topic with more exact evidence (homophones are weaker evidence).
        exact: dict[str, float] = defaultdict(float)
        for hit in hits:
            exact[hit.topic] += hit.weight if hit.how == "exact" else 0.0
        order = sorted(scores, key=lambda t: (-round(scores[t], 6), -exact[t], t))
        ranked = tuple((t, round(scores[t], 3)) for t in order)
        best, score = ranked[0] if ranked else (None, 0.0)
        if out_of_scope and not self._names_this_exam(norm):
            return Match(question, norm, "out_of_scope", None, score, ranked, tuple(hits))
        # The answer needs keyword evidence of its own (half the bar) besides text similarity.
        if (
            best is not None
            and score >= self.min_score
            and keyword_scores.get(best, 0.0) >= self.min_score / 2
        ):
            return Match(question, norm, "topic", best, score, ranked, tuple(hits))
        if greeting is not None:
            return Match(question, norm, "greeting", None, score, ranked, tuple(hits), greeting)
        return Match(question, norm, "none", None, score, ranked, tuple(hits))
