"""Wiring of the work that runs beside the conversation: storage-backed features, the
reminder dispatcher and the broadcast runner, sharing one pacer."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.audience import Audience
from bot.broadcast.flow import BroadcastFlow
from bot.broadcast.runner import BroadcastRunner
from bot.delivery import Pacer, Sender
from bot.reminders.dispatcher import Dispatcher
from bot.reminders.flow import RemindFlow
from bot.reminders.service import ReminderService
from bot.storage import BroadcastRepo, ChatRepo, Database, ReminderRepo, UnansweredRepo
from bot.storage.reminders import ALL_CHATS, ChatRange

if TYPE_CHECKING:
    from bot.conversation import Conversation


@dataclass
class Background:
    """Work that runs beside the conversation: reminder alerts and broadcasts."""

    dispatcher: Dispatcher | None = None
    runner: BroadcastRunner | None = None
    pacer: Pacer | None = None

    def wake_reminders(self) -> None:
        """A reminder changed: let the dispatcher look at the schedule now."""
        if self.dispatcher is not None:
            self.dispatcher.wake()

    def wake_broadcasts(self) -> None:
        """A broadcast was confirmed or stopped."""
        if self.runner is not None:
            self.runner.wake()

    async def run(self) -> None:
        """Run both until cancelled."""
        workers = [w.run() for w in (self.dispatcher, self.runner) if w is not None]
        try:
            await asyncio.gather(*workers)
        finally:
            if self.pacer is not None:
                await self.pacer.close()


def attach(
    conversation: Conversation,
    db: Database,
    sender: Sender,
    chats: ChatRange = ALL_CHATS,
    *,
    broadcasts: bool = True,
) -> Background:
    """Give ``conversation`` its storage-backed features; return the background work.

    ``chats`` is the range of chat ids whose reminders this process delivers, so a Telegram
    and a WeChat process can share one database without sending each other's alerts;
    ``broadcasts`` False leaves broadcasts to the process whose channel can deliver them.
    """
    conversation.unanswered_repo = UnansweredRepo(db)
    chat_repo = ChatRepo(db)
    conversation.audience = Audience(chat_repo, conversation.store, conversation.clock)
    pacer = Pacer()
    background = Background(pacer=pacer)
    service = ReminderService(
        ReminderRepo(db),
        conversation.store,
        timezone=conversation.timezone,
        clock=conversation.clock,
        on_change=background.wake_reminders,
    )
    conversation.reminders = RemindFlow(service, conversation.store, conversation.menu_rows)
    background.dispatcher = Dispatcher(
        service.repo,
        sender,
        service.render_alert,
        clock=conversation.clock,
        pacer=pacer,
        chats=chats,
    )
    conversation.broadcasts = BroadcastFlow(
        BroadcastRepo(db),
        conversation.store,
        conversation.clock,
        service.fmt,
        background.wake_broadcasts,
        service.now,
    )
    if not broadcasts:  # this channel cannot reach the broadcast audience (Telegram chats)
        return background
    background.runner = BroadcastRunner(
        conversation.broadcasts.repo,
        chat_repo,
        sender,
        pacer,
        clock=conversation.clock,
        progress=conversation.broadcasts.progress,
    )
    return background
