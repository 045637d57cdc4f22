"""The answer to a typed question: keywords and two classifiers learned from the example bank.

Two questions are decided apart, because they fail in different ways:

* **which topic?** Each topic's score is its keywords (``matcher.py``, capped at
  ``keyword_cap`` and scaled to 1, so one certain phrase counts fully) plus
  ``learned_weight`` times the topic classifier's probability (``learned.py``, naive Bayes
  over the topics' examples only). The best topic must be *clear*: ahead of the next one by
  at least ``clear`` of the highest possible score (otherwise the question is ambiguous).
* **is it about this exam at all?** A second naive Bayes model weighs every in-scope example
  against the out-of-scope ones (other exams, weather, chit-chat, near misses). Its mean
  log-odds per known feature (so long and short questions compare) plus ``keyword_bonus``
  when a keyword matched must reach ``gate``. Words naming another exam veto an answer.

A clear topic that passes the gate is answered. Otherwise the topics above ``suggest`` of
the maximum are offered as "did you mean", unless the question reads as out of scope (below
``decline``) and no keyword matched: then the honest "not covered". A question asked exactly
like an example (normalised) gets that example's topic. Every number comes from ``faq.yaml``
(``learned``), chosen by cross-validation on the example bank (``bench/crossval.py``), never
on an evaluation set.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from bot.faq.examples import OUT_OF_SCOPE, ExampleIndex
from bot.faq.learned import NaiveBayes, features, soften
from bot.faq.matcher import COMMAND_SCORE, Hit, Kind, Match, Matcher

IN, OUT = "in", "out"
"""The scope model's two classes."""


@dataclass(frozen=True)
class Weights:
    """How the evidence is combined (``faq.yaml`` ``learned``)."""

    alpha: float = 0.5  # naive Bayes smoothing (both models)
    temperature: float = 2.0  # flattens the topic model's log-odds into probabilities
    learned_weight: float = 2.0
    keyword_cap: float = 1.0  # keyword score that counts as certain
    clear: float = 0.2  # the best topic's lead over the next, as a share of the maximum
    gate: float = 0.0  # in-scope mean log-odds (plus keyword_bonus) needed to answer
    keyword_bonus: float = 0.5
    topic_bonus: float = 1.0  # times the best topic's share of the maximum, added to the scope
    decline: float = -1.0  # below this nothing is offered: "not covered"
    suggest: float = 0.15  # share of the maximum needed to be offered as "did you mean"

    @property
    def maximum(self) -> float:
        return 1.0 + self.learned_weight


@dataclass(frozen=True)
class Evidence:
    """What the models say about one question, before the weights' thresholds."""

    scores: dict[str, float]  # topic -> keywords + learned_weight * probability
    probabilities: dict[str, float]  # the topic model alone
    scope: float | None  # in-scope mean log-odds plus the keyword bonus; None: nothing known
    keyword: bool = False  # a topic's keyword matched: never "not covered" without buttons


@dataclass(frozen=True)
class Verdict:
    """The decision: the answered topic (or None) and the topics worth offering, best first."""

    topic: str | None
    offered: tuple[tuple[str, float], ...]


def weigh(
    keywords: Mapping[str, float],
    topic_logs: Mapping[str, float],
    scope_logs: Mapping[str, float],
    known: int,
    w: Weights,
) -> Evidence:
    """Combine keyword scores, topic log-likelihoods and the scope model's log-likelihoods."""
    probabilities = soften(topic_logs, w.temperature)
    scores: dict[str, float] = defaultdict(float)
    for topic, value in keywords.items():
        scores[topic] += min(value, w.keyword_cap) / w.keyword_cap
    for topic, p in probabilities.items():
        scores[topic] += w.learned_weight * p
    scope = None
    if scope_logs and known:
        scope = (scope_logs[IN] - scope_logs[OUT]) / known
    if keywords:
        scope = (scope or 0.0) + w.keyword_bonus
    return Evidence(dict(scores), probabilities, scope, keyword=bool(keywords))


def keyword_weights(hits: Iterable[Hit]) -> dict[str, float]:
    """Each topic's matched keyword weight: ties between topics go to more of it."""
    weights: dict[str, float] = defaultdict(float)
    for hit in hits:
        weights[hit.topic] += hit.weight
    return dict(weights)


def ranking(evidence: Evidence, tiebreak: Mapping[str, float]) -> list[str]:
    """Topics, best first (ties: more keyword weight, then the id)."""
    scores = evidence.scores
    return sorted(scores, key=lambda t: (-scores[t], -tiebreak.get(t, 0.0), t))


def clear_answer(evidence: Evidence, order: Sequence[str], w: Weights) -> tuple[str, float] | None:
    """The best topic when it leads the next by ``clear``, with the value ``gate`` is compared
    against (in-scope evidence plus ``topic_bonus`` times its share); None when no topic is
    clear or nothing about the question is known."""
    if not order or evidence.scope is None:
        return None
    scores = evidence.scores
    share = scores[order[0]] / w.maximum
    lead = share - (scores[order[1]] / w.maximum if len(order) > 1 else 0.0)
    if lead < w.clear:
        return None
    return order[0], evidence.scope + w.topic_bonus * share


def verdict(evidence: Evidence, vetoed: bool, w: Weights, tiebreak: Mapping[str, float]) -> Verdict:
    """Answer, offer or decline (the rule in this module's docstring)."""
    scores = evidence.scores
    order = ranking(evidence, tiebreak)
    scope = evidence.scope if evidence.scope is not None else float("-inf")
    floor = w.suggest * w.maximum
    offered = tuple((t, round(scores[t], 3)) for t in order if scores[t] >= floor)
    if scope < w.decline and not evidence.keyword:
        offered = ()
    answer = None if vetoed else clear_answer(evidence, order, w)
    if answer is not None and answer[1] >= w.gate:
        return Verdict(answer[0], offered)
    return Verdict(None, offered)


def scope_bank(
    keywords: Matcher, inside: Mapping[str, Iterable[str]], outside: Iterable[str]
) -> dict[str, list[str]]:
    """The scope model's two classes: every topic's examples, and the out-of-scope ones.

    Out-of-scope examples that name another exam are left out: the veto already refuses
    those, and learning from them would teach the model that 继续教育 or 资格审核 are out of
    scope, when only 一建's are.
    """
    return {
        IN: [q for questions in inside.values() for q in questions],
        OUT: [q for q in outside if not keywords.vetoed(q)],
    }


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
        inside = {t: q for t, q in bank.items() if t != OUT_OF_SCOPE}
        prepare = keywords.prepare
        cache: dict[str, set[str]] = {}

        def featurize(question: str) -> set[str]:  # both models see most questions
            found = cache.get(question)
            if found is None:
                found = cache[question] = features(prepare(question))
            return found

        alpha = weights.alpha
        self.classifier = NaiveBayes(inside, alpha=alpha, featurize=featurize)
        pooled = scope_bank(keywords, inside, bank.get(OUT_OF_SCOPE, []))
        self.scope = NaiveBayes(pooled, alpha=alpha, featurize=featurize)
        self.examples = ExampleIndex(bank, prepare)
        self.topic_ids = keywords.topic_ids | set(inside)

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
        scope_logs, seen = self.scope.log_likelihoods_counted(norm)
        evidence = weigh(
            dict(found.candidates), self.classifier.log_likelihoods(norm), scope_logs, seen, w
        )
        decided = verdict(evidence, found.kind == "out_of_scope", w, keyword_weights(found.hits))
        learned = sorted(evidence.probabilities.items(), key=lambda i: -i[1])[:5]
        explained = replace(
            found,
            learned=tuple((t, round(p, 3)) for t, p in learned),
            in_scope=None if evidence.scope is None else round(evidence.scope, 3),
            candidates=decided.offered,
        )
        top = decided.offered[0][1] if decided.offered else 0.0
        if decided.topic is not None:
            score = round(evidence.scores[decided.topic], 3)
            return replace(explained, kind="topic", topic=decided.topic, score=score)
        if found.kind == "out_of_scope":
            return explained
        kind: Kind = "greeting" if found.greeting is not None else "none"
        return replace(explained, kind=kind, topic=None, score=top)

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
