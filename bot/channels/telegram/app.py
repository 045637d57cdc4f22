"""The Telegram runtime: build the python-telegram-bot Application, assemble the bot in
post_init (once the Bot exists to send with), run background work, close in order."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from telegram import LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.ext import Application, ContextTypes, Defaults
from telegram.request import BaseRequest

from bot.app import App, assemble
from bot.calendar.server import CalendarRoutes, CalendarServer
from bot.channels.telegram.capabilities import TELEGRAM
from bot.channels.telegram.context import APP_KEY, SETTINGS_KEY, BotApplication, BotContext
from bot.channels.telegram.handlers import HANDLERS, TRACKING_HANDLER, on_error
from bot.channels.telegram.inline import inline_handler, telegram_link
from bot.channels.telegram.limiter import PacedLimiter
from bot.channels.telegram.profile import publish_profile
from bot.channels.telegram.sender import TelegramSender
from bot.channels.telegram.updates import ChatFairProcessor
from bot.config import Settings
from bot.content import ContentStore
from bot.delivery import Sender
from bot.storage import Database
from bot.storage.budget import SharedBudget

# Senders of other channels this process also delivers to (WeChat followers), built once the
# database is open; each comes with the coroutine that closes it.
OtherChannels = Callable[
    [Database, ContentStore], dict[str, tuple[Sender, Callable[[], Awaitable[None]]]]
]
WORKERS_KEY = "workers"
CLOSERS_KEY = "closers"

# HTTP connections: every message waits for the flood budget first, so only about
# rate x round trip (28/s x 0.3 s) are open at once, plus unpaced calls (getChatMember).
POOL_SIZE = 64
log = logging.getLogger(__name__)


def _file_url(api_base_url: str) -> str:
    """File download base matching a custom API base (``.../bot`` -> ``.../file/bot``)."""
    if api_base_url.endswith("/bot"):
        return api_base_url[: -len("bot")] + "file/bot"
    return api_base_url


def build_application(
    settings: Settings,
    store: ContentStore,
    *,
    token: str,
    request: BaseRequest | None = None,
    get_updates_request: BaseRequest | None = None,
    other_channels: OtherChannels | None = None,
) -> BotApplication:
    """An Application wired with handlers; bounded concurrency with a pool to match.

    ``request`` / ``get_updates_request`` replace the HTTP transport (tests pass an
    in-process stand-in, so no socket is ever opened).
    """

    async def post_init(application: Application) -> None:
        """Assemble the bot, start reminders and broadcasts, publish the menu and profile."""
        db = await Database.open(settings.db)
        limiter = application.bot.rate_limiter
        if db.replicas and isinstance(limiter, PacedLimiter):  # one 30 msg/s for all replicas
            limiter.pacer.share(SharedBudget(db, TELEGRAM.name))
        senders: dict[str, Sender] = {TELEGRAM.name: TelegramSender(application.bot)}
        closers = []
        for name, (sender, close) in (other_channels(db, store) if other_channels else {}).items():
            senders[name] = sender
            closers.append(close)
        bot = application.bot  # initialised: its username came from getMe
        links = {TELEGRAM.name: telegram_link(bot.username)} if bot.username else {}
        app = await assemble(settings, store, senders, db=db, links=links)
        if app.calendar is not None:  # the calendar links /ics hands out (BOT_PUBLIC_URL)
            server = CalendarServer(
                CalendarRoutes(app.calendar), settings.calendar_listen, settings.calendar_port
            )
            await server.start()
            closers.append(server.stop)
        application.bot_data[APP_KEY] = app
        application.bot_data[CLOSERS_KEY] = closers
        application.bot_data[WORKERS_KEY] = asyncio.create_task(app.run_workers(), name="workers")
        await publish_profile(bot, store.current)
        if not bot.supports_inline_queries:
            log.info("inline mode is off: enable it with @BotFather's /setinline")

    async def post_stop(application: Application) -> None:
        """Stop reminders and broadcasts (sends in flight finish) before the client closes."""
        task: asyncio.Task[None] | None = application.bot_data.pop(WORKERS_KEY, None)
        app: App | None = application.bot_data.get(APP_KEY)
        if task is not None and app is not None:
            await app.stop_workers(task)

    async def post_shutdown(application: Application) -> None:
        """Close other channels' clients and the database after the last update."""
        await post_stop(application)
        for close in application.bot_data.pop(CLOSERS_KEY, []):
            await close()
        app: App | None = application.bot_data.pop(APP_KEY, None)
        if app is not None:
            await app.close()

    builder = (
        Application.builder()
        .token(token)
        .base_url(settings.api_base_url)
        .base_file_url(_file_url(settings.api_base_url))
        .context_types(ContextTypes(context=BotContext))
        .defaults(
            Defaults(
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
        )
        .concurrent_updates(ChatFairProcessor(settings.concurrent_updates))
        .rate_limiter(PacedLimiter())
        .post_init(post_init)
        .post_stop(post_stop)
        .post_shutdown(post_shutdown)
    )
    if request is None:
        builder = builder.connection_pool_size(POOL_SIZE)
    else:
        builder = builder.request(request)
    if get_updates_request is not None:
        builder = builder.get_updates_request(get_updates_request)
    application: BotApplication = builder.build()
    application.bot_data[SETTINGS_KEY] = settings
    # Group -1 runs first for every private message and only records the user; the
    # answering handlers in group 0 then run as usual.
    application.add_handler(TRACKING_HANDLER, group=-1)
    application.add_handlers(HANDLERS)
    application.add_handler(inline_handler())  # @bot words, in any chat
    application.add_error_handler(on_error)
    return application


def run_polling(
    settings: Settings, store: ContentStore, token: str, other_channels: OtherChannels | None
) -> bool:
    """Long polling until SIGINT/SIGTERM; False when Telegram rejects the token."""
    from telegram import Update
    from telegram.error import InvalidToken

    application = build_application(settings, store, token=token, other_channels=other_channels)
    try:
        application.run_polling(allowed_updates=Update.ALL_TYPES)
    except InvalidToken:
        return False
    return True


def run_webhook(
    settings: Settings, store: ContentStore, token: str, other_channels: OtherChannels | None
) -> bool:
    """Serve webhooks (``BOT_WEBHOOK_URL``) until SIGINT/SIGTERM; False when Telegram rejects
    the token."""
    from telegram.error import InvalidToken

    from bot.app import until_signal
    from bot.channels.telegram.webhook import derived_secret, serve_webhook

    application = build_application(settings, store, token=token, other_channels=other_channels)
    secret = (
        settings.webhook_secret.get_secret_value()
        if settings.webhook_secret is not None
        else derived_secret(token)
    )
    serving = serve_webhook(
        application,
        url=settings.webhook_url,
        secret=secret,
        host=settings.webhook_listen,
        port=settings.webhook_port,
        max_connections=settings.webhook_max_connections,
    )
    try:
        asyncio.run(until_signal(serving))
    except InvalidToken:
        return False
    return True
