"""``python -m bot migrate-db SRC DST``: a SQLite database copied into PostgreSQL (and back),
every table, nothing lost; a destination with data is refused unless --force."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.storage import (
    AccessTokenRepo,
    BroadcastRepo,
    ChatRepo,
    Database,
    LearnedRepo,
    ReminderRepo,
    UnansweredRepo,
    VoteRepo,
    WeChatUserRepo,
)
from bot.storage.calendars import CalendarLinkRepo
from bot.storage.copy import TABLES
from bot.storage.notices import NewNotice, NoticeRepo
from bot.storage.state import SharedState
from tests.pg import PgServer
from tests.test_migrations import _build_old

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


async def _fill(path: Path) -> None:
    """Rows in every table, on top of an old (version 7) database's rows."""
    db = await Database.open(path)
    try:
        chats, broadcasts = ChatRepo(db), BroadcastRepo(db)
        alerts = [(T0, 60), (T0 + timedelta(days=1), 1440)]
        await ReminderRepo(db).add(channel="wechat", user_id=3, chat_id=3, kind="custom",
                                   text="交材料 'quoted' ?", due_at=T0 + timedelta(days=2),
                                   alerts=alerts, now=T0)  # fmt: skip
        await chats.seen("telegram", -100777, "group", "考生群 \\ ' \"", T0, subscribe=True)
        await chats.count("questions_answered", 5)
        broadcast_id = await broadcasts.create(admin_id=555, kind="text", text="📢 成绩已发布",
                                               from_chat_id=None, from_message=None,
                                               run_at=None, now=T0)  # fmt: skip
        await broadcasts.confirm(broadcast_id, "all", ("telegram", 555, 9), T0)
        broadcast = await broadcasts.get(broadcast_id)
        assert broadcast is not None
        await broadcasts.start(broadcast, T0, ["telegram", "wechat"])
        await broadcasts.claim(broadcast_id, "telegram", 555)
        await broadcasts.record(broadcast_id, "telegram", 555, "sent")
        await WeChatUserRepo(db).user_id("o-new", T0)

        async def fetch() -> tuple[str, datetime]:
            return "token-1", T0 + timedelta(hours=2)

        await AccessTokenRepo(db).refresh("wx-app", lambda _: False, fetch)
        row = await UnansweredRepo(db).record("复核多久", "复核多久？", T0)
        await LearnedRepo(db).teach("复核多久？", "复核多久", "review", channel="telegram",
                                    user_id=555, now=T0, unanswered_id=row)  # fmt: skip
        await VoteRepo(db).vote("复核多久", "review", T0)
        await SharedState(db).put("remind", "telegram:555", '{"step": "when"}', 3600)
        notices = NoticeRepo(db)
        await notices.claim_check("hrss", T0, T0 + timedelta(hours=1))
        found = NewNotice("https://example.gov.cn/t1.html", "二级造价工程师成绩公布 'x'", None,
                          True, ("二级造价",), "score_release", None)  # fmt: skip
        await notices.add("hrss", [found], T0, baseline=False)
        links = CalendarLinkRepo(db)
        await links.add_feed(channel="wechat", user_id=3, token_hash="ab" * 32, new_key="k",
                             now=T0)  # fmt: skip
        await links.add_file(channel="wechat", user_id=3, token_hash="cd" * 32, new_key="k",
                             now=T0, expires_at=T0 + timedelta(days=1), uses=3)  # fmt: skip
    finally:
        await db.close()


async def _counts(target: Path | str) -> dict[str, int]:
    db = await Database.open(target)
    try:
        return {t: (await db.fetchone(f"SELECT COUNT(*) FROM {t}") or (0,))[0] for t, _ in TABLES}
    finally:
        await db.close()


def test_sqlite_copied_into_postgres_and_back_loses_nothing(
    tmp_path: Path, pg_server: PgServer, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "bot.db"
    _build_old(source)  # an old schema: opening it migrates it first
    asyncio.run(_fill(source))
    url = asyncio.run(pg_server.create_database())

    assert main(["migrate-db", str(source), url]) == 0
    out = capsys.readouterr().out
    assert "every count and checksum matches" in out
    for table, _ in TABLES:
        assert f"\n{table} " in out
    counts = asyncio.run(_counts(url))
    assert counts == asyncio.run(_counts(source))
    assert all(counts.values()), counts  # every table had something to copy

    assert main(["migrate-db", str(source), url]) == 1  # not into a database with data
    assert "already has data" in capsys.readouterr().err
    assert main(["migrate-db", str(source), url, "--force"]) == 0
    assert asyncio.run(_counts(url)) == counts  # replaced, not doubled

    back = tmp_path / "back.db"
    assert main(["migrate-db", url, str(back)]) == 0
    assert "every count and checksum matches" in capsys.readouterr().out

    async def after() -> tuple[list[str], int, int]:
        db = await Database.open(url)
        try:
            repo = ReminderRepo(db)
            texts = [r.text for r in await repo.list_active("wechat", 3)]
            new = await repo.add(channel="telegram", user_id=1, chat_id=1, kind="custom",
                                 text="new", due_at=T0, alerts=[], now=T0)  # fmt: skip
            top = await db.fetchone("SELECT MAX(id) FROM reminders WHERE id < ?", (new,))
            assert top is not None
            return texts, new, int(top[0])
        finally:
            await db.close()

    texts, new, previous = asyncio.run(after())
    assert "交材料 'quoted' ?" in texts and "WeChat" in texts
    assert new == previous + 1  # ids continue after the copied ones


def test_migrate_db_needs_an_existing_source(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["migrate-db", str(tmp_path / "missing.db"), str(tmp_path / "copy.db")]) == 2
    assert "no database" in capsys.readouterr().err
    assert not (tmp_path / "copy.db").exists()
