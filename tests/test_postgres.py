"""PostgreSQL next to SQLite: the same schema, and replicas that never claim the same row.

Every test here runs against the real server tests/pg.py starts (once per session); the
claim tests run on both engines (two connections to one SQLite file are two processes).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg

from bot.app import assemble, running
from bot.channels import CHANNELS
from bot.config import Settings
from bot.content import ContentStore
from bot.core.reply import Reply
from bot.delivery import Outcome, Priority, Result
from bot.storage import BroadcastRepo, ChatRepo, Database, ReminderRepo
from bot.storage.leases import LEASE, wall_clock
from bot.storage.migrations import MIGRATIONS
from bot.storage.pg_schema import PG_BASELINE_VERSION, PG_MIGRATIONS
from bot.storage.postgres import numbered
from tests.pg import PgServer

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
LATER = T0 + timedelta(days=30)


async def test_postgres_migrates_once_and_reopens_over_tcp_and_socket(pg_server: PgServer) -> None:
    url = await pg_server.create_database()
    for target in (url, pg_server.socket_url(url.rpartition("/")[2])):
        db = await Database.open(target)
        try:
            version = await db.schema_version()
            history = await db.fetchall("SELECT version FROM schema_version")
        finally:
            await db.close()
        assert version == len(MIGRATIONS)
        # The consolidated schema, then each later migration, each applied once.
        assert history == [(v,) for v in range(PG_BASELINE_VERSION, len(MIGRATIONS) + 1)]


async def test_both_engines_have_the_same_tables_columns_and_indexes(
    tmp_path: Path, pg_url: str
) -> None:
    assert PG_BASELINE_VERSION + len(PG_MIGRATIONS) == len(MIGRATIONS)
    lite, pg = await Database.open(tmp_path / "bot.db"), await Database.open(pg_url)
    try:
        columns = (await lite.columns(), await pg.columns())
        lite_indexes = await lite.fetchall(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
        )
        pg_indexes = await pg.fetchall(
            "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()"
            " AND indexname NOT LIKE '%\\_pkey' AND indexname NOT LIKE '%\\_key'"
        )
    finally:
        await lite.close()
        await pg.close()
    assert columns[0] == columns[1]
    assert sorted(lite_indexes) == sorted(pg_indexes)


def test_placeholders_are_numbered_outside_quoted_text() -> None:
    sql = "SELECT '?', ? FROM t WHERE a = ? AND b = 'it''s ?' AND \"c?\" IN (?,?)"
    assert numbered(sql) == (
        "SELECT '?', $1 FROM t WHERE a = $2 AND b = 'it''s ?' AND \"c?\" IN ($3,$4)"
    )


async def test_bad_input_stays_data_on_postgres(pg_url: str) -> None:
    db = await Database.open(pg_url)
    try:
        chats = ChatRepo(db)
        await chats.seen("telegram", 1, "private", "'); DROP TABLE chats; -- $1 ?", T0)
        row = await chats.get("telegram", 1)
    finally:
        await db.close()
    assert row is not None and row.title == "'); DROP TABLE chats; -- $1 ?"


async def _alerts(db: Database, count: int) -> set[int]:
    repo = ReminderRepo(db)
    for n in range(count):
        await repo.add(channel="telegram", user_id=n, chat_id=n, kind="exam", text=f"r{n}",
                       due_at=T0 + timedelta(days=1), alerts=[(T0, 60)], now=T0)  # fmt: skip
    return {a.id for a in await repo.due(LATER, count + 1, ["telegram"])}


async def _claim_alerts(db: Database) -> list[int]:
    """What one replica's dispatcher does: read what is due, claim each, several at once."""
    repo, mine = ReminderRepo(db), []
    while batch := await repo.due(LATER, 40, ["telegram"]):
        won = await asyncio.gather(*(repo.claim(alert.id) for alert in batch))
        mine += [alert.id for alert, ok in zip(batch, won, strict=True) if ok]
    return mine


async def test_two_replicas_never_claim_the_same_alert(db_target: Path | str) -> None:
    one, two = await Database.open(db_target), await Database.open(db_target)
    try:
        due = await _alerts(one, 200)
        first, second = await asyncio.gather(_claim_alerts(one), _claim_alerts(two))
    finally:
        await one.close()
        await two.close()
    assert not set(first) & set(second)
    assert sorted(first + second) == sorted(due)
    assert len(first) == len(set(first)) and len(second) == len(set(second))


async def _broadcast(db: Database, chats: int) -> int:
    chat_repo, repo = ChatRepo(db), BroadcastRepo(db)
    for n in range(chats):
        await chat_repo.seen("telegram", n, "private", "", T0, subscribe=True)
    broadcast_id = await repo.create(admin_id=1, kind="text", text="hi", from_chat_id=None,
                                     from_message=None, run_at=None, now=T0)  # fmt: skip
    assert await repo.confirm(broadcast_id, "all", None, T0)
    return broadcast_id


async def _start(db: Database, broadcast_id: int) -> None:
    repo = BroadcastRepo(db)
    broadcast = await repo.get(broadcast_id)
    assert broadcast is not None
    await repo.start(broadcast, T0, ["telegram"])


async def _claim_deliveries(db: Database, broadcast_id: int) -> list[int]:
    """What one replica's runner does: claim what is pending, in batches, several at once."""
    repo, mine = BroadcastRepo(db), []
    while batch := await repo.pending(broadcast_id, 50):
        won = await asyncio.gather(*(repo.claim(broadcast_id, c, chat) for c, chat, _ in batch))
        mine += [chat for (_, chat, _), ok in zip(batch, won, strict=True) if ok]
    return mine


async def test_two_replicas_never_claim_the_same_delivery(db_target: Path | str) -> None:
    one, two = await Database.open(db_target), await Database.open(db_target)
    try:
        broadcast_id = await _broadcast(one, 300)
        await _start(one, broadcast_id)  # (SQLite: one process runs broadcasts, it starts them)
        first, second = await asyncio.gather(
            _claim_deliveries(one, broadcast_id), _claim_deliveries(two, broadcast_id)
        )
        repo = BroadcastRepo(two)
        early = await repo.finish(broadcast_id, "done", T0)  # all claimed, none recorded yet
        for chat in first + second:
            await repo.record(broadcast_id, "telegram", chat, "sent")
        done = await repo.finish(broadcast_id, "done", T0)
        counts = await repo.counts(broadcast_id)
    finally:
        await one.close()
        await two.close()
    assert not set(first) & set(second)
    assert sorted(first + second) == list(range(300))
    assert (early, done, counts.sent, counts.left) == (False, True, 300, 0)


async def test_claims_of_a_killed_replica_come_back_when_the_lease_expires(pg_url: str) -> None:
    killed, live = await Database.open(pg_url), await Database.open(pg_url)
    try:
        (alert,) = await _alerts(killed, 1)
        broadcast_id = await _broadcast(killed, 2)
        assert await _claim_alerts(killed) == [alert]
        await _start(killed, broadcast_id)
        assert sorted(await _claim_deliveries(killed, broadcast_id)) == [0, 1]
        await _start(live, broadcast_id)  # a replica (re)starting leaves live claims alone
        assert await BroadcastRepo(live).pending(broadcast_id) == []
        # A live owner renews: past the first lease, nothing of it is taken away.
        killed.claims.clock = lambda: wall_clock() + timedelta(seconds=LEASE * 0.75)
        assert await killed.claims.tick() == 0
        live.claims.clock = lambda: wall_clock() + timedelta(seconds=LEASE * 1.5)
        assert await live.claims.tick() == 0
        assert await ReminderRepo(live).recover(["telegram"]) == 0  # in flight elsewhere
        await killed.claims.stop()  # kill -9: no more renewals, no outcome recorded
        live.claims.clock = lambda: wall_clock() + timedelta(seconds=LEASE * 2)
        released = await live.claims.tick()
        await _start(live, broadcast_id)
        again = await _claim_alerts(live), await _claim_deliveries(live, broadcast_id)
    finally:
        await killed.close()
        await live.close()
    assert released == 3
    assert again == ([alert], [0, 1])


@dataclass
class Recorder:
    """A sender that takes a few milliseconds, like a fast Bot API, and remembers whom."""

    chats: list[int] = field(default_factory=list)

    async def send(self, chat_id: int, reply: Reply, priority: Priority = Priority.REPLY) -> Result:
        await asyncio.sleep(0.003)
        self.chats.append(chat_id)
        return Result(Outcome.SENT)


async def _until(check: Callable[[], Awaitable[bool]], seconds: float = 30.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"not done within {seconds} s")


async def test_two_replicas_share_a_broadcast_and_due_reminders(
    content_copy: Path, pg_url: str
) -> None:
    """Two bots on one PostgreSQL: every chat gets the broadcast once, every alert once."""
    settings = Settings(content_dir=content_copy, db=pg_url)
    store = ContentStore.open(content_copy, CHANNELS)
    senders = [Recorder(), Recorder()]
    apps = [await assemble(settings, store, {"telegram": s}) for s in senders]
    db = apps[0].db
    broadcast_id = await _broadcast(db, 400)
    now = datetime.now(UTC)
    for n in range(1000, 1150):
        await ReminderRepo(db).add(channel="telegram", user_id=n, chat_id=n, kind="custom",
                                   text="交材料", due_at=now + timedelta(days=1),
                                   alerts=[(now - timedelta(minutes=1), 60)], now=now)  # fmt: skip
    repo = BroadcastRepo(db)

    async def finished() -> bool:
        return (await repo.status(broadcast_id)) == "done" and sum(
            n >= 1000 for s in senders for n in s.chats
        ) >= 150

    async with running(apps[0]), running(apps[1]):
        await _until(finished)
    sent = senders[0].chats + senders[1].chats
    assert sorted(n for n in sent if n < 1000) == list(range(400))
    assert sorted(n for n in sent if n >= 1000) == list(range(1000, 1150))
    assert all(len(s.chats) > 50 for s in senders), [len(s.chats) for s in senders]


async def test_a_url_without_a_server_fails_clearly(pg_server: PgServer) -> None:
    url = f"postgresql://bot@127.0.0.1:{pg_server.port}/no_such_db"
    try:
        await Database.open(url)
    except asyncpg.InvalidCatalogNameError as exc:
        assert "no_such_db" in str(exc)
    else:
        raise AssertionError("opened a database that does not exist")
