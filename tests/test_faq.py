"""Free-text matching: normalisation, typo tolerance, honesty about what is out of scope."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.channels import CHANNELS
from bot.content import ContentStore
from bot.faq import Matcher, normalize, syllables
from bot.faq.decide import Judge
from tests.conftest import CONTENT_DIR


@pytest.fixture(scope="module")
def matcher() -> Judge:
    """What the bot answers with: keywords, classifier and examples weighed together."""
    return ContentStore.open(CONTENT_DIR, CHANNELS).matcher


@pytest.fixture(scope="module")
def keywords(matcher: Judge) -> Matcher:
    """The keyword part alone (typo tolerance, other-exam markers)."""
    return matcher.keywords


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("準考證號忘記了怎麼辦？？", "准考证号忘记了怎么办"),  # traditional, punctuation
        ("ＡＢＣ６０分　及格線！", "abc60分及格线"),  # full-width letters, digits, space
        ("官网打不开😭😭 ", "官网打不开"),  # emoji, trailing space
        ("Hello, World", "helloworld"),  # case
        ("🙂!!", ""),
    ],
)
def test_normalize(text: str, expected: str) -> None:
    assert normalize(text) == expected


def test_syllables_are_toneless_pinyin_per_character() -> None:
    assert syllables("准考正号60") == ("zhun", "kao", "zheng", "hao", "6", "0")


@pytest.mark.parametrize(
    ("question", "topic"),
    [
        ("准考证号忘了怎么办", "lost_ticket"),
        ("准考正号忘了", "lost_ticket"),  # same-sound typo
        ("准考号忘了", "lost_ticket"),  # a missing character
        ("考准证号丢了", "lost_ticket"),  # two swapped characters
        ("準考證號忘記了", "lost_ticket"),  # traditional
        ("官网打不开", "site_slow"),
        ("多少分及格", "pass_line"),
        ("几格线是多少", "pass_line"),
        ("成绩复合什么时候截止", "review"),  # 复合 for 复核
        ("资格申核要交什么材料", "audit"),
        ("电子证书在哪下载", "certificate"),
        ("继续教育要多少学时", "tracking"),
        ("steps", "steps"),  # a command name typed without the slash
    ],
)
def test_questions_find_their_topic(
    matcher: Judge, keywords: Matcher, question: str, topic: str
) -> None:
    by_keywords = keywords.match(question)  # typos, traditional characters: keyword level
    assert by_keywords.kind == "topic"
    assert by_keywords.topic == topic, by_keywords
    match = matcher.match(question)  # the bot answers it, or offers it first when unsure
    assert match.kind in ("topic", "none"), match
    assert match.candidates[0][0] == topic, match


@pytest.mark.parametrize(
    "question",
    [
        "今天天气怎么样",
        "二建成绩什么时候出",
        "一级造价的合格线是多少",
        "教资笔试合格线",
        "明年什么时候报名",
    ],
)
def test_out_of_scope_is_declined(matcher: Judge, question: str) -> None:
    assert matcher.match(question).topic is None


def test_one_generic_word_is_not_enough(matcher: Judge) -> None:
    match = matcher.match("成绩")
    assert match.topic is None and match.kind == "none"  # "did you mean", not an answer
    assert len(match.candidates) >= 2


def test_this_exam_named_overrides_the_other_exam_marker(matcher: Judge, keywords: Matcher) -> None:
    assert keywords.match("一建考过了，二造资格审核要什么材料").topic == "audit"
    match = matcher.match("一建考过了，二造资格审核要什么材料")
    assert match.kind != "out_of_scope" and match.candidates[0][0] == "audit", match


def test_greetings(matcher: Judge) -> None:
    assert matcher.match("你好").greeting == "hello"
    assert matcher.match("谢谢！！").greeting == "thanks"
    # A greeting with a real question answers the question.
    assert matcher.match("你好，准考证号忘了").topic == "lost_ticket"


def test_match_is_explained(matcher: Judge) -> None:
    match = matcher.match("准考正号忘了")
    found = {(h.keyword, h.how) for h in match.hits}
    assert ("准考证号", "pinyin") in found
    assert ("忘了", "exact") in found
    assert match.score == pytest.approx(sum(h.weight for h in match.hits), abs=0.01) or (
        match.score > sum(h.weight for h in match.hits)  # plus the text-similarity share
    )
    assert match.candidates[0][0] == "lost_ticket"


def test_same_sound_without_a_shared_character_is_no_match() -> None:
    m = Matcher({"pass_line": {"及格": 1.0}, "x": {"基金": 1.0}})
    assert m.match("好几个").topic is None  # 几个 sounds like 及格
    assert m.match("挤进去").topic is None  # 挤进 sounds like 基金


def test_overlapping_keywords_of_one_topic_count_once() -> None:
    m = Matcher({"lost_ticket": {"准考证号": 1.0, "准考证": 0.6}})
    match = m.match("准考证号")
    assert [h.keyword for h in match.hits] == ["准考证号"]
    assert match.score == 1.0


def test_long_input_is_cut_before_matching(matcher: Judge) -> None:
    match = matcher.match("准考证号忘了" + "啊" * 100_000)
    assert match.topic == "lost_ticket"
    assert len(match.normalized) <= 300


def test_reload_rebuilds_the_matcher(content_copy: Path) -> None:
    import asyncio

    store = ContentStore.open(content_copy, CHANNELS)
    assert store.matcher.match("青蛙王子怎么继续").topic is None
    assert "tracking" not in dict(store.matcher.match("青蛙王子").candidates)
    guide = content_copy / "guide.yaml"
    text = guide.read_text(encoding="utf-8")
    guide.write_text(
        text.replace(
            "    keywords:\n      继续教育", "    keywords:\n      青蛙王子: 2\n      继续教育", 1
        ),
        "utf-8",
    )
    examples = content_copy / "examples.yaml"
    examples.write_text(
        examples.read_text("utf-8").replace("tracking:\n", "tracking:\n  - 青蛙王子怎么继续\n", 1),
        "utf-8",
    )
    asyncio.run(store.reload())
    assert store.matcher.match("青蛙王子怎么继续").topic == "tracking"  # the new example
    assert "tracking" in dict(store.matcher.match("青蛙王子").candidates)  # the new keyword
