"""The console runtime: the bot assembled with a sender that prints, a terminal session."""

from __future__ import annotations

import sys

from bot.app import assemble, running
from bot.channels.console.capabilities import CONSOLE
from bot.channels.console.session import ConsoleSender, run_console
from bot.config import Settings
from bot.content import ContentStore


async def serve(settings: Settings, store: ContentStore) -> None:
    """Run the conversation in this terminal until end of input.

    Only the console's own reminders are delivered here (printed); other channels' users
    and broadcasts are left to their processes, whatever database this points at.
    """
    app = await assemble(
        settings, store, {CONSOLE.name: ConsoleSender(sys.stdout)}, broadcasts=False
    )
    async with running(app):
        await run_console(app.conversation, export_dir=settings.db.parent)
