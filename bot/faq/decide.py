"""The answer to a typed question: keywords, a classifier and nearest examples, weighed together.

Three kinds of evidence per topic, each in [0, 1]:

* keywords (``matcher.py``): the phrases authors wrote, with typo tolerance, capped at
  ``keyword_cap`` and scaled to 1, so one certain phrase counts fully and more add nothing;
* the classifier (``learned.py``): how much the question reads like the topic's examples;
* the nearest example (``examples.py``): the similarity of the single closest example.

A topic's score is ``keywords + learned_weight * classifier + nearest_weight * nearest``;
out of scope is a topic too (its examples), without keywords. A question asked exactly
like an example (normalised) gets that example's topic. Otherwise the best topic is answered
when it leads "out of scope" by ``margin`` of the highest possible score; topics above
``suggest`` of it are offered as "did you mean". Weights and thresholds come from
``faq.yaml`` (``learned``), chosen by cross-validation on the example bank
(``bench/crossval.py``), never on an evaluation set. Words naming another exam still
veto an answer.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from bot.faq.examples import OUT_OF_SCOPE, ExampleIndex
from bot.faq.learned import NaiveBayes
from bot.faq.matcher import COMMAND_SCORE, Kind, Match, Matcher


@dataclass(frozen=True)
class Weights:
    """How the evidence is combined (``faq.yaml`` ``learned``)."""

    alpha: float = 0.1  # naive Bayes smoothing
    temperature: float = 8.0  # flattens naive Bayes' log-odds into probabilities
    learned_weight: float = 2.0
    nearest_weight: float = 0.5
    keyword_cap: float = 1.0  # keyword score that counts as certain
    margin: float = 0.35  # lead over "out of scope" needed to answer, share of the maximum
    suggest: float = 0.15  # score needed to be offered as "did you mean", share of the maximum

    @property
    def maximum(self) -> float:
        return 1.0 + self.learned_weight + self.nearest_weight


class Judge:
    """Decides the answer to one question from keywords and the example bank."""

    def __init__(
        self,
        keywords: Matcher,
        examples: Mapping[str, Iterable[str]],
        weights: Weights = Weights(),
    ) -> None:
        self.keywords = keywords
        self.weights = weights
        bank = {topic: list(questions) for topic, questions in examples.items()}
        self.classifier = NaiveBayes(bank, alpha=weights.alpha, prepare=keywords.prepare)
        self.examples = ExampleIndex(bank, keywords.prepare)
        self.topic_ids = keywords.topic_ids | {t for t in bank if t != OUT_OF_SCOPE}

    def match(self, question: str) -> Match:
        """Match one question; the :class:`Match` explains every part of the decision."""
        found = self.keywords.match(question)
        norm = found.normalized
        if not norm or (found.kind == "topic" and found.score >= COMMAND_SCORE):
            return found
        known = self.examples.exact.get(norm)
        if known is not None:  # asked exactly like an example (or one an admin taught)
            declined: Kind = "greeting" if found.greeting is not None else "out_of_scope"
            return replace(
                found,
                kind=declined if known == OUT_OF_SCOPE else "topic",
                topic=None if known == OUT_OF_SCOPE else known,
                score=COMMAND_SCORE,
                candidates=() if known == OUT_OF_SCOPE else ((known, COMMAND_SCORE),),
                nearest=((known, 1.0, norm),),
            )
        w = self.weights
        learned = self.classifier.probabilities(norm, w.temperature)
        nearest = self.examples.nearest(norm) if w.nearest_weight else {}
        scores: dict[str, float] = defaultdict(float)
        keyword_scores: dict[str, float] = defaultdict(float)
        for hit in found.hits:
            keyword_scores[hit.topic] += hit.weight
        for topic, value in found.candidates:  # keywords and, behind them, the topic's text
            scores[topic] += min(value, w.keyword_cap) / w.keyword_cap
        for topic, p in learned.items():
            scores[topic] += w.learned_weight * p
        for topic, near in nearest.items():
            scores[topic] += w.nearest_weight * near.similarity
        outside = scores.pop(OUT_OF_SCOPE, 0.0)
        order = sorted(scores, key=lambda t: (-scores[t], -keyword_scores[t], t))
        explained = replace(
            found,
            learned=tuple(
                (t, round(p, 3)) for t, p in sorted(learned.items(), key=lambda i: -i[1])[:5]
            ),
            nearest=tuple(
                (n.topic, round(n.similarity, 3), n.example)
                for n in sorted(nearest.values(), key=lambda n: -n.similarity)[:3]
            ),
            outside=round(outside, 3),
        )
        floor = w.suggest * w.maximum
        ranked = tuple((t, round(scores[t], 3)) for t in order if scores[t] >= floor)
        best = order[0] if order else None
        if found.kind == "out_of_scope" or best is None:
            return replace(explained, candidates=ranked)
        score = scores[best]
        if score - outside >= w.margin * w.maximum:
            return replace(
                explained, kind="topic", topic=best, score=round(score, 3), candidates=ranked
            )
        kind: Kind = "greeting" if found.greeting is not None else "none"
        return replace(explained, kind=kind, topic=None, score=round(score, 3), candidates=ranked)

    @property
    def min_score(self) -> float:
        return self.keywords.min_score


def examples_from(
    topics: Mapping[str, Iterable[str]], out_of_scope: Iterable[str]
) -> dict[str, list[str]]:
    """The bank as the judge takes it: topic -> questions, out of scope under its key."""
    bank: dict[str, list[str]] = {t: list(q) for t, q in topics.items()}
    bank[OUT_OF_SCOPE] = list(out_of_scope)
    return bank
