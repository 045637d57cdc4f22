"""Storage on both engines (SQLite and PostgreSQL, ``db_target``): unanswered questions,
learning, reminders, chats, broadcasts, WeChat users; chats and users keyed by channel."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.storage import (
    BroadcastRepo,
    ChatRepo,
    ChatRow,
    Database,
    LearnedRepo,
    ReminderRepo,
    UnansweredRepo,
    VoteRepo,
    WeChatUserRepo,
)
from bot.storage.db import MIGRATIONS
from bot.storage.leases import LEASE, wall_clock

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


async def test_open_migrates_and_reopens(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "bot.db"
    db = await Database.open(path)
    try:
        async with db.connection.execute("PRAGMA journal_mode") as cursor:
            mode = (await cursor.fetchone())[0]
    finally:
        await db.close()
    db = await Database.open(path)  # second open: nothing to migrate, data kept
    try:
        async with db.connection.execute("PRAGMA user_version") as cursor:
            version = (await cursor.fetchone())[0]
    finally:
        await db.close()
    assert mode == "wal"
    assert version == len(MIGRATIONS)


async def test_unanswered_counts_and_orders(db_target: Path | str) -> None:
    db = await Database.open(db_target)
    repo = UnansweredRepo(db)
    try:
        await repo.record("二建成绩什么时候出", "二建成绩什么时候出？", T0)
        await repo.record("明年报名", "明年报名？", T0)
        await repo.record("二建成绩什么时候出", "二建成绩 什么时候出", T0 + timedelta(hours=1))
        await repo.record("'); DROP TABLE unanswered; --", "'); DROP TABLE unanswered; --", T0)
        rows = await repo.top(10)
    finally:
        await db.close()
    assert (rows[0].normalized, rows[0].count) == ("二建成绩什么时候出", 2)
    assert rows[0].example == "二建成绩 什么时候出"  # the latest wording
    assert rows[0].last_seen == T0 + timedelta(hours=1)
    assert len(rows) == 3  # the SQL-looking text was stored as text, the table is intact


async def test_stored_text_is_bounded(db_target: Path | str) -> None:
    db = await Database.open(db_target)
    repo = UnansweredRepo(db)
    try:
        await repo.record("长" * 5000, "长" * 5000, T0)
        (row,) = await repo.top(1)
    finally:
        await db.close()
    assert len(row.normalized) == 200 and len(row.example) == 200


async def test_unanswered_row_keeps_its_id_and_leaves_the_list_once_taught(
    db_target: Path | str,
) -> None:
    db = await Database.open(db_target)
    unanswered, learned = UnansweredRepo(db), LearnedRepo(db)
    try:
        first = await unanswered.record("二建啥时候出分", "二建啥时候出分？", T0)
        other = await unanswered.record("明年报名", "明年报名？", T0)
        assert await unanswered.record("二建啥时候出分", "二建 啥时候出分", T0) == first
        assert first != other and await unanswered.open_count() == 2
        taught = await learned.teach(
            "二建 啥时候出分",
            "二建啥时候出分",
            "out_of_scope",
            channel="telegram",
            user_id=900,
            now=T0 + timedelta(minutes=5),
            unanswered_id=first,
        )
        again = await learned.teach(
            "二建 啥时候出分", "二建啥时候出分", "review", channel="telegram", user_id=901,
            now=T0, unanswered_id=first,
        )  # fmt: skip
        missing = await learned.teach(
            "x", "x", "review", channel="telegram", user_id=900, now=T0, unanswered_id=999
        )
        await unanswered.record("二建啥时候出分", "二建啥时候出分", T0)  # asked again later
        open_rows = await unanswered.top(10)
        row = await unanswered.get(first)
        examples = await learned.all()
    finally:
        await db.close()
    assert (taught, again, missing) == (True, False, False)
    assert [r.id for r in open_rows] == [other]  # handled rows stay off the list
    assert row is not None and row.handled and row.count == 3
    assert [(e.question, e.normalized, e.topic, e.channel, e.user_id) for e in examples] == [
        ("二建 啥时候出分", "二建啥时候出分", "out_of_scope", "telegram", 900)
    ]
    assert examples[0].taught_at == T0 + timedelta(minutes=5)


async def test_teaching_the_same_question_again_replaces_its_topic(db_target: Path | str) -> None:
    db = await Database.open(db_target)
    learned = LearnedRepo(db)
    try:
        for topic, user in (("review", 1), ("audit", 2)):
            await learned.teach("复审？", "复审", topic, channel="wechat", user_id=user, now=T0)
        await learned.teach("'); DROP TABLE learned_examples; --", "drop", "links",
                            channel="telegram", user_id=3, now=T0)  # fmt: skip
        examples = await learned.all()
    finally:
        await db.close()
    assert [(e.normalized, e.topic, e.channel, e.user_id) for e in examples] == [
        ("复审", "audit", "wechat", 2),
        ("drop", "links", "telegram", 3),
    ]


async def test_votes_count_per_question_and_topic(db_target: Path | str) -> None:
    db = await Database.open(db_target)
    votes = VoteRepo(db)
    try:
        await votes.vote("查询", "steps", T0)
        await votes.vote("查询", "links", T0)
        await votes.vote("查询", "steps", T0 + timedelta(hours=1))
        await votes.vote("入口", "links", T0)
        found = await votes.for_questions(["查询", "入口", "没有"])
        nothing = await votes.for_questions([])
    finally:
        await db.close()
    assert [(v.topic, v.count) for v in found["查询"]] == [("steps", 2), ("links", 1)]
    assert found["查询"][0].last_at == T0 + timedelta(hours=1)
    assert [(v.topic, v.count) for v in found["入口"]] == [("links", 1)]
    assert "没有" not in found and nothing == {}


# Channels: a chat or user is (channel, id); the same number on two platforms is two people.

BIG_TELEGRAM = 2 * 10**15  # Telegram ids reach 2**52; the old id ranges took this for WeChat


async def _reminder(repo: ReminderRepo, channel: str, user_id: int, days: int) -> int:
    return await repo.add(
        channel=channel,
        user_id=user_id,
        chat_id=user_id,
        kind="exam",
        text=f"{channel} {user_id}",
        due_at=T0 + timedelta(days=days),
        alerts=[(T0 + timedelta(days=days, hours=-1), 60)],
        now=T0,
    )


async def test_same_id_on_two_channels_keeps_reminders_apart(db_target: Path | str) -> None:
    db = await Database.open(db_target)
    repo = ReminderRepo(db)
    try:
        telegram = await _reminder(repo, "telegram", 7, 1)
        wechat = await _reminder(repo, "wechat", 7, 2)
        counts = (await repo.count_active("telegram", 7), await repo.count_active("wechat", 7))
        listed = [r.id for r in await repo.list_active("wechat", 7)]
        wrong_owner = await repo.cancel("telegram", 7, wechat)  # not this Telegram user's
        wrong_snooze = await repo.snooze("telegram", 7, wechat, T0 + timedelta(hours=5))
        snoozed = await repo.snooze("wechat", 7, wechat, T0 + timedelta(hours=5))
        cancelled = await repo.cancel("telegram", 7, telegram)
        left = [(r.id, r.channel, r.alerts) for r in await repo.list_active("wechat", 7)]
        gone = await repo.list_active("telegram", 7)
    finally:
        await db.close()
    assert counts == (1, 1)
    assert listed == [wechat]
    assert (wrong_owner, wrong_snooze, snoozed, cancelled) == (False, False, True, True)
    assert left == [(wechat, "wechat", (T0 + timedelta(hours=5), T0 + timedelta(days=2, hours=-1)))]
    assert gone == []


async def test_due_next_recover_and_block_follow_the_channel(db_target: Path | str) -> None:
    db = await Database.open(db_target)
    repo = ReminderRepo(db)
    later = T0 + timedelta(days=10)
    try:
        await _reminder(repo, "telegram", 7, 1)
        await _reminder(repo, "wechat", 7, 2)
        await _reminder(repo, "console", 1, 3)
        wechat_due = await repo.due(later, 10, ["wechat"])
        telegram_due = await repo.due(later, 10, ["telegram"])
        both_due = await repo.due(later, 10, ("telegram", "wechat"))
        none_due = await repo.due(later, 10, [])
        next_at = (await repo.next_fire_at(["wechat"]), await repo.next_fire_at(["console"]))
        assert await repo.claim(wechat_due[0].id) and await repo.claim(telegram_due[0].id)
        # The process that claimed them stopped; with replicas (PostgreSQL) their leases have
        # to expire first (SQLite takes them back at start-up at once).
        db.claims.clock = lambda: wall_clock() + timedelta(seconds=LEASE + 1)
        recovered = await repo.recover(["wechat"])  # the Telegram one stays in flight
        after = [a.channel for a in await repo.due(later, 10, ["telegram", "wechat"])]
        blocked = await repo.block_chat("telegram", 7)
        wechat_left = await repo.count_active("wechat", 7)
        telegram_left = await repo.count_active("telegram", 7)
    finally:
        await db.close()
    assert [(a.channel, a.chat_id, a.text) for a in wechat_due] == [("wechat", 7, "wechat 7")]
    assert [(a.channel, a.chat_id) for a in telegram_due] == [("telegram", 7)]
    assert [a.channel for a in both_due] == ["telegram", "wechat"]
    assert none_due == []
    assert next_at == (T0 + timedelta(days=2, hours=-1), T0 + timedelta(days=3, hours=-1))
    assert recovered == 1
    assert after == ["wechat"]
    assert (blocked, wechat_left, telegram_left) == (1, 1, 0)


async def test_a_channel_list_is_not_a_string(db_target: Path | str) -> None:
    db = await Database.open(db_target)
    try:
        with pytest.raises(TypeError):
            await ReminderRepo(db).due(T0, 10, "wechat")
        with pytest.raises(TypeError):
            await BroadcastRepo(db).audience_size("all", "telegram")
    finally:
        await db.close()


async def test_due_and_next_walk_the_alerts_due_index(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "bot.db")
    repo = ReminderRepo(db)
    statements: list[str] = []
    try:
        for n in range(40):
            await _reminder(repo, ("telegram", "wechat")[n % 2], n, n + 1)
        async with db.transaction() as conn:
            await conn.execute("ANALYZE")
        await db.connection.set_trace_callback(statements.append)
        await repo.due(T0 + timedelta(days=5), 10, ["wechat"])
        await repo.next_fire_at(["telegram", "wechat"])
        await db.connection.set_trace_callback(None)
        plans = []
        for sql in statements:
            async with db.connection.execute(f"EXPLAIN QUERY PLAN {sql}") as cursor:
                plans.append([str(row[3]) for row in await cursor.fetchall()])
    finally:
        await db.close()
    assert len(plans) == 2
    for plan in plans:
        assert plan[0].startswith("SEARCH a USING INDEX alerts_due"), plan
        assert not any(step.startswith("SCAN") for step in plan), plan
        assert not any("TEMP B-TREE" in step for step in plan), plan


async def test_big_telegram_id_is_telegram(db_target: Path | str) -> None:
    db = await Database.open(db_target)
    reminders, chats = ReminderRepo(db), ChatRepo(db)
    try:
        await _reminder(reminders, "telegram", BIG_TELEGRAM, 1)
        await chats.seen("telegram", BIG_TELEGRAM, "private", "", T0)
        due = await reminders.due(T0 + timedelta(days=2), 10, ["telegram"])
        wechat_due = await reminders.due(T0 + timedelta(days=2), 10, ["wechat"])
        row = await chats.get("telegram", BIG_TELEGRAM)
        wechat_row = await chats.get("wechat", BIG_TELEGRAM - 10**15)
    finally:
        await db.close()
    assert [(a.channel, a.chat_id) for a in due] == [("telegram", BIG_TELEGRAM)]
    assert wechat_due == []
    assert row == ChatRow("telegram", BIG_TELEGRAM, "private", "", True, False, False)
    assert wechat_row is None


async def test_same_id_on_two_channels_keeps_chats_apart(db_target: Path | str) -> None:
    db = await Database.open(db_target)
    repo = ChatRepo(db)
    try:
        _, new_telegram = await repo.seen("telegram", 7, "private", "", T0)
        _, new_wechat = await repo.seen("wechat", 7, "private", "", T0, subscribe=True)
        _, again = await repo.seen("wechat", 7, "private", "", T0)
        await repo.set_subscribed("telegram", 7, True, T0)
        await repo.set_subscribed("wechat", 7, False, T0)
        await repo.left("telegram", 7, T0)
        await repo.mark_asked("telegram", 7)
        telegram, wechat = await repo.get("telegram", 7), await repo.get("wechat", 7)
        await repo.seen("telegram", -100, "group", "G", T0, subscribe=True)
        await repo.seen("wechat", -100, "group", "not Telegram's", T0)
        await repo.migrate("telegram", -100, -1001, T0)
        moved = await repo.get("telegram", -1001)
        old, untouched = await repo.get("telegram", -100), await repo.get("wechat", -100)
        stats = await repo.stats()
    finally:
        await db.close()
    assert (new_telegram, new_wechat, again) == (True, True, False)
    assert telegram == ChatRow("telegram", 7, "private", "", False, True, True)
    assert wechat == ChatRow("wechat", 7, "private", "", True, False, True)
    assert moved == ChatRow("telegram", -1001, "supergroup", "G", True, True, False)
    assert old is None
    assert untouched is not None and untouched.title == "not Telegram's"
    assert (stats.users, stats.subscribers, stats.groups) == (1, 0, 2)


async def test_broadcast_reaches_only_the_given_channels(db_target: Path | str) -> None:
    db = await Database.open(db_target)
    chats, repo = ChatRepo(db), BroadcastRepo(db)
    try:
        await chats.seen("telegram", 7, "private", "", T0, subscribe=True)
        await chats.seen("telegram", -100, "supergroup", "G", T0, subscribe=True)
        await chats.seen("wechat", 7, "private", "", T0, subscribe=True)
        await chats.seen("wechat", 8, "private", "", T0, subscribe=True)
        sizes = {
            (audience, channels): await repo.audience_size(audience, channels.split())
            for audience in ("users", "all", "groups")
            for channels in ("telegram", "wechat", "telegram wechat", "")
        }
        broadcast_id = await repo.create(
            admin_id=7,
            kind="text",
            text="hello",
            from_chat_id=None,
            from_message=None,
            run_at=None,
            now=T0,
        )
        assert await repo.confirm(broadcast_id, "all", ("telegram", 7, 42), T0)
        broadcast = await repo.get(broadcast_id)
        assert broadcast is not None
        await repo.start(broadcast, T0, ["telegram"])
        pending = await repo.pending(broadcast_id)
        claimed = await repo.claim(broadcast_id, "telegram", 7)
        not_there = await repo.claim(broadcast_id, "wechat", 7)
        await repo.record(broadcast_id, "telegram", 7, "sent")
        counts = await repo.counts(broadcast_id)
        after = await repo.pending(broadcast_id)
    finally:
        await db.close()
    assert sizes == {
        ("users", "telegram"): 1,
        ("users", "wechat"): 2,
        ("users", "telegram wechat"): 3,
        ("users", ""): 0,
        ("all", "telegram"): 2,
        ("all", "wechat"): 2,
        ("all", "telegram wechat"): 4,
        ("all", ""): 0,
        ("groups", "telegram"): 1,
        ("groups", "wechat"): 0,
        ("groups", "telegram wechat"): 1,
        ("groups", ""): 0,
    }
    assert (broadcast.progress_channel, broadcast.progress_chat, broadcast.progress_msg) == (
        "telegram",
        7,
        42,
    )
    assert pending == [("telegram", -100, 0), ("telegram", 7, 0)]
    assert (claimed, not_there) == (True, False)
    assert (counts.sent, counts.left, counts.total) == (1, 1, 2)
    assert after == [("telegram", -100, 0)]


async def test_wechat_user_ids_are_plain(db_target: Path | str) -> None:
    db = await Database.open(db_target)
    repo = WeChatUserRepo(db)
    try:
        first = await repo.user_id("o-first", T0)
        second = await repo.user_id("o-second")
        again = await repo.user_id("o-first")
        recipient = await repo.recipient(first)
        unknown = await repo.recipient(999)
    finally:
        await db.close()
    assert (first, second, again) == (1, 2, 1)
    assert recipient == ("o-first", T0)
    assert unknown is None


async def test_the_other_repository_calls_give_the_same_answers(db_target: Path | str) -> None:
    db = await Database.open(db_target)
    reminders, broadcasts, users = ReminderRepo(db), BroadcastRepo(db), WeChatUserRepo(db)
    try:
        await _reminder(reminders, "telegram", 7, 1)
        (alert,) = await reminders.due(T0 + timedelta(days=5), 10, ["telegram"])
        assert await reminders.claim(alert.id)
        assert not await reminders.claim(alert.id)  # already in flight
        assert await reminders.retry_unsure(alert.id)  # once...
        assert await reminders.claim(alert.id)
        assert not await reminders.retry_unsure(alert.id)  # ...never twice
        await reminders.release(alert.id)
        released = [a.id for a in await reminders.due(T0 + timedelta(days=5), 10, ["telegram"])]
        later = T0 + timedelta(hours=3)
        ids = [
            await broadcasts.create(admin_id=7, kind="text", text=f"b{n}", from_chat_id=None,
                                    from_message=None, run_at=later if n else None, now=T0)
            for n in range(2)
        ]  # fmt: skip
        for broadcast_id in ids:
            assert await broadcasts.confirm(broadcast_id, "users", None, T0)
        runnable = await broadcasts.next_runnable(T0)
        scheduled = await broadcasts.next_scheduled()
        due_later = await broadcasts.next_runnable(later)
        await ChatRepo(db).seen("telegram", 7, "private", "", T0, subscribe=True)
        await ChatRepo(db).seen("telegram", 8, "private", "", T0, subscribe=True)
        first = await broadcasts.get(ids[0])
        assert first is not None
        await broadcasts.start(first, T0, ["telegram"])
        for chat, error in ((7, "Bad Request: x"), (8, "Bad Request: x")):
            assert await broadcasts.claim(ids[0], "telegram", chat)
            await broadcasts.record(ids[0], "telegram", chat, "failed", error)
        reasons = await broadcasts.failure_reasons(ids[0])
        finished = await broadcasts.finish(ids[0], "done", T0)
        recent = [(b.id, b.status, c.failed) for b, c in await broadcasts.recent()]
        await users.user_id("o-one")
        await users.grant("o-one")
        grants = [await users.use_grant("o-one"), await users.use_grant("o-one")]
        await users.give_back("o-one")
        kept = await users.use_grant("o-one")
    finally:
        await db.close()
    assert released == [alert.id]
    assert runnable is not None and runnable.id == ids[0] and runnable.audience == "users"
    assert scheduled == later and due_later is not None and due_later.id == ids[0]
    assert reasons == [("Bad Request: x", 2)] and finished
    assert recent == [(ids[1], "scheduled", 0), (ids[0], "done", 2)]
    assert (grants, kept) == ([True, False], True)
