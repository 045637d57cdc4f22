"""Date-phrase accuracy and speed: typed reminders turned into (datetime, reminder text).

    .venv/bin/python bench/dates_accuracy.py [--set tests/data/dates_dev.yaml] [--errors]

Each phrase goes through what the reminders flow uses on a typed reminder
(:func:`bot.dates.read_reminder`) with the phrase's ``now`` (default Tuesday 2026-11-24 10:00,
Asia/Shanghai). Counts, against the labels (format: tests/data/dates_dev.yaml):

* wrong: a datetime other than ``at``, or any datetime where ``at`` is null (the parser should
  have asked or refused);
* crashes: an exception instead of an answer;
* needless asks: a question back on a phrase whose ``at`` is given;
* rest errors: right datetime, but a reminder text other than ``rest``.

Also p50/p99 parse time per phrase (every phrase parsed ``--rounds`` times). ``--errors``
lists the misses: use it on development sets only, never on a holdout (refused for a path
containing "holdout").
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.dates import NotUnderstood, When, read_reminder  # noqa: E402

TZ = ZoneInfo("Asia/Shanghai")
DEFAULT_NOW = datetime(2026, 11, 24, 10, 0, tzinfo=TZ)
DEFAULT_SET = ROOT / "tests" / "data" / "dates_dev.yaml"

Reader = Callable[[str, datetime], When | NotUnderstood]


def _moment(value: Any) -> datetime | None:
    """A label's ``at``/``now`` (ISO text or a YAML timestamp), local to Asia/Shanghai."""
    if value is None:
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment.replace(tzinfo=TZ) if moment.tzinfo is None else moment.astimezone(TZ)


@dataclass
class Scores:
    """Counts over one labelled set, and the misses for --errors."""

    total: int = 0
    clear: int = 0
    wrong: int = 0
    crashes: int = 0
    needless_asks: int = 0
    rest_errors: int = 0
    misses: list[str] = field(default_factory=list)


def score(items: list[dict[str, Any]], read: Reader = read_reminder) -> Scores:
    """Compare what ``read`` makes of every phrase with its label."""
    scores = Scores()
    for item in items:
        text = str(item["text"])
        now = _moment(item.get("now")) or DEFAULT_NOW
        expected = _moment(item.get("at"))
        scores.total += 1
        scores.clear += expected is not None
        try:
            got = read(text, now)
        except Exception as error:  # a crash is what we count
            scores.crashes += 1
            scores.misses.append(f"CRASH  {text!r}: {error!r}")
            continue
        if isinstance(got, NotUnderstood):
            if expected is not None:
                scores.needless_asks += 1
                scores.misses.append(f"ASKED  {text!r}: {got.code} {got.values} (at {expected})")
            continue
        found = got.at.astimezone(TZ).replace(tzinfo=None)
        if expected is None or got.at != expected:
            scores.wrong += 1
            scores.misses.append(f"WRONG  {text!r}: {found} (at {expected}) {item.get('why', '')}")
            continue
        if "rest" in item and got.rest != (item["rest"] or ""):
            scores.rest_errors += 1
            scores.misses.append(f"REST   {text!r}: {got.rest!r} (rest {item['rest']!r})")
    return scores


def timing(items: list[dict[str, Any]], rounds: int, read: Reader = read_reminder) -> list[float]:
    """Seconds per phrase per parse, every phrase ``rounds`` times (crashes included)."""
    samples: list[float] = []
    phrases = [(str(i["text"]), _moment(i.get("now")) or DEFAULT_NOW) for i in items]
    for _ in range(rounds):
        for text, now in phrases:
            start = time.perf_counter()
            with contextlib.suppress(Exception):  # counted by score()
                read(text, now)
            samples.append(time.perf_counter() - start)
    return samples


def percentile(samples: list[float], share: float) -> float:
    """The value below which ``share`` of the samples lie."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--set", type=Path, default=DEFAULT_SET, help="labelled YAML list")
    parser.add_argument("--errors", action="store_true", help="list the misses (dev sets only)")
    parser.add_argument("--rounds", type=int, default=20, help="timing rounds over the set")
    args = parser.parse_args()
    if args.errors and "holdout" in args.set.name:
        parser.error("--errors on a holdout would show its phrases: figures only")
    items = yaml.safe_load(args.set.read_text(encoding="utf-8"))
    scores = score(items)
    samples = timing(items, args.rounds) if args.rounds > 0 else [0.0]
    asked_share = scores.needless_asks / scores.clear if scores.clear else 0.0
    print(f"set: {args.set.name}  phrases: {scores.total} (clear {scores.clear})")
    print(f"wrong datetimes: {scores.wrong}")
    print(f"crashes: {scores.crashes}")
    print(f"asked back although clear: {scores.needless_asks} ({asked_share:.1%} of clear)")
    print(f"rest-text errors: {scores.rest_errors}")
    print(
        f"parse time per phrase: p50 {percentile(samples, 0.5) * 1e3:.3f} ms, "
        f"p99 {percentile(samples, 0.99) * 1e3:.3f} ms, "
        f"mean {statistics.fmean(samples) * 1e3:.3f} ms ({len(samples)} parses)"
    )
    if args.errors:
        print("\n".join(scores.misses))


if __name__ == "__main__":
    main()
