"""Schema migrations: a database written before chats were keyed by channel moves over intact.

Up to schema version 7 a WeChat user was ``10**15 + wechat_users.id`` in the same integer
space as Telegram ids. The migration must move exactly those rows to channel 'wechat' with the
plain id, and leave everything else (including a Telegram id above 10**15) on 'telegram'.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.storage import (
    BroadcastRepo,
    ChatRepo,
    ChatRow,
    Database,
    LearnedRepo,
    ReminderRepo,
    UnansweredRepo,
    WeChatUserRepo,
)
from bot.storage.db import LEGACY_WECHAT_ID_BASE, MIGRATIONS

OLD_VERSION = 7  # the schema before channels
BASE = 10**15
BIG_TELEGRAM = 2_000_000_000_000_000  # a real Telegram id above the legacy base
WECHAT_LEGACY = BASE + 3  # WeChat user 3 as the old schema stored it
GROUP = -1001234567890
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
FAR = T0 + timedelta(days=400)


def _ts(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def _build_old(path: Path) -> None:
    """A version-7 database with Telegram and WeChat data, migrated the way ``_migrate`` does."""
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        for target, script in enumerate(MIGRATIONS[:OLD_VERSION], start=1):
            connection.executescript(f"BEGIN;\n{script}\nPRAGMA user_version = {target};\nCOMMIT;")
        rows: dict[str, list[tuple[object, ...]]] = {
            "wechat_users (id, openid, last_message, grants)": [
                (1, "o-one", None, 0),
                (3, "o-three", _ts(T0), 2),
            ],
            "reminders (id, user_id, chat_id, kind, text, due_at, active, created_at)": [
                (1, 555, 555, "exam", "Telegram", _ts(T0 + timedelta(days=3)), 1, _ts(T0)),
                (2, BIG_TELEGRAM, BIG_TELEGRAM, "exam", "big", _ts(T0 + timedelta(4)), 1, _ts(T0)),
                (
                    3,
                    WECHAT_LEGACY,
                    WECHAT_LEGACY,
                    "fee",
                    "WeChat",
                    _ts(T0 + timedelta(5)),
                    1,
                    _ts(T0),
                ),
                (4, 555, 555, "old", "done", _ts(T0 - timedelta(days=1)), 0, _ts(T0)),
            ],
            "alerts (id, reminder_id, fire_at, lead_min, status, sent_at)": [
                (1, 1, _ts(T0 + timedelta(days=2)), 1440, "pending", None),
                (2, 1, _ts(T0 + timedelta(days=3, hours=-1)), 60, "pending", None),
                (3, 2, _ts(T0 + timedelta(days=3)), 1440, "pending", None),
                (4, 3, _ts(T0 + timedelta(days=4)), 1440, "pending", None),
                (5, 4, _ts(T0 - timedelta(days=2)), 1440, "sent", _ts(T0 - timedelta(days=2))),
            ],
            "chats (chat_id, type, title, member, subscribed, asked, updated_at)": [
                (555, "private", "", 1, 1, 1, _ts(T0)),
                (BIG_TELEGRAM, "private", "", 1, 0, 1, _ts(T0)),
                (GROUP, "supergroup", "Study group", 1, 1, 0, _ts(T0)),
                (WECHAT_LEGACY, "wechat", "", 1, 1, 0, _ts(T0)),
            ],
            "counters (name, value)": [("questions_answered", 12)],
            "broadcasts (id, admin_id, audience, kind, text, status, created_at, progress_chat,"
            " progress_msg)": [
                (1, 555, "all", "text", "Scores are out", "running", _ts(T0), 555, 42),
                (2, 555, "all", "text", "Draft", "draft", _ts(T0), None, None),
            ],
            "deliveries (broadcast_id, chat_id, status, attempts, error)": [
                (1, 555, "sent", 1, ""),
                (1, GROUP, "failed", 2, "Forbidden"),
                (1, BIG_TELEGRAM, "pending", 0, ""),
                (1, WECHAT_LEGACY, "pending", 1, ""),
            ],
        }
        connection.execute("BEGIN")
        for table, values in rows.items():
            marks = ",".join("?" * len(values[0]))
            connection.executemany(f"INSERT INTO {table} VALUES ({marks})", values)
        connection.execute("COMMIT")
    finally:
        connection.close()


def _query(path: Path, sql: str) -> list[tuple[object, ...]]:
    connection = sqlite3.connect(path)
    try:
        return connection.execute(sql).fetchall()
    finally:
        connection.close()


async def test_version_7_database_migrates_without_loss(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    _build_old(path)
    assert _query(path, "PRAGMA user_version") == [(OLD_VERSION,)]
    assert LEGACY_WECHAT_ID_BASE == BASE

    db = await Database.open(path)
    reminders, chats, broadcasts = ReminderRepo(db), ChatRepo(db), BroadcastRepo(db)
    try:
        wechat_list = await reminders.list_active("wechat", 3)
        big_list = await reminders.list_active("telegram", BIG_TELEGRAM)
        telegram_list = await reminders.list_active("telegram", 555)
        assert await reminders.list_active("telegram", WECHAT_LEGACY) == []
        assert await reminders.list_active("wechat", BIG_TELEGRAM - BASE) == []
        telegram_due = await reminders.due(FAR, 10, ["telegram"])
        wechat_due = await reminders.due(FAR, 10, ["wechat"])
        next_wechat = await reminders.next_fire_at(["wechat"])
        wechat_chat = await chats.get("wechat", 3)
        big_chat = await chats.get("telegram", BIG_TELEGRAM)
        group = await chats.get("telegram", GROUP)
        stats = await chats.stats()
        sizes = [
            await broadcasts.audience_size("users", ["telegram"]),
            await broadcasts.audience_size("users", ["wechat"]),
            await broadcasts.audience_size("all", ["telegram", "wechat"]),
        ]
        running, draft = await broadcasts.get(1), await broadcasts.get(2)
        pending = await broadcasts.pending(1)
        counts = await broadcasts.counts(1)
        recipient = await WeChatUserRepo(db).recipient(3)
        same_user = await WeChatUserRepo(db).user_id("o-three")
    finally:
        await db.close()

    # Reminders: the WeChat one has the plain id, the big Telegram id is still Telegram.
    assert [(r.id, r.channel, r.user_id, r.chat_id) for r in wechat_list] == [(3, "wechat", 3, 3)]
    assert wechat_list[0].alerts == (T0 + timedelta(days=4),)
    assert [(r.id, r.channel, r.chat_id) for r in big_list] == [(2, "telegram", BIG_TELEGRAM)]
    assert [(r.id, len(r.alerts)) for r in telegram_list] == [(1, 2)]
    assert [a.id for a in telegram_due] == [1, 2, 3]
    assert {a.channel for a in telegram_due} == {"telegram"}
    assert [(a.id, a.channel, a.chat_id) for a in wechat_due] == [(4, "wechat", 3)]
    assert next_wechat == T0 + timedelta(days=4)
    assert _query(
        path, "SELECT id, channel, user_id, chat_id, active FROM reminders ORDER BY id"
    ) == [
        (1, "telegram", 555, 555, 1),
        (2, "telegram", BIG_TELEGRAM, BIG_TELEGRAM, 1),
        (3, "wechat", 3, 3, 1),
        (4, "telegram", 555, 555, 0),
    ]
    # Every alert survived (rebuilding reminders would have cascaded into them).
    assert _query(path, "SELECT id, reminder_id, status FROM alerts ORDER BY id") == [
        (1, 1, "pending"),
        (2, 1, "pending"),
        (3, 2, "pending"),
        (4, 3, "pending"),
        (5, 4, "sent"),
    ]

    # Chats: the WeChat follower is a private chat on 'wechat', subscription kept.
    assert wechat_chat == ChatRow("wechat", 3, "private", "", True, True, False)
    assert big_chat == ChatRow("telegram", BIG_TELEGRAM, "private", "", True, False, True)
    assert group == ChatRow("telegram", GROUP, "supergroup", "Study group", True, True, False)
    assert _query(path, "SELECT channel, chat_id, type FROM chats ORDER BY channel, chat_id") == [
        ("telegram", GROUP, "supergroup"),
        ("telegram", 555, "private"),
        ("telegram", BIG_TELEGRAM, "private"),
        ("wechat", 3, "private"),
    ]
    assert (stats.users, stats.subscribers, stats.groups, stats.questions_answered) == (3, 2, 1, 12)
    assert sizes == [1, 1, 3]

    # Broadcasts and deliveries.
    assert running is not None and draft is not None
    assert (running.progress_channel, running.progress_chat, running.progress_msg) == (
        "telegram",
        555,
        42,
    )
    assert (draft.progress_channel, draft.progress_chat) == (None, None)
    assert pending == [("telegram", BIG_TELEGRAM, 0), ("wechat", 3, 1)]
    assert (counts.sent, counts.failed, counts.left) == (1, 1, 2)
    assert _query(
        path, "SELECT channel, chat_id, status, attempts, error FROM deliveries ORDER BY chat_id"
    ) == [
        ("telegram", GROUP, "failed", 2, "Forbidden"),
        ("wechat", 3, "pending", 1, ""),
        ("telegram", 555, "sent", 1, ""),
        ("telegram", BIG_TELEGRAM, "pending", 0, ""),
    ]

    # WeChat users keep their plain ids.
    assert recipient == ("o-three", T0)
    assert same_user == 3

    # Schema: latest version, indexes rebuilt with the channel, nothing dangling.
    assert _query(path, "PRAGMA user_version") == [(len(MIGRATIONS),)]
    assert _query(path, "PRAGMA integrity_check") == [("ok",)]
    assert _query(path, "PRAGMA foreign_key_check") == []
    assert _index_columns(path, "reminders_by_user") == ["channel", "user_id", "active", "due_at"]
    assert _index_columns(path, "chats_audience") == ["subscribed", "member", "channel", "type"]
    assert _index_columns(path, "deliveries_by_status")[:3] == [
        "broadcast_id",
        "status",
        "attempts",
    ]
    assert "channel" in _index_columns(path, "deliveries_by_status")
    assert _index_columns(path, "alerts_due") == ["status", "fire_at"]
    assert not _query(path, "SELECT name FROM sqlite_master WHERE name LIKE '%_new'")


def _index_columns(path: Path, index: str) -> list[str]:
    return [str(row[2]) for row in _query(path, f"PRAGMA index_info({index})")]


async def test_migrated_database_reopens(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    _build_old(path)
    for _ in range(2):  # the second open finds nothing to do and changes nothing
        db = await Database.open(path)
        await db.close()
        assert _query(path, "PRAGMA user_version") == [(len(MIGRATIONS),)]
        assert _query(path, "SELECT COUNT(*) FROM chats WHERE channel = 'wechat'") == [(1,)]
        assert _query(path, "SELECT chat_id FROM reminders WHERE channel = 'wechat'") == [(3,)]


async def test_unanswered_questions_get_ids_and_teaching_tables(tmp_path: Path) -> None:
    """Version 13 -> 14: unanswered rows keep their counts and get ids; learning starts empty."""
    path = tmp_path / "bot.db"
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        for target, script in enumerate(MIGRATIONS[:13], start=1):
            connection.executescript(f"BEGIN;\n{script}\nPRAGMA user_version = {target};\nCOMMIT;")
        connection.executemany(
            "INSERT INTO unanswered VALUES (?, ?, ?, ?, ?)",
            [
                ("二建成绩", "二建成绩？", 3, _ts(T0), _ts(T0 + timedelta(hours=2))),
                ("天气", "天气", 1, _ts(T0 - timedelta(days=1)), _ts(T0)),
            ],
        )
    finally:
        connection.close()
    db = await Database.open(path)
    repo = UnansweredRepo(db)
    try:
        rows = await repo.top(10)
        new_id = await repo.record("新问题", "新问题", T0)
        learned = await LearnedRepo(db).all()
    finally:
        await db.close()
    assert [(r.normalized, r.example, r.count, r.handled) for r in rows] == [
        ("二建成绩", "二建成绩？", 3, False),
        ("天气", "天气", 1, False),
    ]
    assert rows[0].last_seen == T0 + timedelta(hours=2)
    assert sorted(r.id for r in rows) == [1, 2] and new_id == 3  # ids in order first seen
    assert learned == []
    assert _query(path, "PRAGMA user_version") == [(len(MIGRATIONS),)]
    assert _query(path, "PRAGMA integrity_check") == [("ok",)]
    assert _query(path, "SELECT COUNT(*) FROM suggestion_votes") == [(0,)]
    assert _index_columns(path, "unanswered_open") == ["count", "last_seen"]
    assert not _query(path, "SELECT name FROM sqlite_master WHERE name LIKE '%_new'")
