"""Content loading and validation: the shipped files pass; broken ones name file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.channels import CHANNELS
from bot.content import REQUIRED_TOPICS, ContentError, load_content
from tests.conftest import CONTENT_DIR


def problems_for(directory: Path) -> list[str]:
    with pytest.raises(ContentError) as caught:
        load_content(directory, CHANNELS)
    return [str(p) for p in caught.value.problems]


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"fixture text {old!r} not found in {path.name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def line_of(path: Path, needle: str) -> int:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in {path}")


def test_shipped_content_is_valid_and_complete() -> None:
    content = load_content(CONTENT_DIR, CHANNELS)
    assert set(REQUIRED_TOPICS) <= set(content.topics)
    for topic in content.topics.values():
        for text in topic.messages:
            for channel in CHANNELS:
                assert channel.fits(text), (channel.name, topic.id)
            assert "{" not in text.plain_text, f"unfilled placeholder in {topic.id}"


def test_placeholders_are_filled_from_settings() -> None:
    content = load_content(CONTENT_DIR, CHANNELS)
    welcome = content.ui.texts.welcome
    assert "山西省人力资源和社会保障厅" in welcome
    review = "\n".join(m.plain_text for m in content.topics["review"].messages)
    assert "5" in review and "15" in review


def test_invalid_yaml_reports_file_and_line(content_copy: Path) -> None:
    guide = content_copy / "guide.yaml"
    line = line_of(guide, "authority:")
    edit(guide, "  authority:\n", "  authority: [\n")
    problems = problems_for(content_copy)
    assert len(problems) == 1
    assert problems[0].startswith("guide.yaml:")
    assert "invalid YAML" in problems[0]
    assert int(problems[0].split(":")[1]) >= line


def test_missing_required_key_points_at_its_topic(content_copy: Path) -> None:
    guide = content_copy / "guide.yaml"
    line = line_of(guide, 'description: "成绩由谁发布')
    edit(guide, '    description: "成绩由谁发布', '    descripton: "成绩由谁发布')
    problems = problems_for(content_copy)
    assert f"guide.yaml:{line}: topics.authority.descripton: Extra inputs are not permitted" in (
        problems
    )
    assert any(p.startswith("guide.yaml:") and "authority.description" in p for p in problems)


def test_unknown_related_topic_and_placeholder(content_copy: Path) -> None:
    guide = content_copy / "guide.yaml"
    edit(guide, "related: [links, steps, prepare]", "related: [links, stepz, prepare]")
    edit(guide, "• {hrss_name}", "• {hrss_nam}")
    problems = problems_for(content_copy)
    assert any("related topic 'stepz' does not exist" in p for p in problems)
    bad = line_of(guide, "{hrss_nam}")
    assert any(
        p.startswith("guide.yaml:")
        and "unknown placeholder {hrss_nam}" in p
        and int(p.split(":")[1]) <= bad
        for p in problems
    )


def test_missing_required_topic(content_copy: Path) -> None:
    guide = content_copy / "guide.yaml"
    text = guide.read_text(encoding="utf-8")
    start = text.index("  tracking:")
    guide.write_text(text[:start], encoding="utf-8")
    edit(guide, "  - [tracking]\n", "")
    problems = problems_for(content_copy)
    assert any("required topic 'tracking' is missing" in p for p in problems)
    # Related buttons still pointing at it are reported too, each with its own line.
    assert any("related topic 'tracking' does not exist" in p for p in problems)


def test_message_too_long_and_bad_html(content_copy: Path) -> None:
    guide = content_copy / "guide.yaml"
    edit(guide, "<b>🏛 成绩由谁发布？</b>", "<b>🏛 成绩由谁发布？" + "长" * 4100 + "</b>")
    edit(guide, "<b>📋 查询前的准备</b>", "<b>📋 查询前的准备 a < b")
    problems = problems_for(content_copy)
    assert any("topics.authority.messages[0]: too long for telegram" in p for p in problems)
    assert any("topics.prepare.messages[0]: a bare '<'" in p for p in problems)
    assert any("topics.prepare.messages[0]: <b> is never closed" in p for p in problems)


def test_duplicate_key_is_reported(content_copy: Path) -> None:
    ui = content_copy / "ui.yaml"
    edit(ui, "buttons:\n", "buttons:\n  menu: 菜单\n")
    problems = problems_for(content_copy)
    assert any(p.startswith("ui.yaml:") and "duplicate key 'menu'" in p for p in problems)


def test_missing_ui_text_and_missing_file(content_copy: Path) -> None:
    ui = content_copy / "ui.yaml"
    edit(ui, "  stale_button: |", "  stale_buton: |")
    (content_copy / "settings.yaml").unlink()
    problems = problems_for(content_copy)
    assert "settings.yaml:1: file is missing" in problems
    assert any(
        p.startswith("ui.yaml:") and "texts.stale_button: Field required" in p for p in problems
    )


def test_orphan_topic_is_reported(content_copy: Path) -> None:
    guide = content_copy / "guide.yaml"
    guide.write_text(
        guide.read_text(encoding="utf-8")
        + "\n  orphan:\n    button: 孤儿\n    description: 没人能点到\n"
        + "    messages: [孤立的主题]\n",
        encoding="utf-8",
    )
    problems = problems_for(content_copy)
    assert any("topic 'orphan' cannot be reached by buttons" in p for p in problems)


def test_review_window_order(content_copy: Path) -> None:
    edit(content_copy / "settings.yaml", "  min: 5", "  min: 20")
    problems = problems_for(content_copy)
    assert any(
        p.startswith("settings.yaml:2:") and "min must not be greater" in p for p in problems
    )


def test_keyword_problems_are_reported(content_copy: Path) -> None:
    guide = content_copy / "guide.yaml"
    edit(
        guide,
        "    keywords:\n      谁发布: 1\n",
        "    keywords:\n      谁发布: 1\n      誰發佈: 1\n      谁: 1\n",
    )
    edit(content_copy / "faq.yaml", "  - 一造\n", "  - 一造\n  - 🙂\n")
    problems = problems_for(content_copy)
    dup_line = line_of(guide, "誰發佈")
    assert any(
        p.startswith(f"guide.yaml:{dup_line}:") and "same as '谁发布' after normalisation" in p
        for p in problems
    ), problems
    assert any("'谁' is too short" in p for p in problems)
    assert any(p.startswith("faq.yaml:") and "'🙂' is too short" in p for p in problems)


def test_keyword_weight_must_be_positive(content_copy: Path) -> None:
    edit(content_copy / "guide.yaml", "      谁发布: 1\n", "      谁发布: -1\n")
    problems = problems_for(content_copy)
    assert any("topics.authority.keywords.谁发布" in p and "greater than 0" in p for p in problems)


def test_each_channel_limit_is_checked_and_named(content_copy: Path) -> None:
    # 800 Chinese characters: 800 UTF-16 units fit Telegram's 4096, but 2,400 UTF-8 bytes
    # break WeChat's 2,000-byte reply. Only WeChat is named.
    guide = content_copy / "guide.yaml"
    edit(guide, "<b>🏛 成绩由谁发布？</b>", "<b>🏛 成绩由谁发布？</b>" + "长" * 800)
    problems = problems_for(content_copy)
    line = line_of(guide, "成绩由谁发布？</b>长")
    wechat = [p for p in problems if "too long for wechat" in p]
    assert len(wechat) == 1, problems
    assert wechat[0].startswith(f"guide.yaml:{line - 1}:") or wechat[0].startswith(
        f"guide.yaml:{line}:"
    )
    assert "bytes" in wechat[0] and "wechat allows 2000" in wechat[0]
    assert not any("too long for telegram" in p for p in problems)


def test_unknown_markup_tag_is_reported(content_copy: Path) -> None:
    edit(content_copy / "guide.yaml", "<b>📋 查询前的准备</b>", "<font>📋 查询前的准备</font>")
    problems = problems_for(content_copy)
    assert any("topics.prepare.messages[0]: tag <font> is not allowed" in p for p in problems)
