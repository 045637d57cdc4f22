"""Nearest example questions: how close a question is to what candidates asked before.

Every topic (and "out of scope") has a bank of example questions in content, plus the ones
admins taught from /unanswered. A question is compared with every example by cosine
similarity of TF-IDF vectors over character bigrams and sound bigrams (same-sound typos
share sound bigrams: 复合 and 复核). A topic's score is its best example's similarity, so
a new phrasing close to any one way people asked counts, however the topic's keywords read.

Looked up through an inverted index, skipping terms that most examples share (they tell
topics apart least and would make every question touch every example).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from bot.faq.normalize import normalize, sound_key

OUT_OF_SCOPE = "@none"
"""Pseudo-topic of the examples that are outside the guide."""
COMMON = 0.05  # terms in more than this share of the examples are not looked up


def terms(normalized: str) -> Counter[str]:
    """The question's features: character bigrams and sound bigrams (single chars if short)."""
    if len(normalized) < 2:
        return Counter((normalized, "~" + sound_key(normalized))) if normalized else Counter()
    sound = sound_key(normalized)
    found: Counter[str] = Counter()
    for i in range(len(normalized) - 1):
        found[normalized[i : i + 2]] += 1
        found["~" + sound[i : i + 2]] += 1
    return found


@dataclass(frozen=True)
class Nearest:
    """A topic's closest example to the question and how close it is (0..1)."""

    topic: str
    similarity: float
    example: str


class ExampleIndex:
    """TF-IDF vectors of every example; :meth:`nearest` ranks topics for a question.

    The exact-example table is built at once; the vectors only when :meth:`nearest` is first
    asked (``ask --json`` explains with it; answering needs only the exact table), so start-up
    and a rebuild after teaching stay fast.
    """

    def __init__(
        self, examples: Mapping[str, Iterable[str]], prepare: Callable[[str], str] = normalize
    ) -> None:
        self.texts: list[str] = []
        self.topics: list[str] = []
        self.exact: dict[str, str] = {}  # normalised example -> its topic
        self._normalized: list[str] = []
        seen: set[tuple[str, str]] = set()
        for topic, questions in examples.items():
            for question in questions:
                norm = prepare(question)
                if not norm or (topic, norm) in seen:
                    continue
                seen.add((topic, norm))
                self.exact.setdefault(norm, topic)
                self.texts.append(question)
                self.topics.append(topic)
                self._normalized.append(norm)
        self._postings: dict[str, list[tuple[int, float]]] | None = None
        self.idf: dict[str, float] = {}
        self.unseen_idf = 1.0

    def _index(self) -> dict[str, list[tuple[int, float]]]:
        """The inverted index of the examples' TF-IDF vectors (built once, on first use)."""
        if self._postings is not None:
            return self._postings
        vectors = [terms(norm) for norm in self._normalized]
        total = len(vectors)
        df: Counter[str] = Counter()
        for vector in vectors:
            df.update(vector.keys())
        self.idf = {t: math.log((1 + total) / (1 + n)) + 1.0 for t, n in df.items()}
        self.unseen_idf = math.log(1 + total) + 1.0
        cutoff = max(2, COMMON * total)
        postings: dict[str, list[tuple[int, float]]] = defaultdict(list)
        for number, vector in enumerate(vectors):
            weights = {t: (1 + math.log(c)) * self.idf[t] for t, c in vector.items()}
            length = math.sqrt(sum(w * w for w in weights.values())) or 1.0
            for term, weight in weights.items():
                if df[term] <= cutoff:
                    postings[term].append((number, weight / length))
        self._postings = postings
        return postings

    def __len__(self) -> int:
        return len(self.texts)

    def nearest(self, normalized: str) -> dict[str, Nearest]:
        """Topic -> its most similar example (only topics sharing a feature)."""
        vector = terms(normalized)
        if not vector:
            return {}
        postings = self._index()
        weights = {
            t: (1 + math.log(c)) * self.idf.get(t, self.unseen_idf) for t, c in vector.items()
        }
        length = math.sqrt(sum(w * w for w in weights.values())) or 1.0
        dots: dict[int, float] = defaultdict(float)
        for term, weight in weights.items():
            entries = postings.get(term)
            if entries:
                scaled = weight / length
                for number, value in entries:
                    dots[number] += scaled * value
        best: dict[str, Nearest] = {}
        topics, texts = self.topics, self.texts
        for number, value in dots.items():
            topic = topics[number]
            current = best.get(topic)
            if current is None or value > current.similarity:
                best[topic] = Nearest(topic, min(1.0, value), texts[number])
        return best


def ranked(nearest: Mapping[str, Nearest]) -> Sequence[Nearest]:
    """The topics' nearest examples, most similar first."""
    return sorted(nearest.values(), key=lambda n: (-n.similarity, n.topic))


def with_learned(
    bank: Mapping[str, Iterable[str]],
    learned: Iterable[tuple[str, str]],
    prepare: Callable[[str], str] = normalize,
) -> dict[str, list[str]]:
    """``bank`` plus learned ``(question, topic)`` pairs, which take precedence.

    An example with the same prepared text (normalised, synonyms rewritten: the form the
    index looks up) as a learned question is dropped, under whichever topic it was, so an
    admin's answer replaces the content's (until the content is corrected). Of two learned
    questions with one prepared text the last one counts.
    """
    taught: dict[str, tuple[str, str]] = {}
    for question, topic in learned:
        norm = prepare(question)
        if norm:
            taught[norm] = (question, topic)
    merged = {topic: list(questions) for topic, questions in bank.items()}
    if not taught:
        return merged
    merged = {
        topic: [q for q in questions if prepare(q) not in taught]
        for topic, questions in merged.items()
    }
    for question, topic in taught.values():
        merged.setdefault(topic, []).append(question)
    return merged
