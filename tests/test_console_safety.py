"""The console next to a live bot: its own scratch database by default; pointed at a
database, it serves only the console user and runs nobody else's reminders or broadcasts."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

from bot.app import utc_now
from bot.channels import CHANNELS
from bot.channels.console.runtime import SCRATCH_DB, console_app, console_user
from bot.config import Settings
from bot.content import ContentStore
from bot.reminders.dispatcher import Dispatcher
from bot.storage import BroadcastRepo, Database, ReminderRepo
from tests.conftest import ROOT
from tests.test_console import run_cli


async def live_database(path: Path) -> tuple[int, int]:
    """A live bot's database: a Telegram user's alert and a console alert due, a broadcast
    queued; returns the broadcast id and the Telegram reminder id."""
    db = await Database.open(path)
    now = utc_now()
    reminders = ReminderRepo(db)
    due = [(now - timedelta(minutes=1), 0)]
    telegram = await reminders.add(
        channel="telegram", user_id=5, chat_id=5, kind="custom", text="交材料",
        due_at=now + timedelta(hours=1), alerts=due, now=now,
    )  # fmt: skip
    await reminders.add(
        channel="console", user_id=1, chat_id=1, kind="custom", text="控制台提醒",
        due_at=now + timedelta(hours=1), alerts=due, now=now,
    )  # fmt: skip
    broadcasts = BroadcastRepo(db)
    broadcast_id = await broadcasts.create(
        admin_id=900, kind="text", text="通知", from_chat_id=None, from_message=None,
        run_at=None, now=now,
    )  # fmt: skip
    assert await broadcasts.confirm(broadcast_id, "all", None, now)
    await db.close()
    return broadcast_id, telegram


async def alert_states(db: Database) -> dict[str, str]:
    async with db.connection.execute(
        "SELECT r.channel, a.status FROM alerts a JOIN reminders r ON r.id = a.reminder_id"
    ) as cursor:
        return {str(channel): str(status) for channel, status in await cursor.fetchall()}


def test_console_never_opens_bot_db_by_default(tmp_path: Path) -> None:
    live = tmp_path / "live.db"
    result = run_cli("console", stdin="/steps\n", env={"BOT_DB": str(live)})
    assert result.returncode == 0, result.stderr
    assert "成绩查询四步走" in result.stdout
    assert not live.exists()
    assert (ROOT / SCRATCH_DB).exists()


def test_console_on_a_live_database_is_no_admin(tmp_path: Path) -> None:
    live = tmp_path / "live.db"
    result = run_cli("console", "--db", str(live), stdin="/broadcast 大家好\n/steps\n")
    assert result.returncode == 0, result.stderr
    assert "仅限管理员" in result.stdout
    assert "成绩查询四步走" in result.stdout
    assert live.exists()


def test_console_refuses_a_database_url(tmp_path: Path) -> None:
    result = run_cli("console", "--db", "postgresql://bot:secret@db:5432/bot", stdin="/steps\n")
    assert result.returncode == 2
    assert "SQLite file path, not a URL" in result.stderr
    assert "secret" not in result.stderr.replace("--db", "")  # the URL is not echoed back


async def test_console_on_a_live_database_runs_only_its_own_reminders(
    tmp_path: Path, content_copy: Path
) -> None:
    live = tmp_path / "live.db"
    broadcast_id, telegram_reminder = await live_database(live)
    out = io.StringIO()
    settings = Settings(content_dir=content_copy, db=tmp_path / "not-this.db")
    app = await console_app(settings, ContentStore.open(content_copy, CHANNELS), live, out)
    try:
        (dispatcher,) = app.workers  # no broadcast runner
        assert isinstance(dispatcher, Dispatcher)
        assert dispatcher.channels == ("console",)
        assert await dispatcher.repo.recover(dispatcher.channels) == 0
        assert await dispatcher.step()
        assert "控制台提醒" in out.getvalue()
        assert "交材料" not in out.getvalue()
        assert await alert_states(app.db) == {"console": "sent", "telegram": "pending"}
        broadcast = await BroadcastRepo(app.db).get(broadcast_id)
        assert broadcast is not None and broadcast.status == "queued"
        user = console_user(live)
        assert not user.is_admin
        for command, args in (("broadcast", "大家好"), ("reminders", "")):
            reply = await app.conversation.command(command, user, args)
            assert reply is not None
            assert "交材料" not in reply.messages[0].text.plain_text
        (mine,) = await ReminderRepo(app.db).list_active("telegram", 5)
        assert mine.id == telegram_reminder
    finally:
        await app.close()
    assert not (tmp_path / "not-this.db").exists()


def test_scratch_console_user_is_the_admin() -> None:
    assert console_user(None).is_admin
