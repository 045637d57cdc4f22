"""Console mode: piped input through the real CLI, and the session loop in-process."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

from bot.channels.console.session import CONSOLE_USER, render, run_console
from bot.core.conversation import Conversation
from tests.conftest import ROOT


def run_cli(
    *args: str, stdin: str = "", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("BOT_")}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=full_env,
        timeout=60,
    )


async def session(conversation: Conversation, lines: str) -> str:
    out = io.StringIO()
    await run_console(conversation, io.StringIO(lines), out)
    return out.getvalue()


def test_piped_steps_prints_the_steps_and_exits() -> None:
    result = run_cli("console", stdin="/steps\n")
    assert result.returncode == 0, result.stderr
    assert "成绩查询四步走" in result.stdout
    assert "1. 访问官方网站" in result.stdout
    assert "<b>" not in result.stdout  # markup is stripped for the terminal
    assert "[1] 🛠 遇到问题" in result.stdout


def test_no_token_default_command_starts_console() -> None:
    result = run_cli(stdin="")
    assert result.returncode == 0, result.stderr
    assert "不是官方渠道" in result.stdout
    assert "[1] 🏛 谁发布成绩" in result.stdout


async def test_numbered_choice_follows_the_button(conversation: Conversation) -> None:
    out = await session(conversation, "5\n2\n")
    # 5 = 遇到问题 on the main menu, then 2 = 忘记准考证号 under it.
    assert "查询时遇到问题" in out
    assert "忘记准考证号怎么办" in visible_after(out, "查询时遇到问题")


def visible_after(text: str, marker: str) -> str:
    return text[text.index(marker) :]


async def test_bad_choice_unknown_command_and_free_text(conversation: Conversation) -> None:
    out = await session(conversation, "42\n/nosuch\n你好\n\n准考证号忘了咋办\n今天天气怎么样\n")
    assert "请输入 1 到 7 之间的数字" in out
    assert "抱歉，没有这个命令" in out
    assert "直接打字问我就行" in out  # the greeting
    assert "忘记准考证号怎么办" in out  # the free-text question found its topic
    assert "这个问题我回答不了" in out  # weather is outside the guide


async def test_reload_from_console_reports_bad_content(
    conversation: Conversation, content_copy: Path
) -> None:
    (content_copy / "ui.yaml").write_text("texts: [\n", encoding="utf-8")
    out = await session(conversation, "/reload\n/steps\n")
    assert "内容重新加载失败" in out
    assert "ui.yaml:2: invalid YAML" in out
    assert "成绩查询四步走" in out  # old content still answers


async def test_render_numbers_only_last_message_buttons(conversation: Conversation) -> None:
    start = await conversation.command("start", CONSOLE_USER)
    assert start is not None
    text, choices = render(start)
    assert [b.action for b in choices][:2] == ["t:authority", "t:prepare"]
    assert text.count("[") == len(choices)
