"""The learned part of matching: the example bank, the classifier, and how they are weighed."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.app import App
from bot.channels import CHANNELS
from bot.content import ContentError, ContentStore, load_content
from bot.core.router import Who
from bot.faq.decide import Judge, Weights
from bot.faq.examples import OUT_OF_SCOPE, ExampleIndex, with_learned
from bot.faq.learned import NaiveBayes
from bot.faq.matcher import Matcher
from bot.faq.normalize import Synonyms, normalize
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
    judge = Judge(keywords, BANK, Weights(alpha=0.5, temperature=1.0, gate=0.0))
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


async def test_typed_wish_to_subscribe_offers_a_button_that_subscribes(app: App) -> None:
    who = Who("telegram", 4242, 4242, chat_type="private")
    reply = await app.conversation.text("成绩出来了能通知我吗？", who)
    buttons = [b for m in reply.messages for row in m.buttons for b in row]
    subscribe = next(b for b in buttons if b.action == "s:on")
    assert await app.audience.repo.get("telegram", 4242) is None  # nothing changed yet
    done = await app.conversation.action(subscribe.action, who)
    assert done is not None and "已订阅" in done.messages[0].text.plain_text
    row = await app.audience.repo.get("telegram", 4242)
    assert row is not None and row.subscribed
    reply = await app.conversation.text("以后别再给我发通知了", who)
    buttons = [b for m in reply.messages for row in m.buttons for b in row]
    assert any(b.action == "s:off" for b in buttons)
    await app.conversation.action("s:off", who)
    row = await app.audience.repo.get("telegram", 4242)
    assert row is not None and not row.subscribed


def test_learned_examples_replace_content_examples_with_the_same_text() -> None:
    bank = {"review": ["能申请复核吗", "复核要交钱吗"], "links": ["官网是哪个"]}
    merged = with_learned(bank, [("能申请复核吗？？", "links"), ("讲个笑话", OUT_OF_SCOPE)])
    assert merged == {
        "review": ["复核要交钱吗"],
        "links": ["官网是哪个", "能申请复核吗？？"],
        OUT_OF_SCOPE: ["讲个笑话"],
    }
    assert with_learned(bank, []) == bank


def test_a_taught_question_replaces_an_example_that_is_the_same_after_synonyms() -> None:
    prepare = Synonyms({"官网": ["网址"]}).prepare
    bank = {"links": ["官网是哪个"], "review": ["复核要交钱吗"]}
    merged = with_learned(bank, [("网址是哪个", "review")], prepare)
    assert merged == {"links": [], "review": ["复核要交钱吗", "网址是哪个"]}


async def test_store_relearns_without_restart_and_reload_keeps_it(content_copy: Path) -> None:
    taught: list[tuple[str, str]] = []

    async def source() -> list[tuple[str, str]]:
        return list(taught)

    store = ContentStore.open(content_copy, CHANNELS)
    await store.learn_from(source)
    question = "阳泉的那个小程序咋用"
    assert store.matcher.match(question).topic != "tracking"
    taught.append((question, "tracking"))
    before = store.matcher
    await asyncio.gather(store.relearn(), store.reload(), store.relearn())
    assert store.matcher is not before
    assert store.matcher.match(question + "？").topic == "tracking"
    await store.reload()
    assert store.matcher.match(question).topic == "tracking"
    unchanged = store.matcher
    await store.relearn()  # nothing new: the matcher is not rebuilt
    assert store.matcher is unchanged


def test_synonyms_rewrite_questions_keywords_and_examples_alike() -> None:
    synonyms = Synonyms({"官网": ["网址", "链接", "查分网站"], "复核": ["复查"]})
    assert synonyms.prepare("查分網站的鏈接發我！") == "官网的官网发我"
    keywords = Matcher({"links": {"官网在哪": 1.0}}, synonyms=synonyms)
    assert keywords.match("网址在哪").topic == "links"  # the keyword was written as 官网
    judge = Judge(keywords, {"review": ["分数想复查"], OUT_OF_SCOPE: ["讲个笑话"]})
    assert judge.match("分数想复核").topic == "review"  # the same example, by its synonym


def test_a_synonym_under_two_words_is_refused(content_copy: Path) -> None:
    path = content_copy / "faq.yaml"
    path.write_text(path.read_text("utf-8") + "  网络: [网址]\n", "utf-8")
    found = problems_of(content_copy)
    assert any(p.startswith("faq.yaml:") and "also under 官网" in p for p in found), found


def test_a_topic_example_with_an_out_of_scope_word_is_refused(content_copy: Path) -> None:
    """The bot would refuse the very question it learns from (faq.yaml out_of_scope)."""
    path = content_copy / "examples.yaml"
    example = "certificate:\n  - 证书能用淘宝寄吗\n"
    text = path.read_text("utf-8").replace("certificate:\n", example, 1)
    path.write_text(text, "utf-8")
    found = problems_of(content_copy)
    assert any(p.startswith("examples.yaml:") and "'淘宝'" in p for p in found), found
