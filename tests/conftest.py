"""Shared fixtures: the real content folder, a writable copy of it, a conversation."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.content import ContentStore
from bot.conversation import Conversation
from tests.telegram_harness import tg  # noqa: F401  (the Telegram harness fixture)

ROOT = Path(__file__).resolve().parent.parent
CONTENT_DIR = ROOT / "content"


@pytest.fixture(autouse=True)
def _ptb_timedelta(monkeypatch: pytest.MonkeyPatch) -> None:
    """Opt into PTB's timedelta durations (RetryAfter.retry_after), as the bot will.

    Without it PTB warns on every 429, and warnings are errors in this suite.
    """
    monkeypatch.setenv("PTB_TIMEDELTA", "1")


@pytest.fixture
def content_copy(tmp_path: Path) -> Path:
    """A writable copy of the shipped content folder."""
    target = tmp_path / "content"
    shutil.copytree(CONTENT_DIR, target)
    return target


@pytest.fixture
def conversation(content_copy: Path) -> Conversation:
    """A conversation over a private copy of the shipped content (safe to reload)."""
    return Conversation(ContentStore.open(content_copy))
