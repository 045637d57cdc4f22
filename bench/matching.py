"""Matching latency per question: median and p99, real content and 1,000 synthetic topics.

    .venv/bin/python bench/matching.py [--rounds 5] [--topics 1000]

For each content the matcher answers every labelled question (tests/data/*.yaml, 430
questions) ``--rounds`` times; each call is timed on its own. The baseline in the same run
is the naive approach: normalise, then test every keyword as a substring (exact matches
only, no typo tolerance), which is what the index replaces.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.accuracy import load_questions  # noqa: E402
from bot.channels import CHANNELS  # noqa: E402
from bot.content import Content, ContentStore, build_matcher  # noqa: E402
from bot.faq import Matcher, normalize  # noqa: E402

# Characters the synthetic keywords are drawn from: common ones, so they overlap with real
# questions about as often as real keywords of other topics would.
POOL = (
    "成绩查询准考证号身份证网站官方复核审核资格证书合格标准分数考试报名时间地点材料"
    "学历工作年限电子纸质领取邮寄继续教育注册变更延续政策规范计价安装工程造价阳泉山西"
    "省市人社厅中心通知公布发布入口登录密码账号截图打印问题慢卡打不开忘记丢失无此人"
)


def synthetic_topics(
    count: int, seed: int = 7
) -> tuple[dict[str, dict[str, float]], dict[str, str]]:
    """``count`` topics of 15 keywords (2-5 characters) and a 300-character text each."""
    rng = random.Random(seed)
    topics: dict[str, dict[str, float]] = {}
    documents: dict[str, str] = {}
    for n in range(count):
        topics[f"t{n}"] = {
            "".join(rng.choices(POOL, k=rng.randint(2, 5))): rng.choice((0.5, 0.8, 1.0, 1.2))
            for _ in range(15)
        }
        documents[f"t{n}"] = "".join(rng.choices(POOL, k=300))
    return topics, documents


def naive(topics: Mapping[str, Mapping[str, float]]) -> Callable[[str], str | None]:
    """Baseline: substring test of every keyword; best total weight wins."""
    keywords = [(topic, normalize(k), w) for topic, kws in topics.items() for k, w in kws.items()]

    def match(question: str) -> str | None:
        norm = normalize(question)
        scores: dict[str, float] = {}
        for topic, keyword, weight in keywords:
            if keyword in norm:
                scores[topic] = scores.get(topic, 0.0) + weight
        return max(scores, key=scores.__getitem__) if scores else None

    return match


def real_build_ms(content: Content, learned: int = 500) -> tuple[float, float]:
    """Milliseconds to build the real content's matcher (start-up, /reload), without and with
    ``learned`` examples taught in /unanswered (each teaching rebuilds it)."""
    rng = random.Random(11)
    topics = [*content.topics, "out_of_scope"]
    taught = [
        ("".join(rng.choices(POOL, k=rng.randint(4, 16))), rng.choice(topics))
        for _ in range(learned)
    ]
    times = []
    for pairs in ((), taught):
        started = time.perf_counter()
        build_matcher(content, pairs)
        times.append((time.perf_counter() - started) * 1000)
    return times[0], times[1]


def time_calls(fn: Callable[[str], object], questions: list[str], rounds: int) -> list[float]:
    """Microseconds per call, every call timed on its own (after one warm-up pass)."""
    for q in questions:
        fn(q)
    samples = []
    clock = time.perf_counter_ns
    for _ in range(rounds):
        for q in questions:
            start = clock()
            fn(q)
            samples.append((clock() - start) / 1000)
    return samples


def summary(samples: list[float]) -> tuple[float, float, float]:
    """(median, p99, max) in microseconds."""
    ordered = sorted(samples)
    return (
        statistics.median(ordered),
        ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))],
        ordered[-1],
    )


def main(argv: list[str] | None = None) -> int:
    """Run both contents, matcher and baseline; print a table and README rows."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--topics", type=int, default=1000)
    args = parser.parse_args(argv)
    questions = [
        q for f in sorted((ROOT / "tests" / "data").glob("questions_*.yaml"))
        for q, _ in load_questions(f)
    ]  # fmt: skip

    store = ContentStore.open(ROOT / "content", CHANNELS)
    real_topics = {t.id: t.keywords for t in store.current.topics.values()}
    started = time.perf_counter()
    topics, documents = synthetic_topics(args.topics)
    synthetic = Matcher(topics, documents=documents, text_weight=3.0)
    build_ms = (time.perf_counter() - started) * 1000

    rows = [
        (f"real content ({len(real_topics)} topics)", "matcher", store.matcher.match),
        (f"real content ({len(real_topics)} topics)", "naive scan", naive(real_topics)),
        (f"synthetic ({args.topics} topics)", "matcher", synthetic.match),
        (f"synthetic ({args.topics} topics)", "naive scan", naive(topics)),
    ]
    print(f"{len(questions)} questions x {args.rounds} rounds; times in microseconds")
    print(f"{'content':<28} {'method':<11} {'median':>8} {'p99':>8} {'max':>8}")
    table = []
    for content, method, fn in rows:
        median, p99, worst = summary(time_calls(fn, questions, args.rounds))
        table.append((content, method, median, p99))
        print(f"{content:<28} {method:<11} {median:8.1f} {p99:8.1f} {worst:8.1f}")
    print(f"\nbuilding the {args.topics}-topic matcher took {build_ms:.0f} ms")
    plain, taught = real_build_ms(store.current)
    print(
        f"building the real content's matcher took {plain:.0f} ms "
        f"({taught:.0f} ms with 500 learned examples)"
    )
    print("\n| content | method | median µs | p99 µs |\n|---|---|--:|--:|")
    for content, method, median, p99 in table:
        print(f"| {content} | {method} | {median:.1f} | {p99:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
