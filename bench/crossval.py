"""Cross-validation on the example bank: how well the matcher generalises, and its weights.

The question this answers: "with the example bank in content/examples.yaml, which weights
and thresholds (faq.yaml ``learned``) answer the most unseen questions correctly while
answering at most 10 % of the out-of-scope examples?" (A fifth of those are deliberate
near misses, such as another exam's 资格审核, harder than what users send; keywords alone
answer 13 % of them.) Only the bank is used: each fold's examples are left out of the
classifier and the nearest-example index, and answered as new questions. No evaluation set
(tests/data) is read, so nothing is tuned on them.

    .venv/bin/python bench/crossval.py                # 5 folds, grid search, current settings
    .venv/bin/python bench/crossval.py --folds 10 --max-false 0.03

Prints the current settings' figures, the best settings found, and the same for keywords
alone as the baseline. Paste the best into content/faq.yaml ``learned`` if they are better.
"""

from __future__ import annotations

import argparse
import itertools
import random
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.channels import CHANNELS  # noqa: E402
from bot.content.loader import OUT_OF_SCOPE_KEY, load_content  # noqa: E402
from bot.content.store import keyword_matcher  # noqa: E402
from bot.faq.decide import Weights  # noqa: E402
from bot.faq.examples import OUT_OF_SCOPE, ExampleIndex  # noqa: E402
from bot.faq.learned import NaiveBayes, soften  # noqa: E402
from bot.faq.matcher import Matcher  # noqa: E402

GRID = {
    "alpha": (0.1, 0.5),
    "temperature": (4.0, 8.0),
    "learned_weight": (1.0, 2.0, 3.0),
    "nearest_weight": (0.0, 0.5, 1.0),
    "keyword_cap": (1.0, 2.0),
    "margin": tuple(x / 20 for x in range(2, 16)),
}


@dataclass
class Row:
    """One held-out example with every part of the evidence (weights applied later)."""

    expected: str  # topic, or OUT_OF_SCOPE
    keywords: dict[str, float]
    vetoed: bool  # words naming another exam
    logs: dict[float, dict[str, float]]  # alpha -> naive Bayes log-likelihoods
    nearest: dict[str, float]
    keyword_answer: str | None  # what the keyword matcher alone answers


@dataclass(frozen=True)
class Score:
    accuracy: float  # in scope: answered with the right topic
    offered: float  # in scope: right topic answered or among the suggestions
    false_answers: float  # out of scope: answered with a topic
    weights: Weights

    def line(self) -> str:
        return (
            f"{self.accuracy:6.1%} right answers, {self.offered:6.1%} right answer or "
            f"suggestion, {self.false_answers:5.1%} out of scope answered"
        )


def folds(bank: dict[str, list[str]], k: int, seed: int) -> list[list[tuple[str, str]]]:
    items = [(topic, q) for topic, questions in bank.items() for q in questions]
    random.Random(seed).shuffle(items)
    return [items[i::k] for i in range(k)]


def evidence(matcher: Matcher, parts: list[list[tuple[str, str]]]) -> list[Row]:
    rows: list[Row] = []
    alphas = GRID["alpha"]
    for i, held_out in enumerate(parts):
        train: dict[str, list[str]] = defaultdict(list)
        for j, part in enumerate(parts):
            if j != i:
                for topic, q in part:
                    train[topic].append(q)
        models = {a: NaiveBayes(train, alpha=a, prepare=matcher.prepare) for a in alphas}
        index = ExampleIndex(train, matcher.prepare)
        for topic, q in held_out:
            found = matcher.match(q)
            rows.append(
                Row(
                    topic,
                    dict(found.candidates),
                    found.kind == "out_of_scope",
                    {a: m.log_likelihoods(found.normalized) for a, m in models.items()},
                    {t: n.similarity for t, n in index.nearest(found.normalized).items()},
                    found.topic if found.kind == "topic" else None,
                )
            )
    return rows


def decide(row: Row, w: Weights, probabilities: dict[str, float]) -> tuple[str | None, list[str]]:
    """The same rule as bot/faq/decide.py: the answer (or None) and the suggestions."""
    scores: dict[str, float] = defaultdict(float)
    for topic, value in row.keywords.items():
        scores[topic] += min(value, w.keyword_cap) / w.keyword_cap
    for topic, p in probabilities.items():
        scores[topic] += w.learned_weight * p
    for topic, s in row.nearest.items():
        scores[topic] += w.nearest_weight * s
    outside = scores.pop(OUT_OF_SCOPE, 0.0)
    if not scores:
        return None, []
    order = sorted(scores, key=lambda t: -scores[t])
    suggested = [t for t in order[:3] if scores[t] >= w.suggest * w.maximum]
    if row.vetoed:
        return None, suggested
    best = order[0]
    if scores[best] - outside >= w.margin * w.maximum:
        return best, suggested
    return None, suggested


def score(rows: Sequence[Row], w: Weights, cache: dict[tuple[float, float], list]) -> Score:
    key = (w.alpha, w.temperature)
    if key not in cache:
        cache[key] = [soften(r.logs[w.alpha], w.temperature) for r in rows]
    right = offered = inside = false = outside = 0
    for row, probabilities in zip(rows, cache[key], strict=True):
        answer, suggested = decide(row, w, probabilities)
        if row.expected == OUT_OF_SCOPE:
            outside += 1
            false += answer is not None
        else:
            inside += 1
            right += answer == row.expected
            offered += answer == row.expected or (answer is None and row.expected in suggested)
    return Score(right / inside, offered / inside, false / max(1, outside), w)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--content", type=Path, default=ROOT / "content")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--max-false", type=float, default=0.10)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    content = load_content(args.content, CHANNELS)
    bank = {
        (OUT_OF_SCOPE if t == OUT_OF_SCOPE_KEY else t): list(q) for t, q in content.examples.items()
    }
    if not bank:
        print("content has no examples.yaml", file=sys.stderr)
        return 1
    rows = evidence(keyword_matcher(content), folds(bank, args.folds, args.seed))
    cache: dict[tuple[float, float], list] = {}
    current = Weights(**content.faq.learned.model_dump())
    names = [f.name for f in fields(Weights) if f.name in GRID]
    results = [
        score(rows, Weights(**{**current.__dict__, **dict(zip(names, values, strict=True))}), cache)
        for values in itertools.product(*(GRID[n] for n in names))
    ]
    allowed = [r for r in results if r.false_answers <= args.max_false]
    best = max(allowed, key=lambda r: (r.accuracy, r.offered, -r.false_answers), default=None)
    inside = sum(1 for r in rows if r.expected != OUT_OF_SCOPE)
    print(
        f"{len(rows)} examples ({inside} in scope, {len(rows) - inside} out of scope), "
        f"{args.folds} folds, {len(results)} settings tried in "
        f"{time.perf_counter() - started:.1f} s; at most {args.max_false:.0%} out of scope answered"
    )
    print(f"current settings (faq.yaml): {score(rows, current, cache).line()}")
    if best is None:
        print("no setting keeps false answers that low")
        return 1
    print(f"best settings:               {best.line()}")
    print("  " + ", ".join(f"{n}: {getattr(best.weights, n)}" for n in names))
    inside_rows = [r for r in rows if r.expected != OUT_OF_SCOPE]
    outside_rows = [r for r in rows if r.expected == OUT_OF_SCOPE]
    right = sum(r.keyword_answer == r.expected for r in inside_rows) / len(inside_rows)
    false = sum(r.keyword_answer is not None for r in outside_rows) / max(1, len(outside_rows))
    print(
        f"keywords alone (before):      {right:6.1%} right answers, "
        f"{false:5.1%} out of scope answered"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
