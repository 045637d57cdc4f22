"""A topic classifier learned from the example questions: naive Bayes over characters and sounds.

Each example is reduced to the set of its characters, character bigrams and sound bigrams
(same-sound typos share them); a topic's model is how often each feature appears in its
examples. Training is one pass over the bank (milliseconds), so teaching an example or a
/reload rebuilds it at once. The out-of-scope examples are a class of their own, so a
question that reads like them loses to "not covered".

Naive Bayes is overconfident; ``temperature`` flattens its log-odds into probabilities that
mix with keyword scores (see ``faq.yaml`` ``learned``; chosen by cross-validation on the
bank with ``bench/crossval.py``).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping

from bot.faq.normalize import normalize, sound_key


def features(normalized: str) -> set[str]:
    """Characters, character bigrams and sound bigrams of already-normalised text."""
    sound = sound_key(normalized)
    found = set(normalized)
    for i in range(len(normalized) - 1):
        found.add(normalized[i : i + 2])
        found.add("~" + sound[i : i + 2])
    return found


class NaiveBayes:
    """Multinomial naive Bayes over feature presence, with a uniform prior over topics."""

    def __init__(
        self,
        examples: Mapping[str, Iterable[str]],
        *,
        alpha: float = 0.1,
        prepare: Callable[[str], str] = normalize,
        featurize: Callable[[str], set[str]] | None = None,
    ) -> None:
        """``featurize`` (question -> its features) replaces ``prepare`` and :func:`features`
        when given, so models trained on the same questions compute them once."""
        counts: dict[str, Counter[str]] = defaultdict(Counter)
        vocabulary: set[str] = set()
        of = featurize or (lambda question: features(prepare(question)))
        for topic, questions in examples.items():
            for question in questions:
                found = of(question)
                if found:
                    counts[topic].update(found)
                    vocabulary |= found
        size = len(vocabulary) or 1
        self._topics = tuple(counts)
        totals = [sum(counts[t].values()) + alpha * size for t in self._topics]
        # One column per feature: its log-probability under each topic, in _topics order, so
        # a question's log-likelihoods are a few column sums (C loops, not Python ones).
        # Most features are unseen in most topics: start every column from the unseen
        # values and compute only the seen ones (a rebuild after teaching stays fast).
        unseen = [math.log(alpha / total) for total in totals]
        seen: dict[str, list[float]] = {f: unseen.copy() for f in vocabulary}
        for index, topic in enumerate(self._topics):
            total = totals[index]
            for feature, count in counts[topic].items():
                seen[feature][index] = math.log((count + alpha) / total)
        self._columns: dict[str, tuple[float, ...]] = {f: tuple(c) for f, c in seen.items()}

    @property
    def topics(self) -> tuple[str, ...]:
        return self._topics

    def log_likelihoods(self, normalized: str) -> dict[str, float]:
        """Topic -> log-likelihood of the question's known features (empty: none known)."""
        return self.log_likelihoods_counted(normalized)[0]

    def log_likelihoods_counted(self, normalized: str) -> tuple[dict[str, float], int]:
        """:meth:`log_likelihoods` and how many of the question's features the model knows."""
        columns = [c for c in map(self._columns.get, features(normalized)) if c is not None]
        if not columns:
            return {}, 0
        sums = map(math.fsum, zip(*columns, strict=True))
        return dict(zip(self._topics, sums, strict=True)), len(columns)

    def probabilities(self, normalized: str, temperature: float = 8.0) -> dict[str, float]:
        """Topic -> probability (sums to 1; empty when no feature was ever seen)."""
        return soften(self.log_likelihoods(normalized), temperature)


def soften(logs: Mapping[str, float], temperature: float) -> dict[str, float]:
    """Log-likelihoods to probabilities, flattened by ``temperature``."""
    if not logs:
        return {}
    top = max(logs.values())
    weights = {t: math.exp((v - top) / temperature) for t, v in logs.items()}
    total = sum(weights.values())
    return {t: w / total for t, w in weights.items()}
