"""Matching accuracy on a labelled question set: top-1 accuracy and false answers.

    .venv/bin/python bench/accuracy.py [tests/data/questions_test.yaml] [--errors]

Prints in-scope top-1 accuracy, out-of-scope correct-decline rate, the false-answer rate
(out-of-scope questions answered with a topic) and overall accuracy. ``--errors`` lists the
misses with what matched.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.channels import CHANNELS  # noqa: E402
from bot.content import ContentStore  # noqa: E402
from bot.faq import Match, Matcher, normalize  # noqa: E402
from bot.faq.decide import Judge  # noqa: E402


@dataclass(frozen=True)
class Scores:
    """Counts and rates over one labelled set."""

    total: int
    in_scope: int
    in_scope_right: int
    out_scope: int
    out_scope_right: int
    offered: int
    misses: tuple[tuple[str, str | None, Match], ...]

    @property
    def accuracy(self) -> float:
        """Share of all questions handled right (topic, or declined when out of scope)."""
        return (self.in_scope_right + self.out_scope_right) / self.total

    @property
    def in_scope_accuracy(self) -> float:
        """Top-1 accuracy on questions the guide covers."""
        return self.in_scope_right / self.in_scope

    @property
    def offered_rate(self) -> float:
        """Share of in-scope questions whose topic was answered or offered as a button."""
        return self.offered / self.in_scope

    @property
    def false_answer_rate(self) -> float:
        """Share of out-of-scope questions that were answered with some topic anyway."""
        return 1 - self.out_scope_right / self.out_scope


def load_questions(path: Path) -> list[tuple[str, str | None]]:
    """``(question, expected topic or None)`` pairs from a labelled YAML file."""
    return [(item["q"], item["topic"]) for item in yaml.safe_load(path.read_text("utf-8"))]


def evaluate(
    matcher: Matcher | Judge, questions: list[tuple[str, str | None]], buttons: int = 3
) -> Scores:
    """Run every question through ``matcher`` and count.

    "Offered" counts in-scope questions whose topic the user sees at once: as the answer, or
    as one of the ``buttons`` other-topic buttons (after an answer or a "did you mean").
    """
    in_right = out_right = in_total = offered = 0
    misses = []
    for question, expected in questions:
        match = matcher.match(question)
        if expected is None:
            ok = match.topic is None
            out_right += ok
        else:
            in_total += 1
            ok = match.topic == expected
            in_right += ok
            shown = match.others(buttons)  # the matcher keeps only suggestions worth showing
            offered += ok or (match.kind != "out_of_scope" and expected in shown)
        if not ok:
            misses.append((question, expected, match))
    return Scores(
        len(questions),
        in_total,
        in_right,
        len(questions) - in_total,
        out_right,
        offered,
        tuple(misses),
    )


def main(argv: list[str] | None = None) -> int:
    """Print the figures (and the misses with --errors)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "file", nargs="?", type=Path, default=ROOT / "tests/data/questions_test.yaml"
    )
    parser.add_argument("--content", type=Path, default=ROOT / "content")
    parser.add_argument("--errors", action="store_true", help="list the misses")
    parser.add_argument(
        "--unseen",
        action="store_true",
        help="leave out questions that are, normalised, also in content/examples.yaml",
    )
    args = parser.parse_args(argv)
    store = ContentStore.open(args.content, CHANNELS)
    questions = load_questions(args.file)
    if args.unseen:
        bank = {normalize(q) for qs in store.current.examples.values() for q in qs}
        kept = [(q, t) for q, t in questions if normalize(q) not in bank]
        print(f"left out {len(questions) - len(kept)} questions that are also in the bank")
        questions = kept
    scores = evaluate(store.matcher, questions)
    if args.errors:
        for question, expected, match in scores.misses:
            hits = ", ".join(f"{h.keyword}[{h.how}]→{h.topic}" for h in match.hits) or "-"
            got = match.topic or match.kind
            print(f"{question!r}: expected {expected}, got {got} ({match.score:.2f}; {hits})")
        print()
    print(f"{args.file.name}: {scores.total} questions")
    print(
        f"  in scope:  {scores.in_scope_right}/{scores.in_scope} "
        f"top-1 = {scores.in_scope_accuracy:.1%}"
    )
    print(f"  in scope answered or offered as a button: {scores.offered_rate:.1%}")
    print(
        f"  out of scope declined: {scores.out_scope_right}/{scores.out_scope}; "
        f"false-answer rate {scores.false_answer_rate:.1%}"
    )
    print(f"  overall: {scores.accuracy:.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
