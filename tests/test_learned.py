"""The learned part of matching: the example bank, the classifier, and how they are weighed."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.channels import CHANNELS
from bot.content import ContentError, ContentStore, load_content
from bot.faq.decide import Judge, Weights
from bot.faq.examples import OUT_OF_SCOPE, ExampleIndex
from bot.faq.learned import NaiveBayes
from bot.faq.matcher import Matcher
from bot.faq.normalize import normalize
from tests.conftest import CONTENT_DIR

BANK = {
    "review": ["成绩复核怎么申请", "分数不对想复查", "能申请复核吗", "复核要交钱吗"],
    "links": ["官网是哪个", "给个网址", "查分入口在哪", "报名网站链接"],
    OUT_OF_SCOPE: ["今天天气怎么样", "讲个笑话", "一建成绩什么时候出", "推荐个网课"],
}


def problems_of(directory: Path) -> list[str]:
    with pytest.raises(ContentError) as caught:
        load_content(directory, CHANNELS)
    return [str(p) for p in caught.value.problems]


def test_classifier_probabilities_sum_to_one_and_favour_the_right_topic() -> None:
    model = NaiveBayes(BANK, alpha=0.5)
    p = model.probabilities(normalize("我想复查一下分数"), temperature=1.0)
    assert abs(sum(p.values()) - 1.0) < 1e-9
    assert max(p, key=lambda t: p[t]) == "review"
    assert model.probabilities(normalize("🙂🙂")) == {}  # nothing it has seen: no opinion


def test_nearest_example_and_exact_examples() -> None:
    index = ExampleIndex(BANK)
    best = max(index.nearest(normalize("查分的入口在哪里")).values(), key=lambda n: n.similarity)
    assert (best.topic, best.example) == ("links", "查分入口在哪")
    assert index.exact[normalize("讲个笑话！")] == OUT_OF_SCOPE


def test_judge_answers_examples_exactly_and_keeps_out_of_scope_out() -> None:
    keywords = Matcher({"review": {"复核": 1.0}, "links": {"官网": 1.0}})
    judge = Judge(keywords, BANK, Weights(alpha=0.5, temperature=1.0, margin=0.3))
    assert judge.match("分数不对想复查！").topic == "review"  # an example, punctuation aside
    assert judge.match("讲个笑话").kind == "out_of_scope"
    assert judge.match("复核截止了吗").topic == "review"  # keyword and classifier agree
    explained = judge.match("复核截止了吗")
    assert explained.learned[0][0] == "review" and explained.hits


def test_typed_topic_id_still_wins() -> None:
    judge = ContentStore.open(CONTENT_DIR, CHANNELS).matcher
    assert judge.match("review").topic == "review"


def test_bank_covers_every_topic_and_feature_with_forty_questions() -> None:
    content = load_content(CONTENT_DIR, CHANNELS)
    for topic in (*content.topics, "remind", "subscribe", "unsubscribe"):
        assert len(content.examples.get(topic, ())) >= 40, topic
    assert len(content.examples["out_of_scope"]) >= 40


def test_unknown_topic_in_examples_is_refused_with_file_and_line(content_copy: Path) -> None:
    path = content_copy / "examples.yaml"
    path.write_text(path.read_text("utf-8") + "\nnot_a_topic:\n  - 随便问问\n", "utf-8")
    found = problems_of(content_copy)
    assert any(p.startswith("examples.yaml:") and "not_a_topic" in p for p in found), found


def test_one_question_under_two_topics_is_refused(content_copy: Path) -> None:
    path = content_copy / "examples.yaml"
    text = path.read_text("utf-8").replace("review:\n", "review:\n  - 官网是哪个网址呀\n", 1)
    text = text.replace("links:\n", "links:\n  - 官网是哪个网址呀\n", 1)
    path.write_text(text, "utf-8")
    found = problems_of(content_copy)
    assert any("examples.yaml:" in p and "the same question is under" in p for p in found), found
