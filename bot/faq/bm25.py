"""BM25 over character bigrams: how well a question's wording fits each topic's own text.

Keywords catch the phrasings authors foresaw; the answer text itself is further evidence
(a question about 浏览器 and 网络 fits the topic that talks about them). Scores are
normalised by what a perfect match of the same question would get, so they lie in [0, 1]
and mean the same for short and long questions.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Mapping

K1 = 1.2
B = 0.75
# A perfect match of a question shorter than this many bigrams still scores below 1: one
# shared word in a two-character question is weak evidence, not a perfect fit.
MIN_QUERY_BIGRAMS = 6


def bigrams(normalized: str) -> list[str]:
    """Overlapping character pairs of already-normalised text."""
    return [normalized[i : i + 2] for i in range(len(normalized) - 1)]


class Bm25:
    """An inverted index of topic documents; :meth:`scores` ranks topics for a question."""

    def __init__(self, documents: Mapping[str, str]) -> None:
        counts = {topic: Counter(bigrams(text)) for topic, text in documents.items()}
        total = len(counts) or 1
        lengths = {topic: sum(c.values()) for topic, c in counts.items()}
        average = (sum(lengths.values()) / total) or 1.0
        df: Counter[str] = Counter()
        for counter in counts.values():
            df.update(counter.keys())
        self.unseen_idf = math.log(1 + (total + 0.5) / 0.5)
        self.idf = {t: math.log(1 + (total - n + 0.5) / (n + 0.5)) for t, n in df.items()}
        ordered = sorted(self.idf.values()) or [1.0]
        self.floor = MIN_QUERY_BIGRAMS * ordered[len(ordered) // 2]
        self.postings: dict[str, list[tuple[str, float]]] = defaultdict(list)
        for topic, counter in counts.items():
            norm = K1 * (1 - B + B * lengths[topic] / average)
            for term, tf in counter.items():
                self.postings[term].append((topic, tf * (K1 + 1) / (tf + norm)))

    def scores(self, normalized: str) -> dict[str, float]:
        """Topic -> score in [0, 1] for the question (only topics sharing a bigram)."""
        terms = set(bigrams(normalized))
        if not terms:
            return {}
        best = sum(self.idf.get(t, self.unseen_idf) for t in terms)
        best = max(best, self.floor) * (K1 + 1)
        totals: dict[str, float] = defaultdict(float)
        for term in terms:
            idf = self.idf.get(term)
            if idf is None:
                continue
            for topic, weight in self.postings[term]:
                totals[topic] += idf * weight
        return {topic: value / best for topic, value in totals.items()}
