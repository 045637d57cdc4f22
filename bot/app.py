"""The composition root: settings -> storage -> features -> router -> conversation -> workers.

Every channel's runtime calls :func:`assemble` once its own sending machinery exists and
gets back an :class:`App`: the conversation to answer users with, the audience to report
chat events to, and the background work (reminder dispatcher, broadcast runner) to run.
Nothing else in the bot creates features or sets them on each other.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.admin import Admin
from bot.audience import Audience
from bot.broadcast.flow import BroadcastFlow
from bot.broadcast.runner import BroadcastRunner
from bot.calendar.command import CalendarCommand
from bot.calendar.links import CalendarLinks
from bot.channels import CHANNELS
from bot.config import Settings
from bot.content import ContentStore
from bot.core.conversation import Conversation
from bot.core.flood import FloodGuard
from bot.core.router import Router
from bot.delivery import Senders
from bot.delivery.worker import REPLICA_SLEEP, Worker
from bot.follow import ContentFollower
from bot.guide import Guide
from bot.questions import Questions
from bot.reminders.dispatcher import Dispatcher
from bot.reminders.flow import DRAFT_TTL, ReminderNotes, RemindFlow
from bot.reminders.manage import ManageReminders
from bot.reminders.service import ReminderService
from bot.sharing import LinkMaker, Sharing
from bot.storage import (
    BroadcastRepo,
    ChatRepo,
    Database,
    LearnedExample,
    LearnedRepo,
    ReminderRepo,
    UnansweredRepo,
    VoteRepo,
)
from bot.storage.calendars import CalendarLinkRepo
from bot.storage.notices import NoticeRepo
from bot.storage.state import SharedState
from bot.teach import Teaching
from bot.watch.desk import NoticeDesk
from bot.watch.watcher import NoticeWatcher

CAPABILITIES = {channel.name: channel for channel in CHANNELS}
STOP_TIMEOUT = 10.0  # seconds sends in flight may take to finish at shutdown
log = logging.getLogger(__name__)
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


def open_content(settings: Settings) -> ContentStore:
    """The content folder, checked against every channel; raises ContentError."""
    return ContentStore.open(settings.content_dir, CHANNELS)


@dataclass
class App:
    """Everything a channel runtime needs, built once per process."""

    db: Database
    store: ContentStore
    conversation: Conversation
    audience: Audience
    workers: list[Worker]
    clock: Clock
    sharing: Sharing
    # The calendar links /ics hands out, for the HTTP server that serves them (None without
    # BOT_PUBLIC_URL, or in a process that serves none: the console).
    calendar: CalendarLinks | None = None

    async def run_workers(self) -> None:
        """Run the background work until stopped or cancelled."""
        await asyncio.gather(*(worker.run() for worker in self.workers))

    async def stop_workers(self, task: asyncio.Task[None], grace: float = STOP_TIMEOUT) -> None:
        """Let the sends in flight finish (at most ``grace`` seconds), then cancel ``task``."""
        for worker in self.workers:
            worker.stop()
        with contextlib.suppress(TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(asyncio.shield(task), grace)
        if not task.done():
            log.warning("background work did not stop within %.0f s; cancelling it", grace)
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def close(self) -> None:
        """Close the database (after the workers and the channel have stopped)."""
        await self.db.close()


REMINDERS_CHANNEL, BROADCASTS_CHANNEL = "bot_reminders", "bot_broadcasts"
NOTICE_DEADLINE_TTL = 600.0  # seconds an admin has to type a notice's deadline


def _waker(db: Database, event: asyncio.Event, channel: str) -> Callable[[], None]:
    """Wake this process's worker, and with replicas every other process's too."""

    def wake() -> None:
        event.set()
        if db.replicas:
            db.notify(channel)

    return wake


async def assemble(
    settings: Settings,
    store: ContentStore,
    senders: Senders,
    *,
    broadcasts: bool = True,
    reminder_notes: ReminderNotes | None = None,
    clock: Clock = utc_now,
    db: Database | None = None,
    flood: FloodGuard | None = None,
    links: Mapping[str, LinkMaker] | None = None,
    calendar: bool = True,
) -> App:
    """Open storage and wire every feature for a process that delivers through ``senders``.

    ``senders`` maps channel names to the senders this process has: reminders and broadcasts
    reach chats of those channels only. ``broadcasts`` False leaves running broadcasts to
    the process where admins work (Telegram). ``reminder_notes`` are per-channel notes shown
    when /remind starts (how reminders reach a WeChat user). ``flood``: the per-user flood
    guard (tests pass one with their own clock). ``links``: per channel, how it makes a
    deep link to a topic (Telegram's t.me links; see bot/sharing.py). ``calendar`` False:
    /ics gives calendar files only (a process that serves no calendar links: the console).
    """
    db = db or await Database.open(settings.db)
    timezone = ZoneInfo(settings.timezone)
    router = Router()
    learned = LearnedRepo(db)

    async def taught() -> list[tuple[str, str]]:
        return [(example.question, example.topic) for example in await learned.all()]

    await store.learn_from(taught)  # the matcher knows what admins taught, now and on /reload

    audience = Audience(ChatRepo(db), store, clock, CAPABILITIES)
    reminders_changed, broadcasts_changed = asyncio.Event(), asyncio.Event()
    if db.replicas:  # a change on one replica wakes the workers of all (LISTEN / NOTIFY)
        await db.listen(REMINDERS_CHANNEL, reminders_changed.set)
        await db.listen(BROADCASTS_CHANNEL, broadcasts_changed.set)
    service = ReminderService(
        ReminderRepo(db),
        store,
        timezone=timezone,
        clock=clock,
        on_change=_waker(db, reminders_changed, REMINDERS_CHANNEL),
    )
    calendar_links = None
    if calendar and settings.public_url:
        calendar_links = CalendarLinks(CalendarLinkRepo(db), service, settings.public_url, clock)
    elif calendar:
        log.info("BOT_PUBLIC_URL is not set: /ics gives a calendar file, no subscription link")
    state = SharedState(db, clock)
    remind = RemindFlow(service, store, state.scope("remind", DRAFT_TTL), reminder_notes)
    sharing = Sharing(store, remind, links or {})
    guide = Guide(store, sharing.row)  # admins get a topic's share link from the topic
    workers: list[Worker] = [
        Dispatcher(
            service.repo,
            senders,
            service.render_alert,
            clock=clock,
            wake=reminders_changed,
        )
    ]
    flow = BroadcastFlow(
        BroadcastRepo(db),
        store,
        clock=clock,
        local_now=service.now,
        fmt=service.fmt,
        wake=_waker(db, broadcasts_changed, BROADCASTS_CHANNEL),
        channels=tuple(senders),
    )
    if broadcasts:
        workers.append(
            BroadcastRunner(
                flow.repo,
                audience.repo,
                senders,
                clock=clock,
                flow=flow,
                wake=broadcasts_changed,
            )
        )
    desk = NoticeDesk(
        NoticeRepo(db),
        store,
        flow,
        admins=sorted(settings.admin_ids),
        admin_sender=senders.get("telegram"),
        waiting=state.scope("notice_deadline", NOTICE_DEADLINE_TTL),
    )
    if broadcasts:  # the notice watcher runs where broadcasts run (and admins work)
        workers.append(
            NoticeWatcher(store, desk.repo, desk, clock=clock, today=lambda: service.now().date())
        )
    unanswered, votes = UnansweredRepo(db), VoteRepo(db)
    questions = Questions(
        store,
        guide,
        router.topic_answers,
        unanswered=unanswered,
        votes=votes,
        on_answered=audience.answered,
        clock=clock,
    )
    chats = ChatRepo(db)
    # With replicas, a /reload or a lesson here is announced to the others (bot/follow.py).
    announce = chats.count if db.replicas else None
    teaching = Teaching(
        store,
        unanswered,
        learned,
        votes,
        clock=clock,
        timezone=timezone,
        channels=CAPABILITIES,
        announce=announce,
    )
    for feature in (
        guide,
        questions,
        teaching,
        remind,
        ManageReminders(service, remind),
        CalendarCommand(service, store, calendar_links),
        audience,
        flow,
        Admin(store, announce),
        desk,
        sharing,
    ):
        feature.register(router)
    if db.replicas:
        workers.append(ContentFollower(store, chats, clock))
        for worker in workers:
            worker.max_sleep = REPLICA_SLEEP
    conversation = Conversation(store, router, CAPABILITIES, flood)
    return App(db, store, conversation, audience, workers, clock, sharing, calendar_links)


def questions_only(settings: Settings, store: ContentStore) -> Questions:
    """The free-text matcher and its answers with no storage (the ``ask`` command line)."""
    return Questions(store, Guide(store), {}, clock=utc_now)


async def learned_examples(settings: Settings) -> list[LearnedExample]:
    """What admins taught, read from BOT_DB (none when the database does not exist yet)."""
    path = settings.db
    if isinstance(path, Path) and str(path) != ":memory:" and not path.exists():
        return []
    db = await Database.open(path)
    try:
        return await LearnedRepo(db).all()
    finally:
        await db.close()


@contextlib.asynccontextmanager
async def running(app: App) -> AsyncIterator[App]:
    """Run the app's workers for the duration of the block, then close the database."""
    task = asyncio.create_task(app.run_workers(), name="workers")
    try:
        yield app
    finally:
        await app.stop_workers(task)
        await app.close()


async def until_signal(work: Coroutine[Any, Any, None]) -> None:
    """Run ``work`` until it ends or SIGTERM/SIGINT arrives, then cancel it cleanly."""
    task = asyncio.ensure_future(work)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, task.cancel)
    with contextlib.suppress(asyncio.CancelledError):
        await task
