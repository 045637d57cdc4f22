"""CLI contract from DESIGN.md: exit codes and messages of run and check-content."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import CONTENT_DIR
from tests.test_console import run_cli


def test_run_without_token_explains_and_exits_2() -> None:
    result = run_cli("run")
    assert result.returncode == 2
    assert "BOT_TOKEN" in result.stderr
    assert "console" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_check_content_ok() -> None:
    result = run_cli("check-content", str(CONTENT_DIR))
    assert result.returncode == 0, result.stderr
    assert "content OK: 14 topics" in result.stdout


def test_check_content_lists_problems_with_file_and_line(content_copy: Path) -> None:
    guide = content_copy / "guide.yaml"
    guide.write_text(
        guide.read_text(encoding="utf-8").replace(
            "related: [links, steps, prepare]", "related: [nope]"
        ),
        encoding="utf-8",
    )
    result = run_cli("check-content", str(content_copy))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert any(
        line.startswith(f"{content_copy / 'guide.yaml'}:")
        and "related topic 'nope' does not exist" in line
        for line in lines
    ), lines


def test_run_refuses_to_start_on_invalid_content(content_copy: Path) -> None:
    (content_copy / "guide.yaml").write_text("menu: []\ntopics: {}\n", encoding="utf-8")
    result = run_cli("run", env={"BOT_TOKEN": "123:SECRET", "BOT_CONTENT_DIR": str(content_copy)})
    assert result.returncode == 1
    assert "guide.yaml:1:" in result.stderr
    assert "refusing to start" in result.stderr
    assert "SECRET" not in result.stderr


def test_bad_admin_ids_are_a_clear_error() -> None:
    result = run_cli("console", env={"BOT_ADMIN_IDS": "12,abc"})
    assert result.returncode == 2
    assert "BOT_ADMIN_IDS" in result.stderr
    assert "Traceback" not in result.stderr
