"""The in-process Telegram harness: the real Application over the stand-in, no sockets."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from telegram import Update

from bot.channels import CHANNELS
from bot.channels.telegram.app import OtherChannels, build_application
from bot.channels.telegram.context import BotApplication
from bot.config import Settings
from bot.content import ContentStore
from tests.standin import FakeBotAPI, FakeRequest

ADMIN = 900
USER = 1001
GROUP = -100777


class Harness:
    """An initialised Application plus the stand-in that records what it sends."""

    def __init__(self, app: BotApplication, api: FakeBotAPI) -> None:
        self.app = app
        self.api = api

    async def feed(self, update: dict[str, Any]) -> None:
        await self.app.process_update(Update.de_json(update, self.app.bot))

    async def command(self, text: str, user: int = USER, **kwargs: Any) -> None:
        await self.feed(self.api.push_command(text, user, **kwargs))

    def sent(self, method: str = "sendMessage") -> list[dict[str, Any]]:
        return [c.params for c in self.api.calls_of(method) if c.ok]


def buttons(params: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, callback data) of every inline button in a sent message."""
    markup = params.get("reply_markup") or {}
    return [
        (b["text"], b["callback_data"]) for row in markup.get("inline_keyboard", []) for b in row
    ]


@pytest.fixture
async def tg(content_copy: Path) -> AsyncIterator[Harness]:
    async with harness(content_copy) as h:
        yield h


@contextlib.asynccontextmanager
async def harness(
    content_copy: Path, other_channels: OtherChannels | None = None
) -> AsyncIterator[Harness]:
    """An initialised Application over a FakeBotAPI (optionally with other channels)."""
    api = FakeBotAPI()
    settings = Settings(
        token="123456:TEST",
        admin_ids=str(ADMIN),
        content_dir=content_copy,
        db=content_copy.parent / "bot.db",
    )
    app = build_application(
        settings,
        ContentStore.open(content_copy, CHANNELS),
        token="123456:TEST",
        request=FakeRequest(api),
        get_updates_request=FakeRequest(api),
        other_channels=other_channels,
    )
    await app.initialize()
    assert app.post_init is not None and app.post_shutdown is not None
    await app.post_init(app)  # opens the database, publishes commands (as run_polling does)
    try:
        yield Harness(app, api)
    finally:
        await app.shutdown()
        await app.post_shutdown(app)


def membership(chat: dict[str, Any], status: str, **rights: bool) -> dict[str, Any]:
    bot = {"id": 424242, "is_bot": True, "first_name": "ExamBot", "username": "exam_test_bot"}
    new: dict[str, Any] = {"status": status, "user": bot}
    if status == "kicked":
        new["until_date"] = 0
    if status == "administrator":
        new |= {
            "can_be_edited": False, "is_anonymous": False, "can_manage_chat": True,
            "can_delete_messages": True, "can_manage_video_chats": False,
            "can_restrict_members": False, "can_promote_members": False,
            "can_change_info": False, "can_invite_users": True, "can_post_stories": False,
            "can_edit_stories": False, "can_delete_stories": False, **rights,
        }  # fmt: skip
    return {
        "my_chat_member": {
            "chat": chat,
            "from": {"id": ADMIN, "is_bot": False, "first_name": "管理员"},
            "date": 1_760_000_000,
            "old_chat_member": {"status": "left", "user": bot},
            "new_chat_member": new,
        }
    }
