"""Shared fixtures: the real content folder, a writable copy of it, a conversation."""

from __future__ import annotations

import io
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app import App, assemble
from bot.channels import CHANNELS
from bot.channels.console.session import ConsoleSender
from bot.config import Settings
from bot.content import Content, ContentStore, load_content
from bot.core.conversation import Conversation
from tests.pg import db_target, pg_server, pg_url  # noqa: F401  (PostgreSQL fixtures)
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


def shipped_content() -> Content:
    """The shipped content folder, checked against every channel."""
    return load_content(CONTENT_DIR, CHANNELS)


@pytest.fixture
async def app(content_copy: Path) -> AsyncIterator[App]:
    """The bot assembled as the console runs it, over a copy of the content and a fresh DB."""
    settings = Settings(content_dir=content_copy, db=content_copy.parent / "bot.db")
    store = ContentStore.open(content_copy, CHANNELS)
    assembled = await assemble(settings, store, {"console": ConsoleSender(io.StringIO())})
    try:
        yield assembled
    finally:
        await assembled.close()


@pytest.fixture
def conversation(app: App) -> Conversation:
    """A conversation over a private copy of the shipped content (safe to reload)."""
    return app.conversation
