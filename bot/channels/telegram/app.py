"""Build the python-telegram-bot Application: settings, services, handlers, lifecycle."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from telegram import LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.ext import Application, ContextTypes, Defaults
from telegram.request import BaseRequest

from bot.channels.telegram.context import (
    CONVERSATION_KEY,
    SETTINGS_KEY,
    BotApplication,
    BotContext,
)
from bot.channels.telegram.handlers import HANDLERS, TRACKING_HANDLER, on_error
from bot.channels.telegram.render import publish_commands
from bot.channels.telegram.sender import TelegramSender
from bot.config import Settings
from bot.conversation import Conversation
from bot.delivery import RoutingSender, Sender
from bot.storage import Database
from bot.storage.wechat import TELEGRAM_CHATS

# Senders for other channels' chat-id ranges, built once the database is open.
OtherChannels = Callable[[Database], list[tuple[tuple[int, int], Sender]]]
DATABASE_KEY = "database"
OTHER_SENDERS_KEY = "other_senders"
BACKGROUND_KEY = "background"

# Connections beyond the handler concurrency: getUpdates has its own pool, this headroom
# covers sends made outside handlers (error replies, post_init) so they never wait.
POOL_HEADROOM = 4


def _file_url(api_base_url: str) -> str:
    """File download base matching a custom API base (``.../bot`` -> ``.../file/bot``)."""
    if api_base_url.endswith("/bot"):
        return api_base_url[: -len("bot")] + "file/bot"
    return api_base_url


def build_application(
    settings: Settings,
    conversation: Conversation,
    *,
    token: str,
    request: BaseRequest | None = None,
    get_updates_request: BaseRequest | None = None,
    other_channels: OtherChannels | None = None,
) -> BotApplication:
    """An Application wired with handlers; bounded concurrency with a pool to match.

    ``request`` / ``get_updates_request`` replace the HTTP transport (tests pass an
    in-process stand-in, so no socket is ever opened). ``other_channels`` gives senders for
    chats of other channels (WeChat followers) so broadcasts reach them too.
    """

    async def post_init(app: Application) -> None:
        """Open the database, start the reminder dispatcher, publish the command menu."""
        db = await Database.open(settings.db)
        app.bot_data[DATABASE_KEY] = db
        sender: Sender = TelegramSender(app.bot)
        if other_channels is not None:
            others = other_channels(db)
            app.bot_data[OTHER_SENDERS_KEY] = [other for _, other in others]
            sender = RoutingSender([(TELEGRAM_CHATS, sender), *others])
        background = conversation.attach_storage(db, sender, TELEGRAM_CHATS)
        app.bot_data[BACKGROUND_KEY] = asyncio.create_task(background.run(), name="background")
        await publish_commands(app.bot, conversation.content)

    async def post_stop(app: Application) -> None:
        """Stop reminders and broadcasts before the bot's HTTP client closes."""
        task: asyncio.Task[None] | None = app.bot_data.pop(BACKGROUND_KEY, None)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def post_shutdown(app: Application) -> None:
        """Close the database after the last update was handled."""
        await post_stop(app)
        for other in app.bot_data.pop(OTHER_SENDERS_KEY, []):
            close = getattr(other, "close", None)
            if close is not None:
                await close()
        db: Database | None = app.bot_data.pop(DATABASE_KEY, None)
        if db is not None:
            await db.close()

    context_types = ContextTypes(context=BotContext)
    builder = (
        Application.builder()
        .token(token)
        .base_url(settings.api_base_url)
        .base_file_url(_file_url(settings.api_base_url))
        .context_types(context_types)
        .defaults(
            Defaults(
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
        )
        .concurrent_updates(settings.concurrent_updates)
        .post_init(post_init)
        .post_stop(post_stop)
        .post_shutdown(post_shutdown)
    )
    if request is None:
        builder = builder.connection_pool_size(settings.concurrent_updates + POOL_HEADROOM)
    else:
        builder = builder.request(request)
    if get_updates_request is not None:
        builder = builder.get_updates_request(get_updates_request)
    app: BotApplication = builder.build()
    app.bot_data[CONVERSATION_KEY] = conversation
    app.bot_data[SETTINGS_KEY] = settings
    # Group -1 runs first for every private message and only records the user; the
    # answering handlers in group 0 then run as usual.
    app.add_handler(TRACKING_HANDLER, group=-1)
    app.add_handlers(HANDLERS)
    app.add_error_handler(on_error)
    return app
