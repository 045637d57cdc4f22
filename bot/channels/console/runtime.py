"""The console runtime: the bot assembled with a sender that prints, a terminal session.

Safe next to a live bot: by default the console keeps its own scratch database
(:data:`SCRATCH_DB`), never ``BOT_DB``. Pointed at a database on purpose (``--db``), it
still serves only the console user, who is then no admin (no broadcast can be queued for
the live bot to send), delivers only the console's own reminders and runs no broadcasts.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path
from typing import TextIO

from bot.app import App, assemble, running
from bot.channels.console.capabilities import CONSOLE
from bot.channels.console.session import CONSOLE_USER, ConsoleSender, run_console
from bot.config import Settings
from bot.content import ContentStore
from bot.core.router import Who

SCRATCH_DB = Path("data/console.db")


def console_user(db: Path | None) -> Who:
    """The person at the terminal: an admin on the scratch database only."""
    return CONSOLE_USER if db is None else replace(CONSOLE_USER, is_admin=False)


async def console_app(
    settings: Settings, store: ContentStore, db: Path | None, stdout: TextIO
) -> App:
    """The bot as the console runs it: console reminders only, no broadcast runner."""
    path = SCRATCH_DB if db is None else db
    settings = settings.model_copy(update={"db": path})
    return await assemble(
        settings, store, {CONSOLE.name: ConsoleSender(stdout)}, broadcasts=False, calendar=False
    )


async def serve(
    settings: Settings,
    store: ContentStore,
    db: Path | None = None,
    *,
    stdin: TextIO = sys.stdin,
    stdout: TextIO = sys.stdout,
) -> None:
    """Run the conversation in this terminal until end of input.

    ``db`` None: the console's scratch database; otherwise that database, shared safely
    (see the module's description). Files (.ics) are written next to the database.
    """
    app = await console_app(settings, store, db, stdout)
    export_dir = (SCRATCH_DB if db is None else db).parent
    async with running(app):
        await run_console(
            app.conversation, stdin, stdout, export_dir=export_dir, who=console_user(db)
        )
