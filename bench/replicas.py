"""Replicas benchmark: one and two webhook replicas on PostgreSQL against one polling replica
on SQLite, and failover after kill -9 of a replica.

The question this answers: "what do one and two replicas on PostgreSQL deliver, against one
replica on SQLite, at a 50 ms round trip; and how long does failover take after kill -9 of a
replica?"

Configurations (``--configs``, default ``A,B,C``), each against the Bot API stand-in with
Telegram's flood limits and ``--latency`` seconds per request (default 0.05):

A. one replica, SQLite, long polling (the default deployment);
B. one replica, PostgreSQL, webhook through the load balancer;
C. two replicas, PostgreSQL, webhook through the load balancer.

Steps for each configuration, in a fresh temporary directory and (B, C) a fresh database on
one throwaway PostgreSQL server (``tests/pg.py``: started here, as an unprivileged user):

1. Seed ``--recipients`` chats with the bot's own code (``Database.open`` migrates, then the
   rows go in as in ``tests/test_e2e_replicas.py``): 1 % supergroups, the rest private users,
   all subscribed.
2. Start the stand-in (:class:`tests.standin.StandinServer`, only 127.0.0.1: flood limits on,
   a request a killed process had sent is still answered), for B and C the round-robin
   balancer (:class:`tests.balancer.Balancer` set up like ``deploy/nginx.conf``: a refused
   connection goes to the next replica, which is then skipped for 10 s; a POST that reached a
   replica is not repeated) and the replicas: ``python -m bot run`` with ``BOT_DB`` and, for B
   and C, ``BOT_WEBHOOK_URL=<balancer>/telegram``, ``BOT_WEBHOOK_LISTEN=127.0.0.1``,
   ``BOT_WEBHOOK_PORT`` and ``BOT_WEBHOOK_SECRET``. A webhook replica is ready when its
   ``GET /healthz`` answers 200 and every replica called setWebhook; the polling one at its
   first getUpdates. Each replica gets a token of its own (the stand-in accepts any), only so
   that its calls can be told apart.
3. Updates: ``--users`` distinct private users send ``/start`` at once. From the first push
   until every one of them got an answer (the first successful sendMessage into their chat):
   answered users per second, p50/p99 time to answer, 429s. A new user's ``/start`` gets
   more than one message (the welcome, then the subscription offer at least a chat gap
   later); only the first counts as the answer, all are counted and reported. Then wait
   until every update was acknowledged and the bot sent nothing for 2 s.
4. Broadcast: the admin's real flow (``/broadcast TEXT``, tap the audience "all", tap
   "✅ 确认发送"); from the confirm tap until the progress message is edited into the final
   report (已完成): delivered messages per second, 429s, duplicates (recipients that got it
   more than once, after 2 s more for late ones) and losses (recipients that got nothing).

Then the failover run (unless ``--no-failover``): configuration C afresh, the same broadcast,
and once half the recipients have it ``replica0`` gets SIGKILL and ``--users``/10 (at most
100) new users send ``/start`` at once. Reported: the longest gap between two successful
broadcast sends from 1 s before to 5 s after the kill (the survivor keeps taking the shared
budget's slots alone: no leader to elect), and between any two messages or edits (the
replies to the users who wrote go first and take broadcast slots), the broadcast rate in the
5 s before and after;
the killed replica's claims in flight (deliveries still 'sending' right after the kill and
3 s later, read from PostgreSQL) and the time from the kill until the last of them was sent
again (their leases expire: ``LEASE`` 20 s, looked for every 5 s); duplicates, losses and
429s over the whole broadcast; and how long until every user who wrote right after the kill
was answered (the balancer moves on from the dead replica).

    .venv/bin/python bench/replicas.py                           # 1,000 users, 2,000 chats
    .venv/bin/python bench/replicas.py --users 100 --recipients 300     # a short smoke run
    .venv/bin/python bench/replicas.py --configs C --no-failover --keep

Warnings and errors in the replicas' logs are summarised in the report; ``--keep`` leaves the
temporary directory (logs, SQLite file) in place and prints where it is.

Exit status: 0 when every user was answered, every recipient got the broadcast, the stand-in
never answered 429 and duplicates stayed within the killed replica's in-flight window
(``WINDOW`` from ``bot.broadcast.runner`` plus 2, as in tests/test_e2e_replicas.py; none
without a kill), and every replica not killed exited cleanly on SIGTERM; 1 otherwise, 2 for
bad arguments. ``--timeout`` bounds each configuration's run (plus stopping the replicas).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import functools
import itertools
import re
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Self

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.broadcast import (  # noqa: E402
    ADMIN_ID,
    DONE_MARK,
    FIRST_GROUP,
    FIRST_USER,
    TEXT,
    Audience,
)
from bench.burst import percentile  # noqa: E402
from bench.common import Stalls, fmt, machine_info  # noqa: E402
from bot.broadcast.runner import WINDOW  # noqa: E402
from bot.storage.db import Database  # noqa: E402
from bot.storage.leases import LEASE, RENEW_EVERY  # noqa: E402
from tests.balancer import Balancer  # noqa: E402
from tests.botproc import TOKEN, BotProcess, healthy  # noqa: E402
from tests.pg import PgServer, free_port, running_server  # noqa: E402
from tests.standin import Call, FakeBotAPI, StandinServer  # noqa: E402
from tests.test_e2e_broadcast import last_button  # noqa: E402

BURST_USER = 600_000_000  # the users who send /start (not recipients)
FAILOVER_USER = 650_000_000  # the users who write right after the kill
PATH = "/telegram"
SECRET = "bench_replicas-0123456789"
STARTUP_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0
STEP_TIMEOUT = 30.0  # for each button of the admin flow
GRACE = 2.0  # after the final report: late duplicates would show up now
SETTLE = 1.0  # after the replicas started, before the burst
QUIET = 2.0  # the burst is over when the bot sent nothing for this long
KILL_SHARE = 0.5
AROUND_KILL = (1.0, 5.0)  # seconds before and after the kill for the gap and the rates
SECOND_LOOK = 3.0  # seconds after the kill: claims still 'sending' then are the dead one's
NGINX_FAIL_TIMEOUT = 10.0  # deploy/nginx.conf: max_fails=1 fail_timeout=10s
NGINX_READ_TIMEOUT = 120.0  # deploy/nginx.conf: proxy_read_timeout 120s
ALLOWED_AFTER_KILL = WINDOW + 2
LOG_LINE = re.compile(r"^\S+ \S+ (WARNING|ERROR|CRITICAL) (.*)$")


@dataclass(frozen=True)
class Config:
    """One deployment to measure."""

    name: str
    replicas: int
    postgres: bool  # PostgreSQL and webhooks through the balancer; else SQLite and polling

    @property
    def label(self) -> str:
        """E.g. ``C: 2 replicas, PostgreSQL, webhook``."""
        plural = "replica" if self.replicas == 1 else "replicas"
        how = "PostgreSQL, webhook" if self.postgres else "SQLite, polling"
        return f"{self.name}: {self.replicas} {plural}, {how}"


CONFIGS = {
    "A": Config("A", 1, postgres=False),
    "B": Config("B", 1, postgres=True),
    "C": Config("C", 2, postgres=True),
}


# --------------------------------------------------------------------------- database


async def seed(target: Path | str, recipients: int) -> Audience:
    """Migrate the database with the bot's own code and insert the subscribed recipients."""
    groups = recipients // 100
    users = [FIRST_USER + i for i in range(recipients - groups)]
    group_ids = [FIRST_GROUP - i for i in range(groups)]
    now = datetime.now(UTC).isoformat(timespec="seconds")
    rows = [(u, "private", "考生", now) for u in users]
    rows += [(g, "supergroup", "考生交流群", now) for g in group_ids]
    db = await Database.open(target)
    try:
        async with db.transaction() as tx:
            await tx.executemany(
                "INSERT INTO chats (channel, chat_id, type, title, member, subscribed, asked,"
                " updated_at) VALUES ('telegram', ?, ?, ?, 1, 1, 1, ?)",
                rows,
            )
    finally:
        await db.close()
    return Audience(users, group_ids, set())


async def delivery_statuses(target: Path | str) -> dict[str, int]:
    """How many deliveries are in each status (read after the replicas stopped)."""
    db = await Database.open(target)
    try:
        rows = await db.fetchall("SELECT status, COUNT(*) FROM deliveries GROUP BY status")
    finally:
        await db.close()
    return {str(status): int(n) for status, n in rows}


async def sending(db: Database) -> set[int]:
    """Recipients whose delivery is claimed right now."""
    rows = await db.fetchall("SELECT chat_id FROM deliveries WHERE status = 'sending'")
    return {int(row[0]) for row in rows}


# --------------------------------------------------------------------------- watching


class Watch:
    """What the stand-in answered, scanned incrementally from ``FakeBotAPI.calls``.

    Times are ``Call.at`` (this process's monotonic clock, after the simulated latency).
    """

    def __init__(self, tokens: dict[str, str]) -> None:
        self.tokens = tokens  # token -> replica name
        self.first_reply: dict[int, float] = {}  # chat -> first successful non-broadcast send
        self.waiting: set[int] = set()  # users whose answer is still missing
        self.replies: collections.Counter[int | str | None] = collections.Counter()
        self.paced: list[float] = []  # every successful message or edit, any chat
        self.sends: dict[int | str | None, list[tuple[float, str]]] = collections.defaultdict(
            list
        )  # broadcast: chat -> (time, replica) of each successful send
        self.throttled: list[float] = []  # times of 429 answers, any method
        self.final_at: float | None = None
        self.final_text = ""
        self.final_edits: collections.Counter[int] = collections.Counter()  # by HTTP status
        self._scanned = 0

    def scan(self, calls: list[Call]) -> Self:
        """Account for the calls recorded since the previous scan."""
        for call in calls[self._scanned :]:
            if call.status == 429:
                self.throttled.append(call.at)
            final = (
                call.method == "editMessageText"
                and call.chat_id == ADMIN_ID
                and DONE_MARK in str(call.params.get("text"))
            )
            if final:
                self.final_edits[call.status] += 1
            if not call.ok:
                continue
            if FakeBotAPI.is_message_method(call.method) or call.method.startswith("edit"):
                self.paced.append(call.at)
            if call.method == "sendMessage":
                chat = call.chat_id
                if call.params.get("text") == TEXT:
                    self.sends[chat].append((call.at, self.tokens.get(call.token or "", "?")))
                    continue
                self.replies[chat] += 1
                if isinstance(chat, int) and chat not in self.first_reply:
                    self.first_reply[chat] = call.at
                    self.waiting.discard(chat)
            elif final and self.final_at is None:
                self.final_at = call.at
                self.final_text = str(call.params.get("text"))
        self._scanned = len(calls)
        return self

    def throttled_between(self, start: float, end: float) -> int:
        """429 answers within ``[start, end]``."""
        return sum(1 for at in self.throttled if start <= at <= end)

    def send_times(self) -> list[float]:
        """Every successful broadcast send, in order."""
        return sorted(at for times in self.sends.values() for at, _ in times)


# --------------------------------------------------------------------------- deployment


@dataclass
class Deployment:
    """The stand-in, the balancer (webhooks) and the replicas of one configuration."""

    config: Config
    api: FakeBotAPI
    balancer: Balancer | None
    replicas: list[BotProcess] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    backends: list[str] = field(default_factory=list)
    killed: set[int] = field(default_factory=set)
    exit_codes: dict[str, int] = field(default_factory=dict)

    @property
    def live(self) -> list[BotProcess]:
        """Replicas not killed on purpose."""
        return [r for n, r in enumerate(self.replicas) if n not in self.killed]

    async def until(
        self, predicate: Callable[[list[Call]], bool], deadline: float, what: str
    ) -> None:
        """Wait until ``predicate(calls)`` holds; RuntimeError on timeout or a replica's exit."""
        timeout = deadline - time.monotonic()
        if timeout <= 0:
            raise RuntimeError(f"{what}: the run's time (--timeout) is used up")
        waiter = asyncio.ensure_future(self.api.wait_for(predicate, timeout))
        exits = {
            asyncio.ensure_future(r.proc.wait()): name
            for r, name in zip(self.replicas, self.names, strict=True)
            if r in self.live and r.proc is not None
        }
        try:
            await asyncio.wait({waiter, *exits}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (waiter, *exits):
                task.cancel()
            await asyncio.gather(waiter, *exits, return_exceptions=True)
        if waiter.done() and not waiter.cancelled():
            error = waiter.exception()
            if error is None:
                return
            raise RuntimeError(f"{what}: {error}")
        for task, name in exits.items():
            if task.done() and not task.cancelled():
                raise RuntimeError(f"{what}: {name} exited with code {task.result()}")
        raise RuntimeError(f"{what}: interrupted")

    async def kill(self, n: int) -> None:
        """SIGKILL replica ``n`` and wait until it is gone."""
        self.killed.add(n)
        self.exit_codes[self.names[n]] = await self.replicas[n].stop(signal.SIGKILL)


@contextlib.asynccontextmanager
async def deploy(
    config: Config, workdir: Path, target: Path | str, latency: float, deadline: float
) -> AsyncIterator[Deployment]:
    """Start the stand-in, the balancer and the replicas; stop them all at the end."""
    async with contextlib.AsyncExitStack() as stack:
        server = await stack.enter_async_context(
            StandinServer(latency=latency, flood_limits=True, deliver_after_disconnect=True)
        )
        ports = [free_port() for _ in range(config.replicas)] if config.postgres else []
        balancer = None
        if config.postgres:
            balancer = await stack.enter_async_context(
                Balancer(
                    [f"http://127.0.0.1:{port}" for port in ports],
                    down_for=NGINX_FAIL_TIMEOUT,
                    timeout=NGINX_READ_TIMEOUT,
                    retry_sent=False,
                )
            )
        dep = Deployment(config, server.api, balancer)
        try:
            for n in range(config.replicas):
                name = f"replica{n}"
                token = f"{TOKEN}-{config.name}{n}"
                env = {"BOT_TOKEN": token, "BOT_DB": str(target), "BOT_ADMIN_IDS": str(ADMIN_ID)}
                ready: Callable[[], Awaitable[None]] | None = None
                if balancer is not None:
                    env |= {
                        "BOT_WEBHOOK_URL": balancer.url + PATH,
                        "BOT_WEBHOOK_LISTEN": "127.0.0.1",
                        "BOT_WEBHOOK_PORT": str(ports[n]),
                        "BOT_WEBHOOK_SECRET": SECRET,
                    }
                    health = f"http://127.0.0.1:{ports[n]}/healthz"
                    dep.backends.append(f"http://127.0.0.1:{ports[n]}")
                    ready = functools.partial(healthy, health)

                replica = BotProcess(
                    server.api, server.base_url, workdir, env=env, name=name,
                    startup_timeout=min(STARTUP_TIMEOUT, max(1.0, deadline - time.monotonic())),
                    stop_timeout=STOP_TIMEOUT, ready=ready,
                )  # fmt: skip
                dep.replicas.append(replica)
                dep.names.append(name)
                await replica.start()
            if balancer is not None:
                await dep.until(
                    lambda calls: (
                        sum(c.method == "setWebhook" and c.ok for c in calls) >= config.replicas
                    ),
                    deadline,
                    "every replica's setWebhook",
                )
            await asyncio.sleep(SETTLE)  # start-up calls (commands, descriptions) are done
            yield dep
        finally:
            for n, replica in enumerate(dep.replicas):
                if n not in dep.killed and replica.proc is not None:
                    dep.exit_codes[dep.names[n]] = await replica.stop()


# --------------------------------------------------------------------------- phases


@dataclass
class Burst:
    """``--users`` users sent /start at once."""

    users: int
    answered: int = 0
    seconds: float | None = None  # first push until the last answer
    p50: float | None = None
    p99: float | None = None
    throttled: int = 0
    messages: int = 0  # successful sendMessage calls into the users' chats

    @property
    def rate(self) -> float | None:
        """Answered users per second."""
        return None if not self.seconds else self.answered / self.seconds

    @property
    def unanswered(self) -> int:
        return self.users - self.answered


def push_starts(api: FakeBotAPI, watch: Watch, users: Sequence[int]) -> dict[int, float]:
    """Push ``/start`` from each user at once; their push times."""
    watch.waiting |= set(users)
    pushed = {}
    for user in users:
        update = api.push_command("/start", user)
        pushed[user] = api.pushed_at[update["update_id"]]
    return pushed


def answers(watch: Watch, pushed: dict[int, float], result: Burst) -> None:
    """Fill in the answer times of the users in ``pushed``."""
    took = [watch.first_reply[u] - at for u, at in pushed.items() if u in watch.first_reply]
    result.answered = len(took)
    result.messages = sum(watch.replies[u] for u in pushed)
    if took:
        first = min(pushed.values())
        result.seconds = max(watch.first_reply[u] for u in pushed if u in watch.first_reply)
        result.seconds -= first
        result.p50, result.p99 = percentile(took, 50), percentile(took, 99)


async def quiet(watch: Watch, api: FakeBotAPI, deadline: float) -> None:
    """Wait until the bot sent nothing for ``QUIET`` seconds (the users' further messages,
    each at least a chat gap after the previous one, are out)."""
    while time.monotonic() < deadline:
        watch.scan(api.calls)
        last = watch.paced[-1] if watch.paced else 0.0
        if time.monotonic() - last >= QUIET:
            return
        await asyncio.sleep(0.25)


async def run_burst(dep: Deployment, watch: Watch, users: int, deadline: float) -> Burst:
    """Every user sends /start at once; wait until all are answered and acknowledged."""
    result = Burst(users)
    watch.scan(dep.api.calls)
    started = time.monotonic()
    pushed = push_starts(dep.api, watch, [BURST_USER + i for i in range(users)])
    try:
        await dep.until(lambda calls: not watch.scan(calls).waiting, deadline, "the burst")
        remaining = max(0.1, deadline - time.monotonic())
        try:
            await dep.api.wait_delivered(timeout=remaining)
        except TimeoutError as exc:
            raise RuntimeError(f"burst not acknowledged: {exc}") from None
        await quiet(watch, dep.api, deadline)
    finally:
        watch.scan(dep.api.calls)
        answers(watch, pushed, result)
        result.throttled = watch.throttled_between(started, time.monotonic())
    return result


@dataclass
class BroadcastResult:
    """The admin's broadcast to every recipient."""

    recipients: int
    seconds: float | None = None  # confirm tap until the final report
    first_send: float | None = None  # after the tap
    last_send: float | None = None
    delivered: int = 0
    duplicates: int = 0
    extra_sends: int = 0
    losses: int = 0
    stray: int = 0
    throttled: int = 0
    by_replica: dict[str, int] = field(default_factory=dict)
    final_text: str = ""
    final_edits: dict[int, int] = field(default_factory=dict)  # HTTP status -> edits

    @property
    def rate(self) -> float | None:
        """Delivered messages per second, tap to final report."""
        return None if not self.seconds else self.delivered / self.seconds


async def _button(dep: Deployment, prefix: str, deadline: float) -> tuple[str, int]:
    """The newest button whose callback data starts with ``prefix``, and its message id."""
    found: list[tuple[str, int]] = []

    def ready(calls: list[Call]) -> bool:
        with contextlib.suppress(AssertionError):
            found.append(last_button(calls, prefix))
            return True
        return False

    step = min(deadline, time.monotonic() + STEP_TIMEOUT)
    await dep.until(ready, step, f"the {prefix!r} button")
    return found[-1]


async def confirm_broadcast(dep: Deployment, deadline: float) -> float:
    """The admin's flow up to the confirm tap; the time of the tap."""
    dep.api.push_command(f"/broadcast {TEXT}", ADMIN_ID)
    data, message_id = await _button(dep, "b:a:", deadline)
    dep.api.push_callback(data, ADMIN_ID, message_id)
    data, message_id = await _button(dep, "b:c:", deadline)
    tapped = time.monotonic()
    dep.api.push_callback(data, ADMIN_ID, message_id)
    return tapped


def tally_broadcast(watch: Watch, audience: Audience, tapped: float) -> BroadcastResult:
    """The broadcast's figures from what the stand-in saw."""
    recipients = audience.all
    result = BroadcastResult(len(recipients))
    if watch.final_at is not None:
        result.seconds = watch.final_at - tapped
        result.final_text = watch.final_text
    result.final_edits = dict(sorted(watch.final_edits.items()))
    got = {chat: times for chat, times in watch.sends.items() if chat in recipients}
    times = [at - tapped for sends in got.values() for at, _ in sends]
    if times:
        result.first_send, result.last_send = min(times), max(times)
    result.delivered = len(got)
    result.duplicates = sum(1 for times in got.values() if len(times) > 1)
    result.extra_sends = sum(len(times) - 1 for times in got.values())
    result.losses = len(recipients - set(got))
    result.stray = sum(len(times) for chat, times in watch.sends.items() if chat not in got)
    result.throttled = watch.throttled_between(tapped, float("inf"))
    by_replica: collections.Counter[str] = collections.Counter(
        replica for times in watch.sends.values() for _, replica in times
    )
    result.by_replica = dict(sorted(by_replica.items()))
    return result


async def run_broadcast(
    dep: Deployment, watch: Watch, audience: Audience, deadline: float
) -> BroadcastResult:
    """The admin broadcasts to every recipient; wait for the final report."""
    watch.scan(dep.api.calls)
    tapped = await confirm_broadcast(dep, deadline)
    try:
        await dep.until(
            lambda calls: watch.scan(calls).final_at is not None, deadline, "the broadcast"
        )
        await asyncio.sleep(GRACE)
    finally:
        watch.scan(dep.api.calls)
    return tally_broadcast(watch, audience, tapped)


@dataclass
class Failover:
    """kill -9 of one of two replicas halfway through a broadcast."""

    broadcast: BroadcastResult | None = None
    killed_after: float | None = None  # seconds after the confirm tap
    delivered_at_kill: int = 0
    gap_at_kill: float | None = None  # longest gap between sends, AROUND_KILL ...
    gap_at_kill_at: float | None = None  # ... starting this long after the kill
    any_gap_at_kill: float | None = None  # the same for any message or edit ...
    any_gap_at_kill_at: float | None = None
    longest_gap: float | None = None  # over the whole broadcast ...
    longest_gap_at: float | None = None  # ... starting this long after the kill
    rate_before: float | None = None  # msg/s in the AROUND_KILL[1] s before the kill
    rate_after: float | None = None  # ... and after it
    in_flight: int = 0  # the killed replica's claims
    reached: int = 0  # of them, sent by the killed replica (the stand-in answered)
    resent_after: float | None = None  # kill until the last of them was sent again
    not_resent: int = 0
    updates: Burst | None = None  # users who wrote right after the kill
    balancer_failures: int = 0  # connections to the dead replica refused or broken
    webhook_failures: int = 0  # deliveries the stand-in had to retry

    @property
    def allowed_duplicates(self) -> int:
        return ALLOWED_AFTER_KILL


def _gaps(times: list[float]) -> list[tuple[float, float]]:
    """(start, length) of the gaps between successive times."""
    return [(a, b - a) for a, b in itertools.pairwise(times)]


def tally_failover(
    result: Failover, watch: Watch, killed: float, dead: str, claims: set[int]
) -> None:
    """The failover figures from what the stand-in saw and the dead replica's claims."""
    times = watch.send_times()
    before, after = AROUND_KILL
    gaps = _gaps(times)
    for times_, attrs in (
        (times, ("gap_at_kill", "gap_at_kill_at")),
        (sorted(watch.paced), ("any_gap_at_kill", "any_gap_at_kill_at")),
    ):
        near = [
            (length, start)
            for start, length in _gaps(times_)
            if start <= killed + after and start + length >= killed - before
        ]
        if near:
            length, start = max(near)
            setattr(result, attrs[0], length)
            setattr(result, attrs[1], start - killed)
    if gaps:
        start, length = max(gaps, key=lambda gap: gap[1])
        result.longest_gap, result.longest_gap_at = length, start - killed
    result.rate_before = sum(killed - after <= t < killed for t in times) / after
    result.rate_after = sum(killed <= t < killed + after for t in times) / after
    result.in_flight = len(claims)
    result.reached = sum(
        1 for chat in claims if any(who == dead for _, who in watch.sends.get(chat, []))
    )
    resent = []
    for chat in claims:
        again = [at for at, who in watch.sends.get(chat, []) if who != dead and at > killed]
        if again:
            resent.append(max(again) - killed)
        else:
            result.not_resent += 1
    result.resent_after = max(resent, default=None)


async def run_failover(
    dep: Deployment,
    watch: Watch,
    audience: Audience,
    db: Database,
    users: int,
    deadline: float,
) -> Failover:
    """Broadcast; at half, SIGKILL replica0 and let ``users`` new users write at once."""
    result = Failover()
    watch.scan(dep.api.calls)
    tapped = await confirm_broadcast(dep, deadline)
    half = max(1, round(KILL_SHARE * len(audience.all)))
    await dep.until(
        lambda calls: len(watch.scan(calls).sends) >= half or watch.final_at is not None,
        deadline,
        "half the broadcast",
    )
    if watch.final_at is not None:
        raise RuntimeError("the broadcast finished before half of it was seen")
    killed = time.monotonic()
    result.killed_after = killed - tapped
    result.delivered_at_kill = len(watch.sends)
    await dep.kill(0)
    print(
        f"  kill -9 replica0 {result.killed_after:.1f} s after the tap "
        f"({result.delivered_at_kill} delivered); {users} users write ...",
        file=sys.stderr,
        flush=True,
    )
    pushed = push_starts(dep.api, watch, [FAILOVER_USER + i for i in range(users)])
    first_look = await sending(db)

    async def second_look() -> set[int]:
        await asyncio.sleep(max(0.0, killed + SECOND_LOOK - time.monotonic()))
        return await sending(db)

    later = asyncio.create_task(second_look())
    result.updates = Burst(users)
    try:
        await dep.until(
            lambda calls: not watch.scan(calls).waiting and watch.final_at is not None,
            deadline,
            "the broadcast after the kill and the users' answers",
        )
        await asyncio.sleep(GRACE)
    finally:
        claims = await later  # done SECOND_LOOK s after the kill
        watch.scan(dep.api.calls)
        answers(watch, pushed, result.updates)
        result.updates.throttled = watch.throttled_between(killed, float("inf"))
        result.broadcast = tally_broadcast(watch, audience, tapped)
        tally_failover(result, watch, killed, dead="replica0", claims=first_look & claims)
        if dep.balancer is not None:
            result.balancer_failures = sum(dep.balancer.failures.values())
        result.webhook_failures = dep.api.webhook_stats["failures"]
    return result


# --------------------------------------------------------------------------- one run


@dataclass
class Run:
    """One configuration (or the failover run) from start to stop."""

    config: Config
    failover_run: bool = False
    burst: Burst | None = None
    broadcast: BroadcastResult | None = None
    failover: Failover | None = None
    error: str | None = None
    exit_codes: dict[str, int] = field(default_factory=dict)
    spread: dict[str, int] = field(default_factory=dict)  # balancer: requests per replica
    webhook: dict[str, int] = field(default_factory=dict)
    statuses: dict[str, int] = field(default_factory=dict)
    stand_in: str = ""
    log_notes: list[str] = field(default_factory=list)

    @property
    def title(self) -> str:
        return f"{self.config.label}" + (" (failover run)" if self.failover_run else "")

    def problems(self) -> list[str]:
        """Why this run fails the exit status (empty when it passes)."""
        out = [self.error] if self.error else []
        bursts = [self.burst] if self.burst else []
        if self.failover is not None and self.failover.updates is not None:
            bursts.append(self.failover.updates)
        for burst in bursts:
            if burst.unanswered:
                out.append(f"{burst.unanswered} users unanswered")
        allowed = self.failover.allowed_duplicates if self.failover else 0
        broadcast = self.failover.broadcast if self.failover else self.broadcast
        if broadcast is not None:
            if broadcast.seconds is None:
                out.append("no final report")
            if broadcast.losses:
                out.append(f"{broadcast.losses} recipients lost")
            if broadcast.duplicates > allowed:
                out.append(f"{broadcast.duplicates} duplicates > {allowed}")
            if broadcast.stray:
                out.append(f"{broadcast.stray} stray sends")
        elif self.error is None:
            out.append("no broadcast")
        throttled = sum(b.throttled for b in bursts) + (broadcast.throttled if broadcast else 0)
        if throttled:
            out.append(f"{throttled} × 429")
        for name, code in self.exit_codes.items():
            if code not in (0, -signal.SIGKILL):
                out.append(f"{name} exit code {code}")
        return out


def log_notes(workdir: Path) -> list[str]:
    """Warnings and errors in the replicas' logs: counts and the most common messages."""
    notes = []
    for path in sorted(workdir.glob("replica*.log")):
        levels: collections.Counter[str] = collections.Counter()
        messages: collections.Counter[str] = collections.Counter()
        tracebacks = 0
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("Traceback"):
                tracebacks += 1
            if match := LOG_LINE.match(line):
                levels[match.group(1)] += 1
                text = re.sub(r"\d+", "N", match.group(2))[:110]
                messages[f"{match.group(1)} {text}"] += 1
        if levels or tracebacks:
            counts = ", ".join(f"{n} {level}" for level, n in sorted(levels.items()))
            counts += f", {tracebacks} tracebacks" if tracebacks else ""
            top = "; ".join(f"{n} × {text}" for text, n in messages.most_common(3))
            notes.append(f"{path.stem}: {counts}: {top}")
    return notes


async def run_config(
    config: Config, args: argparse.Namespace, root: Path, pg: PgServer | None, failover: bool
) -> Run:
    """Seed, deploy and measure one configuration within ``--timeout``."""
    run = Run(config, failover_run=failover)
    workdir = root / (f"{config.name}-failover" if failover else config.name)
    workdir.mkdir()
    deadline = time.monotonic() + budget(args, config, failover)
    print(f"{run.title} ...", file=sys.stderr, flush=True)
    target: Path | str = workdir / "bot.db"
    if config.postgres:
        assert pg is not None
        target = await pg.create_database()
    audience = await seed(target, args.recipients)
    tokens = {f"{TOKEN}-{config.name}{n}": f"replica{n}" for n in range(config.replicas)}
    watch = Watch(tokens)
    stalls = Stalls()
    started = time.monotonic()
    try:
        async with stalls, deploy(config, workdir, target, args.latency, deadline) as dep:
            try:
                if failover:
                    db = await Database.open(target)
                    try:
                        users = max(1, min(100, args.users // 10))
                        run.failover = await run_failover(dep, watch, audience, db, users, deadline)
                    finally:
                        await db.close()
                else:
                    run.burst = await run_burst(dep, watch, args.users, deadline)
                    print(
                        f"  {run.burst.answered}/{args.users} users answered in "
                        f"{fmt(run.burst.seconds, '.1f')} s; broadcast ...",
                        file=sys.stderr,
                        flush=True,
                    )
                    run.broadcast = await run_broadcast(dep, watch, audience, deadline)
            finally:
                run.exit_codes = dep.exit_codes  # filled in as the replicas stop
                if dep.balancer is not None:
                    names = dict(zip(dep.backends, dep.names, strict=True))
                    run.spread = {names[b]: n for b, n in sorted(dep.balancer.requests.items())}
                run.webhook = {
                    k: v
                    for k, v in dep.api.webhook_stats.items()
                    if k in ("attempts", "failures", "max_in_flight")
                }
    except (RuntimeError, TimeoutError) as exc:
        run.error = str(exc) or type(exc).__name__
    run.stand_in = stalls.summary(started)
    if not run.error and run.broadcast is None and run.failover is None:
        run.error = "interrupted"
    with contextlib.suppress(Exception):
        run.statuses = await delivery_statuses(target)
    run.log_notes = log_notes(workdir)
    for problem in run.problems():
        print(f"  problem: {problem}", file=sys.stderr, flush=True)
    return run


# --------------------------------------------------------------------------- report


def _s(value: float | None) -> str:
    return fmt(value, ".1f") + " s" if value is not None else "—"


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value * 1000:.0f} ms"


def report(runs: Sequence[Run], args: argparse.Namespace) -> str:
    """The table, a few lines per configuration, the failover lines and the machine."""
    lines = [
        f"{args.users:,} users send /start at once; broadcast to {args.recipients:,} chats; "
        f"{args.latency * 1000:.0f} ms per request; stand-in with flood limits (30 msg/s).",
        "",
        f"{'config':<34}  {'updates/s':>9}  {'p50 answer':>10}  {'p99 answer':>10}  "
        f"{'unanswered':>10}  {'broadcast msg/s':>15}  {'429':>4}  {'dup':>4}  {'lost':>4}",
    ]
    for run in runs:
        if run.failover_run:
            continue
        b = run.burst or Burst(0)
        c = run.broadcast or BroadcastResult(0)
        missing = run.broadcast is None
        lines.append(
            f"{run.config.label:<34}  {fmt(b.rate, '9.1f'):>9}  {_s(b.p50):>10}  "
            f"{_s(b.p99):>10}  {b.unanswered:>10}  {fmt(c.rate, '15.1f'):>15}  "
            f"{b.throttled + c.throttled:>4}  {'—' if missing else c.duplicates:>4}  "
            f"{'—' if missing else c.losses:>4}"
        )
    lines.append(
        "updates/s: users answered per second, first push to last answer; answer: push to "
        "the first successful sendMessage into the user's chat; broadcast msg/s: delivered "
        "chats per second, confirm tap to the final report (已完成); 429: the stand-in's "
        "flood-limit answers in both phases; dup: recipients that got it twice; lost: none."
    )
    for run in runs:
        lines += ["", run.title + ":"]
        if run.burst is not None:
            b = run.burst
            lines.append(
                f"  updates: {b.answered}/{b.users} answered in {_s(b.seconds)}, "
                f"{b.messages} messages to them ({b.messages / max(1, b.users):.1f} per user); "
                f"429s: {b.throttled}"
            )
        broadcast = run.failover.broadcast if run.failover else run.broadcast
        if broadcast is not None:
            shares = ", ".join(f"{k} {v}" for k, v in broadcast.by_replica.items()) or "—"
            lines.append(
                f"  broadcast: {broadcast.delivered}/{broadcast.recipients} in "
                f"{_s(broadcast.seconds)} ({fmt(broadcast.rate, '.1f')} msg/s; the first send "
                f"{_s(broadcast.first_send)} after the tap, the last {_s(broadcast.last_send)}); "
                f"sends by "
                f"{shares}; 429s {broadcast.throttled}; duplicates {broadcast.duplicates} "
                f"({broadcast.extra_sends} extra sends); lost {broadcast.losses}; stray "
                f"{broadcast.stray}"
            )
            edits = ", ".join(f"{n} × {code}" for code, n in broadcast.final_edits.items())
            lines.append(
                f"  final report: {broadcast.final_text.splitlines()[:1] or '—'}; edits "
                f"into it: {edits or '—'}"
            )
        if run.failover is not None:
            lines += failover_lines(run.failover)
        if run.spread or run.webhook.get("attempts"):
            spread = ", ".join(f"{k} {v}" for k, v in run.spread.items()) or "—"
            lines.append(
                f"  webhook: {run.webhook.get('attempts', 0)} posts, "
                f"{run.webhook.get('failures', 0)} failed (retried), at most "
                f"{run.webhook.get('max_in_flight', 0)} in flight; balancer: {spread}"
            )
        statuses = ", ".join(f"{k} {v}" for k, v in sorted(run.statuses.items())) or "—"
        codes = ", ".join(f"{k} {v}" for k, v in run.exit_codes.items()) or "—"
        lines.append(f"  deliveries afterwards: {statuses}; exit codes: {codes}")
        lines.append(f"  {run.stand_in}")
        lines += [f"  log {note}" for note in run.log_notes] or ["  logs: no warnings"]
        problems = run.problems()
        lines.append("  problems: " + "; ".join(problems) if problems else "  passed.")
    lines += ["", f"Machine: {machine_info()}"]
    return "\n".join(lines)


def failover_lines(f: Failover) -> list[str]:
    """The failover figures, a few lines."""
    before, after = AROUND_KILL
    u = f.updates or Burst(0)
    return [
        f"  kill -9 replica0 {_s(f.killed_after)} after the tap, {f.delivered_at_kill} delivered.",
        f"  longest gap between broadcast sends from {before:.0f} s before to {after:.0f} s "
        f"after the kill: {_ms(f.gap_at_kill)} (from {fmt(f.gap_at_kill_at, '+.2f')} s), "
        f"between any messages or edits: {_ms(f.any_gap_at_kill)} (from "
        f"{fmt(f.any_gap_at_kill_at, '+.2f')} s); broadcast msg/s {after:.0f} s before "
        f"{fmt(f.rate_before, '.1f')}, after {fmt(f.rate_after, '.1f')} (the survivor alone); "
        f"longest gap of the whole broadcast {_ms(f.longest_gap)}, starting "
        f"{_s(f.longest_gap_at)} after the kill.",
        f"  the killed replica's claims in flight: {f.in_flight} ({f.reached} of them had "
        f"reached the stand-in: they get it twice); the last sent again "
        f"{_s(f.resent_after)} after the kill (LEASE {LEASE:.0f} s, looked for every "
        f"{RENEW_EVERY:.0f} s); {f.not_resent} never sent again; duplicates allowed "
        f"{f.allowed_duplicates} (WINDOW {WINDOW} + 2).",
        f"  {u.users} users wrote right after the kill: {u.answered} answered, the last "
        f"{_s(u.seconds)} after the push (p50 {_s(u.p50)}); balancer: "
        f"{f.balancer_failures} connection failures; 429s after the kill {u.throttled}.",
    ]


# --------------------------------------------------------------------------- main


def budget(args: argparse.Namespace, config: Config, failover: bool) -> float:
    """Seconds one configuration may take unless ``--timeout`` says otherwise: start-up,
    both phases at half the flood ceiling, the lease on a kill, and some slack."""
    if args.timeout:
        return float(args.timeout)
    work = (args.recipients + (args.users if not failover else 100)) / 15.0
    lease = 2 * (LEASE + RENEW_EVERY) if failover else 0.0
    return config.replicas * STARTUP_TIMEOUT + 2 * STEP_TIMEOUT + work + lease + 60.0


def _configs(text: str) -> list[Config]:
    names = [part.strip().upper() for part in text.split(",") if part.strip()]
    if not names or any(name not in CONFIGS for name in names):
        raise argparse.ArgumentTypeError(f"not a list of A, B, C: {text!r}")
    return [CONFIGS[name] for name in dict.fromkeys(names)]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bench/replicas.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=1000, metavar="N", help="default 1000")
    parser.add_argument(
        "--recipients", type=int, default=2000, metavar="N", help="chats (default 2000)"
    )
    parser.add_argument(
        "--latency", type=float, default=0.05, metavar="S", help="seconds per request (0.05)"
    )
    parser.add_argument("--configs", type=_configs, default=list(CONFIGS.values()), metavar="A,B,C")
    parser.add_argument("--no-failover", action="store_true", help="skip the kill -9 run")
    parser.add_argument(
        "--timeout", type=float, metavar="S", help="bound for each run (default: from N)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    return parser


async def run(args: argparse.Namespace) -> list[Run]:
    """The configurations one after the other, then the failover run."""
    plan = [(config, False) for config in args.configs]
    if not args.no_failover:
        plan.append((CONFIGS["C"], True))
    root = Path(tempfile.mkdtemp(prefix="bench-replicas-"))
    runs: list[Run] = []
    try:
        with contextlib.ExitStack() as stack:
            pg = None
            if any(config.postgres for config, _ in plan):
                pg = stack.enter_context(running_server())
            for config, failover in plan:
                runs.append(await run_config(config, args, root, pg, failover))
    finally:
        if args.keep:
            print(f"logs and databases kept in {root}", file=sys.stderr)
        else:
            shutil.rmtree(root, ignore_errors=True)
    return runs


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments, run the benchmark, print the report."""
    args = _parser().parse_args(argv)
    if args.users < 1 or args.recipients < 2 or args.latency < 0:
        print("error: bad --users/--recipients/--latency", file=sys.stderr)
        return 2
    with contextlib.suppress(KeyboardInterrupt):
        runs = asyncio.run(run(args))
        print(report(runs, args))
        return 0 if all(not r.problems() for r in runs) else 1
    return 1


if __name__ == "__main__":
    sys.exit(main())
