"""End to end: two replicas in webhook mode behind a load balancer, one PostgreSQL, the Bot API
stand-in with Telegram's flood limits and a 50 ms round trip.

Updates spread over both replicas; an admin's broadcast to 1,000 chats and 100 reminders due
in the same minute run on both at once under one send budget; one replica is killed with
SIGKILL midway. Every chat gets the broadcast and every reminder arrives, at most the killed
replica's in-flight window twice, and the stand-in never answers 429. The same scenario at
2,000 chats, with figures (throughput, failover time), is bench/replicas.py; this smaller one
keeps the suite within its time.
"""

from __future__ import annotations

import asyncio
import signal
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.broadcast.runner import WINDOW
from bot.storage import Database, ReminderRepo
from tests.balancer import Balancer
from tests.botproc import BotProcess, healthy
from tests.pg import PgServer, free_port
from tests.standin import Call, StandinServer
from tests.test_e2e_broadcast import last_button

ADMIN = 999
USERS = range(710_000, 710_980)
GROUPS = range(-1_000_710_000, -1_000_710_020)
CHATS = set(USERS) | set(GROUPS)  # 1,000
REMINDED = range(720_000, 720_100)  # 100 users with a reminder due in the same minute
WRITERS = range(730_000, 730_060)  # users who write while it all runs
TEXT = "📢 2026年成绩已发布，复核申请时间以官方通知为准。"
LATENCY = 0.05
PATH = "/telegram"


async def seed(url: str, due: datetime) -> None:
    db = await Database.open(url)
    try:
        stamp = "2026-11-24T00:00:00+00:00"
        rows = [(u, "private", "考生", stamp) for u in USERS]
        rows += [(g, "supergroup", "群", stamp) for g in GROUPS]
        async with db.transaction() as tx:
            await tx.executemany(
                "INSERT INTO chats (channel, chat_id, type, title, member, subscribed, asked,"
                " updated_at) VALUES ('telegram', ?, ?, ?, 1, 1, 1, ?)",
                rows,
            )
        repo = ReminderRepo(db)
        now = datetime.now(UTC)
        for user in REMINDED:
            text = f"交材料R{user}"
            await repo.add(channel="telegram", user_id=user, chat_id=user, kind="custom",
                           text=text, due_at=due, alerts=[(due, 0)], now=now)  # fmt: skip
    finally:
        await db.close()


class Watch:
    """Successful broadcast and reminder sends per chat, the final report; calls read once."""

    def __init__(self) -> None:
        self.broadcast: Counter[int | str | None] = Counter()
        self.reminders: Counter[int | str | None] = Counter()
        self.final: str | None = None
        self._seen = 0

    def scan(self, calls: list[Call]) -> Watch:
        for call in calls[self._seen :]:
            if not call.ok:
                continue
            text = str(call.params.get("text"))
            if call.method == "sendMessage" and text == TEXT:
                self.broadcast[call.chat_id] += 1
            elif call.method == "sendMessage" and "交材料R" in text:
                self.reminders[call.chat_id] += 1
            elif call.method == "editMessageText" and "已完成" in text and self.final is None:
                self.final = text
        self._seen = len(calls)
        return self

    def halfway(self, calls: list[Call]) -> bool:
        return self.scan(calls).broadcast.total() >= len(CHATS) // 2

    def done(self, calls: list[Call]) -> bool:
        self.scan(calls)
        return self.final is not None and len(self.reminders) == len(REMINDED)


def answered(calls: list[Call], users: range) -> set[int | str | None]:
    wanted = set(users)
    return {c.chat_id for c in calls if c.ok and c.method == "sendMessage" and c.chat_id in wanted}


async def test_two_webhook_replicas_share_the_work_and_survive_kill_9(
    tmp_path: Path, pg_server: PgServer
) -> None:
    url = await pg_server.create_database()
    due = datetime.now(UTC) + timedelta(seconds=25)  # due while the broadcast runs
    await seed(url, due)
    ports = [free_port(), free_port()]
    watch = Watch()
    async with (
        StandinServer(flood_limits=True, latency=LATENCY, deliver_after_disconnect=True) as server,
        Balancer([f"http://127.0.0.1:{port}" for port in ports], down_for=2.0) as balancer,
    ):
        api = server.api
        replicas = []
        for n, port in enumerate(ports):
            env = {
                "BOT_ADMIN_IDS": str(ADMIN),
                "BOT_DB": url,
                "BOT_WEBHOOK_URL": balancer.url + PATH,
                "BOT_WEBHOOK_LISTEN": "127.0.0.1",
                "BOT_WEBHOOK_PORT": str(port),
                "BOT_WEBHOOK_SECRET": "e2e_secret-0123456789",
            }
            health = f"http://127.0.0.1:{port}/healthz"
            replica = BotProcess(
                api, server.base_url, tmp_path, env=env, name=f"replica{n}",
                ready=lambda health=health: healthy(health),  # type: ignore[misc]
            )  # fmt: skip
            await replica.start()
            replicas.append(replica)
        try:
            assert api.webhook is not None and api.webhook.url == balancer.url + PATH
            for user in WRITERS[:30]:
                api.push_command("/start", user)
            api.push_command(f"/broadcast {TEXT}", ADMIN)
            await api.wait_for(
                lambda calls: any("广播预览" in str(c.params.get("text")) for c in calls)
            )
            data, message_id = last_button(api.calls, "b:a:")
            api.push_callback(data, ADMIN, message_id)
            await api.wait_for(
                lambda calls: any("确认发送广播" in str(c.params.get("text")) for c in calls)
            )
            data, message_id = last_button(api.calls, "b:c:")
            api.push_callback(data, ADMIN, message_id)
            error = await replicas[0].race(api.wait_for(watch.halfway, 120))
            assert error is None, f"{error}\n{replicas[0].log_tail()}"
            assert await replicas[0].stop(signal.SIGKILL) == -signal.SIGKILL
            killed_at = watch.scan(api.calls).broadcast.total()
            for user in WRITERS[30:]:  # reach the survivor through the balancer
                api.push_command("/start", user)
            error = await replicas[1].race(api.wait_for(watch.done, 180))
            assert error is None, f"{error}\n{replicas[1].log_tail()}"
            await api.wait_for(lambda calls: answered(calls, WRITERS) == set(WRITERS), 60)
            await asyncio.sleep(1)  # a late duplicate would show up now
        finally:
            for replica in replicas:
                await replica.stop()
        watch.scan(api.calls)
        throttled = [c for c in api.calls if c.status == 429]
        spread = dict(balancer.requests)
    assert killed_at < len(CHATS)  # the kill really happened midway
    assert all(spread.get(f"http://127.0.0.1:{port}", 0) > 5 for port in ports), spread
    assert set(watch.broadcast) == CHATS, "a chat missed the broadcast"
    assert set(watch.reminders) == set(REMINDED), "a reminder was lost"
    twice = {c: n for c, n in (watch.broadcast + watch.reminders).items() if n > 1}
    # The killed replica's in-flight sends: its broadcast window and the reminders it was
    # sending; each is sent again once its lease expires.
    assert len(twice) <= WINDOW + 2, f"more than the in-flight window twice: {twice}"
    assert f"已发送 {len(CHATS)}" in str(watch.final), watch.final
    assert not throttled, f"{len(throttled)} x 429: {throttled[:3]}"
